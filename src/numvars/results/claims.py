"""The scorecard and the chapters' claim verdicts. A claim of :data:`numvars.paper.CLAIMS` owns
its text and the paper's value (derived from the paper's figure tables there); here it owns the
tables it reads and its rule (:data:`RULES`, :class:`ClaimRule`). :func:`score_claim` scores one,
:func:`claims_table` all of them or a chapter's; :func:`scorecard_cells` lists every Fig. 2/7 cell.
"""

from __future__ import annotations

from typing import Callable, Mapping, NamedTuple

import pandas as pd

from numvars import paper
from numvars.attention import DEFAULT_SELF
from numvars.measures import label
from numvars.results.comparison import compare_cells
from numvars.results.contract import read_table
from numvars.results.count_location import geometry_rules
from numvars.results.curves import (
    DEFAULT_READING,
    curve_statistics_table,
    gradience_per_network,
    size_table,
)
from numvars.results.training_tables import behaviour_cells
from numvars.results.transformer_tables import expected_share, variant_summary


def _fmt(x: float) -> str:
    return "—" if pd.isna(x) else f"{x:.2f}"


def scorecard_cells(das: pd.DataFrame) -> pd.DataFrame:
    """The scorecard page. Every Fig. 2/7 cell: ours (mean ± SD over seeds, range), the
    paper's, the difference and the verdict."""
    cells = compare_cells(das)
    return pd.DataFrame(
        {
            "arch": cells["arch"],
            "task": cells["task"],
            "figure": "Fig " + cells["figure"],
            "measure": cells["measure"].map(label),
            "ours (mean ± SD)": [
                f"{_fmt(m)} ± {_fmt(s)}" if pd.notna(m) else "—" for m, s in zip(cells["mean"], cells["sd"])
            ],
            "seeds (min–max)": [
                f"{_fmt(lo)}–{_fmt(hi)}" if pd.notna(lo) else "—" for lo, hi in zip(cells["min"], cells["max"])
            ],
            "chance": cells["chance"].map(_fmt),
            "paper": cells["paper"].map(_fmt),
            "difference": [
                f"{round(d, 2) + 0.0:+.2f}" if pd.notna(d) else "—" for d in cells["difference"]
            ],  # no "-0.00"
            "verdict": cells["verdict"],
        }
    )


class ClaimRule(NamedTuple):
    """How one claim of :data:`numvars.paper.CLAIMS` is scored: the committed tables it reads
    (``results/<profile>/<name>``, in the order ``score`` takes them) and the rule,
    ``score(claim, *tables) -> (ours, verdict)``."""

    tables: tuple[str, ...]
    score: Callable[..., tuple[str, str]]


def _claim_verdict(labels: pd.Series, verdicts: pd.Series, claim) -> str:
    measured = verdicts[verdicts != "not measured yet"]
    if len(measured) == 0:
        return f"not measured yet (issue {claim.issue})" if claim and claim.issue else "not measured yet"
    differ = labels[verdicts == "differs"]
    if len(differ) == 0:
        return f"within ±{paper.TOLERANCE:.2f} in all {len(measured)} cells"
    return f"differs in {len(differ)} of {len(measured)} cells: " + ", ".join(differ)


def _figure_cells(claim, das: pd.DataFrame) -> tuple[str, str]:
    """A claim about Fig. 2/7 cells (``claim.cells``: archs, tasks, figure, measures): ours per
    cell (mean over the analysed networks) and the cells that differ by more than the tolerance."""
    cells = compare_cells(das)
    archs, tasks, figure, measures = claim.cells
    part = cells[
        cells["arch"].isin(archs)
        & cells["task"].isin(tasks)
        & (cells["figure"] == figure)
        & cells["measure"].isin(measures)
    ]
    labels = part["arch"] + " " + part["task"] + ("" if len(measures) == 1 else " " + part["measure"])
    ours = "; ".join(f"{label} {_fmt(m)}" for label, m in zip(labels, part["mean"]))
    return ours, _claim_verdict(labels, part["verdict"], claim)


def _behaviour(claim, accuracy: pd.DataFrame) -> tuple[str, str]:
    """Fig. 6: accuracy on the trained and held-out counts and at the end of the paper's "≈0 by
    N≈25–30" (each condition on its own curve, with the N from which it is ≈0), per main-grid
    condition, against :data:`numvars.paper.FIG_6` (:func:`behaviour_cells`)."""
    behaviour = behaviour_cells(accuracy)
    labels = behaviour["arch"] + " " + behaviour["task"] + " " + behaviour["range"]

    def zero(row) -> str:
        if row.paper != paper.FIG_6["collapsed"]:
            return ""
        return f" (≈0 from N = {row.zero_from})" if not pd.isna(row.zero_from) else " (not ≈0)"

    ours = "; ".join(f"{r.arch} {r.task}: {r.range} {_fmt(r.ours)}{zero(r)}" for r in behaviour.itertuples())
    return ours, _claim_verdict(labels, behaviour["verdict"], claim)


def _size_sweep(claim, sizes: pd.DataFrame) -> tuple[str, str]:
    """GRU count IIA at each size of :data:`numvars.paper.FIG_3_LEFT` against the paper's value
    (±0.05), and the standard deviation over seeds at the smallest and largest size."""
    summary = size_table(sizes)
    gru = summary[summary["arch"] == "gru"].set_index("d")
    labels = pd.Series([f"GRU d={d}" for d in paper.FIG_3_LEFT])
    verdicts = pd.Series([paper.verdict(gru["count"].get(d), value) for d, value in paper.FIG_3_LEFT.items()])
    ends = gru.index.min(), gru.index.max()
    ours = (
        "; ".join(f"d={d} {_fmt(gru['count'].get(d))}" for d in gru.index)
        + f"; sd over seeds d={ends[0]} {gru.loc[ends[0], 'sd']:.3f}, d={ends[1]} {gru.loc[ends[1], 'sd']:.3f}"
    )
    return ours, _claim_verdict(labels, verdicts, None)


def _dynamics(claim, curves: pd.DataFrame) -> tuple[str, str]:
    """Per size, the mean Pearson r between accuracy and IIA across checkpoints; supported where
    it is at least :data:`numvars.paper.STRONG_R`."""
    pearson = curve_statistics_table(curves).groupby("d")["pearson"].mean()
    weak = [f"d={d}" for d, r in pearson.items() if r < paper.STRONG_R]
    return (
        "mean Pearson r " + "; ".join(f"d={d} {r:.2f}" for d, r in pearson.items()),
        f"supported at all {len(pearson)} sizes (mean r ≥ {paper.STRONG_R})"
        if not weak
        else f"not supported at {', '.join(weak)} (mean r < {paper.STRONG_R})",
    )


def _graded(claim, gradience: pd.DataFrame) -> tuple[str, str]:
    """Per size, the mean slope of IIA against the count difference and large − small counts
    (both negative: graded), and whether the slope is steeper in the smallest than in the largest
    GRU — over the networks that meet the paper's standard."""
    analysed_cells = gradience[gradience["standard"] & (gradience["reading"] == DEFAULT_READING)]
    per = gradience_per_network(analysed_cells).groupby(["arch", "d"])[["slope", "large_minus_small"]].mean()
    grus = per.loc["gru"]
    graded = [f"d={d}" for d, row in grus.iterrows() if row["slope"] < 0 and row["large_minus_small"] < 0]
    steeper = grus["slope"].iloc[0] < grus["slope"].iloc[-1]
    return (
        "GRU slope per count of difference " + "; ".join(f"d={d} {s:+.3f}" for d, s in grus["slope"].items()),
        f"IIA falls with the difference and for large counts at {len(graded)} of {len(grus)} GRU sizes; the smallest "
        f"GRU is {'more' if steeper else 'not more'} graded than the largest",
    )


def _nope_sum(claim, plus_minus: pd.DataFrame) -> tuple[str, str]:
    """For the 1-layer NoPE transformers that meet the standard, the share of trials whose number
    of responses moved by exactly +1 (demo term) or −1 (response term), and the counts N of the
    trials that did not."""
    one_layer = plus_minus[
        plus_minus["standard"] & (plus_minus["n_layers"] == 1) & (plus_minus["manipulation"] != "none")
    ]
    shares = {m: expected_share(one_layer[one_layer["manipulation"] == m]) for m in ("demo", "response")}
    missed = sorted(one_layer.loc[~one_layer["expected"], "n"].unique())
    label = {"demo": "demo term exactly +1", "response": "response term exactly −1"}
    return (
        "; ".join(f"{label[m]} in {shares[m]:.1%} of trials" for m in ("demo", "response")),
        "holds in every trial"
        if not missed
        else f"differs: {1 - expected_share(one_layer):.1%} of trials "
        f"miss, all at N = {', '.join(str(n) for n in missed)}",
    )


def _attention(claim, attention: pd.DataFrame) -> tuple[str, str]:
    """For the 2-layer RoPE transformers without void tokens that meet the standard, per layer,
    the response-phase queries' share on strictly earlier responses against
    :data:`numvars.paper.VERY_LITTLE` (beside it their share on their own token, apart) and the
    demo-phase queries' share on B against :data:`numvars.paper.MOSTLY` (means over networks, the
    range over tasks; the tasks where the share on B is above it), under the default reading of
    the query's own key (:data:`numvars.attention.DEFAULT_SELF`)."""
    rope = attention[
        attention["standard"]
        & (attention["positional"] == "rope")
        & (attention["void_p"] == 0)
        & (attention["n_layers"] == 2)
        & (attention["self_keys"] == DEFAULT_SELF)
    ]
    mean = rope.groupby(["query_phase", "role", "layer", "task"])["share"].mean()
    on_r, on_self, on_b = mean.loc["response", "response"], mean.loc["response", "self"], mean.loc["demo", "B"]

    def span(part, layer):  # the range over tasks
        return f"{part.loc[layer].min():.2f}–{part.loc[layer].max():.2f}"

    layers = sorted(rope["layer"].unique())
    not_little = [layer for layer in layers if on_r.loc[layer].max() > paper.VERY_LITTLE]
    mostly_b = [
        f"layer {layer} ({', '.join(on_b.loc[layer][on_b.loc[layer] > paper.MOSTLY].index)})"
        for layer in layers
        if on_b.loc[layer].max() > paper.MOSTLY
    ]
    return (
        "response queries on earlier R: "
        + ", ".join(f"layer {layer} {span(on_r, layer)}" for layer in layers)
        + " (on their own R: "
        + ", ".join(f"layer {layer} {span(on_self, layer)}" for layer in layers)
        + "); demo queries on B: "
        + ", ".join(f"layer {layer} {span(on_b, layer)}" for layer in layers),
        (
            "earlier R gets more than 'very little' (> "
            f"{paper.VERY_LITTLE:.2f}) in layer(s) {', '.join(map(str, not_little))}"
            if not_little
            else f"response queries: at most {paper.VERY_LITTLE:.2f} on earlier R"
        )
        + "; demo queries mostly (> "
        f"{paper.MOSTLY:.1f}) on B in " + ("; ".join(mostly_b) if mostly_b else "no layer or task"),
    )


def _void_tokens(claim, variants: pd.DataFrame) -> tuple[str, str]:
    """The void-token transformers' full-swap IIA per task against
    :data:`numvars.paper.FIG_11_FULL_SWAP` (within when inside it widened by the tolerance), with
    their count IIA."""
    cells = variant_summary(variants)
    void = cells[cells["void_p"] > 0].set_index(["task", "measure"])["mean"]
    tasks = [t for t in ("multi", "single", "same") if (t, "full_swap") in void.index]
    low, high = paper.FIG_11_FULL_SWAP
    outside = [t for t in tasks if not low - paper.TOLERANCE <= void[t, "full_swap"] <= high]
    return (
        "; ".join(
            f"{t}: full swap {void[t, 'full_swap']:.2f}, count {void.get((t, 'count'), float('nan')):.2f}"
            for t in tasks
        ),
        "not measured yet"
        if not tasks
        else f"within {low:.2f}–{high:.2f} (±{paper.TOLERANCE:.2f}) in all {len(tasks)} tasks"
        if not outside
        else f"differs in {len(outside)} of {len(tasks)} tasks: {', '.join(outside)}",
    )


def _geometry(claim, geometry: pd.DataFrame) -> tuple[str, str]:
    """Per task, how many of the GRUs that meet the paper's standard have an ordered count
    (|Spearman| of the count with one of the top three principal components at least
    :data:`numvars.paper.ORDERED` in both phases) and a jump at T (median step at T at least
    :data:`numvars.paper.JUMP` times a typical demo step). ``ours`` prints the medians of the
    absolute ρ (as ``ρ``: a table cell cannot hold ``|``)."""
    grus = geometry_rules(
        geometry[(geometry["arch"] == "gru") & geometry["standard"] & (geometry["method"] == "learned")]
    )
    tasks = [t for t in ("multi", "single", "same") if t in set(grus["task"])]
    ours, failing = [], []
    for task in tasks:
        part = grus[grus["task"] == task]
        ours.append(
            f"{task}: ordered {part['ordered'].sum()}/{len(part)} (median ρ {part['spearman_demo'].median():.2f} demo, "
            f"{part['spearman_response'].median():.2f} response), jump {part['jump'].sum()}/{len(part)} "
            f"(median ratio {part['jump_ratio'].median():.1f})"
        )
        if not (part["ordered"] & part["jump"]).all():
            failing.append(task)
    verdict = (
        "not measured yet"
        if not tasks
        else f"holds for every GRU on all {len(tasks)} tasks"
        if not failing
        else f"holds on {', '.join(t for t in tasks if t not in failing) or 'no task'}; not for every GRU on {', '.join(failing)}"
    )
    return "; ".join(ours), verdict


#: every claim's rule, by :attr:`numvars.paper.Claim.key`; a claim with Fig. 2/7 ``cells`` is
#: scored from them. Adding a claim: its row of :data:`numvars.paper.CLAIMS` and, unless it is
#: about cells, its rule here.
RULES: dict[str, ClaimRule] = {
    "behaviour": ClaimRule(("accuracy_per_count.csv",), _behaviour),
    "size_sweep": ClaimRule(("sizes.csv",), _size_sweep),
    "dynamics": ClaimRule(("checkpoints.csv",), _dynamics),
    "graded": ClaimRule(("gradience.csv",), _graded),
    "nope_sum": ClaimRule(("plus_minus.csv",), _nope_sum),
    "attention": ClaimRule(("attention.csv",), _attention),
    "void_tokens": ClaimRule(("transformer_variants.csv",), _void_tokens),
    "geometry": ClaimRule(("geometry.csv",), _geometry),
}


def rule_of(claim: paper.Claim) -> ClaimRule:
    """The rule that scores ``claim``: its own in :data:`RULES`, or its Fig. 2/7 cells."""
    if claim.key in RULES:
        return RULES[claim.key]
    if claim.cells is not None:
        return ClaimRule(("das.csv",), _figure_cells)
    raise ValueError(f"claim {claim.key!r} has neither Fig. 2/7 cells nor a rule in numvars.results.claims.RULES")


def score_claim(
    claim: paper.Claim, tables: Mapping[str, pd.DataFrame] | None = None, profile: str | None = "paper"
) -> dict:
    """One row of the scorecard: ``claim``'s text, experiment, the paper's value, ours, the verdict
    and its chapter. Its rule (:func:`rule_of`) reads each of its tables from ``tables`` if given
    there, else from the committed ``results/<profile>/``; without ``profile`` a claim whose
    tables are not all given is ``not measured yet``."""
    rule = rule_of(claim)
    tables = dict(tables or {})
    if profile is not None:
        tables |= {name: read_table(profile, name) for name in rule.tables if name not in tables}
    if all(name in tables for name in rule.tables):
        ours, verdict = rule.score(claim, *(tables[name] for name in rule.tables))
    else:
        ours, verdict = "", _claim_verdict(pd.Series(dtype=str), pd.Series(dtype=str), claim)
    return dict(
        claim=claim.claim,
        experiment=claim.experiment,
        paper=claim.paper,
        ours=ours,
        verdict=verdict,
        chapter=claim.chapter,
    )


def claims_table(
    chapter: str | None = None, tables: Mapping[str, pd.DataFrame] | None = None, profile: str | None = "paper"
) -> pd.DataFrame:
    """The scorecard's claims (every claim of :data:`numvars.paper.CLAIMS`, or those a ``chapter``
    shows, e.g. ``"05_size_learning_gradience"``), each scored by :func:`score_claim`: columns
    claim, experiment, paper, ours, verdict, chapter."""
    chosen = [claim for claim in paper.CLAIMS if chapter is None or claim.chapter == chapter]
    return pd.DataFrame([score_claim(claim, tables, profile) for claim in chosen])
