"""Checkers for chapter 6's exercises (transformers: the ±1 sum in attention, the full swap by layer).

The live networks are the chapter's: the quick profile's Single-Object transformers — two
2-layer RoPE (the main experiment) and two 1-layer NoPE (``nope_transformer``) — loaded from the
default store as the chapter loads them (trained there first if the store lacks them)."""

from __future__ import annotations

from functools import cache
from numbers import Integral

import pandas as pd

from numvars.check.core import (
    Malformed,
    Part,
    attempted,
    checker,
    close,
    judged,
    kind_of,
    live_config,
    live_network,
    not_attempted,
    number,
    shown_answer,
    verdict,
)

COUNTS = range(1, 21)  # the chapter's prompts: N = 1..20, five seeded prompts each
PER_COUNT = 5


@cache
def _shifts(extra: str, copies: int) -> pd.DataFrame:
    """``nv.attention.response_shift`` on the live NoPE transformer (seed 0): N = 1..20, five prompts each."""
    from numvars.attention import response_shift

    nope, task = (
        live_network("transformer", 0, "nope_transformer"),
        live_config("transformer", 0, "nope_transformer").task,
    )
    return response_shift(nope, task, COUNTS, PER_COUNT, extra, copies=copies)


def _shift_answer(answer, name: str) -> float:
    """A predicted shift: a whole number of responses (an int, or a float such as 2.0)."""
    value = number(answer, name)
    if value != int(value):
        raise Malformed(name, f"{shown_answer(answer)} is not a whole number of responses (such as 2 or -1)")
    return value


@judged
def _shift_part(name: str, answer, shifts: pd.Series, why: str) -> Part:
    """Part ``name``: the shift every trial of ``shifts`` made (or, if they differ, the most common one)."""
    counts = shifts.value_counts(dropna=False)
    expected = float(counts.index[0])
    seen = ", ".join(f"{'no clean answer' if pd.isna(s) else f'{s:+.0f}'}: {n}" for s, n in counts.items())
    tally = f"measured on {len(shifts)} trials — {seen}"
    if not attempted(answer):
        return not_attempted(name, f"{expected:+.0f}", f"{why}; {tally}")
    value = _shift_answer(answer, name)
    if value == expected:
        return Part(name, True, f"{value:+.0f} — {why}; {tally}", expected=f"{expected:+.0f}")
    direction = "too many R" if value > expected else "too few R"
    return Part(
        name,
        False,
        f"{why}; {tally}",
        miss=f"you wrote {value:+.0f}: {direction} (of {len(shifts)} trials)",
        expected=f"{expected:+.0f}",
    )


@checker(
    "6.1",
    mistakes=[
        "+1: one extra term for two copies (each copy counts as one demo token)",
        "a change in the prompt's tokens rather than in the sum of the attention",
    ],
)
def ex_6_1(shift=...):
    """Exercise 6.1: with ``copies=2`` the demo term is added twice to every response query's sum
    in the live 1-layer NoPE transformer. ``shift``: by how many ``R`` the answer moves (a whole
    number, e.g. ``+1``: one ``R`` more), measured on five prompts of each N = 1..20."""
    shifts = _shifts("demo", 2)["shift"]
    return verdict(
        "6.1",
        _shift_part(
            "shift",
            shift,
            shifts,
            "two more demo terms are, to layer 1, two more demo tokens: a ±1 counter answers two R more",
        ),
    )


@cache
def _layer_2_swap() -> pd.DataFrame:
    """``nv.attention.full_swap_by_layer`` after layer 2 of the live 2-layer RoPE transformer (seed 0),
    on the chapter's Ctx-Distr full-swap test pairs."""
    from numvars.attention import full_swap_by_layer
    from numvars.grids import profile
    from numvars.jobs import pair_set

    rope = live_network("transformer", 0)  # the main experiment's: 2 layers, RoPE
    pairs = next(c for c in profile("quick").das["transformer_variants"] if c.method == "full_swap").pairs
    return full_swap_by_layer(rope, pair_set(pairs, "test"), layer=2)


@checker(
    "6.3",
    mistakes=[
        "expecting later predictions to move after the last layer (no later position reads t's stream there)",
        "expecting every prediction at t to move (a same-phase swap often predicts the same token)",
    ],
)
def ex_6_3(at_t=..., later=...):
    """Exercise 6.3: a full swap of the live 2-layer RoPE transformer's residual stream after
    layer 2 (its last) on the chapter's Ctx-Distr test pairs. ``at_t``: the share of pairs whose
    prediction at t moves; ``later``: the share whose predictions after t move (numbers between
    0 and 1; right within 0.02 of the measured share)."""
    swapped = _layer_2_swap()
    n = len(swapped)
    at_t_share, later_share = float(swapped["moved_at_t"].mean()), float(swapped["moved_later"].mean())
    return verdict(
        "6.3",
        close(
            "at_t",
            at_t,
            at_t_share,
            0.02,
            f"the head reads t's stream, so the prediction at t could move, but Ctx-Distr joins positions of one phase "
            f"whose scored predictions agree (another R), and in the demo phase the next token is not scored "
            f"(measured on {n} pairs)",
            share=True,
        ),
        close(
            "later",
            later,
            later_share,
            0.02,
            f"after the last layer no later position reads t's stream: nothing after t can move (measured on {n} pairs)",
            share=True,
        ),
    )


def _whole_numbers(answer, name: str) -> set[int]:
    """An int, or a list/tuple/set of ints, as a set; :class:`Malformed` otherwise."""
    values = list(answer) if isinstance(answer, list | tuple | set | frozenset | range) else [answer]
    if not values or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        raise Malformed(name, f"{kind_of(answer)} {shown_answer(answer)}, expected an int N or a list of ints")
    return {int(v) for v in values}


@judged
def _misses_part(n, failing: list[int], why: str) -> Part:
    expected = ", ".join(map(str, failing))
    if not attempted(n):
        return not_attempted("n", expected, why)
    answer = _whole_numbers(n, "n")
    shown = ", ".join(map(str, sorted(answer)))
    if answer == set(failing):
        return Part("n", True, f"{shown} — {why}", expected=expected)
    extra, missing = len(answer - set(failing)), len(set(failing) - answer)
    miss = ", ".join(
        x
        for x in (
            f"{extra} of yours answer one R earlier as asked" if extra else "",
            f"{missing} N missing" if missing else "",
        )
        if x
    )
    return Part("n", False, why, miss=f"you wrote {shown}: {miss}", expected=expected)


@checker(
    "6.4",
    mistakes=[
        "expecting one R fewer at every N, N = 1 included (E straight after T never occurs in training)",
        "a shift of −1 where the network misses: there it answers as if the term were not there",
    ],
)
def ex_6_4(n=..., shift=...):
    """Exercise 6.4: one response term (``copies=1``) in the live 1-layer NoPE transformer, five
    prompts of each N = 1..20. ``n``: the N (an int, or a list of ints if several) at which the
    answer does not end exactly one ``R`` earlier; ``shift``: what it does there instead (a whole
    number of responses, e.g. ``0``: the term changed nothing)."""
    shifts = _shifts("response", 1)
    misses = shifts[shifts["shift"] != -1]
    failing = sorted(int(v) for v in misses["n"].unique())
    why_n = (
        "one R fewer at N = 1 would be E straight after T, a step no training sequence shows (every N ≥ 1); "
        f"measured: misses at N = {failing}, of {len(shifts)} trials"
    )
    part_shift = _shift_part(
        "shift",
        shift,
        misses["shift"],
        "the network answers as if there were no extra term: it cannot stop before its first R",
    )
    return verdict("6.4", _misses_part(n, failing, why_n), part_shift)


@checker(
    "6.5",
    mistakes=[
        "−2 at N = 2: the network never says E straight after T, so it stops after its first R",
        "+2 instead of −2: response terms make the counter stop earlier, not later",
    ],
)
def ex_6_5(n2=..., n10=...):
    """Exercise 6.5: two response terms (``copies=2``) in the live 1-layer NoPE transformer.
    ``n2`` and ``n10``: the shift of the answer (a whole number of responses, e.g. ``-2``: two
    ``R`` fewer) at N = 2 and at N = 10, five seeded prompts each."""
    shifts = _shifts("response", 2)
    return verdict(
        "6.5",
        _shift_part(
            "n2",
            n2,
            shifts.loc[shifts["n"] == 2, "shift"],
            "−2 at N = 2 would be E straight after T, which training never shows; the network stops after "
            "its first R instead, as close to −2 as it has learned to go",
        ),
        _shift_part(
            "n10",
            n10,
            shifts.loc[shifts["n"] == 10, "shift"],
            "two more response terms are, to layer 1, two responses more: a ±1 counter stops two R earlier",
        ),
    )
