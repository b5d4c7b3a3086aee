"""Interchange pairs: a target and a source sequence with the positions to swap between
(:func:`sample_pairs`).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from numvars.programs.program import DEMO, RESPONSE
from numvars.tasks import Task


class Pair(NamedTuple):
    """An interchange intervention's inputs: swap after ``target[t]`` from after ``source[u]``."""

    target: list[int]
    t: int
    source: list[int]
    u: int


def phase_at(task: Task, ids: Sequence[int], pos: int) -> str:
    """The phase of a task sequence after the token at ``pos``: demo before ``T`` (bare framing:
    before the first response), then response."""
    switch = task.switch_position(ids)
    return DEMO if switch is None or pos < switch else RESPONSE


def sample_pairs(
    task: Task, n_pairs: int, seed: int, same_phase: bool = False, positions: str = "paper_index"
) -> list[Pair]:
    """Seeded intervention pairs as in the paper's DAS data (§4): N uniform on ``1..max_count``
    for target and source alike (hold-outs included), ``t`` and ``u`` uniform over the
    positions the rule ``positions`` allows (:meth:`Task.intervention_positions`).
    ``same_phase=True`` draws ``u`` from the source positions in ``t``'s phase (Ctx-Distr's
    full swap needs it), drawing the source again if it has none."""
    rng = np.random.default_rng(seed)
    counts = range(1, task.max_count + 1)
    pairs = []
    for _ in range(n_pairs):
        target = task.make(int(rng.choice(counts)), rng)
        source = task.make(int(rng.choice(counts)), rng)
        t = int(rng.choice(task.intervention_positions(target, positions)))
        while not (
            allowed := _source_positions(task, source, positions, phase_at(task, target, t) if same_phase else None)
        ):
            source = task.make(int(rng.choice(counts)), rng)  # none in t's phase (N = 1, "nonterminal"): another source
        pairs.append(Pair(target, t, source, int(rng.choice(allowed))))
    return pairs


def _source_positions(task: Task, source: Sequence[int], positions: str, phase: str | None) -> list[int]:
    """The positions of ``source`` the rule ``positions`` allows, in ``phase`` only if given."""
    allowed = task.intervention_positions(source, positions)
    return allowed if phase is None else [u for u in allowed if phase_at(task, source, u) == phase]
