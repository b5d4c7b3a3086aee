"""Chapter 6's checkers, on the quick profile's live transformers (the default store): each with a
right answer, a wrong one, an untouched stub and a malformed answer."""

import pytest

import numvars as nv


def test_ex_6_1_two_demo_terms_move_the_answer_by_two():
    assert nv.check.ex_6_1(shift=2).right and nv.check.ex_6_1(shift=2.0).right
    wrong = nv.check.ex_6_1(shift=1)
    assert not wrong.right and "expected +2" in repr(wrong)
    assert not nv.check.ex_6_1().attempted
    with pytest.raises(TypeError, match="shift should be a number"):
        nv.check.ex_6_1(shift="two")
    with pytest.raises(ValueError, match="whole number of responses"):
        nv.check.ex_6_1(shift=1.5)


def test_ex_6_3_nothing_moves_after_the_last_layer():
    assert nv.check.ex_6_3(at_t=0, later=0.0).right
    wrong = nv.check.ex_6_3(at_t=0.5, later=0)
    assert [p.right for p in wrong.parts] == [False, True] and "expected 0.000" in repr(wrong)
    assert not nv.check.ex_6_3().attempted
    assert "right so far" in repr(nv.check.ex_6_3(later=0))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nv.check.ex_6_3(at_t=2)
    with pytest.raises(TypeError, match="later should be a number"):
        nv.check.ex_6_3(later="cannot")


def test_ex_6_4_the_response_term_misses_at_n_1():
    assert nv.check.ex_6_4(n=1, shift=0).right and nv.check.ex_6_4(n=[1], shift=0).right
    wrong = nv.check.ex_6_4(n=[1, 2], shift=-1)
    assert [p.right for p in wrong.parts] == [False, False]
    assert "expected 1 —" in repr(wrong) and "expected +0" in repr(wrong)
    assert not nv.check.ex_6_4().attempted
    with pytest.raises(TypeError, match="an int N or a list of ints"):
        nv.check.ex_6_4(n="1")


def test_ex_6_5_two_response_terms_stop_after_the_first_r_at_n_2():
    assert nv.check.ex_6_5(n2=-1, n10=-2).right
    wrong = nv.check.ex_6_5(n2=-2, n10=-2)
    assert [p.right for p in wrong.parts] == [False, True] and "expected -1" in repr(wrong)
    assert not nv.check.ex_6_5().attempted
    with pytest.raises(TypeError, match="n10 should be a number"):
        nv.check.ex_6_5(n10=None)
