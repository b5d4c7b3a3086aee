"""Checkers for chapter 7's exercises (the whole-state swap, the swap size k, the offset of an
alignment function).

The live measurements are the chapter's: the quick profile's ``k_sweep`` and
``alignment_functions`` DAS fits of its Single-Object GRUs (seeds 0 and 1), read from the default
store (measured there first if the store lacks them)."""

from __future__ import annotations

import torch

from numvars.check.core import Part, attempted, choice, close, not_attempted, number, verdict

PHASE_SPLIT = ("high", "low")  # ex_7_1: same-phase / cross-phase IIA above or below one half


def _measured(configs):
    from numvars.runner import ensure

    ensure(configs, progress=False)
    return configs


def _live_gru(seed: int = 0):
    from numvars.grids import profile

    return next(c.run for c in profile("quick").das["k_sweep"] if c.run.seed == seed)


def ex_7_1(iia=..., same_phase=..., cross_phase=...):
    """Exercise 7.1: Up-Down ``count`` DAS with the rotation swapping all S = 20 coordinates
    (k = S) of the live GRUs. ``iia``: the test IIA, mean over the two GRUs (a number; right
    within 0.1); ``same_phase`` and ``cross_phase``: the IIA on the pairs whose target and source
    share a phase, and on the others — ``"high"`` (above one half) or ``"low"``."""
    from numvars.grids import profile
    from numvars.results import das_table

    whole = [c for c in profile("quick").das["k_sweep"] if c.method == "learned" and c.k == c.run.model_config.state_size]
    table = das_table({"k_sweep": _measured(whole)})
    same, cross = float(table["iia_same_phase"].mean()), float(table["iia_cross_phase"].mean())
    word = {True: "high", False: "low"}
    return verdict(
        "7.1",
        close("iia", iia, float(table["test_iia"].mean()), 0.1,
              f"a whole-state swap is right on {same:.2f} of the pairs that share a phase and {cross:.2f} of the others: "
              f"about the share of same-phase pairs (mean over {len(table)} GRUs)"),
        choice("same_phase", same_phase, word[same > 0.5], PHASE_SPLIT,
               f"measured {same:.2f}: the source's phase is the target's, and its count is the counterfactual's"),
        choice("cross_phase", cross_phase, word[cross > 0.5], PHASE_SPLIT,
               f"measured {cross:.2f}: the whole state carries the source's phase too, but the count counterfactual keeps "
               "the target's"))


def ex_7_2(closer_to=...):
    """Exercise 7.2: the live GRU (seed 0), Up-Down ``count`` DAS with the rotation at k = 1.
    ``closer_to``: is its test IIA closer to the rotation's at the default k = 10 (``"k10"``) or
    to a random rotation's (``"random"``)?"""
    from numvars.grids import das_settings, profile
    from numvars.jobs import DasConfig, load_measurement

    gru = _live_gru(0)
    settings = das_settings("quick")
    random = next(c for c in profile("quick").das["alignment_functions"] if c.run == gru and c.method == "random" and c.trained)
    k1, k10, random = (load_measurement(c).test_iia for c in
                       _measured([DasConfig(gru, k=1, **settings), DasConfig(gru, **settings), random]))
    expected = "k10" if abs(k1 - k10) < abs(k1 - random) else "random"
    return verdict("7.2", choice("closer_to", closer_to, expected, ("k10", "random"),
                                 f"test IIA at k = 1: {k1:.3f}, at k = 10: {k10:.3f}, random rotation: {random:.3f} — "
                                 "the count lies almost along one direction of the state"))


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
        yield (A, 3 * torch.randn(size, generator=generator), torch.randn(8, size, generator=generator),
               torch.randn(8, size, generator=generator), k)


def _offset_gradient() -> float:
    """The norm of d(loss)/d(b) for h ↦ A h + b, swapped and mapped back (loss: the squared intervened states)."""
    from numvars.das import FixedLinear, swap_first

    A, b, h_o, h_s, k = next(_draws(1))
    b = b.clone().requires_grad_(True)
    alignment = FixedLinear(A, k)
    intervened = alignment.unalign(swap_first(alignment.align(h_o) + b, alignment.align(h_s) + b, k) - b)
    intervened.square().sum().backward()
    return float(b.grad.norm())


def ex_7_3(intervene_with_offset=..., gradient=...):
    """Exercise 7.3: ``intervene_with_offset(A, b, h_o, h_s, k)`` — a function of a matrix ``A``
    (S, S), an offset ``b`` (S,) and rows ``h_o``, ``h_s`` (n, S) returning the intervened rows
    (n, S): map each row by ``h ↦ A h + b``, take the first ``k`` coordinates from ``h_s``'s and
    the rest from ``h_o``'s, subtract ``b`` and map back by ``A⁻¹``. The checker calls it on five
    seeded draws and compares with the package's swap without offset
    (``nv.das.FixedLinear(A, k)(h_o, h_s)``). ``gradient``: the norm of the gradient of a loss
    with respect to ``b`` (a number)."""
    from numvars.das import FixedLinear

    if not attempted(intervene_with_offset):
        part_function = not_attempted("intervene_with_offset")
    else:
        if not callable(intervene_with_offset):
            raise TypeError(f"intervene_with_offset should be a function (A, b, h_o, h_s, k) -> tensor, got {intervene_with_offset!r}")
        mismatch = None
        for i, (A, b, h_o, h_s, k) in enumerate(_draws()):
            expected = FixedLinear(A, k)(h_o, h_s)
            got = intervene_with_offset(A.clone(), b.clone(), h_o.clone(), h_s.clone(), k)
            if not isinstance(got, torch.Tensor):
                raise TypeError(f"intervene_with_offset should return a tensor of shape {tuple(h_o.shape)}, got {type(got).__name__}")
            if got.shape != expected.shape:
                mismatch = f"draw {i} (k = {k}): shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
            elif not torch.allclose(got.detach().float(), expected, atol=1e-3, rtol=1e-3):
                largest = (got.detach().float() - expected).abs().max().item()
                mismatch = f"draw {i} (k = {k}): yours differs from A⁻¹(M A h_s + (1 − M) A h_o) by up to {largest:.3g}"
            if mismatch:
                break
        part_function = (Part("intervene_with_offset", False, f"{mismatch}") if mismatch else
                         Part("intervene_with_offset", True,
                              "equal to the swap without offset on all five draws (k = 1 to S, random b): b cancels"))
    if attempted(gradient) and number(gradient, "gradient") < 0:
        raise ValueError(f"gradient is the norm of a gradient, a number ≥ 0; got {gradient!r}")
    part_gradient = close("gradient", gradient, _offset_gradient(), 1e-4,
                          "M(A h_s + b) + (1 − M)(A h_o + b) − b = M A h_s + (1 − M) A h_o: the intervened state, hence "
                          "any loss, does not depend on b (autograd on a seeded draw)", digits=1)
    return verdict("7.3", part_function, part_gradient)
