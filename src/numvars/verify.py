"""``python -m numvars verify CELL``: measure one cell of Figs. 2 and 7 again, from the shipped networks.

A cell is ``ARCH/TASK/MEASURE`` — e.g. ``gru/multi/count``, ``lstm/same/phase``,
``transformer/single/full_swap`` — with MEASURE one of :data:`numvars.measures.MEASURES` (``up_up``: the
better of Up-Up's two counts per network, as the figures report it). The networks come from
``results/<profile>/networks`` (:mod:`numvars.shipped`), every DAS fit of the cell runs again in
a fresh store (nothing is reused), and each network's test IIA is set beside the committed
``results/<profile>/das.csv``. On two cores a cell of the paper profile takes a few minutes
(six networks fitted as one stack).

:func:`table_changes` compares two versions of a whole table row by row (e.g. the committed tables
before and after their measurements ran by another kernel: ``benchmarks/kernel_tables.py``).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from numvars import paper
from numvars.grids import Profile
from numvars.jobs import DasConfig
from numvars.measures import MEASURES, label
from numvars.models import ARCHITECTURES
from numvars.results import das_table, per_network
from numvars.runner import ensure
from numvars.shipped import default_results, networks_dir, shipped_run
from numvars.store import Store
from numvars.tasks import TASK_KINDS
from numvars.training import TrainConfig

#: the largest difference of a network's test IIA that still counts as agreeing. The same code on
#: the same weights gives the same fit; another version of the fitting code (or a stacked matrix
#: product that rounds differently) can tip one epoch's validation IIA and so the stopping epoch,
#: which moves the test IIA (measured when the paper tables were measured again on the shipped
#: networks: median 0.003, at most 0.015 for GRUs, 0.027 for LSTMs, 0.039 for transformers; the
#: committed tables are today's code on the shipped weights, so on this code they agree exactly)
TOLERANCE = 0.01


class NotShipped(LookupError):
    """A cell's networks, or the table it is compared with, are not in the repository."""


@dataclass(frozen=True)
class Cell:
    arch: str
    task: str
    measure: str

    def __str__(self) -> str:
        return f"{self.arch}/{self.task}/{self.measure}"


def parse_cell(text: str) -> Cell:
    """``"gru/multi/count"`` -> :class:`Cell`; a clear ``ValueError`` naming what is allowed."""
    parts = text.strip().split("/")
    if len(parts) != 3:
        raise ValueError(f"a cell is ARCH/TASK/MEASURE, e.g. gru/multi/count; got {text!r}")
    cell = Cell(*parts)
    for value, allowed, what in (
        (cell.arch, ARCHITECTURES, "architecture"),
        (cell.task, TASK_KINDS, "task"),
        (cell.measure, tuple(MEASURES), "measure"),
    ):
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r} in cell {text!r}; allowed: {list(allowed)}")
    return cell


def cell_configs(profile: Profile, cell: Cell) -> list[DasConfig]:
    """The measurements of ``cell`` in the profile's main DAS grid (every seed)."""
    wanted = {(reading.variable, reading.method) for reading in MEASURES[cell.measure].reads}
    configs = [
        c
        for c in profile.das["main"]
        if c.run.arch == cell.arch and c.run.task.kind == cell.task and (c.variable, c.method) in wanted
    ]
    if not configs:
        raise ValueError(
            f"the {profile.name} profile measures no cell {cell} (its main grid has no {cell.arch} on {cell.task})"
        )
    return configs


@dataclass
class Verification:
    cell: Cell
    table: pd.DataFrame  # per seed: committed, remeasured, difference, network (its epochs against runs.csv)
    seconds: float
    tolerance: float

    @property
    def largest_difference(self) -> float:
        return float(self.table["difference"].abs().max()) if len(self.table) else float("nan")

    @property
    def agrees(self) -> bool:
        return len(self.table) > 0 and self.largest_difference <= self.tolerance

    def report(self, profile: str) -> str:
        means = self.table[["committed", "remeasured"]].mean()
        shown = self.table.assign(
            **{c: self.table[c].map(lambda x: f"{x:.3f}") for c in ("committed", "remeasured")},
            difference=self.table["difference"].map(lambda x: f"{x:+.3f}"),
        )
        others = int((self.table["network"] != "same epochs").sum())
        networks = (
            "every shipped network stopped at the committed run's epochs"
            if not others
            else f"{others} shipped networks stopped at other epochs than the committed runs: other networks, so their "
            "measurements may differ by more than a fit's rounding"
        )
        reference = paper.iia_cells()
        cell = reference[
            (reference["arch"] == self.cell.arch)
            & (reference["task"] == self.cell.task)
            & (reference["measure"] == self.cell.measure)
        ]
        paper_value = (
            ""
            if cell.empty
            else f"; the paper's: {', '.join(f'{v:.2f} (Fig. {f})' for v, f in zip(cell['paper'], cell['figure']))}"
        )
        verdict = (
            f"agrees: largest difference {self.largest_difference:.3f} <= tolerance {self.tolerance}"
            if self.agrees
            else f"DIFFERS: largest difference {self.largest_difference:.3f} > tolerance {self.tolerance}"
        )
        return "\n".join(
            [
                f"verify {self.cell} (profile {profile}): {label(self.cell.measure)}, {len(self.table)} networks "
                f"re-measured from {networks_dir(Path('results'), profile)} in {self.seconds:.0f} s",
                shown.to_string(index=False),
                f"mean over seeds: committed {means['committed']:.3f}, re-measured {means['remeasured']:.3f}{paper_value}",
                networks,
                verdict,
            ]
        )


def verify(
    cell: Cell,
    profile: Profile,
    store: Store | None = None,
    workers: int = 1,
    tolerance: float = TOLERANCE,
    results: Path | None = None,
) -> Verification:
    """Measure ``cell`` again from the shipped networks (in ``store``, default a fresh temporary
    one) and compare each network's test IIA with the committed table."""
    results = Path(results or default_results())
    configs = cell_configs(profile, cell)
    unshipped = sorted({str(c.run) for c in configs if shipped_run(c.run, results) is None})
    if unshipped:
        raise NotShipped(
            f"{len(unshipped)} networks of {cell} are not shipped under {networks_dir(results, profile.name)}; "
            f"train them and write them with `python -m numvars results --profile {profile.name}`: {unshipped}"
        )
    table_path = results / profile.name / "das.csv"
    if not table_path.is_file():
        raise NotShipped(
            f"no committed table {table_path} to compare with: write it with `python -m numvars results --profile {profile.name}`"
        )
    committed = _cell_iia(pd.read_csv(table_path), cell).rename("committed")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="numvars-verify-") as fresh:
        store = store or Store(fresh)
        ensure(configs, store, workers=workers)
        remeasured = _cell_iia(das_table({"main": configs}, store).round(4), cell).rename(
            "remeasured"
        )  # das.csv's rounding
    table = pd.concat([committed, remeasured], axis=1).reset_index()
    table["difference"] = table["remeasured"] - table["committed"]
    table["network"] = table["seed"].map(_network_check(results / profile.name / "runs.csv", configs, results))
    return Verification(cell, table, time.perf_counter() - start, tolerance)


def _epochs(run: TrainConfig, runs: pd.DataFrame, results: Path, experiment: str) -> tuple[tuple, tuple] | None:
    """The (criterion, analysed) epochs ``runs.csv`` records for ``run`` of training ``experiment``
    (a network retrained under other rules has the same key columns in another experiment) and
    those of its shipped network; None if ``runs.csv`` has no row for it."""
    row = (
        runs[
            (runs["experiment"] == experiment)
            & (runs["arch"] == run.arch)
            & (runs["task"] == run.task.kind)
            & (runs["d"] == run.d)
            & (runs["seed"] == run.seed)
        ]
        if len(runs)
        else runs
    )
    if row.empty:
        return None
    shipped = shipped_run(run, results)
    return (row["criterion_epoch"].iloc[0], row["analysed_epoch"].iloc[0]), (
        shipped.criterion_epoch,
        shipped.analysed_epoch,
    )


def _same(committed: tuple, shipped: tuple) -> bool:
    return all(pd.isna(a) and b is None or a == b for a, b in zip(committed, shipped))


def _network_check(runs_path: Path, configs: list[DasConfig], results: Path) -> dict[int, str]:
    """{seed: whether the shipped network stopped where the committed
    ``runs.csv`` says the measured one did — ``"same epochs"``, or the criterion/analysed epochs
    that differ (then the shipped network is another one, and the measurements may differ by more
    than a fit's rounding)}."""
    runs = pd.read_csv(runs_path) if runs_path.is_file() else pd.DataFrame()
    checks = {}
    for config in configs:
        epochs = _epochs(config.run, runs, results, "main")  # a cell of Figs. 2 and 7
        if epochs is None:
            checks[config.run.seed] = "not in runs.csv"
            continue
        committed, shipped = epochs
        checks[config.run.seed] = (
            "same epochs"
            if _same(committed, shipped)
            else f"criterion/analysed epoch {_epoch(committed[0])}/{_epoch(committed[1])} -> "
            f"{_epoch(shipped[0])}/{_epoch(shipped[1])}"
        )
    return checks


def shipped_differences(profile: Profile, experiment: str = "main", results: Path | None = None) -> pd.DataFrame:
    """The networks of a profile's training ``experiment`` whose shipped weights are not the
    network the committed tables measured, as far as the epochs tell: those that stopped at other
    criterion or analysed epochs than ``runs.csv`` records (retrained on another machine, a network
    can diverge; one that stopped at the same epochs can still differ in its last bits, which only
    re-measuring shows — reproduction note 31). One row each: arch, task, seed, the committed and
    the shipped epochs."""
    results = results or default_results()
    runs = pd.read_csv(results / profile.name / "runs.csv")
    rows = []
    for run in profile.training[experiment]:
        epochs = _epochs(run, runs, results, experiment)
        if epochs is not None and not _same(*epochs):
            (criterion, analysed), (shipped_criterion, shipped_analysed) = epochs
            rows.append(
                dict(
                    arch=run.arch,
                    task=run.task.kind,
                    seed=run.seed,
                    criterion_epoch=_epoch(criterion),
                    shipped_criterion_epoch=_epoch(shipped_criterion),
                    analysed_epoch=_epoch(analysed),
                    shipped_analysed_epoch=_epoch(shipped_analysed),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "arch",
            "task",
            "seed",
            "criterion_epoch",
            "shipped_criterion_epoch",
            "analysed_epoch",
            "shipped_analysed_epoch",
        ],
    )


def _epoch(value) -> str:
    return "-" if value is None or pd.isna(value) else str(int(value))


def _cell_iia(das: pd.DataFrame, cell: Cell) -> pd.Series:
    """Test IIA per seed of ``cell`` in a DAS table (the networks the figures count)."""
    networks = per_network(das)
    networks = networks[
        (networks["arch"] == cell.arch) & (networks["task"] == cell.task) & (networks["measure"] == cell.measure)
    ]
    return networks.set_index("seed")["test_iia"]


#: numeric columns of the tables that name a row rather than measure it
NUMERIC_KEYS = frozenset({"void_p", "d", "n_layers", "seed", "k", "state_size", "epoch", "networks", "paper"})


def key_columns(table: pd.DataFrame) -> list[str]:
    """The columns of a results table that name a row: every non-numeric one, the booleans (but
    a cell's ``within_*`` verdicts), :data:`NUMERIC_KEYS` and any column with no value at all
    (e.g. ``positional`` in a table of recurrent networks)."""
    return [
        c
        for c in table.columns
        if c in NUMERIC_KEYS
        or table[c].isna().all()
        or (table[c].dtype == bool and not c.startswith("within"))
        or not pd.api.types.is_numeric_dtype(table[c])
    ]


def table_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """How a table moved between two versions, one row per measured (numeric, non-key) column:
    ``rows`` matched on :func:`key_columns`, ``changed`` (any difference), ``largest`` and
    ``median`` absolute change and ``at``, the key of the largest. A DAS table (an ``epochs``
    column) also gets ``same_epochs``, the rows whose fit stopped at the same epoch in both, and
    ``largest_same_epochs``, the largest change among them: there the difference is rounding
    alone, elsewhere a rounding tipped one epoch's validation IIA and so the stopping epoch.

    Raises ValueError if the key columns do not name one row each."""
    keys = [c for c in key_columns(after) if c in before.columns]
    if before.duplicated(keys).any() or after.duplicated(keys).any():
        raise ValueError(f"the key columns {keys} do not name one row each")
    merged = before.merge(after, on=keys, suffixes=("_before", "_after"))
    has_epochs = "epochs" in before.columns and "epochs" in after.columns
    same_epochs = merged["epochs_before"] == merged["epochs_after"] if has_epochs else None
    rows = []
    for column in after.columns:
        if column in keys or column not in before.columns or not pd.api.types.is_numeric_dtype(after[column]):
            continue
        # as numbers, so that a verdict (``within_*``, boolean) that flipped counts as a change of 1
        difference = (merged[f"{column}_after"].astype(float) - merged[f"{column}_before"].astype(float)).abs()
        largest = difference.idxmax() if difference.notna().any() else None
        row = dict(
            column=column,
            rows=len(merged),
            changed=int((difference > 0).sum()),
            largest=difference.max(),
            median=difference.median(),
            at="" if largest is None else ", ".join(str(merged.loc[largest, k]) for k in keys),
        )
        if same_epochs is not None:
            row.update(same_epochs=int(same_epochs.sum()), largest_same_epochs=difference[same_epochs].max())
        rows.append(row)
    return pd.DataFrame(rows)
