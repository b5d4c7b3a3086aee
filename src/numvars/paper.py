"""What the paper reports: the single source for every comparison in the book.

Grant, Goodman & McClelland (2025), *Emergent Symbol-like Number Variables in Artificial Neural
Networks* (arXiv 2501.06141 v1, January 2025: the ICLR 2025 submission; the published version
is TMLR 2025, arXiv v3). Figure numbers are v1's. Values are read off the paper's plots (±0.03,
:data:`READ_ERROR`).

* :func:`iia_cells` — every cell of Figs. 2 and 7 (arch × task × measure, mean over seeds);
* :data:`CLAIMS` — every claim of the paper the book tests, with where the book tests it;
* :data:`FIG_3_LEFT` — the size sweep; :data:`STRONG_R` — "strong correlation" as a rule;
* :data:`FIG_11_FULL_SWAP`, :data:`VERY_LITTLE`, :data:`MOSTLY` — chapter 6's claims as rules;
* :data:`FIG_6`, :data:`FIG_6_SCORED_AT` — behaviour per N; :data:`DROPPED_SEEDS` — seeds the paper dropped;
* :data:`INCONSISTENCIES` — where the paper disagrees with itself.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import pandas as pd

READ_ERROR = 0.03  # values read off plots
TOLERANCE = 0.05  # |ours - paper| within this: "within"; otherwise the difference needs a reason

# Figs. 2 and 7, per cell. Fig. 2 reports Up-Down count, Up-Up (the better count) and the
# Ctx-Distr full swap; Fig. 7 every variable.
_FIG_2_7 = """\
arch        task    fig2_count fig2_up_up fig2_full_swap fig7_count fig7_demo_count fig7_resp_count fig7_phase
gru         multi   0.96       0.40       0.08           0.96       0.40            0.33            0.89
gru         single  0.94       0.41       0.08           0.94       0.41            0.36            0.90
gru         same    0.47       0.29       0.09           0.47       0.30            0.32            0.43
lstm        multi   0.93       0.45       0.09           0.93       0.46            0.44            0.87
lstm        single  0.97       0.37       0.08           0.97       0.38            0.39            0.93
lstm        same    0.49       0.52       0.09           0.34       0.36            0.33            0.36
transformer multi   0.11       0.12       0.97           0.11       0.11            0.36            0.74
transformer single  0.12       0.13       0.99           0.12       0.12            0.37            0.77
transformer same    0.12       0.13       0.97           0.12       0.12            0.35            0.47
"""


def iia_cells() -> pd.DataFrame:
    """Every cell of Figs. 2 and 7: columns ``arch``, ``task``, ``figure`` (``"2"``/``"7"``),
    ``measure`` (``count``, ``up_up``, ``full_swap``; ``count``, ``demo_count``, ``resp_count``,
    ``phase``) and ``paper`` (IIA, mean over seeds)."""
    wide = pd.read_csv(io.StringIO(_FIG_2_7), sep=r"\s+")
    long = wide.melt(id_vars=["arch", "task"], var_name="cell", value_name="paper")
    long[["figure", "measure"]] = long["cell"].str.extract(r"fig(\d)_(\w+)")
    return long[["arch", "task", "figure", "measure", "paper"]]


class Claim(NamedTuple):
    """One claim of the paper, the experiment that tests it, what the paper reports, and where
    this book tests it: ``cells`` selects Fig. 2/7 cells (``(archs, tasks, figure, measures)``),
    ``chapter`` the page that shows it (``None``: not measured yet), ``issue`` the tracker issue
    that will."""

    key: str
    claim: str
    experiment: str
    paper: str
    chapter: str | None = None
    cells: tuple | None = None
    issue: int | None = None


_RNN, _COUNTING = ("gru", "lstm"), ("multi", "single")
_TASKS = ("multi", "single", "same")


def _span(archs: tuple, tasks: tuple, figure: str, measures: str | tuple) -> str:
    """The range of the paper's Fig. 2/7 cells ``measures`` on ``archs`` × ``tasks``, e.g. ``"0.93–0.97"``."""
    cells = iia_cells()
    measures = (measures,) if isinstance(measures, str) else measures
    values = cells[
        cells["arch"].isin(archs)
        & cells["task"].isin(tasks)
        & (cells["figure"] == figure)
        & cells["measure"].isin(measures)
    ]["paper"]
    return f"{values.min():.2f}–{values.max():.2f}"


#: Fig. 3 (left): GRU count IIA read off the plot at the sizes the paper's text names (≈0.7 at
#: d = 8, ≈0.99 from d = 48 on).
FIG_3_LEFT = {8: 0.70, 48: 0.99, 96: 0.99}
#: "strong correlation" (Fig. 3 right), made a rule: a mean Pearson r across checkpoints of at
#: least this (the usual threshold for a strong correlation)
STRONG_R = 0.7

#: Fig. 11: the full swap after layer 1 of the void-token transformers, as the paper's text gives it
FIG_11_FULL_SWAP = (0.95, 1.0)
#: Fig. 8's words made rules (the paper gives no numbers): "very little" attention is at most this
#: share of a query's attention, "mostly" more than this
VERY_LITTLE, MOSTLY = 0.10, 0.5

#: Figs. 12–14's words made rules (the paper gives no numbers): the count is "ordered" along a
#: principal component when |Spearman| of the count with it is at least ORDERED in each phase; the
#: state makes "a jump at T" when its step on reading T is at least JUMP times a typical demo step
ORDERED, JUMP = 0.9, 2.0

#: Fig. 6 (behaviour per N), in the paper's words: accuracy ≈1.0 on the trained and held-out counts,
#: and ≈0 "by N≈25–30" (``collapsed_by``, the window). "By" bounds where each curve reaches ≈0, and
#: the window is not one N for every network (the paper's LSTM curve is not yet 0 at N = 25–27):
#: each condition is scored on its own curve at the window's end (:data:`FIG_6_SCORED_AT`), the one
#: N at which the text has every curve at ≈0 (reproduction note 65).
FIG_6 = {"trained": 1.0, "held-out": 1.0, "collapsed": 0.0, "collapsed_by": (25, 30)}
#: the N at which Fig. 6's "≈0 by N≈25–30" is scored: the end of the window
FIG_6_SCORED_AT = FIG_6["collapsed_by"][1]

#: Every claim of the paper that the book tests (PAPER.md §5), in the paper's order.
CLAIMS: tuple[Claim, ...] = (
    Claim(
        "rnn_count",
        "GRUs and LSTMs on Multi/Single-Object carry a mutable count, aligned with Up-Down",
        "Fig 2, IIA of count",
        _span(_RNN, _COUNTING, "2", "count"),
        "04_number_variables",
        (_RNN, _COUNTING, "2", ("count",)),
    ),
    Claim(
        "rnn_up_down_best",
        'Up-Down beats Up-Up and "no carried state" in RNNs',
        "Fig 2, Up-Up and full-swap IIA",
        f"Up-Up {_span(_RNN, _COUNTING, '2', 'up_up')}; full swap {_span(_RNN, _COUNTING, '2', 'full_swap')}",
        "04_number_variables",
        (_RNN, _COUNTING, "2", ("up_up", "full_swap")),
    ),
    Claim(
        "rnn_phase",
        "RNNs also carry a phase variable",
        "Fig 7, IIA of phase",
        _span(_RNN, _COUNTING, "7", "phase"),
        "04_number_variables",
        (_RNN, _COUNTING, "7", ("phase",)),
    ),
    Claim(
        "same_object",
        "Same-Object RNNs solve the task but align poorly with every program",
        "Fig 2/7",
        f"every program {_span(_RNN, ('same',), '7', ('count', 'demo_count', 'resp_count', 'phase'))} (Fig 7)",
        "04_number_variables",
        (_RNN, ("same",), "7", ("count", "demo_count", "resp_count", "phase")),
    ),
    Claim(
        "transformer_no_count",
        "Transformers keep no carried count: count swaps fail, a full swap after layer 1 changes nothing",
        "Fig 2",
        f"count {_span(('transformer',), _TASKS, '2', 'count')}; full swap {_span(('transformer',), _TASKS, '2', 'full_swap')}",
        "04_number_variables",
        (("transformer",), _TASKS, "2", ("count", "full_swap")),
    ),
    Claim(
        "nope_sum",
        "A 1-layer NoPE transformer counts by a ±1 sum in attention: adding one demo (or one response) "
        "key-value term moves EOS by exactly one (later or earlier)",
        "App. A.4",
        "100 %",
        "06_transformers",
    ),
    Claim(
        "attention",
        "In the response phase, queries attend over demo tokens and T with very little attention on earlier R; "
        "demo-phase queries attend mostly to B (2-layer RoPE)",
        "Fig 8",
        "qualitative",
        "06_transformers",
    ),
    Claim(
        "void_tokens",
        "With void tokens breaking position ≈ count, transformers still keep no carried count",
        "Fig 11",
        f"full swap ≈{FIG_11_FULL_SWAP[0]:.2f}–{FIG_11_FULL_SWAP[1]:.1f}",
        "06_transformers",
    ),
    Claim(
        "size_sweep",
        "Bigger GRUs align better and vary less across seeds",
        "Fig 3 left, size sweep",
        f"IIA rises from ≈{FIG_3_LEFT[8]:.1f} (d=8) to ≈{FIG_3_LEFT[48]:.2f} (d≥48)",
        "05_size_learning_gradience",
    ),
    Claim(
        "dynamics",
        "Over training, task accuracy and IIA rise and plateau together",
        "Fig 3 right, DAS on checkpoints",
        '"strong correlation" (no statistic given)',
        "05_size_learning_gradience",
    ),
    Claim(
        "graded",
        'The neural "symbols" are graded: IIA falls for large counts and for large source–target differences; '
        "smaller nets are more graded",
        "Fig 4",
        "qualitative + curves",
        "05_size_learning_gradience",
    ),
    Claim(
        "behaviour",
        "Networks interpolate to held-out N but do not extrapolate past 20",
        "Fig 6",
        f"≈{FIG_6['trained']:.1f} on 1..20, ≈{FIG_6['collapsed']:.0f} by N≈{FIG_6['collapsed_by'][0]}–{FIG_6['collapsed_by'][1]}",
        "02_networks_and_training",
    ),
    Claim(
        "geometry",
        "Hidden states of a GRU lie on an ordered count manifold, with a jump at T",
        "Figs 12–14, PCA",
        "qualitative",
        "07_where_the_count_lives",
    ),
)

#: Seeds the paper reports dropping (of 6 per condition) for missing its standard: the main grid,
#: and the void-token transformers of Fig. 11 (4 Same-Object, 1 Single-Object).
DROPPED_SEEDS = {("lstm", "same"): 3, ("transformer", "single"): 1, ("transformer", "same"): 1}
DROPPED_VOID_SEEDS = {"same": 4, "single": 1, "multi": 0}

INCONSISTENCIES = (
    "Fig 2's transformer \"Up-Up\" equals Fig 7's demo_count, not the better of demo_count and resp_count.",
    "LSTM Same-Object count is 0.49 in Fig 2 and 0.34 in Fig 7.",
)


def claim(key: str) -> Claim:
    """The claim of :data:`CLAIMS` called ``key`` (e.g. ``"size_sweep"``); a clear error for an unknown one."""
    for candidate in CLAIMS:
        if candidate.key == key:
            return candidate
    raise ValueError(f"unknown claim {key!r}; allowed: {[c.key for c in CLAIMS]}")


def verdict(ours: float | None, paper: float | None, tolerance: float = TOLERANCE) -> str:
    """``"within ±0.05"``, ``"differs"`` or ``"not measured yet"`` (``ours`` is None or NaN)."""
    if ours is None or pd.isna(ours):
        return "not measured yet"
    if paper is None or pd.isna(paper):
        return "not reported"
    return f"within ±{tolerance:.2f}" if abs(ours - paper) <= tolerance + 1e-9 else "differs"
