"""Which rows the book analyses and how they meet the paper: the default protocol and the
analysed networks (:func:`default_protocol`, :func:`analysed`), one row per network
(:func:`per_network`), the Fig. 2/7 summary (:func:`summarise`, :func:`iia_table`) and the
cell-by-cell comparison with :mod:`numvars.paper` (:func:`compare_cells`, :func:`figure_cells`).
"""

from __future__ import annotations

import pandas as pd

from numvars import paper
from numvars.measures import MEASURES, figure_of, label


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
    """Chapter 4 §4.2. One row per trained network and measure (:data:`numvars.measures.MEASURES`,
    in its order) with its test IIA.

    A measure read from several measurements (Up-Up has two candidate variables) reports, as the
    paper does, the better one — chosen per network by *validation* IIA, so that the test IIA
    stays an unbiased estimate.

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
        for measure in MEASURES.values():
            row = pd.concat(
                [
                    group[(group["variable"] == reading.variable_name) & (group["method"] == reading.method)]
                    for reading in measure.reads
                ]
            )
            if len(measure.reads) > 1 and len(row):
                row = row.loc[[row["val_iia"].idxmax()]]
            if len(row):
                rows.append(
                    dict(
                        zip(keys, key),
                        measure=measure.name,
                        variable=row["variable"].iloc[0],
                        test_iia=row["test_iia"].iloc[0],
                        val_iia=row["val_iia"].iloc[0],
                        chance=row["chance"].iloc[0] if "chance" in row else float("nan"),
                    )
                )
    return pd.DataFrame(rows)


def over_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """Per arch × task × measure (:func:`per_network`): the test IIA's mean, SD, min and max over
    seeds, the number of seeds and the mean chance level."""
    return (
        per_network(table)
        .groupby(["arch", "task", "measure"], sort=False)
        .agg(
            mean=("test_iia", "mean"),
            sd=("test_iia", "std"),
            min=("test_iia", "min"),
            max=("test_iia", "max"),
            seeds=("test_iia", "count"),
            chance=("chance", "mean"),
        )
        .reset_index()
    )


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, SD, min and max over seeds of each arch × task × measure, beside the paper's cell
    (Fig. 2 for count, Up-Up and the full swap; Fig. 7 for the others; :mod:`numvars.paper`)."""
    summary = over_seeds(table)
    cells = paper.iia_cells()
    shown = cells[cells.apply(lambda c: c["figure"] == figure_of(c["measure"]), axis=1)]
    summary = summary.merge(
        shown[["arch", "task", "measure", "figure", "paper"]], on=["arch", "task", "measure"], how="left"
    )
    summary["difference"] = summary["mean"] - summary["paper"]
    return summary


def iia_table(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4 §4.1–4.2. :func:`summarise` for reading: measure names, the paper's cell, the difference and a verdict."""
    summary = summarise(table)
    return pd.DataFrame(
        {
            "arch": summary["arch"],
            "task": summary["task"],
            "measure": summary["measure"].map(label),
            "mean": summary["mean"],
            "sd": summary["sd"],
            "min": summary["min"],
            "max": summary["max"],
            "seeds": summary["seeds"],
            "chance": summary["chance"],
            "paper": summary["paper"],
            "figure": summary["figure"],
            "difference": summary["difference"],
            "verdict": [paper.verdict(m, p) if pd.notna(p) else "" for m, p in zip(summary["mean"], summary["paper"])],
        }
    ).round(3)


def compare_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell of Figs. 2 and 7 (:func:`numvars.paper.iia_cells`) with ours beside it: mean,
    SD and range over seeds, the difference, and a verdict (``not measured yet`` where ``table``
    has no such network)."""
    ours = over_seeds(table)
    cells = paper.iia_cells().merge(ours, on=["arch", "task", "measure"], how="left")
    cells["difference"] = cells["mean"] - cells["paper"]
    cells["verdict"] = [paper.verdict(m, p) for m, p in zip(cells["mean"], cells["paper"])]
    return cells


def figure_cells() -> pd.DataFrame:
    """The paper's Fig. 2/7 cells as the book compares them (:func:`numvars.measures.figure_of`: Fig. 2
    for count, Up-Up and the full swap, Fig. 7 for the others): arch, task, measure, paper."""
    cells = paper.iia_cells()
    return cells[[figure_of(m) == f for m, f in zip(cells["measure"], cells["figure"])]][
        ["arch", "task", "measure", "paper"]
    ]
