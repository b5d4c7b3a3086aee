"""Checkers for chapter 3's exercises (interchange interventions, the rotated swap, IIA)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from numvars.check.core import Part, attempted, choice, close, not_attempted, verdict
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


def ex_3_1(responses=...):
    """Exercise 3.1: every number of ``R`` that Up-Down's ``count`` counterfactual of the pair
    (target ``B D D D T R R R E`` at t = 1, source with N = 6 after its first response) can
    have — a set, list or range of ints."""
    if not attempted(responses):
        return verdict("3.1", not_attempted("responses"))
    if isinstance(responses, (str, bytes)) or not isinstance(responses, Iterable):
        raise TypeError(f"responses should be a set, list or range of ints such as {{3, 4}}, got {responses!r}")
    values = list(responses)
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values):
        raise TypeError(f"responses should hold whole numbers of responses (ints), got {values!r}")
    answer, expected = {int(v) for v in values}, possible_responses()
    task, target, t, source, u = exercise_pair()
    count_s = get_program("up_down", task).states(source)[u]["count"]
    why = (f"the source's count after its first response is {count_s}; the target is in its demo phase, so the "
           f"paper's rule adds 0–3 random demo tokens (each +1) before T: {count_s} + k responses, k in 0..3")
    shown = sorted(expected)
    if answer == expected:
        return verdict("3.1", Part("responses", True, f"{shown} — {why}"))
    return verdict("3.1", Part("responses", False, f"you wrote {sorted(answer)}, expected {shown} — {why}"))


def count_alignment_iias() -> tuple[float, float]:
    """Exercise 3.2: (DAS's test IIA, the full swap's test IIA) for Up-Down's ``count`` on the
    live GRU (quick profile, Single-Object, seed 0) — its stored count alignment, the same
    test pairs."""
    from numvars import das
    from numvars.grids import das_settings, profile
    from numvars.jobs import DasConfig, load_measurement, load_run, pair_set
    from numvars.runner import ensure

    network = next(c for c in profile("quick").training["main"] if c.arch == "gru" and c.seed == 0)
    config = DasConfig(network, "up_down", "count", **das_settings("quick"))
    ensure([network, config], progress=False)
    model = load_run(network).model().eval()
    full = das.iia(model, das.run_frozen(model, pair_set(config.pairs, "test")), das.FullSwap(model.config.state_size))
    return load_measurement(config).test_iia, full


def ex_3_2(direction=..., full_swap_iia=...):
    """Exercise 3.2: the full swap (k = S) on the live GRU's ``count`` test pairs —
    ``direction`` ``"higher"`` or ``"lower"`` than DAS's test IIA, and ``full_swap_iia`` (a
    number, ± 0.01) the IIA you measured."""
    if not attempted(direction) and not attempted(full_swap_iia):
        return verdict("3.2", not_attempted("direction"), not_attempted("full_swap_iia"))
    learned, full = count_alignment_iias()
    expected = "higher" if full > learned else "lower"
    why = (f"DAS {learned:.3f}, full swap {full:.3f}: the full swap also copies the source's phase and last token, "
           "which a count-only counterfactual keeps from the target")
    return verdict("3.2", choice("direction", direction, expected, ("higher", "lower"), why),
                   close("full_swap_iia", full_swap_iia, full, 0.01, "the same test pairs, R = I, k = S"))


def ex_3_3(interchange=...):
    """Exercise 3.3: your ``interchange(h_o, h_s, R, k)`` — rows h_o, h_s (n, S), an orthogonal R
    (S, S), k in 0..S — returning ``Rᵀ(M R h_s + (1 − M) R h_o)`` (n, S), compared with
    :func:`numvars.das.interchange` on seeded random states and rotations (S = 20 and 40, every
    k); also k = 0 gives h_o and k = S gives h_s. A function that still returns ``...`` (the
    stub's) is not attempted."""
    if not attempted(interchange):
        return verdict("3.3", not_attempted("interchange"))
    if not callable(interchange) or isinstance(interchange, type):
        raise TypeError(f"pass your function itself, interchange(h_o, h_s, R, k), got {interchange!r}")
    from numvars import das

    try:
        stub = interchange(torch.zeros(1, 2), torch.ones(1, 2), torch.eye(2), 1) is ...  # the stub's `return ...`
    except Exception:  # the learner's code: its errors are reported case by case below
        stub = False
    if stub:
        return verdict("3.3", not_attempted("interchange"))
    generator = torch.Generator().manual_seed(0)
    cases, first = 0, None
    extremes = []
    for size, seed in [(20, 0), (40, 1)]:
        rotation = das.seeded_rotation(size, seed)
        h_o, h_s = torch.randn(7, size, generator=generator), torch.randn(7, size, generator=generator)
        for k in range(size + 1):
            cases += 1
            try:
                yours = interchange(h_o.clone(), h_s.clone(), rotation.clone(), k)
            except Exception as error:  # the learner's code: report what it raised
                first = first or f"S = {size}, k = {k}: it raised {type(error).__name__}: {error}"
                continue
            expected = das.interchange(h_o, h_s, rotation, k)
            yours = torch.as_tensor(yours)
            if yours.shape != expected.shape:
                first = first or f"S = {size}, k = {k}: shape {tuple(yours.shape)}, expected {tuple(expected.shape)}"
            elif not torch.allclose(yours.to(expected.dtype), expected, atol=1e-5):
                gap = (yours.to(expected.dtype) - expected).abs().max().item()
                first = first or f"S = {size}, k = {k}: differs from numvars.das.interchange by up to {gap:.2g}"
            if k in (0, size) and yours.shape == expected.shape:
                extremes.append(torch.allclose(yours.to(h_o.dtype), h_o if k == 0 else h_s, atol=1e-5))
    matches = Part("interchange", first is None,
                   f"equal to numvars.das.interchange on all {cases} cases" if first is None else f"first mismatch: {first}")
    ends = Part("k = 0 and k = S", bool(extremes) and all(extremes),
                "k = 0 leaves h_o, k = S gives h_s: R is orthogonal, so RᵀR = I" if extremes and all(extremes)
                else "expected h_o at k = 0 and h_s at k = S (RᵀR = I)")
    return verdict("3.3", matches, ends)
