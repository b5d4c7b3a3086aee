"""Chapter 7's checkers, on the quick profile's live GRU measurements (the default store): each
with a right answer, a wrong one, an untouched stub and a malformed answer."""

import torch
from checking import assert_hidden, assert_malformed

import numvars as nv


def test_ex_7_1_a_whole_state_swap_is_right_where_the_phases_agree():
    assert nv.check.ex_7_1(iia=0.5, same_phase="high", cross_phase=" Low").right
    wrong = assert_hidden(
        nv.check.ex_7_1, "expected 0.5", "expected 'low'", iia=0.95, same_phase="high", cross_phase="high"
    )
    assert [p.right for p in wrong.parts] == [False, True, False]
    half = nv.check.ex_7_1(iia=0.5, same_phase="low")  # a right iia does not give away the phase parts
    assert half.parts[0].right and "measured" not in repr(half)
    assert not nv.check.ex_7_1().attempted
    malformed = nv.check.ex_7_1(iia="half", same_phase="near 1", cross_phase="low")
    assert_malformed(malformed, "same_phase", r"one of \['high', 'low'\]")
    assert_malformed(malformed, "iia", "expected a number")
    assert malformed.parts[2].right


def test_ex_7_2_one_coordinate_holds_most_of_the_count():
    assert nv.check.ex_7_2(closer_to="k10").right
    assert_hidden(nv.check.ex_7_2, "expected 'k10'", closer_to="random")
    assert not nv.check.ex_7_2().attempted
    assert_malformed(nv.check.ex_7_2(closer_to="k = 10"), "closer_to", r"one of \['k10', 'random'\]")


def with_offset(A, b, h_o, h_s, k):
    z_o, z_s = h_o @ A.T + b, h_s @ A.T + b
    return torch.linalg.solve(A, (nv.das.swap_first(z_o, z_s, k) - b).T).T


def keeps_offset(A, b, h_o, h_s, k):  # forgets to subtract b before mapping back
    return torch.linalg.solve(A, nv.das.swap_first(h_o @ A.T + b, h_s @ A.T + b, k).T).T


def test_ex_7_3_the_offset_cancels():
    assert nv.check.ex_7_3(intervene_with_offset=with_offset, gradient=0).right
    wrong = assert_hidden(nv.check.ex_7_3, "expected 0.0", intervene_with_offset=keeps_offset, gradient=1.0)
    assert [p.right for p in wrong.parts] == [False, False]
    assert "draw 0 (k = 1): yours differs" in repr(wrong) and "far too high" in repr(wrong)
    transposed = nv.check.ex_7_3(intervene_with_offset=lambda A, b, h_o, h_s, k: with_offset(A, b, h_o, h_s, k).T)
    assert "shape (20, 8), expected (8, 20)" in repr(transposed)
    assert not nv.check.ex_7_3().attempted
    not_a_function = nv.check.ex_7_3(intervene_with_offset=with_offset(*next(nv.check.chapter7._draws(1))), gradient=0)
    assert_malformed(not_a_function, "intervene_with_offset", "expected a function")
    assert not_a_function.parts[1].right  # the other part is still judged
    assert_malformed(
        nv.check.ex_7_3(intervene_with_offset=lambda A, b, h_o, h_s, k: h_o.tolist()),
        "intervene_with_offset",
        "expected a tensor",
    )
    assert_malformed(nv.check.ex_7_3(gradient=-1), "gradient", "a number ≥ 0")


def test_ex_7_3_the_offset_must_matter():
    package = nv.check.ex_7_3(intervene_with_offset=lambda A, b, h_o, h_s, k: nv.das.FixedLinear(A, k)(h_o, h_s))
    assert not package.right and "FixedLinear is the package's own answer" in repr(package), package
    assert "that is numvars.das.FixedLinear" in repr(nv.check.ex_7_3(intervene_with_offset=nv.das.FixedLinear))

    def ignores_b(A, b, h_o, h_s, k):  # the swap without offset, written out: b never used
        return torch.linalg.solve(A, nv.das.swap_first(h_o @ A.T, h_s @ A.T, k).T).T

    lazy = nv.check.ex_7_3(intervene_with_offset=ignores_b)
    assert not lazy.right and "b never reaches your result" in repr(lazy), lazy
    assert nv.check.ex_7_3(intervene_with_offset=with_offset, gradient=0).right  # FixedLinear is back afterwards
    assert nv.das.FixedLinear(torch.eye(2), 1)(torch.zeros(1, 2), torch.ones(1, 2)).tolist() == [[1.0, 0.0]]
