"""Chapter 7: states in principal components, the k sweep, the alignment functions."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd


def plot_state_geometry(points: pd.DataFrame, explained: Sequence[float] | None = None, title: str = "") -> plt.Figure:
    """Chapter 7 (Figs. 12–14). One network's states on their top two principal components:
    coloured by the count (left) and by the phase with the states after ``T`` marked and three
    sequences' paths drawn (middle); with ``explained`` (variance share per component), a bar
    chart of it (right). ``points``: rows of ``state_points.csv`` for one network
    (:func:`numvars.results.state_points_table`)."""
    panels = 3 if explained is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.9))
    scatter = axes[0].scatter(points["pc1"], points["pc2"], c=points["count"], cmap="viridis", s=10)
    fig.colorbar(scatter, ax=axes[0], label="count (Up-Down)")
    for phase, colour in (("demo", "C0"), ("response", "C1")):
        part = points[points["phase"] == phase]
        axes[1].scatter(part["pc1"], part["pc2"], s=8, color=colour, alpha=0.5, label=f"{phase} phase")
    at_t = points[points["is_T"].astype(bool)]
    axes[1].scatter(at_t["pc1"], at_t["pc2"], marker="x", color="k", s=30, label="after T")
    for n in sorted(points["n"].unique())[2::8][:3]:  # a short, a middle and a long sequence
        path = points[points["sequence"] == points.loc[points["n"] == n, "sequence"].min()].sort_values("position")
        axes[1].plot(path["pc1"], path["pc2"], color="0.3", linewidth=0.8)
        after_t = path[path["is_T"].astype(bool)]
        axes[1].annotate(
            f"N={n}",
            (after_t["pc1"].iloc[0], after_t["pc2"].iloc[0]),
            fontsize="small",
            xytext=(4, 4),
            textcoords="offset points",
        )
    axes[1].legend(fontsize="small", loc="best")
    for ax in axes[:2]:
        ax.set(xlabel="PC 1", ylabel="PC 2")
    if explained is not None:
        axes[2].bar(range(1, len(explained) + 1), explained, color="0.5")
        axes[2].set(xlabel="principal component", ylabel="share of variance", ylim=(0, 1))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


ALIGNMENT_LABELS = {
    "learned": "rotation (DAS)",
    "linear": "linear map",
    "random": "random rotation",
    "random_linear": "random linear map",
}


def plot_k_sweep(summary: pd.DataFrame) -> plt.Figure:
    """Chapter 7. Up-Down count IIA against the number of swapped coordinates k, one panel per
    architecture: the mean over networks of each learned map (line) and the range (band); the
    default k = S/2 dotted. ``summary``: :func:`numvars.results.alignment_summary` of a k sweep."""
    from numvars.das import half_state

    archs = list(summary["arch"].unique())
    fig, axes = plt.subplots(1, len(archs), figsize=(5.2 * len(archs), 3.6), sharey=True, squeeze=False)
    for ax, arch in zip(axes[0], archs):
        part = summary[(summary["arch"] == arch) & summary["trained"]]
        for colour, (method, curve) in zip(("C0", "C3"), part.groupby("method", sort=False)):
            curve = curve.sort_values("k")
            ax.plot(
                curve["k"], curve["mean"], "o-", markersize=3, color=colour, label=ALIGNMENT_LABELS.get(method, method)
            )
            ax.fill_between(curve["k"], curve["min"], curve["max"], color=colour, alpha=0.15)
        ax.axvline(half_state(int(part["k"].max())), color="0.5", linestyle=":", label="default k = S/2")
        ax.set(
            title=f"{arch.upper()} d = {part['d'].iloc[0]} (S = {part['k'].max()})",
            xlabel="swapped coordinates k",
            ylabel="test IIA",
            ylim=(-0.02, 1.02),
        )
    axes[0][0].legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig


def plot_alignment_functions(summary: pd.DataFrame) -> plt.Figure:
    """Chapter 7. Up-Down count IIA of each network condition under the rotation, the linear map
    and their random controls (bars: means; dots: each untrained network's learned maps).
    ``summary``: :func:`numvars.results.alignment_summary` of ``alignment_functions.csv``."""
    label = summary["arch"].str.upper() + " d=" + summary["d"].astype(str) + " " + summary["task"]
    summary = summary.assign(network=label)
    order = list(dict.fromkeys(summary["network"]))
    trained = summary[summary["trained"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.5 * len(order)), 3.8))
    methods = [m for m in ALIGNMENT_LABELS if m in set(trained["method"])]
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        part = trained[trained["method"] == method].set_index("network").reindex(order)
        ax.bar(
            [x + (i - (len(methods) - 1) / 2) * width for x in range(len(order))],
            part["mean"],
            width,
            color=f"C{i}",
            label=ALIGNMENT_LABELS[method],
        )
    untrained = summary[~summary["trained"]]
    for i, method in enumerate(methods):
        part = untrained[untrained["method"] == method]
        xs = [order.index(n) + (i - (len(methods) - 1) / 2) * width for n in part["network"]]
        ax.scatter(xs, part["mean"], color="k", marker="_", s=60, zorder=3, label="untrained" if i == 0 else None)
    ax.set_xticks(range(len(order)), order, rotation=20, ha="right")
    ax.set(ylabel="test IIA (count)", ylim=(0, 1.02))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
