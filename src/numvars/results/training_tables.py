"""Training tables (chapter 2, Fig. 6): one row per network (:func:`runs_table`,
:func:`cause_runs_table`), trial accuracy per count (:func:`accuracy_table` — runs every
network's behavioural test), learning histories, and the behaviour summaries read from them.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from numvars import paper
from numvars.grids import CAUSES, Profile
from numvars.jobs import load_run
from numvars.store import Store
from numvars.tasks import EVAL_MAX_COUNT, TRAINED_MAX_COUNT, Task
from numvars.training import config_columns, describe


def runs_table(profile: Profile, store: Store | None = None) -> pd.DataFrame:
    """One row per stored run of a profile: experiment, config, ``reached`` (the criterion),
    epochs trained, the criterion and analysed epochs, and whether the network meets the
    paper's standard for an analysed network (§3.2, :meth:`~numvars.training.RunResult.meets_standard`)
    at its analysed checkpoint (``standard``) and at its criterion epoch. The networks of the
    causes of chapter 4 §4.8 are left to :func:`cause_runs_table` (their rows here would carry the
    key columns of the main network each varies)."""
    rows = []
    for experiment, configs in profile.training.items():
        if experiment == "causes":
            continue
        for config in configs:
            run = load_run(config, store)
            if run is not None:
                rows.append(
                    dict(
                        experiment=experiment,
                        **config_columns(config),
                        reached=run.reached,
                        epochs=run.epochs,
                        criterion_epoch=run.criterion_epoch,
                        analysed_epoch=run.analysed_epoch,
                        standard=run.meets_standard("analysed"),
                        standard_at_criterion=run.meets_standard("criterion"),
                    )
                )
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
    return (
        runs.groupby(["cause", "arch", "task"], sort=False)
        .agg(
            networks=("seed", "size"),
            reached=("reached", "sum"),
            standard=("standard", "sum"),
            criterion_epoch=("criterion_epoch", "median"),
        )
        .reset_index()
    )


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
    return pd.DataFrame(
        [
            dict(arch=run.config.arch, d=run.config.d, seed=run.config.seed, **entry)
            for run in runs
            for entry in run.history
        ]
    )


_COUNT_RANGES = {
    f"trained N (1–{TRAINED_MAX_COUNT})": lambda task, n: task.count_range(n) == "trained",
    "held-out N": lambda task, n: task.count_range(n) == "held-out",
    f"N {TRAINED_MAX_COUNT + 1}–{TRAINED_MAX_COUNT + 5}": lambda task, n: (
        TRAINED_MAX_COUNT < n <= TRAINED_MAX_COUNT + 5
    ),
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
        frames.append(
            summary.apply(lambda r: f"{r['mean']:.2f} ± {0 if pd.isna(r['std']) else r['std']:.2f}", axis=1).rename(
                label
            )
        )
    return pd.concat(frames, axis=1)


def zero_from(accuracy: pd.DataFrame) -> int | None:
    """Where a curve of Fig. 6 reaches ≈0 (issue 23): the first N past the training range from
    which the mean accuracy of ``accuracy`` (columns ``N``, ``accuracy``; every row one network's
    accuracy at one N) stays within :data:`numvars.paper.TOLERANCE` of
    ``FIG_6["collapsed"]`` through the last N measured; None when it is not ≈0 at the last N."""
    curve = accuracy.groupby("N")["accuracy"].mean().sort_index()
    curve = curve[curve.index > TRAINED_MAX_COUNT]
    near_zero = (curve - paper.FIG_6["collapsed"]).abs() <= paper.TOLERANCE + 1e-9
    if curve.empty or not near_zero.iloc[-1]:
        return None
    above = near_zero[~near_zero]
    return int(curve.index[0] if above.empty else curve.index[curve.index > above.index[-1]][0])


def departures(accuracy: pd.DataFrame, held_out_floor: float = 0.9, extrapolation_ceiling: float = 0.1) -> pd.DataFrame:
    """Conditions that depart from the paper's Fig. 6 (chapter 2, §2.4): held-out accuracy below
    ``held_out_floor``, or accuracy above ``extrapolation_ceiling`` at the end of the paper's "≈0
    by N≈25–30" (:data:`numvars.paper.FIG_6_SCORED_AT`, reproduction note 65); means over seeds."""
    accuracy = accuracy.assign(condition=accuracy.apply(describe, axis=1))
    at_end = accuracy[accuracy["N"] == paper.FIG_6_SCORED_AT]
    table = pd.DataFrame(
        {
            "held-out N": _per_seed_in_range(accuracy, _COUNT_RANGES["held-out N"], ["condition"])
            .groupby("condition")
            .mean(),
            f"N = {paper.FIG_6_SCORED_AT}": at_end.groupby("condition")["accuracy"].mean(),
        }
    )
    held_out, end = table.columns
    return table[(table[held_out] < held_out_floor) | (table[end] > extrapolation_ceiling)].round(2)


def behaviour_cells(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Fig. 6 cell by cell for the main grid: per arch × task, the mean accuracy on trained and
    held-out counts and at the end of the paper's "≈0 by N≈25–30" window
    (:data:`numvars.paper.FIG_6_SCORED_AT`: each condition scored on its own curve, reproduction
    note 65), beside the paper's description (:data:`numvars.paper.FIG_6`); ``zero_from`` (on the
    last row of a condition) is where its curve reaches ≈0 (:func:`zero_from`)."""
    main = accuracy[accuracy["experiment"] == "main"]
    rows = []
    for (arch, task), group in main.groupby(["arch", "task"], sort=False):
        kinds = group["N"].map(lambda n: Task(task).count_range(n))
        for label, mask, value in (
            ("trained N", kinds == "trained", paper.FIG_6["trained"]),
            ("held-out N", kinds == "held-out", paper.FIG_6["held-out"]),
            (f"N = {paper.FIG_6_SCORED_AT}", group["N"] == paper.FIG_6_SCORED_AT, paper.FIG_6["collapsed"]),
        ):
            ours = group.loc[mask, "accuracy"].mean()
            rows.append(
                dict(
                    arch=arch,
                    task=task,
                    range=label,
                    ours=ours,
                    paper=value,
                    difference=ours - value,
                    verdict=paper.verdict(ours, value),
                    zero_from=zero_from(group) if value == paper.FIG_6["collapsed"] else None,
                )
            )
    cells = pd.DataFrame(rows)
    cells["zero_from"] = cells["zero_from"].astype("Int64")
    return cells


def standard_table(runs: pd.DataFrame, experiment: str = "main") -> pd.DataFrame:
    """Chapter 4 §4.7. The paper's standard for an analysed network, per arch × task of a main
    grid (:func:`runs_table`; ``experiment`` ``"authors_code"``: the grid retrained under the
    authors' rules, §4.9): networks trained, those that reached the training criterion,
    those that meet the standard at their analysed checkpoint and at their criterion epoch,
    the seeds dropped, and how many seeds the paper dropped (:data:`numvars.paper.DROPPED_SEEDS`)."""
    main = runs[runs["experiment"] == experiment]
    rows = []
    for (arch, task), group in main.groupby(["arch", "task"], sort=False):
        rows.append(
            dict(
                arch=arch,
                task=task,
                networks=len(group),
                reached=int(group["reached"].sum()),
                standard=int(group["standard"].sum()),
                standard_at_criterion=int(group["standard_at_criterion"].sum()),
                dropped_seeds=", ".join(str(s) for s in group.loc[~group["standard"], "seed"]) or "none",
                paper_dropped=paper.DROPPED_SEEDS.get((arch, task), 0),
            )
        )
    return pd.DataFrame(rows)
