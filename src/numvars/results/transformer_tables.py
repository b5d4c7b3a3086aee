"""Chapter 6 (Figs. 8–11): how transformers solve the task. The tables run the stored
transformers forward (no fitting): attention shares (:func:`attention_table`), the ±1 response
shift (:func:`plus_minus_table`), full swaps per layer (:func:`layer_swap_table`); networks not
stored or never reaching the criterion are left out. Their summaries follow.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

from numvars.attention import attention_shares, full_swap_by_layer, response_shift
from numvars.jobs import PAPER_PAIRS, DasConfig, load_run, pair_set
from numvars.results.comparison import default_protocol
from numvars.store import Store
from numvars.tasks import Task
from numvars.training import RunResult, TrainConfig, config_columns

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


def attention_table(
    runs: Sequence[TrainConfig], store: Store | None = None, n_sequences: int = 200, seed: int = 0
) -> pd.DataFrame:
    """Attention shares by layer, query phase and key role (:data:`numvars.attention.KEY_ROLES`)
    of each network at its analysed checkpoint, on ``n_sequences`` seeded sequences of its task
    with N uniform on 1..max_count (held-out counts included), under each reading ``self_keys``
    of the query's own key (:data:`numvars.attention.SELF_READINGS`)."""
    rows = []
    for config, run in _transformers(runs, store):
        task = config.task
        shares = attention_shares(run.model(), task, uniform_sequences(task, n_sequences, seed)).drop(columns="member")
        rows.extend(
            dict(**config_columns(config), standard=run.meets_standard(), **row) for row in shares.to_dict("records")
        )
    return pd.DataFrame(rows)


def plus_minus_table(
    runs: Sequence[TrainConfig], store: Store | None = None, per_count: int = 10, seed: int = 0
) -> pd.DataFrame:
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
            shifts = response_shift(
                model,
                task,
                range(1, task.max_count + 1),
                per_count,
                None if manipulation == "none" else manipulation,
                seed=seed,
            )
            counted = shifts.groupby(["n", "shift"], dropna=False).size().rename("trials").reset_index()
            rows.extend(
                dict(
                    **config_columns(config),
                    standard=run.meets_standard(),
                    manipulation=manipulation,
                    expected=bool(r["shift"] == expected),
                    **r,
                )
                for r in counted.to_dict("records")
            )
    return pd.DataFrame(rows)


def layer_swap_table(
    runs: Sequence[TrainConfig], store: Store | None = None, n_pairs: tuple[int, int, int] = PAPER_PAIRS
) -> pd.DataFrame:
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
                rows.append(
                    dict(
                        **config_columns(config),
                        standard=run.meets_standard(),
                        layer=layer,
                        t_phase=phase,
                        pairs=len(part),
                        moved_at_t=part["moved_at_t"].mean(),
                        moved_later=part["moved_later"].mean(),
                        iia=part["correct"].mean(),
                    )
                )
    return pd.DataFrame(rows)


def variant_summary(das: pd.DataFrame) -> pd.DataFrame:
    """Fig. 11 and the NoPE transformers under DAS (``transformer_variants.csv``): per condition
    (the columns :func:`numvars.training.describe` reads) and measure — Up-Down ``count``, ``phase``,
    the Ctx-Distr ``full_swap``, the ``random`` rotation and ``untrained`` (count on the untrained
    networks) — the mean, SD, min and max test IIA over the networks that meet the paper's
    standard (every measured untrained network for ``untrained``), their number, and the chance
    level on the same pairs."""
    das = default_protocol(das)
    keys = ["arch", "task", "void_p", "d", "positional", "n_layers"]
    measure = np.select(
        [~das["trained"], das["method"] == "random", das["method"] == "full_swap"],
        ["untrained", "random", "full_swap"],
        default=das["variable"],
    )
    rows = das.assign(measure=measure)
    rows = rows[rows["standard"] | ~rows["trained"]]
    order = {m: i for i, m in enumerate(["count", "phase", "full_swap", "random", "untrained"])}
    summary = (
        rows.groupby([*keys, "measure"])
        .agg(
            mean=("test_iia", "mean"),
            sd=("test_iia", "std"),
            min=("test_iia", "min"),
            max=("test_iia", "max"),
            networks=("test_iia", "count"),
            chance=("chance", "mean"),
        )
        .reset_index()
    )
    return summary.sort_values(
        [*keys, "measure"], key=lambda c: c.map(order) if c.name == "measure" else c
    ).reset_index(drop=True)


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
        out.append(
            dict(
                zip(["task", "n_layers", "seed", "manipulation"], key),
                trials=int(trials),
                expected=expected_share(group),
                **{
                    "other shifts": ", ".join(
                        f"{s:+.0f}: {n}" if pd.notna(s) else f"other: {n}" for s, n in others.items()
                    )
                },
            )
        )
    return pd.DataFrame(out)
