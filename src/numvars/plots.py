"""Figures for the book: one function per figure, seaborn, each returning the figure."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from numvars.analysis import ALL_PROGRAMS, count_distribution, long_form, long_trace
from numvars.programs import get_program
from numvars.tasks import Task

PROGRAM_TITLES = {"up_down": "Up-Down", "up_up": "Up-Up", "ctx_distr": "Ctx-Distr (re-read tally)"}


def _shade_response_phase(ax, frame: pd.DataFrame) -> None:
    response = frame.loc[frame["phase"] == "response", "position"]
    if len(response):
        ax.axvspan(response.min() - 0.5, response.max() + 0.5, color="0.92", zorder=0)


def _token_ticks(ax, tokens: Sequence[str]) -> None:
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens)
    ax.set_xlim(-0.5, len(tokens) - 0.5)


def plot_program_traces(task: Task, ids: Sequence[int], programs: Sequence[str] = ALL_PROGRAMS) -> plt.Figure:
    """The numeric variables of each program after every token of one sequence (one panel per
    program; the response phase is shaded)."""
    frame = long_trace(task, ids, programs)
    tokens = task.decode(ids).split()
    fig, axes = plt.subplots(1, len(programs), figsize=(4.2 * len(programs), 3.2), sharey=True)
    for ax, name in zip(list(axes) if len(programs) > 1 else [axes], programs):
        part = frame[frame["program"] == name]
        _shade_response_phase(ax, part)
        sns.lineplot(data=part, x="position", y="value", hue="variable", style="variable", markers=True, dashes=False, ax=ax)
        _token_ticks(ax, tokens)
        ax.set(title=PROGRAM_TITLES.get(name, name), xlabel="token read", ylabel="value after the token")
        ax.legend(title=None, loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def plot_counterfactual(
    task: Task,
    program: str,
    target: Sequence[int],
    t: int,
    source: Sequence[int],
    u: int,
    variables: Sequence[str] | str | None,
    seed: int = 0,
) -> plt.Figure:
    """Three panels for one program's variables: the source's trace (swap taken after ``u``),
    the target's (swap made after ``t``), and the counterfactual as the intervened program runs it."""
    prog = get_program(program, task)
    counterfactual, intervened = prog.counterfactual_trace(target, t, source, u, variables, seed=seed)
    panels = [
        ("source", source, u, long_form(task, source, prog.trace(source), program)),
        ("target (original)", target, t, long_form(task, target, prog.trace(target), program)),
        ("counterfactual (the intervened program runs on)", counterfactual, t, long_form(task, counterfactual, intervened, program)),
    ]
    fig, axes = plt.subplots(3, 1, figsize=(8, 6.6), sharey=True)
    for ax, (title, ids, mark, frame) in zip(axes, panels):
        _shade_response_phase(ax, frame)
        sns.lineplot(data=frame, x="position", y="value", hue="variable", style="variable", markers=True, dashes=False, ax=ax)
        ax.axvline(mark, color="crimson", linestyle=":", linewidth=2)
        _token_ticks(ax, task.decode(ids).split())
        ax.set(title=title, xlabel=None, ylabel="value")
        ax.legend(title=None, loc="upper left", fontsize="small")
    axes[-1].set_xlabel("token read (dotted: where the state is swapped)")
    fig.tight_layout()
    return fig


def plot_count_distribution(task: Task, seqs: Sequence[Sequence[int]], title: str) -> plt.Figure:
    """Bar chart of N over ``seqs``, the held-out counts marked in red."""
    frame = count_distribution(task, seqs)
    fig, ax = plt.subplots(figsize=(8, 2.6))
    sns.barplot(data=frame, x="N", y="sequences", hue="in training", palette={"drawn": "tab:blue", "held out": "tab:red"}, ax=ax)
    for n in task.hold_outs:
        ax.annotate("held out", (n - 1, 0), xytext=(0, 4), textcoords="offset points", ha="center", rotation=90, fontsize="small", color="tab:red")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def plot_training_curves(history: pd.DataFrame) -> plt.Figure:
    """Validation trial accuracy and training loss per epoch, one line per run, by architecture."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, column, label in zip(axes, ("val_accuracy", "loss"), ("validation trial accuracy", "training loss")):
        sns.lineplot(data=history, x="epoch", y=column, hue="arch", units="seed", estimator=None, ax=ax, lw=1)
        ax.set(ylabel=label)
    axes[1].set_yscale("log")
    fig.tight_layout()
    return fig


def plot_accuracy_per_count(accuracy: pd.DataFrame, hue: str, hold_outs: Sequence[int], col: str | None = None, max_trained: int = 20) -> plt.Figure:
    """Trial accuracy per N (mean ± sd over seeds), held-out counts marked, the training range
    shaded (paper Fig. 6)."""
    grid = sns.relplot(
        data=accuracy, x="N", y="accuracy", hue=hue, col=col, kind="line", errorbar="sd", marker="o",
        height=3.0, aspect=1.3, palette="viridis" if hue == "d" else None, facet_kws=dict(sharey=True),
    )
    for ax in grid.axes.flat:
        ax.axvspan(0.5, max_trained + 0.5, color="0.94", zorder=0)
        for n in hold_outs:
            ax.axvline(n, color="tab:red", lw=0.8, ls=":", zorder=0)
        ax.set(ylim=(-0.03, 1.03), ylabel="trial accuracy")
    grid.figure.suptitle(f"shaded: trained range 1–{max_trained}; red dotted: held-out counts", y=1.02, fontsize="small")
    return grid.figure
