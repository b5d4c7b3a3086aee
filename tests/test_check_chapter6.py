"""Chapter 6's checkers, on the quick profile's live transformers (the default store): each with a
right answer, a wrong one, an untouched stub and a malformed answer."""

from checking import assert_hidden, assert_malformed

import numvars as nv


def test_ex_6_1_two_demo_terms_move_the_answer_by_two():
    assert nv.check.ex_6_1(shift=2).right and nv.check.ex_6_1(shift=2.0).right
    wrong = assert_hidden(nv.check.ex_6_1, "expected +2", shift=1)
    assert "too few R" in repr(wrong)
    assert not nv.check.ex_6_1().attempted
    assert_malformed(nv.check.ex_6_1(shift="two"), "shift", "expected a number")
    assert_malformed(nv.check.ex_6_1(shift=1.5), "shift", "whole number of responses")


def test_ex_6_3_nothing_moves_after_the_last_layer():
    assert nv.check.ex_6_3(at_t=0, later=0.0).right
    wrong = assert_hidden(nv.check.ex_6_3, "expected 0.000", at_t=0.5, later=0)
    assert [p.right for p in wrong.parts] == [False, True]
    assert not nv.check.ex_6_3().attempted
    assert "right so far" in repr(nv.check.ex_6_3(later=0))
    malformed = nv.check.ex_6_3(at_t=2, later="cannot")
    assert_malformed(malformed, "at_t", "between 0 and 1")
    assert_malformed(malformed, "later", "expected a number")


def test_ex_6_4_the_response_term_misses_at_n_1():
    assert nv.check.ex_6_4(n=1, shift=0).right and nv.check.ex_6_4(n=[1], shift=0).right
    wrong = assert_hidden(nv.check.ex_6_4, "expected 1 —", "expected +0", n=[1, 2], shift=-1)
    assert [p.right for p in wrong.parts] == [False, False] and "1 of yours answer one R earlier" in repr(wrong)
    assert not nv.check.ex_6_4().attempted
    assert_malformed(nv.check.ex_6_4(n="1"), "n", "an int N or a list of ints")


def test_ex_6_5_two_response_terms_stop_after_the_first_r_at_n_2():
    assert nv.check.ex_6_5(n2=-1, n10=-2).right
    wrong = assert_hidden(nv.check.ex_6_5, "expected -1", n2=-2, n10=-2)
    assert [p.right for p in wrong.parts] == [False, True] and "too few R" in repr(wrong)
    assert not nv.check.ex_6_5().attempted
    assert_malformed(nv.check.ex_6_5(n10=None), "n10", "a NoneType None, expected a number")
