"""Chapters 1 and 3: a sequence token by token — the programs' traces, a counterfactual, the
count distribution of a task, one intervened trial.
"""

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
    """Chapter 1 §1.2. The numeric variables of each program after every token of one sequence (one panel per
    program; the response phase is shaded)."""
    frame = long_trace(task, ids, programs)
    tokens = task.decode(ids).split()
    fig, axes = plt.subplots(1, len(programs), figsize=(4.2 * len(programs), 3.2), sharey=True)
    for ax, name in zip(list(axes) if len(programs) > 1 else [axes], programs):
        part = frame[frame["program"] == name]
        _shade_response_phase(ax, part)
        sns.lineplot(
            data=part, x="position", y="value", hue="variable", style="variable", markers=True, dashes=False, ax=ax
        )
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
    """Chapter 1 §1.4. Three panels for one program's variables: the source's trace (swap taken after ``u``),
    the target's (swap made after ``t``), and the counterfactual as the intervened program runs it."""
    prog = get_program(program, task)
    counterfactual, intervened = prog.counterfactual_trace(target, t, source, u, variables, seed=seed)
    panels = [
        ("source", source, u, long_form(task, source, prog.trace(source), program)),
        ("target (original)", target, t, long_form(task, target, prog.trace(target), program)),
        (
            "counterfactual (the intervened program runs on)",
            counterfactual,
            t,
            long_form(task, counterfactual, intervened, program),
        ),
    ]
    fig, axes = plt.subplots(3, 1, figsize=(8, 6.6), sharey=True)
    for ax, (title, ids, mark, frame) in zip(axes, panels):
        _shade_response_phase(ax, frame)
        sns.lineplot(
            data=frame, x="position", y="value", hue="variable", style="variable", markers=True, dashes=False, ax=ax
        )
        ax.axvline(mark, color="crimson", linestyle=":", linewidth=2)
        _token_ticks(ax, task.decode(ids).split())
        ax.set(title=title, xlabel=None, ylabel="value")
        ax.legend(title=None, loc="upper left", fontsize="small")
    axes[-1].set_xlabel("token read (dotted: where the state is swapped)")
    fig.tight_layout()
    return fig


def plot_count_distribution(task: Task, seqs: Sequence[Sequence[int]], title: str) -> plt.Figure:
    """Chapter 1 §1.1. Bar chart of N over ``seqs``, the held-out counts marked in red."""
    frame = count_distribution(task, seqs)
    fig, ax = plt.subplots(figsize=(8, 2.6))
    sns.barplot(
        data=frame, x="N", y="sequences", hue="in training", palette={"drawn": "tab:blue", "held out": "tab:red"}, ax=ax
    )
    for n in task.hold_outs:
        ax.annotate(
            "held out",
            (n - 1, 0),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            rotation=90,
            fontsize="small",
            color="tab:red",
        )
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def plot_intervened_trial(
    task: Task, tokens: Sequence[int], t: int, counterfactual: Sequence[int], eos_original, eos_intervened
) -> plt.Figure:
    """Chapter 3 §3.4. One interchange intervention: the network's probability of ``E`` after each token of the
    counterfactual sequence, without and with the swap after token ``t``; the programme's
    counterfactual ``E`` and the original sequence's ``E`` are marked."""
    labels = task.decode(counterfactual).split()
    fig, ax = plt.subplots(figsize=(max(6, 0.32 * len(labels)), 3))
    positions = range(len(eos_original))
    ax.plot(positions, eos_original, "o-", color="0.6", label="network, no intervention")
    ax.plot(positions, eos_intervened, "o-", color="C3", label="network, state swapped after t")
    ax.axvline(t, color="C0", ls=":", label="t (swap)")
    original_end = list(tokens).index(task.eos_id) - 1
    ax.axvline(original_end, color="0.6", ls="--", label="original E is next")
    ax.axvline(len(counterfactual) - 2, color="C3", ls="--", label="counterfactual E is next")
    _token_ticks(ax, labels)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("P(next token = E)")
    ax.set_xlabel("token read (counterfactual sequence)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
