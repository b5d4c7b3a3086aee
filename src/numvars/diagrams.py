"""Diagrams for the book, drawn by code so that they stay true to the package: every token,
value and counterfactual they show is computed with :mod:`numvars.programs` and
:mod:`numvars.das`. One function per diagram, each returning the figure.

- :func:`counting_task` (chapter 1 §1.2): a counting trial and what each program carries after
  every token;
- :func:`interchange_intervention` (chapter 1 §1.4): a target, a source, the variable swapped
  from ``u`` to ``t``, and the counterfactual continuation;
- :func:`das_pipeline` (chapter 3 §3.2): the rotated swap ``h_v = Rᵀ(M R h_s + (1 − M) R h_o)``
  inside the frozen network, and the loss that trains ``R`` alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from numvars.programs import get_program
from numvars.tasks import Task

#: colours: the target's tokens and states, the source's, what the swap moves, the frozen network
TARGET, SOURCE, SWAPPED, FROZEN = "#4c72b0", "#dd8452", "#c44e52", "0.85"
PROGRAM_NAMES = {"up_down": "Up-Down", "up_up": "Up-Up", "ctx_distr": "Ctx-Distr"}


def _token(
    ax,
    x: float,
    y: float,
    text: str,
    color: str = "white",
    edge: str = "0.3",
    width: float = 0.8,
    weight: str = "normal",
) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - 0.3),
            width,
            0.6,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=color,
            edgecolor=edge,
            linewidth=1,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=10, weight=weight)


def _arrow(ax, start, end, color: str = "0.2", style: str = "-|>", **kwargs) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color, linewidth=1.3, **kwargs))


def _canvas(width: float, height: float, xlim, ylim) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_axis_off()
    return fig, ax


def _carried(program, state_view: dict) -> str:
    """What a program carries after a token, in a few characters (Ctx-Distr: nothing)."""
    if program.name == "ctx_distr":
        return "—"
    short = {"count": "c", "demo_count": "d", "resp_count": "r"}
    return " ".join(f"{short[k]}={v}" for k, v in state_view.items() if k in short)


def counting_task(
    sequence: str = "B D D D T R R R E",
    programs: Sequence[str] = ("up_down", "up_up", "ctx_distr"),
    task: Task | None = None,
) -> plt.Figure:
    """Chapter 1 §1.2. A Single-Object trial token by token — the demo phase, ``T``, the
    responses the network must produce (the tokens a loss scores are outlined) — and under every
    token what each program carries after it (``c`` Up-Down's count, ``d``/``r`` Up-Up's
    demo_count/resp_count; Ctx-Distr carries nothing and re-reads the context)."""
    task = task or Task("single")
    ids = task.encode(sequence)
    tokens = task.decode(ids).split()
    trigger = tokens.index("T")
    fig, ax = _canvas(
        1.0 * len(tokens) + 2.2, 1.1 + 0.7 * len(programs), (-2.2, len(tokens)), (-len(programs) - 0.2, 1.3)
    )
    ax.axvspan(trigger + 0.5, len(tokens) - 0.5, color="0.94", zorder=0)
    ax.text(
        (trigger + len(tokens)) / 2, 1.05, "response phase: the network must produce these", ha="center", fontsize=9
    )
    ax.text(trigger / 2 - 0.25, 1.05, "demo phase: N objects shown", ha="center", fontsize=9)
    for x, token in enumerate(tokens):
        predicted = x > trigger
        _token(
            ax,
            x,
            0.4,
            token,
            color="white",
            edge=TARGET if predicted else "0.5",
            weight="bold" if predicted else "normal",
        )
        ax.text(x, -0.1, str(x), ha="center", va="center", fontsize=7, color="0.4")
    for row, name in enumerate(programs, start=1):
        program = get_program(name, task)
        ax.text(-0.7, -row, PROGRAM_NAMES[name], ha="right", va="center", fontsize=10, weight="bold")
        for x, view in enumerate(program.trace(ids)):
            ax.text(x, -row, _carried(program, view), ha="center", va="center", fontsize=8)
    fig.suptitle(
        f"the counting task: {sequence} (N = {tokens.count('D')}), and what each program carries after each token",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def interchange_intervention(
    target: str = "B D D D T R R R E",
    t: int = 5,
    source: str = "B D D D D D T R R R R R E",
    u: int = 5,
    program: str = "up_down",
    variable: str = "count",
    task: Task | None = None,
) -> plt.Figure:
    """Chapter 1 §1.4. An interchange intervention: the program runs the target up to ``t`` and
    the source up to ``u``; ``variable`` of the target's state is set to the source's value; the
    program carries on from the swapped state — the counterfactual continuation."""
    task = task or Task("single")
    runner = get_program(program, task)
    target_ids, source_ids = task.encode(target), task.encode(source)
    before, value = runner.trace(target_ids)[t][variable], runner.trace(source_ids)[u][variable]
    counterfactual = task.decode(runner.counterfactual(target_ids, t, source_ids, u, variable)).split()
    rows = {
        "source": (task.decode(source_ids).split(), 2.0, SOURCE),
        "target": (task.decode(target_ids).split(), 0.8, TARGET),
        "counterfactual": (counterfactual, -0.8, SWAPPED),
    }
    width = max(len(tokens) for tokens, _, _ in rows.values())
    fig, ax = _canvas(0.75 * width + 2.6, 3.6, (-2.6, width), (-1.5, 2.9))
    for name, (tokens, y, color) in rows.items():
        ax.text(-0.7, y, name, ha="right", va="center", fontsize=10, color=color, weight="bold")
        for x, token in enumerate(tokens):
            after = name == "counterfactual" and x > t
            _token(
                ax,
                x,
                y,
                token,
                color="#f6d5d5" if after else "white",
                edge=color if (after or name != "counterfactual") else "0.6",
            )
    _token(ax, u, 2.0, rows["source"][0][u], color="#fbe3d1", edge=SOURCE, weight="bold")
    _token(ax, t, 0.8, rows["target"][0][t], color="#dbe4f3", edge=TARGET, weight="bold")
    _arrow(ax, (u, 1.68), (t, 1.12), color=SWAPPED, connectionstyle="arc3,rad=0")
    ax.text((u + t) / 2 + 0.3, 1.42, f"{variable}: {before} → {value}", color=SWAPPED, fontsize=10, va="center")
    ax.text(u, 2.55, f"after u = {u}: {variable} = {value}", ha="center", fontsize=8, color=SOURCE)
    ax.text(t, 0.25, f"after t = {t}: {variable} = {before}", ha="center", fontsize=8, color=TARGET)
    _arrow(ax, (t + 0.45, -1.25), (len(counterfactual) - 0.5, -1.25), color=SWAPPED)
    ax.text(
        (t + len(counterfactual)) / 2,
        -1.45,
        f"{PROGRAM_NAMES[program]} carries on from the swapped state",
        ha="center",
        va="top",
        fontsize=8,
        color=SWAPPED,
    )
    fig.suptitle(f"an interchange intervention on {PROGRAM_NAMES[program]}'s {variable}", fontsize=10)
    fig.tight_layout()
    return fig


def _vector(ax, x: float, y: float, colors: Sequence[str], label: str, height: float = 0.22) -> None:
    """A state drawn as a column of coordinates, each a coloured cell."""
    for i, color in enumerate(colors):
        ax.add_patch(
            Rectangle(
                (x - 0.15, y + (len(colors) / 2 - i - 1) * height),
                0.3,
                height,
                facecolor=color,
                edgecolor="0.3",
                linewidth=0.6,
            )
        )
    ax.text(x, y - len(colors) / 2 * height - 0.2, label, ha="center", va="top", fontsize=10)


def das_pipeline(size: int = 6, k: int = 3) -> plt.Figure:
    """Chapter 3 §3.2–3.3. The rotated swap inside the frozen network: the states ``h_o`` (target,
    after t) and ``h_s`` (source, after u) are rotated by ``R``; the first ``k`` of ``size``
    rotated coordinates come from the source (mask ``M``), the rest from the target; ``Rᵀ``
    rotates back to ``h_v``, from which the frozen network continues; the cross-entropy against
    the program's counterfactual tokens trains ``R`` alone. The swap drawn is
    :func:`numvars.das.swap_first`'s."""
    from numvars.das import swap_first

    source_of = swap_first(_as_tensor(np.zeros(size)), _as_tensor(np.ones(size)), k)[
        0
    ]  # 1 where the source's coordinate goes
    mixed = [SOURCE if bool(v) else TARGET for v in source_of.tolist()]
    fig, ax = _canvas(11.5, 4.6, (-0.6, 11.4), (-2.7, 2.4))
    light = {TARGET: "#dbe4f3", SOURCE: "#fbe3d1"}
    _vector(ax, 0.3, 1.1, [light[TARGET]] * size, "h_o (target, after t)")
    _vector(ax, 0.3, -1.2, [light[SOURCE]] * size, "h_s (source, after u)")
    _token(ax, 2.0, 1.1, "R", color="white", edge="0.2", width=0.6, weight="bold")
    _token(ax, 2.0, -1.2, "R", color="white", edge="0.2", width=0.6, weight="bold")
    for y in (1.1, -1.2):
        _arrow(ax, (0.55, y), (1.65, y))
        _arrow(ax, (2.35, y), (3.25, y))
    _vector(ax, 3.5, 1.1, [TARGET] * size, "R h_o")
    _vector(ax, 3.5, -1.2, [SOURCE] * size, "R h_s")
    _vector(ax, 5.4, 0.0, mixed, f"M R h_s + (1 − M) R h_o\n(first k = {k} of S = {size} from the source)")
    _arrow(ax, (3.75, 1.1), (5.15, 0.2), color=TARGET)
    _arrow(ax, (3.75, -1.2), (5.15, -0.2), color=SOURCE)
    _token(ax, 6.8, 0.0, "Rᵀ", color="white", edge="0.2", width=0.6, weight="bold")
    _arrow(ax, (5.65, 0.0), (6.45, 0.0))
    _arrow(ax, (7.15, 0.0), (7.75, 0.0))
    _vector(ax, 8.0, 0.0, [SWAPPED] * size, "h_v")
    ax.add_patch(FancyBboxPatch((8.55, -0.55), 1.5, 1.1, boxstyle="round,pad=0.05", facecolor=FROZEN, edgecolor="0.4"))
    ax.text(9.3, 0.0, "frozen\nnetwork\nafter t", ha="center", va="center", fontsize=9)
    _arrow(ax, (8.25, 0.0), (8.5, 0.0))
    _arrow(ax, (10.1, 0.0), (10.55, 0.0))
    ax.text(10.6, 0.35, "predictions", fontsize=9, va="bottom")
    ax.text(10.6, -0.1, "vs the program's\ncounterfactual\ntokens", fontsize=8, va="top")
    ax.text(
        9.3, -1.7, "loss: cross-entropy on the tokens the program determines (responses, E)", ha="center", fontsize=9
    )
    _arrow(ax, (6.2, -1.75), (2.2, -1.55), color=SWAPPED, connectionstyle="arc3,rad=-0.2", linestyle="--")
    ax.text(
        5.6,
        -2.45,
        "gradients train R only (the network stays frozen); IIA scores test pairs with R fixed",
        ha="center",
        fontsize=9,
        color=SWAPPED,
    )
    fig.suptitle("distributed alignment search: the rotated swap h_v = Rᵀ(M R h_s + (1 − M) R h_o)", fontsize=10)
    fig.tight_layout()
    return fig


def _as_tensor(values: np.ndarray):
    """(1, S) float tensor of ``values``: one row for :func:`numvars.das.swap_first`."""
    import torch

    return torch.as_tensor(values, dtype=torch.float32)[None]
