"""Chapter 7's checkers, on the quick profile's live GRU measurements (the default store): each
with a right answer, a wrong one, an untouched stub and a malformed answer."""

import pytest
import torch

import numvars as nv


def test_ex_7_1_a_whole_state_swap_is_right_where_the_phases_agree():
    assert nv.check.ex_7_1(iia=0.5, same_phase="high", cross_phase=" Low").right
    wrong = nv.check.ex_7_1(iia=0.95, same_phase="high", cross_phase="high")
    assert [p.right for p in wrong.parts] == [False, True, False]
    assert "expected 0.557" in repr(wrong) and "expected 'low'" in repr(wrong)
    assert not nv.check.ex_7_1().attempted
    with pytest.raises(ValueError, match=r"one of \['high', 'low'\]"):
        nv.check.ex_7_1(same_phase="near 1")
    with pytest.raises(TypeError, match="iia should be a number"):
        nv.check.ex_7_1(iia="half")


def test_ex_7_2_one_coordinate_holds_most_of_the_count():
    assert nv.check.ex_7_2(closer_to="k10").right
    wrong = nv.check.ex_7_2(closer_to="random")
    assert not wrong.right and "expected 'k10'" in repr(wrong)
    assert not nv.check.ex_7_2().attempted
    with pytest.raises(ValueError, match=r"one of \['k10', 'random'\]"):
        nv.check.ex_7_2(closer_to="k = 10")


def with_offset(A, b, h_o, h_s, k):
    z_o, z_s = h_o @ A.T + b, h_s @ A.T + b
    return torch.linalg.solve(A, (nv.das.swap_first(z_o, z_s, k) - b).T).T


def keeps_offset(A, b, h_o, h_s, k):  # forgets to subtract b before mapping back
    return torch.linalg.solve(A, nv.das.swap_first(h_o @ A.T + b, h_s @ A.T + b, k).T).T


def test_ex_7_3_the_offset_cancels():
    assert nv.check.ex_7_3(intervene_with_offset=with_offset, gradient=0).right
    wrong = nv.check.ex_7_3(intervene_with_offset=keeps_offset, gradient=1.0)
    assert [p.right for p in wrong.parts] == [False, False]
    assert "draw 0 (k = 1): yours differs" in repr(wrong) and "expected 0.0" in repr(wrong)
    transposed = nv.check.ex_7_3(intervene_with_offset=lambda A, b, h_o, h_s, k: with_offset(A, b, h_o, h_s, k).T)
    assert "shape (20, 8), expected (8, 20)" in repr(transposed)
    assert not nv.check.ex_7_3().attempted
    with pytest.raises(TypeError, match="should be a function"):
        nv.check.ex_7_3(intervene_with_offset=with_offset(*next(nv.check.chapter7._draws(1))))
    with pytest.raises(TypeError, match="should return a tensor"):
        nv.check.ex_7_3(intervene_with_offset=lambda A, b, h_o, h_s, k: h_o.tolist())
    with pytest.raises(ValueError, match="a number ≥ 0"):
        nv.check.ex_7_3(gradient=-1)
