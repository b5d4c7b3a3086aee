"""Checkers for chapter 3's exercises 3.1–3.3: the counterfactual of an interchange intervention,
the learned and full swaps' IIA, the rotated swap done by hand."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from numvars.check.core import (
    Malformed,
    Part,
    attempted,
    checker,
    choice,
    close,
    judged,
    kind_of,
    live_config,
    not_attempted,
    nothing_to_do,
    out_of_reach,
    shown_answer,
    verdict,
)
from numvars.programs import get_program
from numvars.tasks import Task


def exercise_pair():
    """Exercise 3.1's pair (Single-Object): target ``B D D D T R R R E`` (N = 3) stopped after its
    first demo token (t = 1), a source with N = 6 stopped after its first response (u = T + 1)."""
    task = Task("single")
    target, source = task.make(3, np.random.default_rng(1)), task.make(6, np.random.default_rng(2))
    return task, target, 1, source, source.index(task.trigger_id) + 1


def possible_responses(seeds: int = 200) -> set[int]:
    """Exercise 3.1: the numbers of responses in Up-Down's ``count`` counterfactuals of the pair,
    over ``seeds`` draws of the paper's demo continuation."""
    task, target, t, source, u = exercise_pair()
    up_down = get_program("up_down", task)
    counterfactuals = [up_down.counterfactual(target, t, source, u, "count", seed=seed) for seed in range(seeds)]
    return {cf.count(task.response_id) for cf in counterfactuals}


@checker(
    "3.1",
    mistakes=[
        "one number only: forgetting that the paper's rule adds 0–3 random demo tokens after a swap into the demo phase",
        "the target's count instead of the source's (the swap brings the source's count)",
        "off by one: the source's count after its first response is one below its N",
    ],
)
def ex_3_1(responses=...):
    """Exercise 3.1: every number of ``R`` that Up-Down's ``count`` counterfactual of the pair
    (target ``B D D D T R R R E`` at t = 1, source with N = 6 after its first response) can
    have — a set, list or range of ints."""
    task, target, t, source, u = exercise_pair()
    count_s = get_program("up_down", task).states(source)[u]["count"]
    why = (
        f"the source's count after its first response is {count_s}; the target is in its demo phase, so the "
        f"paper's rule adds 0–3 random demo tokens (each +1) before T: {count_s} + k responses, k in 0..3"
    )
    if nothing_to_do(responses):
        return verdict("3.1", not_attempted("responses"))
    return verdict("3.1", _responses_part(responses, possible_responses(), why))


def _whole_set(responses) -> set[int]:
    if isinstance(responses, (str, bytes)) or not isinstance(responses, Iterable):
        raise Malformed(
            "responses",
            f"{kind_of(responses)} {shown_answer(responses)}, expected a set, list or range of ints such as {{3, 4}}",
        )
    values = list(responses)
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
        raise Malformed(
            "responses", f"{shown_answer(values)} holds something else than whole numbers of responses (ints)"
        )
    return {int(v) for v in values}


@judged
def _responses_part(responses, expected: set[int], why: str) -> Part:
    shown = sorted(expected)
    if not attempted(responses):
        return not_attempted("responses", str(shown), why)
    answer = _whole_set(responses)
    if answer == expected:
        return Part("responses", True, f"{shown} — {why}", expected=str(shown))
    extra, missing = len(answer - expected), len(expected - answer)
    miss = ", ".join(
        x
        for x in (
            f"{extra} of yours cannot happen" if extra else "",
            f"{missing} possible number{'s' if missing > 1 else ''} missing" if missing else "",
        )
        if x
    )
    return Part("responses", False, why, miss=f"you wrote {sorted(answer)}: {miss}", expected=str(shown))


def count_fits():
    """The live GRU's (quick profile, Single-Object, seed 0) stored Up-Down ``count`` fits —
    ``(model, learned, random)``: the network (eval mode) and the DasConfigs of its learned
    rotation and of the random-rotation control, computed first if the store lacks them."""
    from dataclasses import replace

    from numvars.grids import das_settings
    from numvars.jobs import DasConfig, load_run
    from numvars.runner import ensure

    network = live_config("gru", 0)
    learned = DasConfig(network, "up_down", "count", **das_settings("quick"))
    random = replace(learned, method="random")
    ensure([network, learned, random], progress=False)
    return load_run(network).model().eval(), learned, random


def frozen_test_runs(model, config):
    """The frozen runs of ``model`` on the test pairs of the measurement ``config``."""
    from numvars import das
    from numvars.jobs import pair_set

    return das.run_frozen(model, pair_set(config.pairs, "test"))


def count_alignment_iias() -> tuple[float, float]:
    """Exercise 3.2: (DAS's test IIA, the full swap's test IIA) for Up-Down's ``count`` on the
    live GRU — its stored count alignment, the same test pairs."""
    from numvars import das
    from numvars.jobs import load_measurement

    model, learned, _ = count_fits()
    full = das.iia(model, frozen_test_runs(model, learned), das.FullSwap(model.config.state_size))
    return load_measurement(learned).test_iia, full


@checker(
    "3.2",
    mistakes=[
        "expecting a bigger swap to do better: the full swap also copies the source's phase and last token",
        "a percentage (53.8) instead of a share (0.538)",
        "measuring on other pairs than the stored fit's test pairs",
    ],
)
def ex_3_2(direction=..., full_swap_iia=...):
    """Exercise 3.2: the full swap (k = S) on the live GRU's ``count`` test pairs —
    ``direction`` ``"higher"`` or ``"lower"`` than DAS's test IIA, and ``full_swap_iia`` (a
    number, ± 0.01) the IIA you measured."""
    if nothing_to_do(direction, full_swap_iia):
        return verdict("3.2", not_attempted("direction"), not_attempted("full_swap_iia"))
    learned, full = count_alignment_iias()
    expected = "higher" if full > learned else "lower"
    why = "the full swap also copies the source's phase and last token, which a count-only counterfactual keeps from the target"
    return verdict(
        "3.2",
        choice("direction", direction, expected, ("higher", "lower"), why),
        close(
            "full_swap_iia",
            full_swap_iia,
            full,
            0.01,
            f"the same test pairs, R = I, k = S; DAS's rotation scores {learned:.3f}",
        ),
    )


@checker(
    "3.3",
    mistakes=[
        "passing numvars.das.interchange (or a wrapper of it, or FixedLinear/LearnedRotation): refused",
        "forgetting to rotate back with R (the result stays in the rotated coordinates)",
        "R and Rᵀ mixed up (rows h: rotate by h Rᵀ, back by z R)",
        "swapping the last k coordinates instead of the first k",
    ],
)
def ex_3_3(interchange=...):
    """Exercise 3.3: your ``interchange(h_o, h_s, R, k)`` — rows h_o, h_s (n, S), an orthogonal R
    (S, S), k in 0..S — returning ``Rᵀ(M R h_s + (1 − M) R h_o)`` (n, S), compared with
    :func:`numvars.das.interchange` on seeded random states and rotations (S = 20 and 40, every
    k); also k = 0 gives h_o and k = S gives h_s. The package's own swap is refused: passed
    itself, and out of reach while your function runs (``numvars.das.interchange``, and the
    alignment modules' ``forward``). A function that still returns ``...`` (the stub's) is not
    attempted."""
    key = "a function of your own equal to Rᵀ(M R h_s + (1 − M) R h_o) on all 62 cases, h_o at k = 0, h_s at k = S"
    if not attempted(interchange):
        return verdict(
            "3.3",
            not_attempted("interchange", why=key),
            not_attempted("k = 0 and k = S", why="h_o at k = 0, h_s at k = S: R is orthogonal, so RᵀR = I"),
        )
    from numvars import das

    if interchange is das.interchange or getattr(interchange, "__wrapped__", None) is das.interchange:
        return verdict("3.3", Part("interchange", False, miss="that is numvars.das.interchange itself: write your own"))
    if not callable(interchange) or isinstance(interchange, type):
        raise Malformed(
            "interchange",
            f"{kind_of(interchange)} {shown_answer(interchange)}, expected your function "
            "itself, interchange(h_o, h_s, R, k)",
        )
    with out_of_reach((das, "interchange"), (das.Alignment, "forward"), (das.FixedLinear, "forward"), exercise="3.3"):
        try:
            stub = interchange(torch.zeros(1, 2), torch.ones(1, 2), torch.eye(2), 1) is ...  # the stub's `return ...`
        except Exception:  # the learner's code: its errors are reported case by case below
            stub = False
        if stub:
            return verdict("3.3", not_attempted("interchange"))
        return verdict("3.3", *_interchange_parts(interchange, das.swap_first))


def _reference(h_o, h_s, rotation, k, swap_first):
    """Rᵀ(M R h_s + (1 − M) R h_o), written out here: the package's is out of reach meanwhile."""
    return swap_first(h_o @ rotation.T, h_s @ rotation.T, k) @ rotation


def _interchange_parts(interchange, swap_first) -> tuple[Part, Part]:
    from numvars import das

    generator = torch.Generator().manual_seed(0)
    cases, first, extremes = 0, None, []
    for size, seed in [(20, 0), (40, 1)]:
        rotation = das.seeded_rotation(size, seed)
        h_o, h_s = torch.randn(7, size, generator=generator), torch.randn(7, size, generator=generator)
        for k in range(size + 1):
            cases += 1
            try:
                yours = torch.as_tensor(interchange(h_o.clone(), h_s.clone(), rotation.clone(), k))
            except Exception as error:  # the learner's code: report what it raised
                first = first or f"S = {size}, k = {k}: it raised {type(error).__name__}: {error}"
                continue
            expected = _reference(h_o, h_s, rotation, k, swap_first)
            if yours.shape != expected.shape:
                first = first or f"S = {size}, k = {k}: shape {tuple(yours.shape)}, expected {tuple(expected.shape)}"
            elif not torch.allclose(yours.to(expected.dtype), expected, atol=1e-5):
                gap = (yours.to(expected.dtype) - expected).abs().max().item()
                first = first or f"S = {size}, k = {k}: differs from Rᵀ(M R h_s + (1 − M) R h_o) by up to {gap:.2g}"
            if k in (0, size) and yours.shape == expected.shape:
                extremes.append(torch.allclose(yours.to(h_o.dtype), h_o if k == 0 else h_s, atol=1e-5))
    matches = Part(
        "interchange",
        first is None,
        f"equal to Rᵀ(M R h_s + (1 − M) R h_o) on all {cases} cases",
        miss=f"first mismatch: {first}",
    )
    ends_right = bool(extremes) and all(extremes)
    ends = Part(
        "k = 0 and k = S",
        ends_right,
        "k = 0 leaves h_o, k = S gives h_s: R is orthogonal, so RᵀR = I",
        miss="expected h_o at k = 0 and h_s at k = S (RᵀR = I)",
    )
    return matches, ends
