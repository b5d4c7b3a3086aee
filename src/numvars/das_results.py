"""Summaries of the DAS grid (a :func:`numvars.das_experiments.das_table`) beside the paper's values.

The paper's values are read off its Figs. 2 and 7 (±0.03) as ranges over the conditions they
cover (``../shared/PAPER.md`` §5); a cell the paper does not report is absent.
"""

from __future__ import annotations

import pandas as pd

MEASURES = ("count", "up_up", "phase", "full_swap", "random")
MEASURE_NAMES = {
    "count": "Up-Down count",
    "up_up": "Up-Up (better count)",
    "phase": "phase",
    "full_swap": "Ctx-Distr full swap",
    "random": "random rotation (count)",
}

_RNN_COUNTING = [(arch, task) for arch in ("gru", "lstm") for task in ("multi", "single")]
_PAPER_ROWS = (
    [(arch, task, "count", 0.93, 0.97) for arch, task in _RNN_COUNTING]
    + [(arch, task, "up_up", 0.37, 0.46) for arch, task in _RNN_COUNTING]
    + [(arch, task, "full_swap", 0.08, 0.09) for arch, task in _RNN_COUNTING]
    + [(arch, task, "phase", 0.87, 0.93) for arch, task in _RNN_COUNTING]
    + [(arch, "same", "count", 0.35, 0.49) for arch in ("gru", "lstm")]
    + [("transformer", task, "count", 0.11, 0.13) for task in ("multi", "single", "same")]
    + [("transformer", task, "full_swap", 0.97, 0.99) for task in ("multi", "single", "same")]
)


def paper_values() -> pd.DataFrame:
    """The paper's Fig. 2/7 IIA ranges: arch, task, measure, paper_low, paper_high."""
    return pd.DataFrame(_PAPER_ROWS, columns=["arch", "task", "measure", "paper_low", "paper_high"])


def per_network(table: pd.DataFrame) -> pd.DataFrame:
    """One row per network and measure (:data:`MEASURES`) with its test IIA.

    Up-Up has two candidate variables; as the paper does, the better one is reported — chosen
    per network by *validation* IIA, so that the test IIA stays an unbiased estimate."""
    trained = table[table["trained"]]
    keys = ["arch", "task", "seed"]
    rows = []
    for key, group in trained.groupby(keys, sort=False):
        get = lambda variable, method="learned": group[(group["variable"] == variable) & (group["method"] == method)]  # noqa: E731
        up_up = pd.concat([get("demo_count"), get("resp_count")])
        chosen = {
            "count": get("count"),
            "up_up": up_up.loc[[up_up["val_iia"].idxmax()]] if len(up_up) else up_up,
            "phase": get("phase"),
            "full_swap": get("full_swap", "full_swap"),
            "random": get("count", "random"),
        }
        for measure, row in chosen.items():
            if len(row):
                rows.append(dict(zip(keys, key), measure=measure, variable=row["variable"].iloc[0], test_iia=row["test_iia"].iloc[0]))
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD, min and max over seeds of each arch × task × measure, with the paper's range."""
    networks = per_network(table)
    summary = (
        networks.groupby(["arch", "task", "measure"], sort=False)["test_iia"]
        .agg(mean="mean", sd="std", min="min", max="max", seeds="count")
        .reset_index()
    )
    summary = summary.merge(paper_values(), on=["arch", "task", "measure"], how="left")
    mid = (summary["paper_low"] + summary["paper_high"]) / 2
    summary["vs_paper"] = (summary["mean"] - mid).where(summary["paper_low"].notna())
    return summary


def untrained_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The untrained-network control: mean and max test IIA of Up-Down count per arch × task."""
    untrained = table[~table["trained"]]
    return untrained.groupby(["arch", "task"], sort=False)["test_iia"].agg(mean="mean", max="max", networks="count").reset_index()


def breakdown(table: pd.DataFrame, measure_variable: str = "count") -> pd.DataFrame:
    """Learned alignments of one variable: mean test IIA over seeds, split by whether target and
    source positions share a phase, by the phase of the target position, and by whether the
    counterfactual asks for more than 20 responses."""
    rows = table[table["trained"] & (table["variable"] == measure_variable) & (table["method"] == "learned")]
    columns = ["test_iia", "iia_same_phase", "iia_cross_phase", "iia_demo_t", "iia_response_t", "iia_upto20", "iia_over20"]
    return rows.groupby(["arch", "task"], sort=False)[columns].mean().reset_index()
