"""Chapters 4 and 5: IIA — the Fig. 2/7 grid, the size sweep, IIA over training, gradience."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from numvars.measures import label as measure_label
from numvars.models import ARCHITECTURES


def plot_iia_grid(
    summary: pd.DataFrame, measures: Sequence[str] = ("count", "up_up", "phase", "full_swap")
) -> plt.Figure:
    """Chapter 4 §4.1–4.2, paper Figs. 2 and 7: test IIA per architecture (panels), task (groups) and measure (bars),
    mean over seeds with min–max whiskers; the paper's cell as a black bar where it reports one.
    ``summary`` is :func:`numvars.results.summarise`'s table."""
    archs = [a for a in ARCHITECTURES if a in set(summary["arch"])]
    tasks = [t for t in ("multi", "single", "same") if t in set(summary["task"])]
    colours = sns.color_palette("colorblind", len(measures))
    width = 0.8 / len(measures)
    fig, axes = plt.subplots(1, len(archs), figsize=(4.4 * len(archs), 3.4), sharey=True, squeeze=False)
    for ax, arch in zip(axes[0], archs):
        for i, measure in enumerate(measures):
            for j, task in enumerate(tasks):
                row = summary[(summary["arch"] == arch) & (summary["task"] == task) & (summary["measure"] == measure)]
                if row.empty:
                    continue
                row = row.iloc[0]
                x = j - 0.4 + width * (i + 0.5)
                ax.bar(x, row["mean"], width, color=colours[i], label=measure_label(measure) if j == 0 else None)
                spread = [
                    [max(row["mean"] - row["min"], 0)],
                    [max(row["max"] - row["mean"], 0)],
                ]  # rounding can put the mean a hair outside
                ax.errorbar(x, row["mean"], yerr=spread, color="0.3", lw=1, capsize=2)
                if pd.notna(row.get("paper")):
                    ax.plot([x - width / 2, x + width / 2], [row["paper"]] * 2, color="black", lw=2.5)
        ax.set_xticks(range(len(tasks)))
        ax.set_xticklabels([f"{t.capitalize()}-Object" for t in tasks])
        ax.set_ylim(0, 1.05)
        ax.set_title(arch.upper() if arch != "transformer" else "Transformer")
    axes[0][0].set_ylabel("test IIA")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="black", lw=2.5))
    labels.append("paper (Fig. 2; phase: Fig. 7)")
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    return fig


def plot_size_sweep(sizes: pd.DataFrame, paper_points: dict[int, float] | None = None) -> plt.Figure:
    """Chapter 5 §5.1 (Fig. 3 left). Up-Down count IIA against the state size d (log scale), one
    panel per architecture: each analysed network a dot, the mean a line, the controls (full swap,
    random rotation, untrained) as dashed lines, and the paper's values read off its plot.
    ``sizes``: a ``sizes.csv`` table (:func:`numvars.results.das_table`)."""
    from numvars.results import analysed, size_table

    summary = size_table(sizes)
    trained = analysed(sizes)
    count = trained[(trained["variable"] == "count") & (trained["method"] == "learned")]
    archs = list(summary["arch"].unique())
    fig, axes = plt.subplots(1, len(archs), figsize=(5.2 * len(archs), 3.8), sharey=True, squeeze=False)
    for ax, arch in zip(axes[0], archs):
        part, dots = summary[summary["arch"] == arch], count[count["arch"] == arch]
        ax.scatter(dots["d"], dots["test_iia"], color="C0", alpha=0.5, s=18, label="one network (count)")
        ax.plot(part["d"], part["count"], "o-", color="C0", label="count, mean")
        for column, colour, label in (
            ("random", "C1", "random rotation"),
            ("untrained", "C2", "untrained"),
            ("full_swap", "C3", "full swap"),
        ):
            ax.plot(part["d"], part[column], "--", color=colour, label=label)
        if arch == "gru" and paper_points:
            ax.plot(
                list(paper_points), list(paper_points.values()), "k*", markersize=11, label="paper (read off Fig. 3)"
            )
        ax.set_xscale("log", base=2)
        ticks = sorted(set(part["d"]) | (set(paper_points or {}) if arch == "gru" else set()))
        ax.set_xticks(ticks, [str(d) for d in ticks])
        ax.minorticks_off()
        ax.set(
            title=f"{arch.upper()}, Multi-Object" if len(archs) > 1 else arch.upper(),
            xlabel="state size d",
            ylabel="test IIA",
            ylim=(-0.02, 1.02),
        )
    axes[0][-1].legend(fontsize="small", loc="center right")
    fig.tight_layout()
    return fig


def plot_learning_curves(checkpoints: pd.DataFrame) -> plt.Figure:
    """Chapter 5 §5.2 (Fig. 3 right). Task accuracy (N = 1..20) and Up-Down count IIA on saved
    checkpoints, one panel per size: each seed a thin line, the mean over seeds a thick one."""
    curves = checkpoints[checkpoints["checkpoint"] != "analysed"]
    sizes = sorted(curves["d"].unique())
    fig, axes = plt.subplots(1, len(sizes), figsize=(3.4 * len(sizes), 3.3), sharey=True, squeeze=False)
    for ax, d in zip(axes[0], sizes):
        part = curves[curves["d"] == d]
        for column, colour, label in (("accuracy", "C0", "task accuracy"), ("test_iia", "C3", "count IIA")):
            for _, seed in part.groupby("seed"):
                ax.plot(seed["epoch"], seed[column], color=colour, alpha=0.25, linewidth=0.8)
            mean = part.groupby("epoch")[column].mean()
            ax.plot(mean.index, mean.values, color=colour, linewidth=2, label=label)
        ax.set(title=f"GRU d = {d}", xlabel="training epoch", ylim=(-0.02, 1.02))
    axes[0][0].set_ylabel("accuracy / IIA")
    axes[0][0].legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig


def plot_gradience(
    by_values: pd.DataFrame, by_difference: pd.DataFrame, conditions: Sequence[tuple[str, int]], reading: str = "count"
) -> plt.Figure:
    """Chapter 5 §5.3 (Fig. 4), in one ``reading`` of :data:`numvars.results.GRADIENCE_READINGS`.
    For each (arch, d) of ``conditions``: IIA by the target's and the source's value (heat map,
    :func:`numvars.results.iia_by` with ``["target", "source"]``), and one last panel of IIA
    against |source − target| for every condition."""
    by_values = by_values[by_values["reading"] == reading]
    by_difference = by_difference[by_difference["reading"] == reading]
    value = {"count": "count", "n": "N"}[reading]
    fig, axes = plt.subplots(1, len(conditions) + 1, figsize=(3.6 * (len(conditions) + 1), 3.4), squeeze=False)
    for ax, (arch, d) in zip(axes[0], conditions):
        part = by_values[(by_values["arch"] == arch) & (by_values["d"] == d)]
        grid = part.pivot_table(index="source", columns="target", values="iia").sort_index(ascending=False)
        sns.heatmap(
            grid,
            vmin=0,
            vmax=1,
            cmap="viridis",
            ax=ax,
            cbar=ax is axes[0][len(conditions) - 1],
            xticklabels=5,
            yticklabels=5,
        )
        ax.set(title=f"{arch.upper()} d = {d}", xlabel=f"target's {value}", ylabel=f"source's {value}")
    ax = axes[0][-1]
    for arch, d in conditions:
        part = by_difference[(by_difference["arch"] == arch) & (by_difference["d"] == d)]
        ax.plot(part["difference"], part["iia"], marker=".", label=f"{arch.upper()} d = {d}")
    ax.set(xlabel=f"|source − target| {value}", ylabel="test IIA", ylim=(-0.02, 1.02), title="by difference")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
