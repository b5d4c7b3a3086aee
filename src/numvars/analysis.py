"""Tables that turn program and network behaviour into tidy ``pandas`` frames for the book."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from numvars.programs import get_program, phase_at
from numvars.tasks import Task

ALL_PROGRAMS = ("up_down", "up_up", "ctx_distr")


def trace_table(task: Task, ids: Sequence[int], programs: Sequence[str] = ALL_PROGRAMS) -> pd.DataFrame:
    """Chapter 1 §1.2. The variables of each program after every token of ``ids``.

    Returns a frame with one row per token (index: position), a ``token`` column and one
    column per ``(program, variable)``.
    """
    columns = {("", "token"): task.decode(ids).split()}
    for name in programs:
        for variables in get_program(name, task).trace(ids):
            for variable, value in variables.items():
                columns.setdefault((name, variable), []).append(value)
    frame = pd.DataFrame(columns)
    frame.index.name = "position"
    return frame


def long_trace(task: Task, ids: Sequence[int], programs: Sequence[str] = ALL_PROGRAMS) -> pd.DataFrame:
    """Long form of the numeric variables in :func:`trace_table`: columns ``position``,
    ``token``, ``phase``, ``program``, ``variable``, ``value`` (for seaborn)."""
    return pd.concat(
        [long_form(task, ids, get_program(name, task).trace(ids), name) for name in programs], ignore_index=True
    )


def long_form(task: Task, ids: Sequence[int], views: Sequence[dict], program: str) -> pd.DataFrame:
    """One row per (position, numeric variable) of a trace ``views`` of ``ids``."""
    tokens = task.decode(ids).split()
    rows = [
        dict(position=pos, token=tokens[pos], phase=view["phase"], program=program, variable=variable, value=value)
        for pos, view in enumerate(views)
        for variable, value in view.items()
        if variable != "phase"
    ]
    return pd.DataFrame(rows)


def counterfactual_table(task: Task, examples: Sequence[dict], seed: int = 0) -> pd.DataFrame:
    """Chapter 1 §1.4. One row per intervention: the target, the source, what is swapped and the counterfactual.

    Each example is a dict with ``program``, ``target`` and ``source`` (token strings), positions
    ``t`` and ``u`` and ``variables`` (a name, a tuple of names or ``None`` for the full state);
    optional ``demo_continuation``.
    """
    rows = []
    for ex in examples:
        program = get_program(ex["program"], task)
        target, source = task.encode(ex["target"]), task.encode(ex["source"])
        out = program.counterfactual(
            target,
            ex["t"],
            source,
            ex["u"],
            ex["variables"],
            seed=seed,
            demo_continuation=ex.get("demo_continuation", "paper"),
        )
        variables = ex["variables"]
        rows.append(
            {
                "program": ex["program"],
                "swap": "full state"
                if variables is None
                else ", ".join([variables] if isinstance(variables, str) else variables),
                "target": ex["target"],
                "t": ex["t"],
                "source": ex["source"],
                "u": ex["u"],
                "counterfactual": task.decode(out),
            }
        )
    return pd.DataFrame(rows)


def count_distribution(task: Task, seqs: Sequence[Sequence[int]]) -> pd.DataFrame:
    """Chapter 1 §1.1. How many of ``seqs`` have each N in ``1..max_count``: columns ``N``, ``sequences`` and
    ``in training`` (``"drawn"`` or ``"held out"``)."""
    counts = pd.Series([task.count(ids) for ids in seqs]).value_counts()
    ns = range(1, task.max_count + 1)
    return pd.DataFrame(
        {
            "N": list(ns),
            "sequences": [int(counts.get(n, 0)) for n in ns],
            "in training": ["held out" if n in task.hold_outs else "drawn" for n in ns],
        }
    )


def program_accuracy(
    task: Task, seqs: Sequence[Sequence[int]], programs: Sequence[str] = ALL_PROGRAMS
) -> dict[str, float]:
    """Chapter 1 §1.3. Trial accuracy of each program on ``seqs``."""
    return {name: get_program(name, task).accuracy(seqs) for name in programs}


def counterfactual_agreement(task: Task, pairs: Sequence, demo_continuation: str = "paper") -> dict[str, float]:
    """Chapter 1 §1.5. For intervention ``pairs`` (see :func:`numvars.programs.sample_pairs`): the share of
    Up-Down ``count`` counterfactuals that equal Up-Up's ``demo_count`` and ``resp_count``
    counterfactuals (same seed), the unchanged target, and that need more than ``max_count``
    responses. Pair ``i`` uses seed ``i``."""
    up_down, up_up = get_program("up_down", task), get_program("up_up", task)
    hits = dict.fromkeys(
        ["= Up-Up demo_count", "= Up-Up resp_count", "= unchanged target", f"needs > {task.max_count} responses"], 0
    )
    for seed, pair in enumerate(pairs):
        swapped = up_down.counterfactual(*pair, "count", seed=seed, demo_continuation=demo_continuation)
        hits["= Up-Up demo_count"] += swapped == up_up.counterfactual(
            *pair, "demo_count", seed=seed, demo_continuation=demo_continuation
        )
        hits["= Up-Up resp_count"] += swapped == up_up.counterfactual(
            *pair, "resp_count", seed=seed, demo_continuation=demo_continuation
        )
        hits["= unchanged target"] += swapped == list(pair.target)
        hits[f"needs > {task.max_count} responses"] += swapped.count(task.response_id) > task.max_count
    return {key: value / len(pairs) for key, value in hits.items()}


def pair_facts(pairs) -> pd.DataFrame:
    """One row per intervention pair (a :class:`numvars.das.PairSet`): the target's N
    (``target_n``), position ``t``, the token there (``t_token``) and its phase (``t_phase``), the
    source's N (``source_n``), position ``u``, the token there (``u_token``) and its phase
    (``u_phase``), and how many responses the
    counterfactual asks for (``responses``; more than the trained maximum cannot be produced by
    a network that does not extrapolate), and whether a network that ignores the intervention
    gets the pair right (``rereader``, :func:`numvars.das.rereader_correct`), and the Up-Down
    program's count after ``t`` in the target and after ``u`` in the source (``t_count``,
    ``u_count``: what a count swap exchanges; it goes up in the demo phase, down in the response)."""
    task = pairs.task
    up_down = get_program("up_down", task)
    rereader = pairs.rereader_correct.tolist()
    rows = []
    for i in range(len(pairs)):
        ids = [x for x in pairs.tokens[i].tolist() if x != task.pad_id]
        source = [x for x in pairs.sources[i].tolist() if x != task.pad_id]
        t = int(pairs.t[i])
        # responses after the last T (a phase swap may drop T: then after t); the bare framing has no T, and all its R are responses
        last_trigger = (
            -1 if task.framing == "bare" else max((j for j, x in enumerate(ids) if x == task.trigger_id), default=t)
        )
        rows.append(
            dict(
                target_n=int(pairs.target_n[i]),
                t=t,
                t_token=task.decode([ids[t]]),
                t_phase=phase_at(task, ids, t),
                source_n=task.count(source),
                u=int(pairs.u[i]),
                u_token=task.decode([source[int(pairs.u[i])]]),
                u_phase=phase_at(task, source, int(pairs.u[i])),
                t_count=up_down.view(up_down.states(ids[: t + 1])[t])["count"],
                u_count=up_down.view(up_down.states(source[: int(pairs.u[i]) + 1])[int(pairs.u[i])])["count"],
                responses=ids[last_trigger + 1 :].count(task.response_id),
                rereader=rereader[i],
            )
        )
    return pd.DataFrame(rows)
