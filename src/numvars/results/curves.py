"""Chapter 5 (Figs. 3–4): the size sweep (:func:`size_table`; under each named protocol,
:func:`size_curves`), DAS on training checkpoints
(:func:`checkpoint_table` — runs each checkpoint's behavioural test) and their statistics, and
gradience (:func:`gradience_table`, :func:`gradience_per_network`, :func:`iia_by`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from numvars import paper
from numvars.dynamics import (
    LARGE_COUNT,
    SMALL_COUNT,
    curve_statistics,
    gradience_measures,
)
from numvars.jobs import DasConfig, load_measurement, load_run
from numvars.protocols import PROTOCOLS
from numvars.results.comparison import analysed
from numvars.results.das_tables import facts_of_test_pairs, meets_standard
from numvars.store import Store
from numvars.tasks import TRAINED_MAX_COUNT
from numvars.training import RunResult, accuracy_per_count, config_columns


def _checkpoint_accuracy(run: RunResult, epoch: int) -> float:
    """Trial accuracy on the behavioural test's N = 1..20 (15 sequences each, held-out counts
    included) of a run's network at a saved epoch."""
    counts = [n for n in run.config.task.eval_counts if n <= TRAINED_MAX_COUNT]
    return float(accuracy_per_count(run.network_at(epoch), run.config.task, counts=counts, seed=0).mean())


def size_table(sizes: pd.DataFrame) -> pd.DataFrame:
    """Chapter 5 §5.1 (Fig. 3 left). Per architecture and size: Up-Down count IIA over the
    analysed networks (mean, standard deviation over seeds, min, max, networks), the controls
    (full swap, random rotation, untrained; means) and the count's chance level."""
    trained, untrained = analysed(sizes), sizes[~sizes["trained"].astype(bool)]

    def measured(table: pd.DataFrame, variable: str, method: str):
        return table[(table["variable"] == variable) & (table["method"] == method)].groupby(["arch", "d"])

    count = measured(trained, "count", "learned")
    table = count["test_iia"].agg(networks="size", count="mean", sd="std", min="min", max="max")
    table["full_swap"] = measured(trained, "full_swap", "full_swap")["test_iia"].mean()
    table["random"] = measured(trained, "count", "random")["test_iia"].mean()
    table["untrained"] = measured(untrained, "count", "learned")["test_iia"].mean()
    table["chance"] = count["chance"].mean()
    return table.reset_index()


def size_curves(sizes: pd.DataFrame, authors_sizes: pd.DataFrame, das: pd.DataFrame) -> pd.DataFrame:
    """Chapter 5 §5.1 and the scorecard, issue 23: the GRU size curve of Fig. 3 under each named
    protocol (:data:`numvars.protocols.PROTOCOLS`). Per state size ``d``: the mean Up-Down count
    IIA that each protocol reports over its analysed networks (``paper_text``: the test IIA of
    ``sizes.csv``, whose d = 20 networks are the main grid's; ``authors_code``: the validation
    IIA of ``authors_code_sizes.csv``, networks retrained under the authors' rules, and at d = 20
    the main grid's under them, experiment ``authors_code`` of ``das.csv``), the networks each
    mean is over, the paper's value read off Fig. 3 (:data:`numvars.paper.FIG_3_LEFT`; NaN
    at a size it does not mark) and, per protocol, whether its mean is within
    :data:`numvars.paper.TOLERANCE` of it (``"<protocol> within"``, NaN there too)."""
    authors_sizes = pd.concat([authors_sizes, das[das["experiment"] == "authors_code"]])
    columns = []
    for name, table in (("paper_text", sizes), ("authors_code", authors_sizes)):
        protocol = PROTOCOLS[name]
        rows = table[(table["protocol"] == ("default" if name == "paper_text" else name))].assign(protocol="default")
        count = analysed(rows).query(
            "arch == 'gru' and task == 'multi' and variable == 'count' and method == 'learned'"
        )
        columns.append(count.groupby("d")[protocol.iia_column].agg(**{name: "mean", f"{name} networks": "size"}))
    curves = pd.concat(columns, axis=1).reset_index()
    curves["paper"] = curves["d"].map(paper.FIG_3_LEFT)
    for name in PROTOCOLS:  # NaN where the paper marks no value
        curves[f"{name} within"] = ((curves[name] - curves["paper"]).abs() <= paper.TOLERANCE + 1e-9).where(
            curves["paper"].notna()
        )
    return curves


def checkpoint_table(configs: Sequence[DasConfig], store: Store | None = None) -> pd.DataFrame:
    """Chapter 5 §5.2 (Fig. 3 right). One row per stored learning-curve measurement: the
    network, ``checkpoint`` (a saved epoch, or ``"analysed"``), ``epoch``, ``accuracy`` (the
    behavioural test on N = 1..20 at that epoch), ``val_accuracy`` (the training run's
    validation accuracy, on the training distribution; none at epoch 0), the test and best
    validation IIA of Up-Down count, DAS epochs, and ``chance``."""
    rows, runs = [], {}
    for config in configs:
        result = load_measurement(config, store)
        if result is None:
            continue
        if config.run not in runs:
            runs[config.run] = load_run(config.run, store)  # each run once: a curve reads a dozen of its checkpoints
        run = runs[config.run]
        epoch = run.epoch_of(config.checkpoint)
        rows.append(
            dict(
                **config_columns(config.run),
                checkpoint=str(config.checkpoint),
                epoch=epoch,
                accuracy=_checkpoint_accuracy(run, epoch),
                val_accuracy=run.history[epoch - 1]["val_accuracy"] if epoch > 0 else None,
                test_iia=result.test_iia,
                val_iia=result.kept_val_iia,
                das_epochs=result.epochs,
                chance=float(facts_of_test_pairs(config.pairs)["rereader"].mean()),
            )
        )
    return pd.DataFrame(rows)


def curve_statistics_table(checkpoints: pd.DataFrame) -> pd.DataFrame:
    """Chapter 5 §5.2. :func:`numvars.dynamics.curve_statistics` per network, from the saved
    epochs of a :func:`checkpoint_table` (the ``"analysed"`` rows left out; a network measured at
    fewer than three epochs so far has no statistics)."""
    rows = []
    curves = checkpoints[checkpoints["checkpoint"] != "analysed"].sort_values("epoch")
    for (arch, d, seed), curve in curves.groupby(["arch", "d", "seed"]):
        if len(curve) < 3:
            continue
        rows.append(
            dict(arch=arch, d=d, seed=seed, **curve_statistics(curve["epoch"], curve["accuracy"], curve["test_iia"]))
        )
    return pd.DataFrame(rows)


def pair_check(checkpoints: pd.DataFrame, sizes: pd.DataFrame) -> pd.DataFrame:
    """Chapter 5 §5.2. The learning curves' smaller pair set against the full one, on the same
    networks at their analysed checkpoint (the same test pairs): per network, both test IIAs
    and their difference."""
    fewer = checkpoints[checkpoints["checkpoint"] == "analysed"][["arch", "d", "seed", "test_iia"]]
    full = analysed(sizes)
    full = full[(full["variable"] == "count") & (full["method"] == "learned")][["arch", "d", "seed", "test_iia"]]
    both = fewer.merge(full, on=["arch", "d", "seed"], suffixes=("_fewer_pairs", "_all_pairs"))
    return both.assign(difference=both["test_iia_fewer_pairs"] - both["test_iia_all_pairs"])


#: Fig. 4's two readings of "count" (reproduction note 44): the swapped variable's values — the
#: target's count after ``t`` and the source's after ``u`` (the default) — or the N of the two
#: sequences; reading -> the :func:`~numvars.analysis.pair_facts` columns (target, source)
GRADIENCE_READINGS = {"count": ("t_count", "u_count"), "n": ("target_n", "source_n")}


DEFAULT_READING = "count"


def gradience_table(configs: Sequence[DasConfig], store: Store | None = None) -> pd.DataFrame:
    """Chapter 5 §5.3 (Fig. 4). For each stored Up-Down count measurement of ``configs`` on a
    trained network and each of :data:`GRADIENCE_READINGS`: its test pairs counted by the
    target's and the source's value in that reading (``reading``, ``target``, ``source``) —
    ``pairs`` and ``correct`` per cell, and ``standard`` (the network meets the paper's standard)."""
    rows = []
    for config in configs:
        if not (
            config.trained
            and config.variable == "count"
            and config.method == "learned"
            and not config.protocol_changes()
        ):
            continue
        result = load_measurement(config, store)
        if result is None:
            continue
        facts = facts_of_test_pairs(config.pairs).assign(correct=result.test_correct.numpy())
        standard = meets_standard(config.run, config.checkpoint, store)
        for reading, (target, source) in GRADIENCE_READINGS.items():
            cells = facts.groupby([target, source])["correct"].agg(pairs="size", correct="sum").reset_index()
            cells = cells.rename(columns={target: "target", source: "source"})
            rows.extend(
                dict(**config_columns(config.run), standard=standard, reading=reading, **cell)
                for cell in cells.to_dict("records")
            )
    return pd.DataFrame(rows)


def gradience_per_network(cells: pd.DataFrame, small: int = SMALL_COUNT, large: int = LARGE_COUNT) -> pd.DataFrame:
    """Chapter 5 §5.3. :func:`numvars.dynamics.gradience_measures` per reading and network of a
    :func:`gradience_table` (its cells expanded back to pairs), with its test IIA; ``small`` and
    ``large``: the thresholds on the larger of the two values."""
    rows = []
    for (reading, arch, d, seed), group in cells.groupby(["reading", "arch", "d", "seed"]):
        pairs = group.loc[group.index.repeat(group["pairs"])]
        correct = np.concatenate([[1] * c + [0] * (p - c) for p, c in zip(group["pairs"], group["correct"])])
        difference = (pairs["source"] - pairs["target"]).abs().to_numpy()
        larger = np.maximum(pairs["source"], pairs["target"]).to_numpy()
        rows.append(
            dict(
                reading=reading,
                arch=arch,
                d=d,
                seed=seed,
                standard=bool(group["standard"].all()),
                iia=correct.mean(),
                **gradience_measures(difference, larger, correct, small, large),
            )
        )
    return pd.DataFrame(rows)


def iia_by(cells: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """IIA of a :func:`gradience_table` pooled within each network by ``by`` (e.g.
    ``["difference"]``, ``["target", "source"]``), then averaged over seeds, per reading × arch × d:
    columns reading, arch, d, *by, iia, pairs (per network)."""
    cells = cells.assign(difference=(cells["source"] - cells["target"]).abs())
    per_seed = cells.groupby(["reading", "arch", "d", "seed", *by])[["pairs", "correct"]].sum().reset_index()
    per_seed["iia"] = per_seed["correct"] / per_seed["pairs"]
    return per_seed.groupby(["reading", "arch", "d", *by])[["iia", "pairs"]].mean().reset_index()
