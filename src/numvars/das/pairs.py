"""Counterfactual pairs (:class:`PairSet`, :func:`make_pairs`): target and source sequences, the
swapped positions, the program's counterfactual continuation and which of its tokens are scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from numvars.programs import RESPONSE, Program, get_program, sample_pairs
from numvars.tasks import Task


@dataclass
class PairSet:
    """Intervention pairs as tensors: run ``tokens`` (the counterfactual sequences, whose first
    ``t + 1`` tokens are the target's) with the state after ``t`` swapped with the source's
    after ``u``; score the predictions of the tokens where ``score`` is True."""

    tokens: Tensor  # (n, L) counterfactual sequences, padded
    t: Tensor  # (n,)
    sources: Tensor  # (n, L_s) source sequences, padded
    u: Tensor  # (n,)
    score: Tensor  # (n, L) bool: tokens the intervened program determines
    task: Task  # whose vocabulary the sequences use
    rereader_correct: Tensor  # (n,) bool: does a network that ignores the intervention get the pair right?
    target_n: Tensor  # (n,) N of each target sequence (``tokens`` keeps only its first t + 1 tokens)

    def __len__(self) -> int:
        return len(self.t)

    def subset(self, rows: Tensor) -> "PairSet":
        return PairSet(
            self.tokens[rows],
            self.t[rows],
            self.sources[rows],
            self.u[rows],
            self.score[rows],
            self.task,
            self.rereader_correct[rows],
            self.target_n[rows],
        )


def program_completes(program: Program, state: dict, ids: Sequence[int], first: int, score: Sequence[bool]) -> bool:
    """Does ``program``, in ``state`` before reading ``ids[first]``, predict every scored token
    of ``ids`` from ``first`` on, reading ``ids`` as it goes (teacher forcing)? Where ``ids``
    stops being a task sequence the program can read (e.g. ``R`` without ``T`` after a phase
    swap), it is right only if nothing later is scored."""
    for j in range(first, len(ids)):
        if score[j] and program.predict(state) != ids[j]:
            return False
        try:
            state = program.step(state, ids[j])
        except ValueError:
            return not any(score[j + 1 :])
    return True


def rereader_correct(task: Task, ids: Sequence[int], score: Sequence[bool]) -> bool:
    """Would a network that ignores the intervention predict every scored token of the
    counterfactual ``ids``? Such a network solves the task from the tokens it has read (it
    re-reads the context, as a transformer does): its predictions are the un-intervened
    program's on ``ids`` itself. The share of pairs it gets right is an IIA's chance level."""
    program = get_program("up_down", task)  # every program solves the task: any of them predicts it
    return program_completes(program, program.states(ids[:1])[0], ids, 1, score)


def make_pairs(
    program: Program,
    variables,
    n_pairs: int,
    seed: int,
    demo_continuation: str = "paper",
    positions: str = "paper_index",
    score_at_t: bool = True,
) -> PairSet:
    """``n_pairs`` seeded pairs (:func:`numvars.programs.sample_pairs`, ``t`` and ``u`` by the
    rule ``positions``) with ``program``'s counterfactuals for swapping ``variables`` (a name,
    names joined by ``+`` such as ``"count+phase"``, or ``None``: the full state). A token is
    scored when the intervened program predicts it in the response phase, from the prediction
    made at ``t`` itself on (``score_at_t=False``: from ``t + 1`` on, the step A.5's argument
    concerns). Pairs are drawn within one phase when the program defines its intervention only
    there (:attr:`~numvars.programs.Program.same_phase_only`)."""
    if n_pairs < 1:
        raise ValueError(f"a pair set needs at least one pair, got {n_pairs}")
    if isinstance(variables, str):
        variables = tuple(variables.split("+"))
    task = program.task
    first_scored = 0 if score_at_t else 1
    rows = []
    pairs = sample_pairs(task, n_pairs, seed=seed, same_phase=program.same_phase_only, positions=positions)
    for i, pair in enumerate(pairs):
        ids, views = program.counterfactual_trace(
            *pair, variables, seed=seed * 1_000_003 + i, demo_continuation=demo_continuation
        )
        score = [False] * len(ids)
        for j in range(pair.t + first_scored, len(ids) - 1):
            score[j + 1] = views[j]["phase"] == RESPONSE
        rows.append((ids, pair.t, pair.source, pair.u, score, task.count(pair.target)))
    tokens = task.pad([r[0] for r in rows])
    score = torch.zeros_like(tokens, dtype=torch.bool)
    for i, r in enumerate(rows):
        score[i, : len(r[4])] = torch.tensor(r[4])
    rereader = torch.tensor([rereader_correct(task, r[0], r[4]) for r in rows])
    return PairSet(
        tokens,
        torch.tensor([r[1] for r in rows]),
        task.pad([r[2] for r in rows]),
        torch.tensor([r[3] for r in rows]),
        score,
        task,
        rereader,
        torch.tensor([r[5] for r in rows]),
    )
