"""Checkers for chapter 7's exercises (the whole-state swap, the swap size k, the offset of an
alignment function).

The live measurements are the chapter's: the quick profile's ``k_sweep`` and
``alignment_functions`` DAS fits of its Single-Object GRUs (seeds 0 and 1), read from the default
store (measured there first if the store lacks them)."""

from __future__ import annotations

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
    not_attempted,
    number,
    out_of_reach,
    shown_answer,
    verdict,
)

PHASE_SPLIT = ("high", "low")  # ex_7_1: same-phase / cross-phase IIA above or below one half


def _measured(configs):
    from numvars.runner import ensure

    ensure(configs, progress=False)
    return configs


def _live_gru(seed: int = 0):
    from numvars.grids import profile

    return next(c.run for c in profile("quick").das["k_sweep"] if c.run.seed == seed)


@checker(
    "7.1",
    mistakes=[
        "expecting the whole-state swap to score 1: it also moves the source's phase, which a count counterfactual keeps",
        "'high' for the cross-phase pairs",
    ],
)
def ex_7_1(iia=..., same_phase=..., cross_phase=...):
    """Exercise 7.1: Up-Down ``count`` DAS with the rotation swapping all S = 20 coordinates
    (k = S) of the live GRUs. ``iia``: the test IIA, mean over the two GRUs (a number; right
    within 0.1); ``same_phase`` and ``cross_phase``: the IIA on the pairs whose target and source
    share a phase, and on the others — ``"high"`` (above one half) or ``"low"``."""
    from numvars.grids import profile
    from numvars.results import das_table

    whole = [
        c for c in profile("quick").das["k_sweep"] if c.method == "learned" and c.k == c.run.model_config.state_size
    ]
    table = das_table({"k_sweep": _measured(whole)})
    same, cross = float(table["iia_same_phase"].mean()), float(table["iia_cross_phase"].mean())
    word = {True: "high", False: "low"}
    return verdict(
        "7.1",
        close(
            "iia",
            iia,
            float(table["test_iia"].mean()),
            0.1,
            "a whole-state swap carries the source's phase too: right where target and source share a phase, wrong "
            f"elsewhere — about the share of same-phase pairs (mean over {len(table)} GRUs)",
        ),
        choice(
            "same_phase",
            same_phase,
            word[same > 0.5],
            PHASE_SPLIT,
            f"measured {same:.2f}: the source's phase is the target's, and its count is the counterfactual's",
        ),
        choice(
            "cross_phase",
            cross_phase,
            word[cross > 0.5],
            PHASE_SPLIT,
            f"measured {cross:.2f}: the whole state carries the source's phase too, but the count counterfactual keeps "
            "the target's",
        ),
    )


@checker(
    "7.2",
    mistakes=[
        "'random': expecting one coordinate to be too few for the count (it lies almost along one direction)",
    ],
)
def ex_7_2(closer_to=...):
    """Exercise 7.2: the live GRU (seed 0), Up-Down ``count`` DAS with the rotation at k = 1.
    ``closer_to``: is its test IIA closer to the rotation's at the default k = 10 (``"k10"``) or
    to a random rotation's (``"random"``)?"""
    from numvars.grids import das_settings, profile
    from numvars.jobs import DasConfig, load_measurement

    gru = _live_gru(0)
    settings = das_settings("quick")
    random = next(
        c for c in profile("quick").das["alignment_functions"] if c.run == gru and c.method == "random" and c.trained
    )
    k1, k10, random = (
        load_measurement(c).test_iia
        for c in _measured([DasConfig(gru, k=1, **settings), DasConfig(gru, **settings), random])
    )
    expected = "k10" if abs(k1 - k10) < abs(k1 - random) else "random"
    return verdict(
        "7.2",
        choice(
            "closer_to",
            closer_to,
            expected,
            ("k10", "random"),
            f"test IIA at k = 1: {k1:.3f}, at k = 10: {k10:.3f}, random rotation: {random:.3f} — "
            "the count lies almost along one direction of the state",
        ),
    )


def _draws(n: int = 5, size: int = 20):
    """Seeded (A, b, h_o, h_s, k): A an invertible linear map off the rotation (cond(A) in the tens),
    b a random offset, 8 rows of h_o and h_s, k from 1 to S."""
    from numvars.das import LinearAlignment

    generator = torch.Generator().manual_seed(0)
    for i, k in enumerate([1, 5, 10, 15, size][:n]):
        linear = LinearAlignment(size, seed=i)
        with torch.no_grad():
            linear.factors.copy_(0.3 * torch.randn(size, size, generator=generator))
        A = linear.matrix.detach()
        yield (
            A,
            3 * torch.randn(size, generator=generator),
            torch.randn(8, size, generator=generator),
            torch.randn(8, size, generator=generator),
            k,
        )


def _offset_gradient() -> float:
    """The norm of d(loss)/d(b) for h ↦ A h + b, swapped and mapped back (loss: the squared intervened states)."""
    from numvars.das import FixedLinear, swap_first

    A, b, h_o, h_s, k = next(_draws(1))
    b = b.clone().requires_grad_(True)
    alignment = FixedLinear(A, k)
    intervened = alignment.unalign(swap_first(alignment.align(h_o) + b, alignment.align(h_s) + b, k) - b)
    intervened.square().sum().backward()
    return float(b.grad.norm())


@checker(
    "7.3",
    mistakes=[
        "forgetting to subtract b before mapping back (the result is off by A⁻¹b)",
        "calling numvars.das.FixedLinear and ignoring b: refused (FixedLinear is out of reach, and b must reach the result)",
        "mapping back by Aᵀ instead of A⁻¹ (A is not orthogonal)",
        "a gradient other than 0: b cancels, so no loss depends on it",
    ],
)
def ex_7_3(intervene_with_offset=..., gradient=...):
    """Exercise 7.3: ``intervene_with_offset(A, b, h_o, h_s, k)`` — a function of a matrix ``A``
    (S, S), an offset ``b`` (S,) and rows ``h_o``, ``h_s`` (n, S) returning the intervened rows
    (n, S): map each row by ``h ↦ A h + b``, take the first ``k`` coordinates from ``h_s``'s and
    the rest from ``h_o``'s, subtract ``b`` and map back by ``A⁻¹``. The checker calls it on five
    seeded draws and compares with the swap without offset ``A⁻¹(M A h_s + (1 − M) A h_o)``; the
    offset must be used (it must reach the result through autograd), and the package's
    ``nv.das.FixedLinear`` is out of reach meanwhile. ``gradient``: the norm of the gradient of a
    loss with respect to ``b`` (a number)."""
    parts = (_function_part(intervene_with_offset), _gradient_part(gradient))
    return verdict("7.3", *parts)


def _no_offset(A, h_o, h_s, k):
    """A⁻¹(M A h_s + (1 − M) A h_o), written out: the package's FixedLinear is out of reach meanwhile."""
    from numvars.das import swap_first

    swapped = swap_first(h_o @ A.T, h_s @ A.T, k)
    return torch.linalg.solve(A.T, swapped, left=False)


@judged
def _function_part(function) -> Part:
    from numvars import das

    name, key = "intervene_with_offset", "A⁻¹(M(A h_s + b) + (1 − M)(A h_o + b) − b), equal to the swap without offset"
    if not attempted(function):
        return not_attempted(name, why=key)
    if function is das.FixedLinear or isinstance(function, das.FixedLinear):
        return Part(name, False, miss="that is numvars.das.FixedLinear, the swap without offset: write your own with b")
    if not callable(function) or isinstance(function, type):
        raise Malformed(
            name, f"{kind_of(function)} {shown_answer(function)}, expected a function (A, b, h_o, h_s, k) -> tensor"
        )
    for i, (A, b, h_o, h_s, k) in enumerate(_draws()):
        expected = _no_offset(A, h_o, h_s, k)
        offset = b.clone().requires_grad_(True)
        try:
            with out_of_reach((das, "FixedLinear"), (das.FixedLinear, "forward"), exercise="7.3"):
                got = function(A.clone(), offset, h_o.clone(), h_s.clone(), k)
        except Exception as error:  # the learner's code: say what it raised
            return Part(name, False, miss=f"draw {i} (k = {k}): it raised {type(error).__name__}: {error}")
        if not isinstance(got, torch.Tensor):
            raise Malformed(name, f"it returned {kind_of(got)}, expected a tensor of shape {tuple(h_o.shape)}")
        if got.shape != expected.shape:
            return Part(
                name, False, miss=f"draw {i} (k = {k}): shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
            )
        if not torch.allclose(got.detach().float(), expected, atol=1e-3, rtol=1e-3):
            largest = (got.detach().float() - expected).abs().max().item()
            return Part(
                name,
                False,
                miss=f"draw {i} (k = {k}): yours differs from the swap without offset by up to {largest:.3g}",
            )
        if not _uses(got, offset):
            return Part(
                name,
                False,
                miss=f"draw {i} (k = {k}): b never reaches your result — add it after A h, "
                "swap, subtract it (with torch operations, so autograd can follow it)",
            )
    return Part(name, True, "equal to the swap without offset on all five draws (k = 1 to S, random b): b cancels")


def _uses(result: torch.Tensor, offset: torch.Tensor) -> bool:
    """Does ``offset`` take part in computing ``result`` (an autograd path, whatever its value)?"""
    if not result.requires_grad:
        return False
    (grad,) = torch.autograd.grad(result.sum(), offset, allow_unused=True)
    return grad is not None


@judged
def _gradient_part(gradient) -> Part:
    if attempted(gradient) and number(gradient, "gradient") < 0:
        raise Malformed("gradient", f"{gradient!r} is not the norm of a gradient, a number ≥ 0")
    return close(
        "gradient",
        gradient,
        _offset_gradient(),
        1e-4,
        "M(A h_s + b) + (1 − M)(A h_o + b) − b = M A h_s + (1 − M) A h_o: the intervened state, hence "
        "any loss, does not depend on b (autograd on a seeded draw)",
        digits=1,
    )
