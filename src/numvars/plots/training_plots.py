"""Chapters 2 and 3: learning curves of a network and of a DAS fit, accuracy per count (Fig. 6)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from numvars.tasks import Task


def plot_training_curves(history: pd.DataFrame) -> plt.Figure:
    """Chapter 2 §2.3. Validation trial accuracy and training loss per epoch, one line per run, by architecture."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, column, label in zip(axes, ("val_accuracy", "loss"), ("validation trial accuracy", "training loss")):
        sns.lineplot(data=history, x="epoch", y=column, hue="arch", units="seed", estimator=None, ax=ax, lw=1)
        ax.set(ylabel=label)
    axes[1].set_yscale("log")
    fig.tight_layout()
    return fig


def plot_accuracy_per_count(
    accuracy: pd.DataFrame, hue: str, col: str | None = None, task: Task = Task("multi")
) -> plt.Figure:
    """Chapter 2 §2.4. Trial accuracy per N (mean ± sd over seeds), held-out counts marked, the training range
    shaded (paper Fig. 6); ``task`` gives the hold-outs and the trained range."""
    hold_outs, max_trained = task.hold_outs, task.max_count
    grid = sns.relplot(
        data=accuracy,
        x="N",
        y="accuracy",
        hue=hue,
        col=col,
        kind="line",
        errorbar="sd",
        marker="o",
        height=3.0,
        aspect=1.3,
        palette="viridis" if hue == "d" else None,
        facet_kws=dict(sharey=True),
    )
    for ax in grid.axes.flat:
        ax.axvspan(0.5, max_trained + 0.5, color="0.94", zorder=0)
        for n in hold_outs:
            ax.axvline(n, color="tab:red", lw=0.8, ls=":", zorder=0)
        ax.set(ylim=(-0.03, 1.03), ylabel="trial accuracy")
    grid.figure.suptitle(
        f"shaded: trained range 1–{max_trained}; red dotted: held-out counts", y=1.02, fontsize="small"
    )
    return grid.figure


def plot_fit_history(history: Sequence[dict]) -> plt.Figure:
    """Validation IIA after each epoch of one DAS fit (a :class:`numvars.das.DasResult`'s
    ``history``), chapter 3 §3.3."""
    frame = pd.DataFrame(list(history))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(frame["epoch"], frame["val_iia"], "o-", ms=3)
    ax.set(xlabel="epoch", ylabel="validation IIA", ylim=(0, 1))
    fig.tight_layout()
    return fig
