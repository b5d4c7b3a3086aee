"""How a checker answers: a :class:`Verdict` made of parts, each right, not yet, or not attempted.

A checker compares a learner's answer with the answer the package computes (a program's
counterfactual, a live network's behaviour, a committed table) — no expected answer is typed
into a checker. Each part of an answer may be left as ``...`` (the stub's placeholder): that part
is *not attempted*, which is never an error, so a notebook whose stubs are untouched runs
through (and nbval stays green). An answer of the wrong kind — a word where a number is asked,
a token the task does not have, a choice that is not offered — raises a ``ValueError`` or
``TypeError`` that says what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

NOT_ATTEMPTED = ...  # the placeholder a stub cell passes until the learner answers


def attempted(answer) -> bool:
    """Has the learner replaced the stub's ``...``?"""
    return answer is not NOT_ATTEMPTED


@dataclass(frozen=True)
class Part:
    """One part of an answer: ``right`` is True, False, or None (not attempted); ``why`` says why."""

    name: str
    right: bool | None
    why: str

    def line(self) -> str:
        mark = {True: "✔", False: "✘", None: "·"}[self.right]
        return f"  {mark} {self.name}: {self.why}"


@dataclass(frozen=True)
class Verdict:
    """What a checker returns; a notebook shows it as a few lines of text.

    ``right`` is True only when every part is attempted and right; ``bool(verdict)`` is ``right``."""

    exercise: str
    parts: tuple[Part, ...]

    @property
    def attempted(self) -> bool:
        return any(part.right is not None for part in self.parts)

    @property
    def right(self) -> bool:
        return all(part.right for part in self.parts)

    def __bool__(self) -> bool:
        return self.right

    def __repr__(self) -> str:
        if not self.attempted:
            return f"Exercise {self.exercise}: not attempted yet — replace each `...` with your answer and run the cell again."
        wrong = sum(part.right is False for part in self.parts)
        open_ = sum(part.right is None for part in self.parts)
        if self.right:
            head = "right."
        elif wrong:
            head = f"not yet — {wrong} of {len(self.parts)} parts wrong."
        else:
            head = f"right so far — {open_} of {len(self.parts)} parts not attempted."
        return "\n".join([f"Exercise {self.exercise}: {head}", *(part.line() for part in self.parts)])


def verdict(exercise: str, *parts: Part) -> Verdict:
    return Verdict(exercise, tuple(parts))


def not_attempted(name: str) -> Part:
    return Part(name, None, "not attempted")


def equal(name: str, answer, expected, why: str = "", show=str) -> Part:
    """Part ``name``: ``answer == expected``. ``why`` explains the expected answer (shown either
    way); ``show`` formats a value for the message."""
    if not attempted(answer):
        return not_attempted(name)
    if answer == expected:
        return Part(name, True, f"{show(answer)}" + (f" — {why}" if why else ""))
    return Part(name, False, f"you wrote {show(answer)}, expected {show(expected)}" + (f" — {why}" if why else ""))


def number(answer, name: str) -> float:
    """``answer`` as a float; a clear ``TypeError`` when it is not a real number."""
    if isinstance(answer, bool) or not isinstance(answer, Real) or math.isnan(float(answer)):
        raise TypeError(f"{name} should be a number (an int or a float), got {answer!r}")
    return float(answer)


def close(name: str, answer, expected: float, tolerance: float, why: str = "", digits: int = 3,
          share: bool = False) -> Part:
    """Part ``name``: a number within ``tolerance`` of ``expected``; with ``share``, a share of
    pairs (an IIA), so a number outside [0, 1] is a ``ValueError``."""
    if not attempted(answer):
        return not_attempted(name)
    value = number(answer, name)
    if share and not 0 <= value <= 1:
        raise ValueError(f"{name} is a share of pairs (an IIA), between 0 and 1; got {answer!r}")
    near = abs(value - expected) <= tolerance
    shown = f"{value:.{digits}f}" + ("" if near else f", expected {expected:.{digits}f} ± {tolerance:g}")
    return Part(name, near, (shown if near else f"you wrote {shown}") + (f" — {why}" if why else ""))


def choice(name: str, answer, expected: str, choices: Sequence[str], why: str = "") -> Part:
    """Part ``name``: one word out of ``choices`` (case and surrounding spaces ignored)."""
    if not attempted(answer):
        return not_attempted(name)
    if not isinstance(answer, str) or answer.strip().lower() not in choices:
        raise ValueError(f"{name} should be one of {list(choices)}, got {answer!r}")
    return equal(name, answer.strip().lower(), expected, why, show=lambda word: f"{word!r}")


def sequence(task, name: str, answer, expected_ids: Sequence[int], why: str = "") -> Part:
    """Part ``name``: a token string such as ``"B D D T R R E"`` equal to ``expected_ids``
    (spaces between tokens; a token the task does not have is a ``ValueError`` naming its vocabulary)."""
    if not attempted(answer):
        return not_attempted(name)
    if not isinstance(answer, str):
        raise TypeError(f"{name} should be a string of tokens such as 'B D D T R R E', got {answer!r}")
    return equal(name, task.decode(task.encode(answer)), task.decode(expected_ids), why)


def live_config(arch: str, seed: int = 0, experiment: str = "main"):
    """The quick profile's training config of ``arch`` (``"gru"``, ``"lstm"`` or
    ``"transformer"``) and ``seed`` (0 or 1) in ``experiment`` — ``"main"``: the Single-Object
    networks the chapters run live; ``"nope_transformer"``: chapter 6's 1-layer NoPE ones."""
    from numvars.grids import profile

    training = profile("quick").training
    if experiment not in training:
        raise ValueError(f"the quick profile has no experiment {experiment!r}; it has {sorted(training)}")
    chosen = [c for c in training[experiment] if c.arch == arch and c.seed == seed]
    if not chosen:
        raise ValueError(f"the quick profile's {experiment!r} networks have no {arch!r} of seed {seed}; they are "
                         f"{sorted((c.arch, c.seed) for c in training[experiment])}")
    return chosen[0]


def live_network(arch: str, seed: int = 0, experiment: str = "main"):
    """The trained network of :func:`live_config` (one member), from the default store —
    trained there first if it is missing (about 30 s)."""
    from numvars.jobs import load_run
    from numvars.runner import ensure

    config = live_config(arch, seed, experiment)
    ensure([config], progress=False)
    return load_run(config).model()
