"""Chapter 4 §4.7–4.9 and the scorecard's protocol columns (issue 23): what each protocol
variant and each cause of :data:`numvars.grids.CAUSES` does to the Fig. 2/7 cells
(:func:`protocol_table`, :func:`protocol_moves`, :func:`causes_table`, :func:`cause_summary`,
:func:`causes_side_by_side`), the scorecard's reasons from measured rows only
(:func:`cell_reasons`), the cells under each named protocol (:func:`protocol_columns`) and which
rules moved them (:func:`protocol_effects`, :func:`rules_of`, :func:`protocol_within`).
"""

from __future__ import annotations

import pandas as pd

from numvars import paper
from numvars.grids import CAUSES
from numvars.measures import MEASURES
from numvars.protocols import PROTOCOLS
from numvars.results.comparison import figure_cells, per_network


def protocol_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The scorecard's protocol columns (issue 23): every Fig. 2/7 cell (:func:`figure_cells`),
    ours under each named protocol (:data:`numvars.protocols.PROTOCOLS`; ``paper_text`` is the
    default protocol) — the mean over its networks of the IIA that protocol reports (test or
    validation) — and whether it is within :data:`numvars.paper.TOLERANCE` of the paper's
    value; NaN where the protocol is not measured. A measurement with nothing fitted (the full
    swap) has no validation IIA: a protocol reporting the validation IIA reports its test IIA
    there (with no fit there is no early stopping, so both pair sets estimate the same thing)."""
    cells = figure_cells()
    for name, protocol in PROTOCOLS.items():
        rows = table[table["protocol"] == ("default" if name == "paper_text" else name)].assign(protocol="default")
        ours = per_network(rows)
        means = (
            ours.assign(reported=ours[protocol.iia_column].fillna(ours["test_iia"]))
            .groupby(["arch", "task", "measure"])["reported"]
            .mean()
            .rename(name)
            .reset_index()
            if len(ours)
            else pd.DataFrame(columns=["arch", "task", "measure", name])
        )
        cells = cells.merge(means, on=["arch", "task", "measure"], how="left")
        cells[f"{name} within"] = (cells[name] - cells["paper"]).abs() <= paper.TOLERANCE + 1e-9
    return cells.reset_index(drop=True)


def rules_of(protocol: str, arch: str) -> list[str]:
    """The causes of :data:`numvars.grids.CAUSES` (and :data:`VALIDATION_CAUSE`) that are rules of
    ``protocol`` on a network of ``arch``: every setting the cause changes, the protocol changes
    the same way."""
    named = PROTOCOLS[protocol]
    changes = named.changes(arch)
    rules = [VALIDATION_CAUSE] if named.reported == "validation" else []
    return rules + [
        name
        for name, cause in CAUSES.items()
        if arch in cause.archs and all(changes.get(key) == value for key, value in cause.changes.items())
    ]


def _disjoint_rules(changes: dict[str, float]) -> dict[str, float]:
    """Of causes measured on one cell (``{cause: change}``), those whose settings do not overlap,
    a cause of more settings first: a pair of rules measured together (which includes how they
    combine) replaces the two measured alone, so that no rule is counted twice."""
    chosen, settings = {}, set()
    rule_settings = {name: set(CAUSES[name].changes) if name in CAUSES else {name} for name in changes}
    for name in sorted(changes, key=lambda name: -len(rule_settings[name])):
        if not rule_settings[name] & settings:
            chosen[name], settings = changes[name], settings | rule_settings[name]
    return chosen


def protocol_effects(table: pd.DataFrame, causes: pd.DataFrame, protocol: str = "authors_code") -> pd.DataFrame:
    """Chapter 4 §4.9: which rules moved which cells. Per Fig. 2/7 cell measured under both
    ``paper_text`` and ``protocol`` (:func:`protocol_columns` of the DAS ``table``): the two
    values, ``change`` (``protocol`` − ``paper_text``), the paper's value; ``alone`` — the sum
    of the changes its rules made one at a time (:func:`rules_of`, their rows in ``causes``,
    :func:`causes_table`; no rule counted twice: :func:`_disjoint_rules`), ``rules`` — those
    rules with their changes, and ``rest`` = change − alone: what the rules not measured alone
    on that cell, and the rules together, add."""
    keys = ["arch", "task", "measure"]
    cells = protocol_columns(table).dropna(subset=["paper_text", protocol])
    cells = cells[keys + ["paper", "paper_text", protocol]].assign(change=cells[protocol] - cells["paper_text"])
    measured = causes.dropna(subset=["after"])
    rules = {arch: rules_of(protocol, arch) for arch in cells["arch"].unique()}
    measured = measured[[cause in rules.get(arch, ()) for cause, arch in zip(measured["cause"], measured["arch"])]]
    alone, named = [], []
    for cell in cells[keys].itertuples(index=False):
        rows = measured[(measured[keys] == list(cell)).all(axis=1)]
        chosen = _disjoint_rules(dict(zip(rows["cause"], rows["change"])))
        alone.append(sum(chosen.values()))
        named.append("; ".join(f"{cause} {change:+.2f}" for cause, change in chosen.items()))
    cells = cells.assign(alone=alone, rules=named)
    return cells.assign(rest=cells["change"] - cells["alone"]).reset_index(drop=True)


def protocol_within(effects: pd.DataFrame, protocol: str = "authors_code") -> pd.DataFrame:
    """Chapter 4 §4.9: the cells of :func:`protocol_effects` per architecture (and ``"all"``):
    how many, how many are within :data:`numvars.paper.TOLERANCE` of the paper's value under
    ``paper_text`` and under ``protocol``, and how many ``protocol`` moved by more than the
    tolerance towards the paper's value and away from it."""
    tolerance = paper.TOLERANCE + 1e-9
    before, after = (effects["paper_text"] - effects["paper"]).abs(), (effects[protocol] - effects["paper"]).abs()
    moved = effects["change"].abs() > tolerance
    flags = pd.DataFrame(
        {
            "arch": effects["arch"],
            "cells": 1,
            "paper_text within": before <= tolerance,
            f"{protocol} within": after <= tolerance,
            "moved towards the paper": moved & (after < before),
            "moved away": moved & (after > before),
        }
    )
    counts = flags.groupby("arch", sort=False).sum()
    counts.loc["all"] = counts.sum()
    return counts.astype(int).reset_index()


def protocol_table(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4 §4.7. What each protocol variant changes, cell by cell: for every arch × task ×
    measure a variant is run for, the mean test IIA over the networks measured under both the
    default protocol and the variant (the same networks), and the change. Two more rows per
    cell need no extra measurement: ``"standard: criterion only"`` (every network that reached
    the training criterion, against only those meeting the paper's standard) and ``"DAS cap 100
    epochs"`` (the best *validation* IIA within 100 epochs, against at convergence)."""
    if (
        "experiment" in table
    ):  # the causes of §4.8 and the authors' protocol are measured on every seed: not variants of seeds 0 and 1
        table = table[~table["experiment"].isin(["causes", "authors_code"])]
    trained = table[table["trained"] & (table["method"] != "random")]
    keys = ["arch", "task", "variable", "seed"]
    default = trained[trained["protocol"] == "default"].set_index(keys)
    rows = []
    for name, variant in trained[trained["protocol"] != "default"].groupby("protocol", sort=False):
        pairs = variant.set_index(keys)[["test_iia"]].join(
            default[["test_iia"]].rename(columns={"test_iia": "test_iia_default"}), how="inner"
        )
        rows.append(
            pairs.reset_index().assign(
                variant=name, value=pairs["test_iia"].to_numpy(), default=pairs["test_iia_default"].to_numpy()
            )
        )
    learned = default[default["method"] == "learned"].reset_index()
    rows.append(
        learned.assign(
            variant="DAS cap 100 epochs (validation IIA)", value=learned["val_iia_100"], default=learned["val_iia"]
        )
    )
    long = pd.concat(rows, ignore_index=True)
    cells = (
        long.groupby(["variant", "arch", "task", "variable"], sort=False)
        .agg(default=("default", "mean"), value=("value", "mean"), networks=("value", "count"))
        .reset_index()
    )
    every = (
        per_network(table, standard=False)
        .groupby(["arch", "task", "measure"], sort=False)["test_iia"]
        .agg(["mean", "count"])
    )
    passing = per_network(table).groupby(["arch", "task", "measure"], sort=False)["test_iia"].mean()
    standard = every.join(passing.rename("standard"), how="left").reset_index()
    standard = standard[standard["measure"].isin(["count", "phase", "full_swap", "up_up"])]
    cells = pd.concat(
        [
            cells,
            pd.DataFrame(
                dict(
                    variant="standard: criterion only",
                    arch=standard["arch"],
                    task=standard["task"],
                    variable=standard["measure"],
                    default=standard["standard"],
                    value=standard["mean"],
                    networks=standard["count"],
                )
            ),
        ],
        ignore_index=True,
    )
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
    rows = [
        default.reset_index().assign(
            cause=VALIDATION_CAUSE, before=default["test_iia"].to_numpy(), after=default["val_iia"].to_numpy()
        )
    ]
    for name, cause in CAUSES.items():
        measures = [
            m.name for m in MEASURES.values() if set(m.variables) <= set(cause.measures)
        ]  # Up-Up: both its counts
        under = per_network(trained[trained["protocol"] == name].assign(protocol="default"))
        if under.empty:
            continue
        targeted = under[
            under["arch"].isin(cause.archs) & under["task"].isin(cause.tasks) & under["measure"].isin(measures)
        ]
        both = targeted.set_index(keys)[["test_iia"]].join(
            default[["test_iia"]].rename(columns={"test_iia": "before"}), how="inner"
        )
        rows.append(both.reset_index().assign(cause=name, after=both["test_iia"].to_numpy()))
    long = pd.concat(rows, ignore_index=True)
    cells = (
        long.groupby(["cause", "arch", "task", "measure"], sort=False)
        .agg(networks=("after", "count"), before=("before", "mean"), after=("after", "mean"))
        .reset_index()
    )
    cells = cells.merge(figure_cells(), on=["arch", "task", "measure"], how="left")
    cells["change"] = cells["after"] - cells["before"]
    for when in ("before", "after"):
        cells[f"within_{when}"] = (cells[when] - cells["paper"]).abs() <= paper.TOLERANCE + 1e-9
    return cells[
        [
            "cause",
            "arch",
            "task",
            "measure",
            "networks",
            "before",
            "after",
            "change",
            "paper",
            "within_before",
            "within_after",
        ]
    ]


def cause_summary(causes: pd.DataFrame, threshold: float = paper.TOLERANCE) -> pd.DataFrame:
    """Chapter 4 §4.8. Per cause (:func:`causes_table`): the cells it was measured on, how many it
    moves by more than ``threshold``, how many it brings closer to the paper's value, and how many
    are within the tolerance before and after. A row with no measurement after (the full swap
    has no validation IIA: nothing is fitted) is no cell of the cause's."""
    causes = causes.dropna(subset=["after"])
    closer = (causes["after"] - causes["paper"]).abs() < (causes["before"] - causes["paper"]).abs()
    return (
        causes.assign(moved=causes["change"].abs() > threshold, closer=closer)
        .groupby("cause", sort=False)
        .agg(
            cells=("measure", "count"),
            moved=("moved", "sum"),
            closer=("closer", "sum"),
            within_before=("within_before", "sum"),
            within_after=("within_after", "sum"),
        )
        .reset_index()
    )


def causes_side_by_side(causes: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Chapter 4 §4.8. Causes measured on the same networks, one column each: per cell (arch,
    task, measure) of ``names``' fitted rows of ``causes`` (:func:`causes_table`), the default
    protocol's IIA (``before``), each cause's IIA after, and the paper's value. Refused if the
    causes' "before" differs on a cell (then they were not measured on the same networks)."""
    keys = ["arch", "task", "measure"]
    rows = causes[causes["cause"].isin(names)].dropna(subset=["after"])
    if (rows.groupby(keys)["before"].nunique() > 1).any():
        raise ValueError(f"the causes {names} were measured on different networks: no shared 'before' column")
    after = rows.pivot_table(index=keys, columns="cause", values="after", sort=False)[list(names)]
    shared = rows.groupby(keys, sort=False)[["before", "paper"]].first()
    return shared[["before"]].join(after).join(shared[["paper"]])


def cell_reasons(causes: pd.DataFrame, threshold: float = paper.TOLERANCE) -> dict[tuple[str, str, str, str], str]:
    """The scorecard's reasons, from measured rows only (issue 23): per Fig. 2/7 cell (arch, task,
    figure, measure) of ``causes`` (:func:`causes_table`), the causes that move it towards that
    figure's value by more than ``threshold`` (each cell against its own figure: the paper's
    LSTM Same-Object count is one value in Fig. 2 and another in Fig. 7), with the cell before
    and after (``"evidenced: …"``); a cell no cause moves so says ``"not explained: tried …"``
    with every cause measured on it. A cell no cause was measured on has no entry."""
    measured = causes.dropna(subset=["after"]).drop(columns="paper")
    cells = measured.merge(paper.iia_cells(), on=["arch", "task", "measure"], how="inner")
    toward = ((cells["before"] - cells["paper"]).abs() - (cells["after"] - cells["paper"]).abs()) > threshold
    reasons = {}
    for key, cell in cells.assign(toward=toward).groupby(["arch", "task", "figure", "measure"], sort=False):
        moving = cell[cell["toward"]]
        if len(moving):
            reasons[key] = "evidenced: " + "; ".join(
                f"{row.cause} moves it {row.before:.2f} → {row.after:.2f}" for row in moving.itertuples()
            )
        else:
            reasons[key] = "not explained: tried " + ", ".join(
                f"{row.cause} ({row.after - row.before:+.2f})" for row in cell.itertuples()
            )
    return reasons


def protocol_moves(cells: pd.DataFrame, threshold: float = paper.TOLERANCE) -> pd.DataFrame:
    """Chapter 4 §4.7. Per protocol variant (:func:`protocol_table`): the cells measured, how many
    it moves by more than ``threshold``, how many of those with a paper cell it brings closer to
    the paper's value, the largest change and where."""
    cells = cells.merge(
        figure_cells().rename(columns={"measure": "variable"}), on=["arch", "task", "variable"], how="left"
    )
    cells["closer"] = (cells["value"] - cells["paper"]).abs() < (cells["default"] - cells["paper"]).abs()
    rows = []
    for name, group in cells.groupby("variant", sort=False):
        measured = group.dropna(subset=["change"])
        largest = measured.loc[measured["change"].abs().idxmax()] if len(measured) else None
        rows.append(
            dict(
                variant=name,
                cells=len(measured),
                moved=int((measured["change"].abs() > threshold).sum()),
                closer=int(measured["closer"].sum()),
                largest_change=None if largest is None else largest["change"],
                where=None if largest is None else f"{largest['arch']} {largest['task']} {largest['variable']}",
            )
        )
    return pd.DataFrame(rows)
