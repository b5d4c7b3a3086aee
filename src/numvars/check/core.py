"""How a checker answers: a :class:`Verdict` made of parts, each right, not yet, or not attempted.

A checker compares a learner's answer with the answer the package computes (a program's
counterfactual, a live network's behaviour, a committed table) — no expected answer is typed
into a checker. The rules every checker follows:

- **Not attempted is never an error.** A part left as ``...`` (the stub's placeholder) is *not
  attempted*, so a notebook whose stubs are untouched runs through (and nbval stays green).
- **A wrong try never shows the expected answer.** It says why and how far — "too high, by more
  than the tolerance ± 0.01", "differs from token 7 on", a counterexample — and the explanation
  that would give the answer away (the measured numbers) is shown once the part is right.
  ``ex_C_M(..., reveal=True)`` shows every part's expected answer and explanation: the
  instructor's answer key (``.ci/editions.py`` builds one from it).
- **A malformed part is reported, not raised.** An answer of the wrong kind — a list where a
  token string is asked, a word where a number is, a choice that is not offered — is that part's
  verdict ("a list, expected a token string such as …"); the other parts are still judged.
- **The library's own answer is refused.** Where an exercise asks for code that the package
  already has, the checker refuses the package's function or class by identity and runs the
  learner's code with it out of reach (:func:`out_of_reach`).

Each checker is declared with :func:`checker`, which adds the ``reveal`` keyword, turns a
:class:`Malformed` answer into a verdict and records the mistakes the checker catches (listed in
the instructor edition).
"""

from __future__ import annotations

import contextvars
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from numbers import Real

NOT_ATTEMPTED = ...  # the placeholder a stub cell passes until the learner answers
_REVEAL = contextvars.ContextVar("numvars_check_reveal", default=False)


def attempted(answer) -> bool:
    """Has the learner replaced the stub's ``...``?"""
    return answer is not NOT_ATTEMPTED


def revealing() -> bool:
    """Is the running checker asked for its answer key (``reveal=True``)?"""
    return _REVEAL.get()


def nothing_to_do(*answers) -> bool:
    """True when no answer is attempted and no answer key is asked: a checker may stop early."""
    return not revealing() and not any(attempted(a) for a in answers)


class Malformed(Exception):
    """An answer of the wrong kind for part ``name``: reported as that part's verdict, never
    shown to the learner as a traceback."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name, self.message = name, message


def kind_of(answer) -> str:
    """``"a list"``, ``"an int"``, ``"a tensor"``: what the learner passed, in words."""
    name = type(answer).__name__
    name = {"Tensor": "tensor", "ndarray": "numpy array", "function": "function", "type": "class"}.get(name, name)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def shown_answer(answer, limit: int = 60) -> str:
    """A short repr of the learner's answer for a message."""
    text = repr(answer)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Part:
    """One part of an answer.

    ``right`` is True, False, or None (not attempted). ``why`` is shown when the part is right,
    and with ``reveal``: it may give the answer away. ``miss`` is shown when it is wrong: why and
    how far, never the expected answer. ``expected`` is the expected answer, shown only with
    ``reveal``. ``malformed``: the answer was of the wrong kind (``miss`` says which)."""

    name: str
    right: bool | None
    why: str = ""
    miss: str = ""
    expected: str = ""
    malformed: bool = False

    def line(self, reveal: bool = False) -> str:
        mark = {True: "✔", False: "✘", None: "·"}[self.right]
        if self.right is None:
            text = "not attempted"
        elif self.right:
            text = self.why
        else:
            text = self.miss or "not yet"
        if reveal and not self.right:
            key = " — ".join(x for x in (f"expected {self.expected}" if self.expected else "", self.why) if x)
            text += f"\n      answer key: {key}" if key else ""
        return f"  {mark} {self.name}: {text}"


@dataclass(frozen=True)
class Verdict:
    """What a checker returns; a notebook shows it as a few lines of text.

    ``right`` is True only when every part is attempted and right; ``bool(verdict)`` is ``right``.
    With ``reveal`` every part shows its expected answer (the answer key)."""

    exercise: str
    parts: tuple[Part, ...]
    reveal: bool = False

    @property
    def attempted(self) -> bool:
        return any(part.right is not None for part in self.parts)

    @property
    def right(self) -> bool:
        return all(part.right for part in self.parts)

    @property
    def malformed(self) -> tuple[str, ...]:
        """The names of the parts answered with the wrong kind of value."""
        return tuple(part.name for part in self.parts if part.malformed)

    def __bool__(self) -> bool:
        return self.right

    def _head(self) -> str:
        if not self.attempted:
            return (
                "answer key."
                if self.reveal
                else "not attempted yet — replace each `...` with your answer and run the cell again."
            )
        wrong = sum(part.right is False for part in self.parts)
        open_ = sum(part.right is None for part in self.parts)
        if self.right:
            return "right."
        if wrong:
            bad = len(self.malformed)
            return f"not yet — {wrong} of {len(self.parts)} parts wrong" + (f" ({bad} malformed)." if bad else ".")
        return f"right so far — {open_} of {len(self.parts)} parts not attempted."

    def __repr__(self) -> str:
        head = f"Exercise {self.exercise}: {self._head()}"
        if not self.attempted and not self.reveal:
            return head
        return "\n".join([head, *(part.line(self.reveal) for part in self.parts)])


def verdict(exercise: str, *parts: Part) -> Verdict:
    return Verdict(exercise, tuple(parts))


def not_attempted(name: str, expected: str = "", why: str = "") -> Part:
    """A part left as ``...``; ``expected`` and ``why`` are its answer key (shown with ``reveal``)."""
    return Part(name, None, why=why, expected=expected)


def malformed(name: str, message: str) -> Part:
    return Part(name, False, miss=message, malformed=True)


def judged(judge: Callable[..., Part]) -> Callable[..., Part]:
    """Decorate a function returning a :class:`Part`: a :class:`Malformed` answer raised inside
    it becomes that part's verdict, so the other parts of the same call are still judged."""

    @functools.wraps(judge)
    def run(*args, **kwargs) -> Part:
        try:
            return judge(*args, **kwargs)
        except Malformed as error:
            return malformed(error.name, error.message)

    return run


#: every checker, by exercise ("3.5"): the function (``reveal`` keyword included)
CHECKERS: dict[str, Callable[..., Verdict]] = {}


def checker(exercise: str, mistakes: Sequence[str] = ()):
    """Declare ``ex_C_M`` as the checker of ``exercise``: it gains a keyword ``reveal`` (show the
    answer key), a :class:`Malformed` answer it raises becomes its verdict, and ``mistakes``
    (the common mistakes it catches, in words) go to the instructor edition."""

    def wrap(function: Callable[..., Verdict]) -> Callable[..., Verdict]:
        @functools.wraps(function)
        def run(*args, reveal: bool = False, **kwargs) -> Verdict:
            token = _REVEAL.set(bool(reveal))
            try:
                result = function(*args, **kwargs)
            except Malformed as error:
                result = verdict(exercise, malformed(error.name, error.message))
            finally:
                _REVEAL.reset(token)
            return replace(result, reveal=bool(reveal))

        run.exercise, run.mistakes = exercise, tuple(mistakes)
        CHECKERS[exercise] = run
        return run

    return wrap


@contextmanager
def out_of_reach(*targets: tuple[object, str], exercise: str, reason: str = "") -> Iterator[None]:
    """While the learner's code runs, each ``(owner, attribute)`` — the package's own answer, such
    as ``(numvars.das, "interchange")`` or ``(FixedLinear, "forward")`` — raises when called,
    saying why (``reason``; by default: the exercise asks for the learner's own). Restored
    afterwards whatever happens."""
    reason = reason or f"is the package's own answer: exercise {exercise} asks you to write it"
    missing = object()
    saved = [(owner, name, vars(owner).get(name, missing)) for owner, name in targets]

    def refuse(label: str):
        def call(*args, **kwargs):
            raise RuntimeError(f"{label} {reason}")

        return call

    try:
        for owner, name, _ in saved:
            setattr(owner, name, refuse(f"{owner.__name__}.{name}"))
        yield
    finally:
        for owner, name, original in saved:
            if original is missing:
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def how_far(value: float, expected: float, tolerance: float) -> str:
    """Why a number is wrong without giving the expected one: its direction, and whether it
    misses by less than three tolerances ("close"), less than ten, or more."""
    direction = "too high" if value > expected else "too low"
    gap = abs(value - expected)
    if tolerance <= 0:
        return direction
    if gap <= 3 * tolerance:
        return f"close, but {direction}: just outside the tolerance ± {tolerance:g}"
    if gap <= 10 * tolerance:
        return f"{direction}, by more than the tolerance ± {tolerance:g}"
    return f"far {direction}, by more than ten times the tolerance ± {tolerance:g}"


@judged
def equal(name: str, answer, expected, why: str = "", show=str, miss: str = "") -> Part:
    """Part ``name``: ``answer == expected``. ``why`` explains the expected answer (shown when
    right, or with reveal); ``miss`` is said when wrong (for numbers, default: too high or too
    low); ``show`` formats a value for the message."""
    if not attempted(answer):
        return not_attempted(name, show(expected), why)
    if answer == expected:
        return Part(name, True, f"{show(answer)}" + (f" — {why}" if why else ""), expected=show(expected))
    if not miss and isinstance(answer, Real) and isinstance(expected, Real):
        miss = how_far(float(answer), float(expected), 0)
    return Part(
        name,
        False,
        why,
        miss=f"you wrote {show(answer)}" + (f": {miss}" if miss else ": not this one"),
        expected=show(expected),
    )


def number(answer, name: str) -> float:
    """``answer`` as a float; :class:`Malformed` when it is not a real number."""
    if isinstance(answer, bool) or not isinstance(answer, Real) or math.isnan(float(answer)):
        hint = " (a tensor: use .item())" if type(answer).__name__ == "Tensor" else ""
        raise Malformed(name, f"{kind_of(answer)} {shown_answer(answer)}, expected a number (an int or a float){hint}")
    return float(answer)


def whole(answer, name: str, what: str = "a whole number") -> int:
    """``answer`` as an int (numpy ints too); :class:`Malformed` otherwise."""
    import numbers

    if isinstance(answer, bool) or not isinstance(answer, numbers.Integral):
        raise Malformed(name, f"{kind_of(answer)} {shown_answer(answer)}, expected {what} (an int)")
    return int(answer)


@judged
def close(
    name: str, answer, expected: float, tolerance: float, why: str = "", digits: int = 3, share: bool = False
) -> Part:
    """Part ``name``: a number within ``tolerance`` of ``expected``; with ``share``, a share of
    pairs (an IIA), so a number outside [0, 1] is malformed."""
    key = f"{expected:.{digits}f} ± {tolerance:g}"
    if not attempted(answer):
        return not_attempted(name, key, why)
    value = number(answer, name)
    if share and not 0 <= value <= 1:
        raise Malformed(name, f"{shown_answer(answer)} is not a share of pairs (an IIA is between 0 and 1)")
    shown = f"{value:.{digits}f}"
    if abs(value - expected) <= tolerance:
        return Part(name, True, shown + (f" — {why}" if why else ""), expected=key)
    return Part(name, False, why, miss=f"you wrote {shown}: {how_far(value, expected, tolerance)}", expected=key)


@judged
def choice(name: str, answer, expected: str, choices: Sequence[str], why: str = "", miss: str = "") -> Part:
    """Part ``name``: one word out of ``choices`` (case and surrounding spaces ignored)."""
    if not attempted(answer):
        return not_attempted(name, repr(expected), why)
    if not isinstance(answer, str) or answer.strip().lower() not in choices:
        raise Malformed(name, f"{kind_of(answer)} {shown_answer(answer)}, expected one of {list(choices)}")
    return equal(name, answer.strip().lower(), expected, why, show=lambda word: f"{word!r}", miss=miss)


def first_difference(answer: Sequence[str], expected: Sequence[str]) -> str:
    """Where two token lists part, without saying what the expected one holds there."""
    for i, (a, b) in enumerate(zip(answer, expected)):
        if a != b:
            return f"differs from the counterfactual from token {i + 1} ({a}) on"
    if len(answer) > len(expected):
        return f"right for {len(expected)} tokens, then too long"
    return f"right for all {len(answer)} tokens, then too short"


def tokens(task, name: str, answer) -> str:
    """A token string such as ``"B D D T R R E"`` in the task's vocabulary, normalised;
    :class:`Malformed` otherwise."""
    if not isinstance(answer, str):
        raise Malformed(
            name, f"{kind_of(answer)} {shown_answer(answer)}, expected a token string such as 'B D D T R R E'"
        )
    try:
        return task.decode(task.encode(answer))
    except ValueError as error:
        raise Malformed(name, str(error)) from None


@judged
def sequence(task, name: str, answer, expected_ids: Sequence[int], why: str = "") -> Part:
    """Part ``name``: a token string such as ``"B D D T R R E"`` equal to ``expected_ids``
    (spaces between tokens; a token the task does not have is malformed)."""
    expected = task.decode(expected_ids)
    if not attempted(answer):
        return not_attempted(name, expected, why)
    mine = tokens(task, name, answer)
    if mine == expected:
        return Part(name, True, mine + (f" — {why}" if why else ""), expected=expected)
    return Part(
        name,
        False,
        why,
        miss=f"you wrote {mine}: {first_difference(mine.split(), expected.split())}",
        expected=expected,
    )


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
        raise ValueError(
            f"the quick profile's {experiment!r} networks have no {arch!r} of seed {seed}; they are "
            f"{sorted((c.arch, c.seed) for c in training[experiment])}"
        )
    return chosen[0]


def live_network(arch: str, seed: int = 0, experiment: str = "main"):
    """The trained network of :func:`live_config` (one member), from the default store —
    trained there first if it is missing (about 30 s), with gradients on whatever context this
    is called from (a checker's ``torch.no_grad()`` included)."""
    import torch

    from numvars.jobs import load_run
    from numvars.runner import ensure

    config = live_config(arch, seed, experiment)
    with torch.enable_grad():
        ensure([config], progress=False)
    return load_run(config).model()
