"""Chapter 5's exercise checkers (numvars.check.chapter5): for each, a right answer, a wrong one,
the untouched stub and a malformed answer. The committed paper tables only; a few seconds."""

from checking import assert_hidden, assert_malformed

import numvars as nv


def test_ex_5_1_random_rotation_against_size():
    right = nv.check.ex_5_1(das="rises", random="stays flat")
    assert right.right, right
    wrong = assert_hidden(nv.check.ex_5_1, "expected 'stays flat'", das="Rises ", random="rises")
    assert [p.right for p in wrong.parts] == [True, False]
    assert not nv.check.ex_5_1().attempted
    assert_malformed(nv.check.ex_5_1(random="low"), "random", r"one of \['rises', 'falls', 'stays flat'\]")


def test_ex_5_2_a_lag_by_hand():
    curves = nv.results.read_table("paper", "checkpoints.csv")
    one = curves[(curves["d"] == 16) & (curves["seed"] == 0) & (curves["checkpoint"] != "analysed")].sort_values(
        "epoch"
    )
    accuracy = nv.dynamics.epoch_reaching(one["epoch"], one["accuracy"], 0.5)
    iia = nv.dynamics.epoch_reaching(one["epoch"], one["test_iia"], 0.5)
    assert nv.check.ex_5_2(accuracy_epoch=int(accuracy), iia_epoch=iia).right
    earlier = one["epoch"][one["epoch"] < iia].max()
    wrong = assert_hidden(nv.check.ex_5_2, f"expected {iia:.0f}", accuracy_epoch=accuracy, iia_epoch=earlier)
    assert [p.right for p in wrong.parts] == [True, False] and "too low" in repr(wrong)
    assert not nv.check.ex_5_2().attempted
    malformed = nv.check.ex_5_2(accuracy_epoch=151, iia_epoch="150")
    assert_malformed(malformed, "accuracy_epoch", "not a checkpoint epoch")
    assert_malformed(malformed, "iia_epoch", "expected a number")


def test_ex_5_3_perfect_symbol_and_chance():
    right = nv.check.ex_5_3(slope=0, large_minus_small=0.0, chance_slope="negative")
    assert right.right, right
    wrong = assert_hidden(
        nv.check.ex_5_3,
        "expected 'negative'",
        "expected 0.000",
        slope=-0.02,
        large_minus_small=-0.2,
        chance_slope="zero",
    )
    assert [p.right for p in wrong.parts] == [False, False, False]
    assert not nv.check.ex_5_3().attempted
    assert_malformed(nv.check.ex_5_3(chance_slope="down"), "chance_slope", r"one of \['negative', 'zero', 'positive'\]")


def test_ex_5_4_change_a_threshold():
    right = nv.check.ex_5_4(gru="shrinks", lstm="about the same")
    assert right.right, right
    wrong = assert_hidden(
        nv.check.ex_5_4, "expected 'shrinks'", "expected 'about the same'", gru="grows", lstm="shrinks"
    )
    assert [p.right for p in wrong.parts] == [False, False]
    assert not nv.check.ex_5_4().attempted
    assert_malformed(nv.check.ex_5_4(gru=-0.1), "gru", "a float -0.1, expected one of")
