"""Chapter 7 (Figs. 12–14): where the count lives. :func:`geometry_table` and
:func:`state_points_table` run the networks forward on uniform sequences and read the fitted
rotations; :func:`alignment_summary`, :func:`alignment_gains`, :func:`smallest_k` and
:func:`geometry_rules` summarise the alignment-function and k-sweep tables.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from numvars import paper
from numvars.das import half_state
from numvars.geometry import count_subspace, pca, state_table, summarise as summarise_geometry
from numvars.grids import Profile
from numvars.jobs import DasConfig, load_measurement, load_network, load_run
from numvars.models import RECURRENT
from numvars.results.transformer_tables import uniform_sequences
from numvars.store import Store
from numvars.training import TrainConfig, config_columns


def geometry_table(
    configs: Sequence[DasConfig], store: Store | None = None, n_sequences: int = 200, seed: int = 0
) -> pd.DataFrame:
    """Figs. 12–14 in numbers: one row per stored measurement of ``configs`` (Up-Down count on a
    trained recurrent network) — the network, ``standard``, the measurement's ``method``, and
    :func:`numvars.geometry.summarise` of the network's states on ``n_sequences`` seeded
    sequences of its task (N uniform on 1..max_count) with the subspace that measurement's swap
    moves (:func:`numvars.geometry.count_subspace`)."""
    rows, labelled = [], {}  # (network, checkpoint) -> its labelled states, read once for all its measurements
    for config in configs:
        if config.run.arch not in RECURRENT or not config.trained:
            raise ValueError(
                f"the geometry table reads trained recurrent networks; got {config.run.arch} trained={config.trained}"
            )
        run, result = load_run(config.run, store), load_measurement(config, store)
        if run is None or not run.reached or result is None:
            continue
        key = (config.run, config.checkpoint)
        if key not in labelled:
            labelled[key] = state_table(
                load_network(config, store, run), config.run.task, uniform_sequences(config.run.task, n_sequences, seed)
            )
        states, labels = labelled[key]
        rows.append(
            dict(
                **config_columns(config.run),
                standard=run.meets_standard(config.checkpoint),
                method=config.method,
                **summarise_geometry(states, labels, count_subspace(result.rotation, result.k)),
            )
        )
    return pd.DataFrame(rows)


def geometry_configs(profile: Profile) -> list[DasConfig]:
    """The measurements :func:`geometry_table` reads for a profile: Up-Down count with the learned
    rotation (``"main"``) and with the learned linear map (``"alignment_functions"``), default
    protocol, on the recurrent networks of the main experiment."""
    recurrent = {run for run in profile.training["main"] if run.arch in RECURRENT}
    return [
        c
        for c in dict.fromkeys(profile.das.get("main", []) + profile.das.get("alignment_functions", []))
        if c.run in recurrent
        and c.trained
        and c.label() == "up_down.count"
        and c.method in ("learned", "linear")
        and not c.protocol_changes()
    ]


def state_points_table(
    runs: Sequence[TrainConfig], store: Store | None = None, per_count: int = 2, seed: int = 0
) -> pd.DataFrame:
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
        rows.append(
            pd.concat([network, labels.assign(pc1=projected[:, 0], pc2=projected[:, 1], pc3=projected[:, 2])], axis=1)
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def alignment_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 7 (``alignment_functions.csv``, ``k_sweep.csv``). Per network condition (arch, d,
    task), trained, method and swap size k: test IIA over the networks (trained: those that meet
    the paper's standard; untrained: all) — networks, mean, sd, min, max — and the median
    condition number of the alignments' matrices."""
    keep = table[table["standard"] | ~table["trained"]]
    return (
        keep.groupby(["arch", "d", "task", "trained", "method", "k"])
        .agg(
            networks=("test_iia", "size"),
            mean=("test_iia", "mean"),
            sd=("test_iia", "std"),
            min=("test_iia", "min"),
            max=("test_iia", "max"),
            condition=("condition", "median"),
        )
        .reset_index()
    )


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
    return geometry.assign(
        ordered=geometry[["spearman_demo", "spearman_response"]].min(axis=1) >= paper.ORDERED,
        jump=geometry["jump_ratio"] >= paper.JUMP,
    )
