"""Every table the book shows, from the store (live runs) or from ``results/<profile>/`` (committed).

One module per idea; every name is re-exported here, so ``numvars.results.X`` works for all:

* :mod:`~numvars.results.contract` — :data:`TABLES`, :func:`read_table`;
* :mod:`~numvars.results.training_tables` — runs, accuracy per count, behaviour (chapter 2);
* :mod:`~numvars.results.comparison` — the analysed rows, per network, the Fig. 2/7 summary, the paper's cells;
* :mod:`~numvars.results.das_tables` — DAS rows, pair outcomes, failures, chapter 4's summaries;
* :mod:`~numvars.results.causes` — protocol variants, the authors' rules cause by cause, protocol columns;
* :mod:`~numvars.results.curves` — sizes, learning curves, gradience (chapter 5);
* :mod:`~numvars.results.transformer_tables` — attention, ±1 shift, layer swaps (chapter 6);
* :mod:`~numvars.results.count_location` — geometry, state points, alignment functions, k sweep (chapter 7);
* :mod:`~numvars.results.claims` — the scorecard's and the chapters' claim verdicts;
* :mod:`~numvars.results.writing` — :func:`write_tables` (:func:`table_builders`: every table by name), the ``results`` stage.

A table that runs networks (forward passes, no fitting) says so in its docstring. The paper's
values come from :mod:`numvars.paper` only; dependencies point down this list, never up.
"""

from __future__ import annotations

from numvars.results.causes import (
    VALIDATION_CAUSE,
    cause_summary,
    causes_side_by_side,
    causes_table,
    cell_reasons,
    protocol_columns,
    protocol_effects,
    protocol_moves,
    protocol_table,
    protocol_within,
    rules_of,
)
from numvars.results.claims import RULES, ClaimRule, claims_table, rule_of, score_claim, scorecard_cells
from numvars.results.comparison import (
    analysed,
    compare_cells,
    default_protocol,
    figure_cells,
    iia_table,
    over_seeds,
    per_network,
    summarise,
)
from numvars.results.contract import RESULTS_DIR, TABLES, read_table
from numvars.results.count_location import (
    alignment_gains,
    alignment_summary,
    geometry_configs,
    geometry_rules,
    geometry_table,
    smallest_k,
    state_points_table,
)
from numvars.results.curves import (
    DEFAULT_READING,
    GRADIENCE_READINGS,
    checkpoint_table,
    curve_statistics_table,
    gradience_per_network,
    gradience_table,
    iia_by,
    pair_check,
    size_curves,
    size_table,
)
from numvars.results.das_tables import (
    breakdown,
    controls_table,
    das_table,
    facts_of_test_pairs,
    failure_summary,
    failure_table,
    fit_budget,
    late_gain,
    meets_standard,
    pair_outcomes,
    pooled_failures,
    protocol_of,
    swap_kinds,
    token_kind,
    untrained_summary,
)
from numvars.results.training_tables import (
    accuracy_table,
    behaviour_cells,
    behaviour_summary,
    cause_runs_table,
    departures,
    history_table,
    runs_table,
    standard_table,
)
from numvars.results.transformer_tables import (
    EXPECTED_SHIFT,
    attention_table,
    expected_share,
    layer_swap_table,
    plus_minus_summary,
    plus_minus_table,
    uniform_sequences,
    variant_summary,
)
from numvars.results.writing import FIGURE_EXPERIMENTS, TABLE_SOURCES, table_builders, write_tables

__all__ = [
    "RESULTS_DIR",
    "TABLES",
    "read_table",
    "runs_table",
    "cause_runs_table",
    "accuracy_table",
    "history_table",
    "behaviour_summary",
    "departures",
    "behaviour_cells",
    "standard_table",
    "default_protocol",
    "analysed",
    "per_network",
    "over_seeds",
    "summarise",
    "iia_table",
    "compare_cells",
    "figure_cells",
    "facts_of_test_pairs",
    "late_gain",
    "protocol_of",
    "meets_standard",
    "das_table",
    "pair_outcomes",
    "token_kind",
    "failure_table",
    "pooled_failures",
    "controls_table",
    "untrained_summary",
    "breakdown",
    "failure_summary",
    "swap_kinds",
    "fit_budget",
    "protocol_columns",
    "protocol_effects",
    "protocol_within",
    "rules_of",
    "protocol_table",
    "VALIDATION_CAUSE",
    "causes_side_by_side",
    "causes_table",
    "cause_summary",
    "cell_reasons",
    "protocol_moves",
    "size_curves",
    "size_table",
    "checkpoint_table",
    "curve_statistics_table",
    "pair_check",
    "GRADIENCE_READINGS",
    "DEFAULT_READING",
    "gradience_table",
    "gradience_per_network",
    "iia_by",
    "EXPECTED_SHIFT",
    "uniform_sequences",
    "attention_table",
    "plus_minus_table",
    "layer_swap_table",
    "variant_summary",
    "expected_share",
    "plus_minus_summary",
    "geometry_table",
    "geometry_configs",
    "state_points_table",
    "alignment_summary",
    "alignment_gains",
    "smallest_k",
    "geometry_rules",
    "scorecard_cells",
    "ClaimRule",
    "RULES",
    "rule_of",
    "score_claim",
    "claims_table",
    "FIGURE_EXPERIMENTS",
    "TABLE_SOURCES",
    "table_builders",
    "write_tables",
]
