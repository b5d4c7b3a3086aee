"""Every table the book shows, from the store (live runs) or from ``results/<profile>/`` (committed).

* training: :func:`runs_table`, :func:`accuracy_table`, :func:`behaviour_summary`,
  :func:`departures`, :func:`history_table`;
* DAS: :func:`das_table`, :func:`failure_table`, :func:`pair_outcomes`, :func:`per_network`,
  :func:`summarise`, :func:`iia_table`, :func:`compare_cells`, :func:`untrained_summary`,
  :func:`analysed`, :func:`breakdown`, :func:`failure_summary`, :func:`swap_kinds`, :func:`fit_budget`, :func:`standard_table`,
  :func:`protocol_table`, :func:`protocol_moves`;
* chapter 5: :func:`size_table`, :func:`checkpoint_table`, :func:`curve_statistics_table`, :func:`pair_check`,
  :func:`gradience_table`, :func:`gradience_per_network`, :func:`iia_by`;
* chapter 6: :func:`attention_table`, :func:`plus_minus_table`, :func:`layer_swap_table`;
* chapter 7: :func:`geometry_configs`, :func:`geometry_table`, :func:`state_points_table`, :func:`alignment_summary`, :func:`alignment_gains`, :func:`smallest_k`, :func:`geometry_rules`, :func:`uniform_sequences`;
* the scorecard: :func:`scorecard_claims`, :func:`scorecard_cells`;
* :func:`write_tables` writes the CSVs of a profile; :func:`read_table` reads them back.

The paper's values come from :mod:`numvars.paper` only.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from numvars import paper
from numvars.analysis import pair_facts
from numvars.attention import attention_shares, full_swap_by_layer, response_shift
from numvars.das import first_errors, half_state, run_frozen
from numvars.geometry import count_subspace, pca, state_table
from numvars.geometry import summarise as summarise_geometry
from numvars.dynamics import LARGE_COUNT, SMALL_COUNT, curve_statistics, gradience_measures
from numvars.grids import CAUSES, PROTOCOL_VARIANTS, Profile
from numvars.jobs import DAS_KIND, PAPER_PAIRS, DasConfig, PairSpec, load_measurement, load_run, network, pair_set
from numvars.protocols import AUTHORS_CODE, PROTOCOLS
from numvars.store import Store
from numvars.tasks import EVAL_MAX_COUNT, TRAINED_MAX_COUNT, Task
from numvars.shipped import ship_profile
from numvars.training import RunResult, TrainConfig, accuracy_per_count, config_columns

RESULTS_DIR = Path(__file__).resolve().parents[2] / "results"
TABLES = ("runs.csv", "accuracy_per_count.csv", "das.csv", "das_failures.csv", "sizes.csv", "checkpoints.csv", "gradience.csv",
          "attention.csv", "plus_minus.csv", "layer_swaps.csv", "transformer_variants.csv",
          "alignment_functions.csv", "k_sweep.csv", "geometry.csv", "state_points.csv", "causes.csv", "cause_networks.csv",
          "summary.json")


def read_table(profile: str, name: str) -> pd.DataFrame:
    """A committed table, e.g. ``read_table("paper", "das.csv")`` (``results/<profile>/<name>``)."""
    path = RESULTS_DIR / profile / name
    if not path.is_file():
        raise FileNotFoundError(f"no table {path}: run `python -m numvars reproduce --profile {profile.removesuffix('_v1')}` first")
    return pd.read_csv(path)


# ----------------------------------------------------------------------------- training
def runs_table(profile: Profile, store: Store | None = None) -> pd.DataFrame:
    """One row per stored run of a profile: experiment, config, ``reached`` (the criterion),
    epochs trained, the criterion and analysed epochs, and whether the network meets the
    paper's standard for an analysed network (§3.2, :meth:`~numvars.training.RunResult.meets_standard`)
    at its analysed checkpoint (``standard``) and at its criterion epoch."""
    rows = []
    for experiment, configs in profile.training.items():
        for config in configs:
            run = load_run(config, store)
            if run is not None:
                rows.append(dict(experiment=experiment, **config_columns(config), reached=run.reached, epochs=run.epochs,
                                 criterion_epoch=run.criterion_epoch, analysed_epoch=run.analysed_epoch,
                                 standard=run.meets_standard("analysed"), standard_at_criterion=run.meets_standard("criterion")))
    return pd.DataFrame(rows)


def cause_runs_table(profile: Profile, store: Store | None = None) -> pd.DataFrame:
    """Chapter 4 §4.8, ``cause_networks.csv``: per network-level cause of
    :data:`numvars.grids.CAUSES` and condition (arch × task), of its retrained networks (the
    training experiment ``"causes"``): how many are stored, reached the criterion within the
    budget, and meet the paper's standard; the median criterion epoch."""
    names = {tuple(sorted(cause.network.items())): name for name, cause in CAUSES.items() if cause.network}
    runs = runs_table(Profile(profile.name, {"causes": profile.training.get("causes", [])}, {}), store)
    if runs.empty:
        return pd.DataFrame(columns=["cause", "arch", "task", "networks", "reached", "standard", "criterion_epoch"])
    configs = [c for c in profile.training["causes"] if load_run(c, store) is not None]
    runs["cause"] = [names[tuple(sorted(c.rule_changes().items()))] for c in configs]
    return (runs.groupby(["cause", "arch", "task"], sort=False)
            .agg(networks=("seed", "size"), reached=("reached", "sum"), standard=("standard", "sum"),
                 criterion_epoch=("criterion_epoch", "median")).reset_index())


def accuracy_table(profile: Profile, store: Store | None = None) -> pd.DataFrame:
    """Chapter 2 §2.4. Long table of trial accuracy per N (1..30) for every stored, non-dropped run
    (at its analysed checkpoint)."""
    rows = []
    for experiment, configs in profile.training.items():
        for config in configs:
            run = load_run(config, store)
            if run is None or not run.reached:
                continue
            for n, accuracy in zip(config.task.eval_counts, run.test("analysed").tolist()):
                rows.append(dict(experiment=experiment, **config_columns(config), N=n, accuracy=accuracy))
    return pd.DataFrame(rows)


def history_table(runs: Sequence) -> pd.DataFrame:
    """Chapter 2 §2.3. Long table of the training history of ``runs`` (:class:`numvars.training.RunResult`):
    one row per run and epoch with ``arch``, ``d``, ``seed``, ``epoch``, ``loss``, ``val_accuracy``, ``lr``."""
    return pd.DataFrame([dict(arch=run.config.arch, d=run.config.d, seed=run.config.seed, **entry) for run in runs for entry in run.history])


_COUNT_RANGES = {
    f"trained N (1–{TRAINED_MAX_COUNT})": lambda task, n: task.count_range(n) == "trained",
    "held-out N": lambda task, n: task.count_range(n) == "held-out",
    f"N {TRAINED_MAX_COUNT + 1}–{TRAINED_MAX_COUNT + 5}": lambda task, n: TRAINED_MAX_COUNT < n <= TRAINED_MAX_COUNT + 5,
    f"N {TRAINED_MAX_COUNT + 6}–{EVAL_MAX_COUNT}": lambda task, n: TRAINED_MAX_COUNT + 5 < n <= EVAL_MAX_COUNT,
}


def _per_seed_in_range(accuracy: pd.DataFrame, keep, by: Sequence[str]) -> pd.Series:
    task = Task("multi")  # hold-outs and the trained range are the same for every task of the grids
    part = accuracy[accuracy["N"].map(lambda n: keep(task, n))]
    return part.groupby([*by, "seed"])["accuracy"].mean()


def behaviour_summary(accuracy: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Chapter 2 §2.4. Mean ± sd over seeds of trial accuracy on trained counts, held-out counts, and
    extrapolation (21–25, 26–30), from a long :func:`accuracy_table` (columns ``by``, ``seed``,
    ``N``, ``accuracy``)."""
    frames = []
    for label, keep in _COUNT_RANGES.items():
        summary = _per_seed_in_range(accuracy, keep, by).groupby(list(by)).agg(["mean", "std"])
        frames.append(summary.apply(lambda r: f"{r['mean']:.2f} ± {0 if pd.isna(r['std']) else r['std']:.2f}", axis=1).rename(label))
    return pd.concat(frames, axis=1)


def condition_name(row) -> str:
    """A short label of a table row's condition: architecture, task, and what sets the
    experiment apart (``d=…`` in the size sweep, ``+void``, ``NoPE …L``)."""
    extra = {"gru_sizes": lambda: f" d={row.d}", "lstm_sizes": lambda: f" d={row.d}", "void_transformer": lambda: " +void", "nope_transformer": lambda: f" NoPE {row.n_layers:.0f}L",
             "bare_transformer": lambda: " NoPE 1L"}  # its task column says "multi-bare"
    return f"{row.arch} {row.task}{extra.get(row.experiment, str)()}"


def departures(accuracy: pd.DataFrame, held_out_floor: float = 0.9, extrapolation_ceiling: float = 0.1) -> pd.DataFrame:
    """Conditions that depart from the paper's Fig. 6 (chapter 2, §2.4): held-out accuracy below
    ``held_out_floor`` or accuracy at N 26–30 above ``extrapolation_ceiling`` (means over seeds)."""
    accuracy = accuracy.assign(condition=accuracy.apply(condition_name, axis=1))
    ranges = list(_COUNT_RANGES.items())
    table = pd.DataFrame({
        label: _per_seed_in_range(accuracy, keep, ["condition"]).groupby("condition").mean()
        for label, keep in (ranges[1], ranges[3])
    })
    held_out, far = table.columns
    return table[(table[held_out] < held_out_floor) | (table[far] > extrapolation_ceiling)].round(2)


def behaviour_cells(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Fig. 6 cell by cell for the main grid: per arch × task, the mean accuracy on trained and
    held-out counts and at N ≥ 25, beside the paper's description (:data:`numvars.paper.FIG_6`)."""
    main = accuracy[accuracy["experiment"] == "main"]
    rows = []
    for (arch, task), group in main.groupby(["arch", "task"], sort=False):
        kinds = group["N"].map(lambda n: Task(task).count_range(n))
        for label, mask, value in (
            ("trained N", kinds == "trained", paper.FIG_6["trained"]),
            ("held-out N", kinds == "held-out", paper.FIG_6["held-out"]),
            (f"N {paper.FIG_6['collapsed_from']}–{EVAL_MAX_COUNT}", group["N"] >= paper.FIG_6["collapsed_from"], paper.FIG_6["collapsed"]),
        ):
            ours = group.loc[mask, "accuracy"].mean()
            rows.append(dict(arch=arch, task=task, range=label, ours=ours, paper=value, difference=ours - value, verdict=paper.verdict(ours, value)))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------- DAS
@functools.lru_cache(maxsize=64)
def test_facts(spec: PairSpec) -> pd.DataFrame:
    """:func:`~numvars.analysis.pair_facts` of a measurement's test pairs (cached; do not modify)."""
    return pair_facts(pair_set(spec, "test"))


def late_gain(history: list[dict], window: int = 25) -> float | None:
    """The rise of the best validation IIA over the last ``window`` epochs (None for a shorter fit)."""
    scores = [h["val_iia"] for h in history]
    return max(scores) - max(scores[:-window]) if len(scores) > window else None


def protocol_of(config: DasConfig) -> str:
    """``"default"``, or the name of the protocol variant or cause (:data:`numvars.grids.PROTOCOL_VARIANTS`,
    :data:`numvars.grids.CAUSES`) a measurement belongs to."""
    changes = config.protocol_changes()
    named = {**{name: change for name, (change, _) in PROTOCOL_VARIANTS.items()}, **{name: cause.changes for name, cause in CAUSES.items()},
             AUTHORS_CODE.name: AUTHORS_CODE.changes(config.run.arch)}
    return next((name for name, change in named.items() if change == changes), "default" if not changes else str(changes))


@functools.lru_cache(maxsize=512)
def _meets_standard(run: TrainConfig, checkpoint: str, store: Store | None) -> bool:
    result = load_run(run, store)
    return result is not None and result.meets_standard(checkpoint)


def das_table(grid: dict[str, list[DasConfig]], store: Store | None = None, alignment: bool = False) -> pd.DataFrame:
    """One row per stored measurement of ``grid`` (experiment name -> configs; a measurement in
    several experiments is listed under the first): experiment, network, program, variable, method, trained, ``protocol`` (:func:`protocol_of`) and its
    settings, ``standard`` (the network meets the paper's standard at the measured checkpoint;
    untrained networks: False), best validation IIA, test IIA, epochs, the best validation IIA
    within the first 100 epochs (``val_iia_100``: what the first protocol's cap would have kept),
    ``late_gain`` (how much the best validation IIA rose in the last 25 epochs of a fit that ran
    that long: is the epoch budget enough?), seconds, ``chance`` (the IIA of a network that ignores
    the intervention, on the same test pairs), and the test IIA split by whether target
    and source positions share a phase (``iia_same_phase`` / ``iia_cross_phase``), by the
    target's phase (``iia_demo_t`` / ``iia_response_t``), by whether the counterfactual asks
    for more than the trained 20 responses (``iia_upto20`` / ``iia_over20``), on the pairs
    whose target state is the one after ``T`` (``iia_t_after_T``; none in the first protocol),
    and on those that move a response-phase source into a demo-phase target
    (``iia_demo_t_response_u``). With ``alignment`` (chapter 7) also the alignment's ``kind``,
    the ``state_size`` S it maps, its swap size ``k`` and the ``condition`` number of its matrix
    (1 for a rotation)."""
    rows, seen = [], set()
    for experiment, configs in grid.items():
        for config in configs:
            result = None if config in seen else load_measurement(config, store)
            if result is None:
                continue  # not measured yet, or listed under an earlier experiment
            seen.add(config)
            facts = test_facts(config.pairs).copy()
            facts["correct"] = result.test_correct.numpy()
            within = facts["responses"] <= config.run.task.max_count
            rows.append(dict(
                experiment=experiment,
                **config_columns(config.run),
                program=config.program,
                variable=config.variable or "full_swap",
                method=config.method,
                trained=config.trained,
                protocol=protocol_of(config),
                checkpoint=config.checkpoint,
                positions=config.positions,
                score_at_t=config.score_at_t,
                standard=config.trained and _meets_standard(config.run, config.checkpoint, store),
                val_iia=result.best_val_iia,
                val_iia_100=max((h["val_iia"] for h in result.history[:100]), default=None),
                test_iia=result.test_iia,
                chance=float(facts["rereader"].mean()),
                epochs=len(result.history),
                late_gain=late_gain(result.history),
                seconds=round(result.seconds, 1),
                iia_same_phase=float(facts.loc[facts["t_phase"] == facts["u_phase"], "correct"].mean()),
                iia_cross_phase=float(facts.loc[facts["t_phase"] != facts["u_phase"], "correct"].mean()),
                iia_demo_t=float(facts.loc[facts["t_phase"] == "demo", "correct"].mean()),
                iia_response_t=float(facts.loc[facts["t_phase"] == "response", "correct"].mean()),
                iia_upto20=float(facts.loc[within, "correct"].mean()),
                iia_over20=float(facts.loc[~within, "correct"].mean()),
                iia_t_after_T=float(facts.loc[facts["t_token"] == "T", "correct"].mean()),
                iia_demo_t_response_u=float(facts.loc[(facts["t_phase"] == "demo") & (facts["u_phase"] == "response"), "correct"].mean()),
                **(dict(kind=result.kind, state_size=result.rotation.shape[-1], k=result.k, condition=float(torch.linalg.cond(result.rotation.double())))
                   if alignment else {}),
            ))
    return pd.DataFrame(rows)


def pair_outcomes(config: DasConfig, store: Store | None = None) -> pd.DataFrame:
    """Each test pair of a stored measurement: its :func:`~numvars.analysis.pair_facts`, the
    token that follows ``t`` in the counterfactual (``next``), and ``first_error``: the offset
    after ``t`` of the first token the intervened network gets wrong (0: the prediction made at
    ``t`` itself; -1: none). Recomputed from the stored alignment and checked against the stored
    outcomes."""
    result = load_measurement(config, store)
    if result is None:
        raise LookupError(f"no stored DAS measurement for {config}: compute it first (numvars.runner.ensure)")
    test = pair_set(config.pairs, "test")
    model = network(config, store)
    errors = first_errors(model, run_frozen(model, test), result.alignment())
    if not torch.equal(errors < 0, result.test_correct):
        raise RuntimeError(f"recomputed outcomes differ from the stored ones for {config}: was the code changed since?")
    facts = test_facts(config.pairs).copy()
    facts["next"] = [config.run.task.decode([int(test.tokens[i, test.t[i] + 1])]) for i in range(len(test))]
    facts["first_error"] = errors.numpy()
    return facts


def token_kind(token: str, phase: str) -> str:
    """What a state was read from, as a re-reading network sees it: ``"B"``, ``"T"``, or a
    ``"demo"`` or ``"response"`` token (by phase: Same-Object's demos and responses are both ``D``)."""
    return token if token in ("B", "T") else phase


def failure_table(grid: dict[str, list[DasConfig]], store: Store | None = None,
                  measures=(("count", "learned"), ("full_swap", "full_swap"))) -> pd.DataFrame:
    """Where the intervened networks fail: for each stored measurement of ``measures``
    ((variable, method) pairs) on a trained network, split by the phase of the target position
    ``t``, the kind of token that follows it (``next_kind``: ``demo``, ``T``, ``R``, ``E``), and
    what the target and source states were read from (``t_kind``, ``u_kind``:
    :func:`token_kind`): whether the network meets the paper's standard (``standard``), the
    number of test pairs, the share failed, and the share whose first error is the prediction
    made at ``t`` itself."""
    store = store or Store.default()
    rows, seen = [], set()
    for experiment, configs in grid.items():
        for config in configs:
            if not config.trained or ((config.variable or "full_swap"), config.method) not in measures or config in seen:
                continue
            if not store.exists(DAS_KIND, config):
                continue
            seen.add(config)
            outcomes = pair_outcomes(config, store)
            # what follows t: T or E, else a response (R; Same-Object's D after T) or a demo token
            response = outcomes["t_phase"] == "response"
            outcomes["next_kind"] = outcomes["next"].where(outcomes["next"].isin(["T", "E"]), response.map({True: "R", False: "demo"}))
            outcomes["t_kind"] = [token_kind(*x) for x in zip(outcomes["t_token"], outcomes["t_phase"])]
            outcomes["u_kind"] = [token_kind(*x) for x in zip(outcomes["u_token"], outcomes["u_phase"])]
            for (t_phase, next_kind, t_kind, u_kind), group in outcomes.groupby(["t_phase", "next_kind", "t_kind", "u_kind"]):
                rows.append(dict(
                    experiment=experiment,
                    **config_columns(config.run),
                    variable=config.variable or "full_swap",
                    method=config.method,
                    protocol=protocol_of(config),
                    standard=_meets_standard(config.run, config.checkpoint, store),
                    t_phase=t_phase,
                    next_kind=next_kind,
                    t_kind=t_kind,
                    u_kind=u_kind,
                    pairs=len(group),
                    failed=float((group["first_error"] >= 0).mean()),
                    first_error_at_t=float((group["first_error"] == 0).mean()),
                ))
    return pd.DataFrame(rows)


def pooled_failures(failures: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Rows of a :func:`failure_table` pooled over everything but ``by`` within each network
    (shares weighted by pairs), then averaged over seeds: ``by`` -> pairs, failed,
    first_error_at_t."""
    network = [c for c in ("experiment", "arch", "task", "void_p", "d", "n_layers", "positional", "seed") if c in failures]
    weighted = failures.assign(failed=failures["failed"] * failures["pairs"], first_error_at_t=failures["first_error_at_t"] * failures["pairs"])
    per_seed = weighted.groupby(list(dict.fromkeys([*network, *by])), sort=False, dropna=False)[["pairs", "failed", "first_error_at_t"]].sum()
    per_seed[["failed", "first_error_at_t"]] = per_seed[["failed", "first_error_at_t"]].div(per_seed["pairs"], axis=0)
    return per_seed.reset_index().groupby(list(by), sort=False)[["pairs", "failed", "first_error_at_t"]].mean()


def default_protocol(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` measured under the default protocol (all rows of a first-protocol
    table, which has no ``protocol`` column)."""
    return table[table["protocol"] == "default"] if "protocol" in table else table


def analysed(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``table`` that every mean of the book uses: the default protocol, trained
    networks that meet the paper's standard (a first-protocol table has no ``standard``
    column: every network that reached the criterion)."""
    table = default_protocol(table)
    if "trained" in table:
        table = table[table["trained"]]
    return table[table["standard"]] if "standard" in table else table


def per_network(table: pd.DataFrame, standard: bool = True) -> pd.DataFrame:
    """Chapter 4 §4.2. One row per trained network and measure (:data:`numvars.paper.MEASURE_NAMES`) with its
    test IIA.

    Up-Up has two candidate variables; as the paper does, ``up_up`` reports the better one —
    chosen per network by *validation* IIA, so that the test IIA stays an unbiased estimate.

    Only the default protocol's measurements count, and with ``standard`` only networks that
    meet the paper's standard for an analysed network (False: every network that reached the
    training criterion, the first protocol's rule)."""
    trained = default_protocol(table)
    trained = trained[trained["trained"]]
    if standard and "standard" in trained:  # tables of the first protocol have no such column
        trained = trained[trained["standard"]]
    keys = ["arch", "task", "seed"]
    rows = []
    for key, group in trained.groupby(keys, sort=False):
        get = lambda variable, method="learned": group[(group["variable"] == variable) & (group["method"] == method)]  # noqa: E731
        up_up = pd.concat([get("demo_count"), get("resp_count")])
        chosen = {
            "count": get("count"),
            "up_up": up_up.loc[[up_up["val_iia"].idxmax()]] if len(up_up) else up_up,
            "demo_count": get("demo_count"),
            "resp_count": get("resp_count"),
            "phase": get("phase"),
            "count+phase": get("count+phase"),
            "full_swap": get("full_swap", "full_swap"),
            "random": get("count", "random"),
        }
        for measure, row in chosen.items():
            if len(row):
                rows.append(dict(zip(keys, key), measure=measure, variable=row["variable"].iloc[0], test_iia=row["test_iia"].iloc[0],
                                 val_iia=row["val_iia"].iloc[0], chance=row["chance"].iloc[0] if "chance" in row else float("nan")))
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD, min and max over seeds of each arch × task × measure, beside the paper's cell
    (Fig. 2 for count, Up-Up and the full swap; Fig. 7 for the others; :mod:`numvars.paper`)."""
    summary = (
        per_network(table).groupby(["arch", "task", "measure"], sort=False)
        .agg(mean=("test_iia", "mean"), sd=("test_iia", "std"), min=("test_iia", "min"), max=("test_iia", "max"),
             seeds=("test_iia", "count"), chance=("chance", "mean"))
        .reset_index()
    )
    cells = paper.iia_cells()
    shown = cells[cells.apply(lambda c: c["figure"] == paper.FIGURE_OF.get(c["measure"]), axis=1)]
    summary = summary.merge(shown[["arch", "task", "measure", "figure", "paper"]], on=["arch", "task", "measure"], how="left")
    summary["difference"] = summary["mean"] - summary["paper"]
    return summary


def iia_table(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4 §4.1–4.2. :func:`summarise` for reading: measure names, the paper's cell, the difference and a verdict."""
    summary = summarise(table)
    return pd.DataFrame({
        "arch": summary["arch"], "task": summary["task"], "measure": summary["measure"].map(paper.MEASURE_NAMES),
        "mean": summary["mean"], "sd": summary["sd"], "min": summary["min"], "max": summary["max"], "seeds": summary["seeds"],
        "chance": summary["chance"], "paper": summary["paper"], "figure": summary["figure"], "difference": summary["difference"],
        "verdict": [paper.verdict(m, p) if pd.notna(p) else "" for m, p in zip(summary["mean"], summary["paper"])],
    }).round(3)


def compare_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell of Figs. 2 and 7 (:func:`numvars.paper.iia_cells`) with ours beside it: mean,
    SD and range over seeds, the difference, and a verdict (``not measured yet`` where ``table``
    has no such network)."""
    ours = per_network(table).groupby(["arch", "task", "measure"]).agg(
        mean=("test_iia", "mean"), sd=("test_iia", "std"), min=("test_iia", "min"), max=("test_iia", "max"),
        seeds=("test_iia", "count"), chance=("chance", "mean")).reset_index()
    cells = paper.iia_cells().merge(ours, on=["arch", "task", "measure"], how="left")
    cells["difference"] = cells["mean"] - cells["paper"]
    cells["verdict"] = [paper.verdict(m, p) for m, p in zip(cells["mean"], cells["paper"])]
    return cells


def protocol_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The scorecard's protocol columns (issue 23): every Fig. 2/7 cell (:func:`figure_cells`),
    ours under each named protocol (:data:`numvars.protocols.PROTOCOLS`; ``paper_text`` is the
    default protocol) — the mean over its networks of the IIA that protocol reports (test or
    validation) — and whether it is within :data:`numvars.paper.TOLERANCE` of the paper's
    value; NaN where the protocol is not measured."""
    cells = figure_cells()
    for name, protocol in PROTOCOLS.items():
        rows = table[table["protocol"] == ("default" if name == "paper_text" else name)].assign(protocol="default")
        ours = per_network(rows)
        means = (ours.groupby(["arch", "task", "measure"])[protocol.iia_column].mean().rename(name).reset_index()
                 if len(ours) else pd.DataFrame(columns=["arch", "task", "measure", name]))
        cells = cells.merge(means, on=["arch", "task", "measure"], how="left")
        cells[f"{name} within"] = (cells[name] - cells["paper"]).abs() <= paper.TOLERANCE + 1e-9
    return cells.reset_index(drop=True)


def protocol_table(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4 §4.7. What each protocol variant changes, cell by cell: for every arch × task ×
    measure a variant is run for, the mean test IIA over the networks measured under both the
    default protocol and the variant (the same networks), and the change. Two more rows per
    cell need no extra measurement: ``"standard: criterion only"`` (every network that reached
    the training criterion, against only those meeting the paper's standard) and ``"DAS cap 100
    epochs"`` (the best *validation* IIA within 100 epochs, against at convergence)."""
    if "experiment" in table:  # the causes of §4.8 and the authors' protocol are measured on every seed: not variants of seeds 0 and 1
        table = table[~table["experiment"].isin(["causes", "authors_code"])]
    trained = table[table["trained"] & (table["method"] != "random")]
    keys = ["arch", "task", "variable", "seed"]
    default = trained[trained["protocol"] == "default"].set_index(keys)
    rows = []
    for name, variant in trained[trained["protocol"] != "default"].groupby("protocol", sort=False):
        pairs = variant.set_index(keys)[["test_iia"]].join(default[["test_iia"]].rename(columns={"test_iia": "test_iia_default"}), how="inner")
        rows.append(pairs.reset_index().assign(variant=name, value=pairs["test_iia"].to_numpy(), default=pairs["test_iia_default"].to_numpy()))
    learned = default[default["method"] == "learned"].reset_index()
    rows.append(learned.assign(variant="DAS cap 100 epochs (validation IIA)", value=learned["val_iia_100"], default=learned["val_iia"]))
    long = pd.concat(rows, ignore_index=True)
    cells = long.groupby(["variant", "arch", "task", "variable"], sort=False).agg(
        default=("default", "mean"), value=("value", "mean"), networks=("value", "count")).reset_index()
    every = per_network(table, standard=False).groupby(["arch", "task", "measure"], sort=False)["test_iia"].agg(["mean", "count"])
    passing = per_network(table).groupby(["arch", "task", "measure"], sort=False)["test_iia"].mean()
    standard = every.join(passing.rename("standard"), how="left").reset_index()
    standard = standard[standard["measure"].isin(["count", "phase", "full_swap", "up_up"])]
    cells = pd.concat([cells, pd.DataFrame(dict(
        variant="standard: criterion only", arch=standard["arch"], task=standard["task"], variable=standard["measure"],
        default=standard["standard"], value=standard["mean"], networks=standard["count"]))], ignore_index=True)
    cells["change"] = cells["value"] - cells["default"]
    return cells.round(3)


#: the cause that needs no measurement of its own: the authors' code reports the validation IIA
#: its fit early-stopped on, the book the test IIA
VALIDATION_CAUSE = "validation IIA reported"


def causes_table(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4 §4.8 (issue 23), ``causes.csv``: what each cause does to the Fig. 2/7 cells it
    targets. For every cause of :data:`numvars.grids.CAUSES` and every cell (arch × task ×
    measure, :func:`per_network`'s measures; Up-Up where both its counts are measured), over the
    networks measured under both and meeting the standard under both: the mean test IIA under
    the default protocol (``before``) and under the cause (``after``), the change, the paper's
    cell (Figs. 2/7 as :func:`summarise` shows them) and whether each is within
    :data:`numvars.paper.TOLERANCE` of it. :data:`VALIDATION_CAUSE` needs no measurement: every
    cell, the best validation IIA of the same fits against their test IIA."""
    trained = table[table["trained"] & (table["method"] != "random")]
    keys = ["arch", "task", "seed", "measure"]
    default = per_network(trained).set_index(keys)
    rows = [default.reset_index().assign(cause=VALIDATION_CAUSE, before=default["test_iia"].to_numpy(), after=default["val_iia"].to_numpy())]
    for name, cause in CAUSES.items():
        archs, tasks, measures = cause.archs, cause.tasks, cause.measures
        under = per_network(trained[trained["protocol"] == name].assign(protocol="default"))
        if under.empty:
            continue
        targeted = under[under["arch"].isin(archs) & under["task"].isin(tasks)
                         & under["measure"].isin([*measures, *(["up_up"] if {"demo_count", "resp_count"} <= set(measures) else [])])]
        both = targeted.set_index(keys)[["test_iia"]].join(default[["test_iia"]].rename(columns={"test_iia": "before"}), how="inner")
        rows.append(both.reset_index().assign(cause=name, after=both["test_iia"].to_numpy()))
    long = pd.concat(rows, ignore_index=True)
    cells = long.groupby(["cause", "arch", "task", "measure"], sort=False).agg(
        networks=("after", "count"), before=("before", "mean"), after=("after", "mean")).reset_index()
    cells = cells.merge(figure_cells(), on=["arch", "task", "measure"], how="left")
    cells["change"] = cells["after"] - cells["before"]
    for when in ("before", "after"):
        cells[f"within_{when}"] = (cells[when] - cells["paper"]).abs() <= paper.TOLERANCE + 1e-9
    return cells[["cause", "arch", "task", "measure", "networks", "before", "after", "change", "paper", "within_before", "within_after"]]


def cause_summary(causes: pd.DataFrame, threshold: float = paper.TOLERANCE) -> pd.DataFrame:
    """Chapter 4 §4.8. Per cause (:func:`causes_table`): the cells it was measured on, how many it
    moves by more than ``threshold``, how many it brings closer to the paper's value, and how many
    are within the tolerance before and after."""
    closer = (causes["after"] - causes["paper"]).abs() < (causes["before"] - causes["paper"]).abs()
    return (causes.assign(moved=causes["change"].abs() > threshold, closer=closer)
            .groupby("cause", sort=False)
            .agg(cells=("measure", "count"), moved=("moved", "sum"), closer=("closer", "sum"),
                 within_before=("within_before", "sum"), within_after=("within_after", "sum"))
            .reset_index())


def cell_reasons(causes: pd.DataFrame, threshold: float = paper.TOLERANCE) -> dict[tuple[str, str, str], str]:
    """The scorecard's reasons, from measured rows only (issue 23): per Fig. 2/7 cell (arch, task,
    measure) of ``causes`` (:func:`causes_table`), the causes that move it towards the paper's
    value by more than ``threshold``, with the cell before and after (``"evidenced: …"``); a cell
    no cause moves so says ``"not explained: tried …"`` with every cause measured on it. A cell
    no cause was measured on has no entry."""
    causes = causes.dropna(subset=["paper"])
    toward = ((causes["before"] - causes["paper"]).abs() - (causes["after"] - causes["paper"]).abs()) > threshold
    reasons = {}
    for (arch, task, measure), cell in causes.assign(toward=toward).groupby(["arch", "task", "measure"], sort=False):
        moving = cell[cell["toward"]]
        if len(moving):
            reasons[arch, task, measure] = "evidenced: " + "; ".join(
                f"{row.cause} moves it {row.before:.2f} → {row.after:.2f}" for row in moving.itertuples())
        else:
            reasons[arch, task, measure] = "not explained: tried " + ", ".join(
                f"{row.cause} ({row.after - row.before:+.2f})" for row in cell.itertuples())
    return reasons


def standard_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4 §4.7. The paper's standard for an analysed network, per arch × task of the main
    grid (:func:`runs_table`): networks trained, those that reached the training criterion,
    those that meet the standard at their analysed checkpoint and at their criterion epoch,
    the seeds dropped, and how many seeds the paper dropped (:data:`numvars.paper.DROPPED_SEEDS`)."""
    main = runs[runs["experiment"] == "main"]
    rows = []
    for (arch, task), group in main.groupby(["arch", "task"], sort=False):
        rows.append(dict(arch=arch, task=task, networks=len(group), reached=int(group["reached"].sum()),
                         standard=int(group["standard"].sum()), standard_at_criterion=int(group["standard_at_criterion"].sum()),
                         dropped_seeds=", ".join(str(s) for s in group.loc[~group["standard"], "seed"]) or "none",
                         paper_dropped=paper.DROPPED_SEEDS.get((arch, task), 0)))
    return pd.DataFrame(rows)


def figure_cells() -> pd.DataFrame:
    """The paper's Fig. 2/7 cells as the book compares them (:data:`numvars.paper.FIGURE_OF`: Fig. 2
    for count, Up-Up and the full swap, Fig. 7 for the others): arch, task, measure, paper."""
    cells = paper.iia_cells()
    return cells[[paper.FIGURE_OF.get(m) == f for m, f in zip(cells["measure"], cells["figure"])]][["arch", "task", "measure", "paper"]]


def protocol_moves(cells: pd.DataFrame, threshold: float = paper.TOLERANCE) -> pd.DataFrame:
    """Chapter 4 §4.7. Per protocol variant (:func:`protocol_table`): the cells measured, how many
    it moves by more than ``threshold``, how many of those with a paper cell it brings closer to
    the paper's value, the largest change and where."""
    cells = cells.merge(figure_cells().rename(columns={"measure": "variable"}), on=["arch", "task", "variable"], how="left")
    cells["closer"] = (cells["value"] - cells["paper"]).abs() < (cells["default"] - cells["paper"]).abs()
    rows = []
    for name, group in cells.groupby("variant", sort=False):
        measured = group.dropna(subset=["change"])
        largest = measured.loc[measured["change"].abs().idxmax()] if len(measured) else None
        rows.append(dict(variant=name, cells=len(measured), moved=int((measured["change"].abs() > threshold).sum()),
                         closer=int(measured["closer"].sum()),
                         largest_change=None if largest is None else largest["change"],
                         where=None if largest is None else f"{largest['arch']} {largest['task']} {largest['variable']}"))
    return pd.DataFrame(rows)


def controls_table(config: DasConfig, controls: dict[str, DasConfig], store: Store | None = None) -> pd.DataFrame:
    """Chapter 3 §3.5: the test IIA of a stored measurement beside its ``controls`` (name ->
    config, e.g. a random rotation and the untrained network) and beside the same measurement on
    the pairs whose counterfactual asks for at most ``max_count`` responses; the paper's Fig. 2
    cell where it reports one."""
    learned = load_measurement(config, store).test_correct
    within = torch.tensor(test_facts(config.pairs)["responses"].to_numpy() <= config.run.task.max_count)
    cells = paper.iia_cells().set_index(["arch", "task", "figure", "measure"])["paper"]
    reported = cells.get((config.run.arch, config.run.task.kind, paper.FIGURE_OF.get(config.variable), config.variable))
    rows = {"learned rotation (DAS)": (learned.float().mean().item(), "—" if reported is None else f"{reported:.2f}")}
    for name, control in controls.items():
        rows[name] = (load_measurement(control, store).test_iia, "not run")
    share = within.float().mean().item()
    rows[f"learned, pairs asking for ≤ {config.run.task.max_count} responses ({share:.0%} of pairs)"] = (
        learned[within].float().mean().item(), "not reported")
    return pd.DataFrame.from_dict(rows, orient="index", columns=["test IIA", "paper"]).round(3)


def untrained_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4 §4.3. The untrained-network control: mean and max test IIA of Up-Down count per arch × task."""
    untrained = table[~table["trained"]]
    return untrained.groupby(["arch", "task"], sort=False)["test_iia"].agg(mean="mean", max="max", networks="count").reset_index()


def breakdown(table: pd.DataFrame, variable: str = "count") -> pd.DataFrame:
    """Chapter 4 §4.4. Learned alignments of one variable: mean test IIA over seeds, split by whether target and
    source positions share a phase, by the phase of the target position, and by whether the
    counterfactual asks for more than 20 responses."""
    table = analysed(table)
    rows = table[(table["variable"] == variable) & (table["method"] == "learned")]
    columns = [c for c in ("test_iia", "iia_same_phase", "iia_cross_phase", "iia_demo_t", "iia_response_t", "iia_upto20", "iia_over20",
                           "iia_t_after_T", "iia_demo_t_response_u") if c in rows]  # the last two: not in the first protocol's tables
    return rows.groupby(["arch", "task"], sort=False)[columns].mean().reset_index()


def failure_summary(failures: pd.DataFrame, arch: str, variable: str) -> pd.DataFrame:
    """Chapter 4 §4.5. A :func:`failure_table` for one architecture and variable, by task, phase of ``t`` and
    the token after ``t``: pairs, share failed, share failed at ``t`` itself (means over the
    seeds that meet the standard)."""
    failures = analysed(failures)
    rows = failures[(failures["arch"] == arch) & (failures["variable"] == variable)]
    return pooled_failures(rows, ["task", "t_phase", "next_kind"]).round(3)


def swap_kinds(failures: pd.DataFrame, arch: str, variable: str) -> pd.DataFrame:
    """Chapter 4 §4.5. The share of test pairs failed by what the target and the source state
    were read from (:func:`token_kind`), per task (means over the seeds that meet the standard;
    pairs per seed beside)."""
    failures = analysed(failures)
    rows = failures[(failures["arch"] == arch) & (failures["variable"] == variable)]
    pooled = pooled_failures(rows, ["task", "t_kind", "u_kind"])
    return pooled[["pairs", "failed"]].unstack("u_kind").round(3)


def fit_budget(table: pd.DataFrame, max_epochs: int = 100) -> pd.DataFrame:
    """Chapter 4 §4.6. Was the DAS epoch budget enough? Per architecture: the learned fits on trained networks,
    their median epochs, how many used all ``max_epochs``, and the median and largest rise of
    the best validation IIA over the last 25 epochs of those."""
    table = default_protocol(table)
    fits = table[table["trained"] & (table["method"] == "learned")]
    budget = fits.groupby("arch")["epochs"].agg(fits="count", median_epochs="median", used_all=lambda e: int((e == max_epochs).sum()))
    capped = fits[fits["epochs"] == max_epochs].groupby("arch")["late_gain"]
    budget["median_late_gain"] = capped.median()
    budget["largest_late_gain"] = capped.max()
    return budget.round(3)


# ----------------------------------------------------------------------------- scorecard
def _fmt(x: float) -> str:
    return "—" if pd.isna(x) else f"{x:.2f}"


def scorecard_cells(das: pd.DataFrame) -> pd.DataFrame:
    """The scorecard page. Every Fig. 2/7 cell: ours (mean ± SD over seeds, range), the
    paper's, the difference and the verdict."""
    cells = compare_cells(das)
    return pd.DataFrame({
        "arch": cells["arch"], "task": cells["task"], "figure": "Fig " + cells["figure"],
        "measure": cells["measure"].map(paper.MEASURE_NAMES),
        "ours (mean ± SD)": [f"{_fmt(m)} ± {_fmt(s)}" if pd.notna(m) else "—" for m, s in zip(cells["mean"], cells["sd"])],
        "seeds (min–max)": [f"{_fmt(lo)}–{_fmt(hi)}" if pd.notna(lo) else "—" for lo, hi in zip(cells["min"], cells["max"])],
        "chance": cells["chance"].map(_fmt),
        "paper": cells["paper"].map(_fmt),
        "difference": [f"{d:+.2f}" if pd.notna(d) else "—" for d in cells["difference"]],
        "verdict": cells["verdict"],
    })


def scorecard_claims(das: pd.DataFrame, accuracy: pd.DataFrame, sizes: pd.DataFrame | None = None, curves: pd.DataFrame | None = None,
                     gradience: pd.DataFrame | None = None, attention: pd.DataFrame | None = None,
                     plus_minus: pd.DataFrame | None = None, variants: pd.DataFrame | None = None,
                     geometry: pd.DataFrame | None = None) -> pd.DataFrame:
    """The scorecard page. One row per claim of the paper (:data:`numvars.paper.CLAIMS`): what the paper reports,
    ours, and a verdict — from the Fig. 2/7 cells it covers, from Fig. 6 behaviour, from chapter
    5's tables (``sizes.csv``, ``checkpoints.csv``, ``gradience.csv``, when given:
    :func:`chapter_5_claims`), from chapter 6's (``attention.csv``, ``plus_minus.csv``,
    ``transformer_variants.csv``, when given: :func:`chapter_6_claims`), from chapter 7's
    (``geometry.csv``, when given: :func:`chapter_7_claims`), or ``not measured yet``
    (with the issue that will measure it)."""
    cells = compare_cells(das)
    behaviour = behaviour_cells(accuracy)
    scored = chapter_5_claims(sizes, curves, gradience) if sizes is not None else {}
    if attention is not None:
        scored |= chapter_6_claims(attention, plus_minus, variants)
    if geometry is not None:
        scored |= chapter_7_claims(geometry)
    rows = []
    for claim in paper.CLAIMS:
        if claim.key in scored:
            ours, verdict = scored[claim.key]
            rows.append(dict(claim=claim.claim, experiment=claim.experiment, paper=claim.paper, ours=ours, verdict=verdict, chapter=claim.chapter))
            continue
        if claim.cells is not None:
            archs, tasks, figure, measures = claim.cells
            part = cells[cells["arch"].isin(archs) & cells["task"].isin(tasks) & (cells["figure"] == figure) & cells["measure"].isin(measures)]
            labels = part["arch"] + " " + part["task"] + ("" if len(measures) == 1 else " " + part["measure"])
            ours = "; ".join(f"{label} {_fmt(m)}" for label, m in zip(labels, part["mean"]))
            verdicts = part["verdict"]
        elif claim.key == "behaviour":
            labels = behaviour["arch"] + " " + behaviour["task"] + " " + behaviour["range"]
            ours = "; ".join(f"{r.arch} {r.task}: {r.range} {_fmt(r.ours)}" for r in behaviour.itertuples()) if len(behaviour) else ""
            verdicts = behaviour["verdict"]
        else:
            labels, ours, verdicts = pd.Series(dtype=str), "", pd.Series(dtype=str)
        rows.append(dict(claim=claim.claim, experiment=claim.experiment, paper=claim.paper, ours=ours,
                         verdict=_claim_verdict(labels, verdicts, claim), chapter=claim.chapter))
    return pd.DataFrame(rows)


def chapter_5_claims(sizes: pd.DataFrame, curves: pd.DataFrame, gradience: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Chapter 5's claims scored: claim key -> (ours, verdict).

    * ``size_sweep``: GRU count IIA at each size of :data:`numvars.paper.FIG_3_LEFT` against the
      paper's value (±0.05), and the standard deviation over seeds at the smallest and largest size;
    * ``dynamics``: per size, the mean Pearson r between accuracy and IIA across checkpoints;
      supported where it is at least :data:`numvars.paper.STRONG_R`;
    * ``graded``: per size, the mean slope of IIA against the count difference and large − small
      counts (both negative: graded), and whether the slope is steeper in the smallest than in the
      largest GRU — over the networks that meet the paper's standard."""
    summary = size_table(sizes)
    gru = summary[summary["arch"] == "gru"].set_index("d")
    labels = pd.Series([f"GRU d={d}" for d in paper.FIG_3_LEFT])
    verdicts = pd.Series([paper.verdict(gru["count"].get(d), value) for d, value in paper.FIG_3_LEFT.items()])
    ends = gru.index.min(), gru.index.max()
    size_ours = ("; ".join(f"d={d} {_fmt(gru['count'].get(d))}" for d in gru.index)
                 + f"; sd over seeds d={ends[0]} {gru.loc[ends[0], 'sd']:.3f}, d={ends[1]} {gru.loc[ends[1], 'sd']:.3f}")
    out = {"size_sweep": (size_ours, _claim_verdict(labels, verdicts, None))}
    pearson = curve_statistics_table(curves).groupby("d")["pearson"].mean()
    weak = [f"d={d}" for d, r in pearson.items() if r < paper.STRONG_R]
    out["dynamics"] = ("mean Pearson r " + "; ".join(f"d={d} {r:.2f}" for d, r in pearson.items()),
                       f"supported at all {len(pearson)} sizes (mean r ≥ {paper.STRONG_R})" if not weak
                       else f"not supported at {', '.join(weak)} (mean r < {paper.STRONG_R})")
    analysed = gradience[gradience["standard"] & (gradience["reading"] == DEFAULT_READING)]
    per = gradience_per_network(analysed).groupby(["arch", "d"])[["slope", "large_minus_small"]].mean()
    grus = per.loc["gru"]
    graded = [f"d={d}" for d, row in grus.iterrows() if row["slope"] < 0 and row["large_minus_small"] < 0]
    steeper = grus["slope"].iloc[0] < grus["slope"].iloc[-1]
    out["graded"] = ("GRU slope per count of difference " + "; ".join(f"d={d} {s:+.3f}" for d, s in grus["slope"].items()),
                     f"IIA falls with the difference and for large counts at {len(graded)} of {len(grus)} GRU sizes; the smallest "
                     f"GRU is {'more' if steeper else 'not more'} graded than the largest")
    return out


def chapter_6_claims(attention: pd.DataFrame, plus_minus: pd.DataFrame, variants: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Chapter 6's claims scored: claim key -> (ours, verdict), over the networks that meet the
    paper's standard.

    * ``nope_sum`` (``plus_minus.csv``): for the 1-layer NoPE transformers, the share of trials
      whose number of responses moved by exactly +1 (demo term) or −1 (response term), and the
      counts N of the trials that did not;
    * ``attention`` (``attention.csv``): for the 2-layer RoPE transformers without void tokens,
      per layer, the response-phase queries' share on earlier responses against
      :data:`numvars.paper.VERY_LITTLE` and the demo-phase queries' share on B against
      :data:`numvars.paper.MOSTLY` (means over networks, the range over tasks; the tasks where
      the share on B is above it);
    * ``void_tokens`` (``transformer_variants.csv``): the void-token transformers' full-swap IIA
      per task against :data:`numvars.paper.FIG_11_FULL_SWAP` (within when inside it widened by
      the tolerance), with their count IIA."""
    out = {}
    one_layer = plus_minus[plus_minus["standard"] & (plus_minus["n_layers"] == 1) & (plus_minus["manipulation"] != "none")]
    shares = {m: expected_share(one_layer[one_layer["manipulation"] == m]) for m in ("demo", "response")}
    missed = sorted(one_layer.loc[~one_layer["expected"], "n"].unique())
    label = {"demo": "demo term exactly +1", "response": "response term exactly −1"}
    out["nope_sum"] = ("; ".join(f"{label[m]} in {shares[m]:.1%} of trials" for m in ("demo", "response")),
                       "holds in every trial" if not missed else
                       f"differs: {1 - expected_share(one_layer):.1%} of trials "
                       f"miss, all at N = {', '.join(str(n) for n in missed)}")
    rope = attention[attention["standard"] & (attention["positional"] == "rope") & (attention["void_p"] == 0) & (attention["n_layers"] == 2)]
    mean = rope.groupby(["query_phase", "role", "layer", "task"])["share"].mean()
    on_r, on_b = mean.loc["response", "response"], mean.loc["demo", "B"]
    span = lambda part, layer: f"{part.loc[layer].min():.2f}–{part.loc[layer].max():.2f}"  # noqa: E731  range over tasks
    layers = sorted(rope["layer"].unique())
    not_little = [layer for layer in layers if on_r.loc[layer].max() > paper.VERY_LITTLE]
    mostly_b = [f"layer {layer} ({', '.join(on_b.loc[layer][on_b.loc[layer] > paper.MOSTLY].index)})" for layer in layers
                if on_b.loc[layer].max() > paper.MOSTLY]
    out["attention"] = ("response queries on earlier R: " + ", ".join(f"layer {layer} {span(on_r, layer)}" for layer in layers)
                        + "; demo queries on B: " + ", ".join(f"layer {layer} {span(on_b, layer)}" for layer in layers),
                        ("earlier R gets more than 'very little' (> " f"{paper.VERY_LITTLE:.2f}) in layer(s) {', '.join(map(str, not_little))}"
                         if not_little else f"response queries: at most {paper.VERY_LITTLE:.2f} on earlier R")
                        + "; demo queries mostly (> " f"{paper.MOSTLY:.1f}) on B in " + ("; ".join(mostly_b) if mostly_b else "no layer or task"))
    cells = variant_summary(variants)
    void = cells[cells["void_p"] > 0].set_index(["task", "measure"])["mean"]
    tasks = [t for t in ("multi", "single", "same") if (t, "full_swap") in void.index]
    low, high = paper.FIG_11_FULL_SWAP
    outside = [t for t in tasks if not low - paper.TOLERANCE <= void[t, "full_swap"] <= high]
    out["void_tokens"] = ("; ".join(f"{t}: full swap {void[t, 'full_swap']:.2f}, count {void.get((t, 'count'), float('nan')):.2f}" for t in tasks),
                          "not measured yet" if not tasks else f"within {low:.2f}–{high:.2f} (±{paper.TOLERANCE:.2f}) in all {len(tasks)} tasks"
                          if not outside else f"differs in {len(outside)} of {len(tasks)} tasks: {', '.join(outside)}")
    return out


def _claim_verdict(labels: pd.Series, verdicts: pd.Series, claim) -> str:
    measured = verdicts[verdicts != "not measured yet"]
    if len(measured) == 0:
        return f"not measured yet (issue {claim.issue})" if claim and claim.issue else "not measured yet"
    differ = labels[verdicts == "differs"]
    if len(differ) == 0:
        return f"within ±{paper.TOLERANCE:.2f} in all {len(measured)} cells"
    return f"differs in {len(differ)} of {len(measured)} cells: " + ", ".join(differ)


# ------------------------------------------------- chapter 5: sizes, learning curves, gradience
#: the DAS experiments whose rows make up das.csv (Figs. 2 and 7 and their controls); the size
#: sweep and the learning curves have tables of their own
FIGURE_EXPERIMENTS = ("main", "untrained", "protocol", "causes", "authors_code")


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
        rows.append(dict(
            **config_columns(config.run),
            checkpoint=str(config.checkpoint),
            epoch=epoch,
            accuracy=_checkpoint_accuracy(run, epoch),
            val_accuracy=run.history[epoch - 1]["val_accuracy"] if epoch > 0 else None,
            test_iia=result.test_iia,
            val_iia=result.best_val_iia,
            das_epochs=len(result.history),
            chance=float(test_facts(config.pairs)["rereader"].mean()),
        ))
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
        rows.append(dict(arch=arch, d=d, seed=seed, **curve_statistics(curve["epoch"], curve["accuracy"], curve["test_iia"])))
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


#: Fig. 4's two readings of "count" (reproduction note 43): the swapped variable's values — the
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
        if not (config.trained and config.variable == "count" and config.method == "learned" and not config.protocol_changes()):
            continue
        result = load_measurement(config, store)
        if result is None:
            continue
        facts = test_facts(config.pairs).assign(correct=result.test_correct.numpy())
        standard = _meets_standard(config.run, config.checkpoint, store)
        for reading, (target, source) in GRADIENCE_READINGS.items():
            cells = facts.groupby([target, source])["correct"].agg(pairs="size", correct="sum").reset_index()
            cells = cells.rename(columns={target: "target", source: "source"})
            rows.extend(dict(**config_columns(config.run), standard=standard, reading=reading, **cell) for cell in cells.to_dict("records"))
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
        rows.append(dict(reading=reading, arch=arch, d=d, seed=seed, standard=bool(group["standard"].all()), iia=correct.mean(),
                         **gradience_measures(difference, larger, correct, small, large)))
    return pd.DataFrame(rows)


def iia_by(cells: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """IIA of a :func:`gradience_table` pooled within each network by ``by`` (e.g.
    ``["difference"]``, ``["target", "source"]``), then averaged over seeds, per reading × arch × d:
    columns reading, arch, d, *by, iia, pairs (per network)."""
    cells = cells.assign(difference=(cells["source"] - cells["target"]).abs())
    per_seed = cells.groupby(["reading", "arch", "d", "seed", *by])[["pairs", "correct"]].sum().reset_index()
    per_seed["iia"] = per_seed["correct"] / per_seed["pairs"]
    return per_seed.groupby(["reading", "arch", "d", *by])[["iia", "pairs"]].mean().reset_index()


# ------------------------------------------------------- chapter 6: transformers re-reading
# Forward passes only, no fitting; networks not stored or never reaching the criterion are left
# out; one row set per network, with config_columns and ``standard``.
#: App. A.4's manipulations and the shift in the number of responses each should cause
EXPECTED_SHIFT = {"none": 0, "demo": 1, "response": -1}


def _transformers(runs: Sequence[TrainConfig], store: Store | None) -> list[tuple[TrainConfig, RunResult]]:
    """The transformers of ``runs`` that are stored and reached the criterion."""
    out = []
    for config in runs:
        if config.arch != "transformer":
            raise ValueError(f"chapter 6's tables are about transformers; got a {config.arch}: {config}")
        run = load_run(config, store)
        if run is not None and run.reached:
            out.append((config, run))
    return out


def uniform_sequences(task: Task, n_sequences: int, seed: int) -> torch.Tensor:
    """``n_sequences`` seeded sequences of ``task`` with N uniform on 1..max_count (held-out counts
    included), padded: (n_sequences, L) — what chapters 6 and 7 read networks on."""
    counts = np.random.default_rng(seed).integers(1, task.max_count + 1, n_sequences).tolist()
    return task.pad(task.sample(n_sequences, seed, counts=counts))


def attention_table(runs: Sequence[TrainConfig], store: Store | None = None, n_sequences: int = 200, seed: int = 0) -> pd.DataFrame:
    """Attention shares by layer, query phase and key role (:data:`numvars.attention.KEY_ROLES`)
    of each network at its analysed checkpoint, on ``n_sequences`` seeded sequences of its task
    with N uniform on 1..max_count (held-out counts included)."""
    rows = []
    for config, run in _transformers(runs, store):
        task = config.task
        shares = attention_shares(run.model(), task, uniform_sequences(task, n_sequences, seed)).drop(columns="member")
        rows.extend(dict(**config_columns(config), standard=run.meets_standard(), **row) for row in shares.to_dict("records"))
    return pd.DataFrame(rows)


def plus_minus_table(runs: Sequence[TrainConfig], store: Store | None = None, per_count: int = 10, seed: int = 0) -> pd.DataFrame:
    """App. A.4 on each network without positional encoding: for each manipulation of
    :data:`EXPECTED_SHIFT` and N = 1..max_count, ``per_count`` greedy generations; how many
    ``trials`` ended with each ``shift`` (responses − N; NaN: not a clean run of responses ended
    by E), and whether that shift is the ``expected`` one."""
    rows = []
    for config, run in _transformers(runs, store):
        if config.positional != "none":
            continue
        model, task = run.model(), config.task
        for manipulation, expected in EXPECTED_SHIFT.items():
            shifts = response_shift(model, task, range(1, task.max_count + 1), per_count, None if manipulation == "none" else manipulation,
                                    seed=seed)
            counted = shifts.groupby(["n", "shift"], dropna=False).size().rename("trials").reset_index()
            rows.extend(dict(**config_columns(config), standard=run.meets_standard(), manipulation=manipulation,
                             expected=bool(r["shift"] == expected), **r) for r in counted.to_dict("records"))
    return pd.DataFrame(rows)


def layer_swap_table(runs: Sequence[TrainConfig], store: Store | None = None, n_pairs: tuple[int, int, int] = PAPER_PAIRS) -> pd.DataFrame:
    """App. A.5 on each network: the full swap of the residual stream after every layer (0: the
    embedding), on the test pairs of its Ctx-Distr full-swap measurement (``n_pairs``: that
    measurement's train, validation and test pairs); per layer and target
    phase (and ``all``), the share of pairs whose prediction at t moved, whose later predictions
    moved, and that still predict the unchanged continuation (``iia``)."""
    rows = []
    for config, run in _transformers(runs, store):
        pairs = pair_set(DasConfig(config, "ctx_distr", None, "full_swap", n_pairs=n_pairs).pairs, "test")
        model = run.model()
        for layer in range(config.n_layers + 1):
            swaps = full_swap_by_layer(model, pairs, layer)
            for phase, part in [("all", swaps), *swaps.groupby("t_phase")]:
                rows.append(dict(**config_columns(config), standard=run.meets_standard(), layer=layer, t_phase=phase, pairs=len(part),
                                 moved_at_t=part["moved_at_t"].mean(), moved_later=part["moved_later"].mean(), iia=part["correct"].mean()))
    return pd.DataFrame(rows)


def variant_summary(das: pd.DataFrame) -> pd.DataFrame:
    """Fig. 11 and the NoPE transformers under DAS (``transformer_variants.csv``): per condition
    (:func:`numvars.plots.transformer_label`'s columns) and measure — Up-Down ``count``, ``phase``,
    the Ctx-Distr ``full_swap``, the ``random`` rotation and ``untrained`` (count on the untrained
    networks) — the mean, SD, min and max test IIA over the networks that meet the paper's
    standard (every measured untrained network for ``untrained``), their number, and the chance
    level on the same pairs."""
    das = default_protocol(das)
    keys = ["task", "void_p", "positional", "n_layers"]
    measure = np.select([~das["trained"], das["method"] == "random", das["method"] == "full_swap"], ["untrained", "random", "full_swap"],
                        default=das["variable"])
    rows = das.assign(measure=measure)
    rows = rows[rows["standard"] | ~rows["trained"]]
    order = {m: i for i, m in enumerate(["count", "phase", "full_swap", "random", "untrained"])}
    summary = (rows.groupby([*keys, "measure"]).agg(mean=("test_iia", "mean"), sd=("test_iia", "std"), min=("test_iia", "min"),
                                                    max=("test_iia", "max"), networks=("test_iia", "count"), chance=("chance", "mean"))
               .reset_index())
    return summary.sort_values([*keys, "measure"], key=lambda c: c.map(order) if c.name == "measure" else c).reset_index(drop=True)


def expected_share(plus_minus: pd.DataFrame) -> float:
    """The share of the trials of ``plus_minus`` rows (:func:`plus_minus_table`) whose shift is the
    one the manipulation should cause."""
    return plus_minus.loc[plus_minus["expected"], "trials"].sum() / plus_minus["trials"].sum()


def plus_minus_summary(plus_minus: pd.DataFrame, exclude_n: Sequence[int] = ()) -> pd.DataFrame:
    """App. A.4 per network and manipulation (``plus_minus.csv``, networks meeting the paper's
    standard): ``trials``, the share that moved by exactly the ``expected`` shift, and the
    shifts of the others (``other shifts``: shift -> trials; ``nan``: no clean run of responses
    ended by E); trials with N in ``exclude_n`` are left out."""
    rows = plus_minus[plus_minus["standard"] & ~plus_minus["n"].isin(exclude_n)]
    out = []
    for key, group in rows.groupby(["task", "n_layers", "seed", "manipulation"], sort=False):
        trials = group["trials"].sum()
        others = group[~group["expected"]].groupby("shift", dropna=False)["trials"].sum()
        out.append(dict(zip(["task", "n_layers", "seed", "manipulation"], key), trials=int(trials),
                        expected=expected_share(group),
                        **{"other shifts": ", ".join(f"{s:+.0f}: {n}" if pd.notna(s) else f"other: {n}" for s, n in others.items())}))
    return pd.DataFrame(out)


# ----------------------------------------------------------- chapter 7: where the count lives
def geometry_table(configs: Sequence[DasConfig], store: Store | None = None, n_sequences: int = 200, seed: int = 0) -> pd.DataFrame:
    """Figs. 12–14 in numbers: one row per stored measurement of ``configs`` (Up-Down count on a
    trained recurrent network) — the network, ``standard``, the measurement's ``method``, and
    :func:`numvars.geometry.summarise` of the network's states on ``n_sequences`` seeded
    sequences of its task (N uniform on 1..max_count) with the subspace that measurement's swap
    moves (:func:`numvars.geometry.count_subspace`)."""
    rows, labelled = [], {}  # (network, checkpoint) -> its labelled states, read once for all its measurements
    for config in configs:
        if config.run.arch not in ("gru", "lstm") or not config.trained:
            raise ValueError(f"the geometry table reads trained recurrent networks; got {config.run.arch} trained={config.trained}")
        run, result = load_run(config.run, store), load_measurement(config, store)
        if run is None or not run.reached or result is None:
            continue
        key = (config.run, config.checkpoint)
        if key not in labelled:
            labelled[key] = state_table(network(config, store, run), config.run.task, uniform_sequences(config.run.task, n_sequences, seed))
        states, labels = labelled[key]
        rows.append(dict(**config_columns(config.run), standard=run.meets_standard(config.checkpoint), method=config.method,
                         **summarise_geometry(states, labels, count_subspace(result.rotation, result.k))))
    return pd.DataFrame(rows)


def geometry_configs(profile: Profile) -> list[DasConfig]:
    """The measurements :func:`geometry_table` reads for a profile: Up-Down count with the learned
    rotation (``"main"``) and with the learned linear map (``"alignment_functions"``), default
    protocol, on the recurrent networks of the main experiment."""
    recurrent = {run for run in profile.training["main"] if run.arch in ("gru", "lstm")}
    return [c for c in dict.fromkeys(profile.das.get("main", []) + profile.das.get("alignment_functions", []))
            if c.run in recurrent and c.trained and c.label() == "up_down.count" and c.method in ("learned", "linear")
            and not c.protocol_changes()]


def state_points_table(runs: Sequence[TrainConfig], store: Store | None = None, per_count: int = 2, seed: int = 0) -> pd.DataFrame:
    """Figs. 12–14's points: for each stored recurrent network of ``runs`` that reached the
    criterion, its states on ``per_count`` seeded sequences of each N = 1..max_count, labelled
    (:func:`numvars.geometry.state_table`) and projected on their own top three principal
    components (``pc1``–``pc3``) — small enough to commit and redraw the figures without the
    networks."""
    rows = []
    for config in runs:
        run = load_run(config, store)
        if run is None or not run.reached:
            continue
        task = config.task
        counts = [n for n in range(1, task.max_count + 1) for _ in range(per_count)]
        states, labels = state_table(run.model(), task, task.pad(task.sample(len(counts), seed, counts=counts)))
        projected = pca(states, n_components=3).project(states).numpy()
        network = pd.DataFrame([dict(**config_columns(config), standard=run.meets_standard())] * len(labels))
        rows.append(pd.concat([network, labels.assign(pc1=projected[:, 0], pc2=projected[:, 1], pc3=projected[:, 2])], axis=1))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def alignment_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 7 (``alignment_functions.csv``, ``k_sweep.csv``). Per network condition (arch, d,
    task), trained, method and swap size k: test IIA over the networks (trained: those that meet
    the paper's standard; untrained: all) — networks, mean, sd, min, max — and the median
    condition number of the alignments' matrices."""
    keep = table[table["standard"] | ~table["trained"]]
    return (keep.groupby(["arch", "d", "task", "trained", "method", "k"])
            .agg(networks=("test_iia", "size"), mean=("test_iia", "mean"), sd=("test_iia", "std"), min=("test_iia", "min"),
                 max=("test_iia", "max"), condition=("condition", "median"))
            .reset_index())


def alignment_gains(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 7: per trained network that meets the standard (rows of ``alignment_functions.csv``),
    the test IIA of each method side by side and ``gain`` — the linear map's IIA minus the
    rotation's on the same pairs; ``random_gain`` the same for their random controls."""
    trained = table[table["trained"] & table["standard"]]
    wide = trained.pivot_table(index=["arch", "d", "task", "seed"], columns="method", values="test_iia").reset_index()
    wide["gain"] = wide["linear"] - wide["learned"]
    wide["random_gain"] = wide["random_linear"] - wide["random"]
    return wide


def smallest_k(table: pd.DataFrame, share: float = 0.95) -> pd.DataFrame:
    """Chapter 7 §7.4: per network and method of a k sweep (``k_sweep.csv``), the smallest k whose
    IIA reaches ``share`` of a reference, in the issue's two readings of "k = d/2": ``half`` — the
    IIA at the default swap size k = S/2 (half the intervenable state, the book's default;
    ``smallest_k``) — and ``half_d`` — at k = d/2 (``smallest_k_d``); they differ only for an
    LSTM, whose state [h; c] has S = 2d."""
    rows = []
    for key, sweep in table[table["trained"]].groupby(["arch", "d", "task", "seed", "method"]):
        by_k = sweep.set_index("k")["test_iia"].sort_index()
        size, d = int(sweep["state_size"].iloc[0]), int(key[1])
        row = dict(zip(["arch", "d", "task", "seed", "method"], key), state_size=size)
        for name, k in (("", half_state(size)), ("_d", d // 2)):
            if k not in by_k.index:
                raise ValueError(f"the k sweep of {key} lacks the reference swap size k = {k}")
            row["half" + name] = float(by_k[k])
            row["smallest_k" + name] = int(by_k.index[by_k >= share * by_k[k]][0])
        rows.append(row)
    return pd.DataFrame(rows)


def geometry_rules(geometry: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``geometry.csv`` with the book's reading of Figs. 12–14 as two columns: ``ordered``
    (the count's |Spearman| with its component at least :data:`numvars.paper.ORDERED` in both
    phases) and ``jump`` (median step at T at least :data:`numvars.paper.JUMP` demo steps)."""
    return geometry.assign(ordered=geometry[["spearman_demo", "spearman_response"]].min(axis=1) >= paper.ORDERED,
                           jump=geometry["jump_ratio"] >= paper.JUMP)


def chapter_7_claims(geometry: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Chapter 7's claim scored: ``geometry`` — per task, how many of the GRUs that meet the
    paper's standard have an ordered count (|Spearman| of the count with one of the top three
    principal components at least :data:`numvars.paper.ORDERED` in both phases) and a jump at
    T (median step at T at least :data:`numvars.paper.JUMP` times a typical demo step). ``ours``
    prints the medians of the absolute ρ (as ``ρ``: a table cell cannot hold ``|``)."""
    grus = geometry_rules(geometry[(geometry["arch"] == "gru") & geometry["standard"] & (geometry["method"] == "learned")])
    tasks = [t for t in ("multi", "single", "same") if t in set(grus["task"])]
    ours, failing = [], []
    for task in tasks:
        part = grus[grus["task"] == task]
        ours.append(f"{task}: ordered {part['ordered'].sum()}/{len(part)} (median ρ {part['spearman_demo'].median():.2f} demo, "
                    f"{part['spearman_response'].median():.2f} response), jump {part['jump'].sum()}/{len(part)} "
                    f"(median ratio {part['jump_ratio'].median():.1f})")
        if not (part["ordered"] & part["jump"]).all():
            failing.append(task)
    verdict = ("not measured yet" if not tasks else f"holds for every GRU on all {len(tasks)} tasks" if not failing
               else f"holds on {', '.join(t for t in tasks if t not in failing) or 'no task'}; not for every GRU on {', '.join(failing)}")
    return {"geometry": ("; ".join(ours), verdict)}


# ---------------------------------------------------------------------------- writing
def _pair_counts(profile: Profile) -> tuple[int, int, int]:
    """The train, validation and test pair counts of a profile's DAS measurements (of its first)."""
    return next((c.n_pairs for c in profile.das_configs()), PAPER_PAIRS)


def write_tables(profile: Profile, store: Store, out: Path) -> list[Path]:
    """Write a profile's tables (:data:`TABLES`) from the store into ``out``, and the weights of
    its trained networks into ``out/networks`` (:mod:`numvars.shipped`); returns the paths
    written (a network file whose content did not change is not rewritten)."""
    out.mkdir(parents=True, exist_ok=True)
    runs = runs_table(profile, store)
    figures = {name: configs for name, configs in profile.das.items() if name in FIGURE_EXPERIMENTS}
    tables = {
        "runs.csv": runs,
        "accuracy_per_count.csv": accuracy_table(profile, store).round(4),
        "das.csv": das_table(figures, store).round(4),
        "das_failures.csv": failure_table({name: figures[name] for name in figures if name not in ("causes", "authors_code")}, store).round(4),
        "sizes.csv": das_table({"sizes": profile.das.get("sizes", [])}, store).round(4),
        "checkpoints.csv": checkpoint_table(profile.das.get("checkpoints", []), store).round(4),
        "gradience.csv": gradience_table(profile.das.get("sizes", []), store),
    }
    tables["causes.csv"] = causes_table(tables["das.csv"]).round(4) if "causes" in profile.das else pd.DataFrame()
    tables["cause_networks.csv"] = cause_runs_table(profile, store)
    transformers = [c for c in profile.train_configs() if c.arch == "transformer"]
    tables.update({  # chapter 6
        "attention.csv": attention_table(transformers, store).round(4),
        "plus_minus.csv": plus_minus_table(transformers, store),
        "layer_swaps.csv": layer_swap_table(transformers, store, _pair_counts(profile)).round(4),
        "transformer_variants.csv": das_table({"transformer_variants": profile.das.get("transformer_variants", [])}, store).round(4),
    })
    alignment = {name: das_table({name: profile.das.get(name, [])}, store, alignment=True).round(4) for name in ("alignment_functions", "k_sweep")}
    tables.update({  # chapter 7
        "alignment_functions.csv": alignment["alignment_functions"],
        "k_sweep.csv": alignment["k_sweep"],
        "geometry.csv": geometry_table(geometry_configs(profile), store).round(4),
        "state_points.csv": state_points_table([c for c in profile.training["main"] if c.arch in ("gru", "lstm") and c.seed == 0],
                                               store).round(4),
    })
    paths = []
    for name, table in tables.items():
        if table.empty:  # nothing of it measured yet (e.g. no network without positional encoding trained)
            (out / name).unlink(missing_ok=True)
            continue
        table.to_csv(out / name, index=False)
        paths.append(out / name)
    summary = {"profile": profile.name, "runs": len(runs), "dropped": int((~runs["reached"]).sum()) if len(runs) else 0}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return paths + [out / "summary.json"] + ship_profile(profile, store, out / "networks")
