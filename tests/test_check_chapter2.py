"""Chapter 2's checkers: a right answer, a wrong one, the untouched stub and a malformed answer
each. The expected answers are computed here as the checkers compute them (live quick networks,
the committed paper tables)."""

import pytest

import numvars as nv
from numvars.check import chapter2
from numvars.check.core import live_network


def test_ex_2_1_update_gate():
    task = nv.Task("single")
    ids = task.encode(chapter2.GATE_SEQUENCE)
    z = chapter2.update_gates(live_network("gru", 0), ids)
    largest = round(float(z[: ids.index(task.eos_id)].mean(dim=1).max()), 2)
    assert largest < 0.9  # the lesson: the mean gate is never near 1
    held = int((z[ids.index(task.trigger_id) : ids.index(task.eos_id)] > chapter2.HELD).all(dim=0).sum())
    right = nv.check.ex_2_1(z_copy=1, largest_mean=largest, units_held=held)
    assert right.right, right
    wrong = nv.check.ex_2_1(z_copy=0, largest_mean=largest, units_held=held + 1)
    assert [p.right for p in wrong.parts] == [False, True, False]
    assert "expected 1.0" in repr(wrong) and f"expected {held}" in repr(wrong)
    assert not nv.check.ex_2_1().attempted
    with pytest.raises(TypeError, match="units_held should be a whole number"):
        nv.check.ex_2_1(units_held=2.5)
    with pytest.raises(TypeError, match="largest_mean should be a number"):
        nv.check.ex_2_1(largest_mean="0.4")


def test_update_gates_match_the_models_own_step():
    model = live_network("gru", 0)
    ids = nv.Task("single").encode("B D D T R R E")
    z = chapter2.update_gates(model, ids)
    assert z.shape == (len(ids), model.config.d) and ((z > 0) & (z < 1)).all()
    with pytest.raises(ValueError, match="belongs to a GRU"):
        chapter2.update_gates(live_network("lstm", 0), ids)


def test_ex_2_3_whole_state_swap():
    produced = {arch: chapter2.whole_state_swap(arch) for arch in ("gru", "lstm", "transformer")}
    assert all(n >= 0 for n in produced.values()), produced
    right = nv.check.ex_2_3(**produced)
    assert right.right, right
    wrong = nv.check.ex_2_3(gru=produced["gru"] + 1, lstm=produced["lstm"], transformer=produced["transformer"])
    assert [p.right for p in wrong.parts] == [False, True, True]
    assert f"expected {produced['gru']}" in repr(wrong)
    assert not nv.check.ex_2_3().attempted
    with pytest.raises(TypeError, match="gru should be a number of responses"):
        nv.check.ex_2_3(gru="8")


def test_whole_state_swap_without_a_swap_is_the_networks_own_count():
    # swapping in the state of the same N changes nothing: every live network then says N responses
    assert [chapter2.whole_state_swap(arch, target_n=5, source_n=5) for arch in ("gru", "lstm", "transformer")] == [5, 5, 5]


def test_ex_2_4_held_out_failures():
    expected = chapter2.held_out_failures()
    assert expected and all(counts for counts in expected.values())
    right = nv.check.ex_2_4({**expected, 99: []})  # a seed listed with no failures is no failure
    assert right.right, right
    some_seed = next(iter(expected))
    wrong = nv.check.ex_2_4({seed: counts for seed, counts in expected.items() if seed != some_seed})
    assert not wrong.right and f"expected {expected}" in repr(wrong) and f"seed {some_seed}" in repr(wrong)
    assert not nv.check.ex_2_4().attempted
    with pytest.raises(TypeError, match="should be a dict"):
        nv.check.ex_2_4([1, 2])
    with pytest.raises(TypeError, match=r"failures\[1\] should be a list of counts"):
        nv.check.ex_2_4({1: ["four"]})


def test_held_out_failures_reads_the_table_it_is_given():
    table = nv.results.read_table("paper", "accuracy_per_count.csv")
    rows = (table["experiment"] == "main") & (table["arch"] == "transformer") & (table["task"] == "same")
    perfect = table.assign(accuracy=table["accuracy"].where(~rows, 1.0))
    assert chapter2.held_out_failures(perfect) == {}
    one = perfect.copy()
    one.loc[rows & (one["seed"] == 0) & (one["N"] == 9), "accuracy"] = 0.0
    one.loc[rows & (one["seed"] == 0) & (one["N"] == 10), "accuracy"] = 0.0  # N = 10 is trained, not held out
    assert chapter2.held_out_failures(one) == {0: [9]}
