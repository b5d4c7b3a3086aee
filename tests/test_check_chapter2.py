"""Chapter 2's checkers: a right answer, a wrong one, the untouched stub and a malformed answer
each. The expected answers are computed here as the checkers compute them (live quick networks,
the committed paper tables)."""

import pytest
from checking import assert_hidden, assert_malformed

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
    wrong = assert_hidden(
        nv.check.ex_2_1, "expected 1.0", f"expected {held}", z_copy=0, largest_mean=largest, units_held=held + 1
    )
    assert [p.right for p in wrong.parts] == [False, True, False] and "too high" in repr(wrong)
    assert not nv.check.ex_2_1().attempted
    malformed = nv.check.ex_2_1(largest_mean="0.4", units_held=2.5)
    assert_malformed(malformed, "units_held", "a float 2.5, expected a whole number of units")
    assert_malformed(malformed, "largest_mean", "a str '0.4', expected a number")


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
    wrong = assert_hidden(
        nv.check.ex_2_3,
        f"expected {produced['gru']}",
        gru=produced["gru"] + 1,
        lstm=produced["lstm"],
        transformer=produced["transformer"],
    )
    assert [p.right for p in wrong.parts] == [False, True, True]
    assert not nv.check.ex_2_3().attempted
    malformed = nv.check.ex_2_3(gru="8", lstm=produced["lstm"])
    assert_malformed(malformed, "gru", "a str '8', expected a number of responses")
    assert malformed.parts[1].right  # the other parts are still judged


def test_whole_state_swap_without_a_swap_is_the_networks_own_count():
    # swapping in the state of the same N changes nothing: every live network then says N responses
    assert [chapter2.whole_state_swap(arch, target_n=5, source_n=5) for arch in ("gru", "lstm", "transformer")] == [
        5,
        5,
        5,
    ]


def test_ex_2_4_held_out_failures():
    expected = chapter2.held_out_failures()
    assert expected and all(counts for counts in expected.values())
    right = nv.check.ex_2_4({**expected, 99: []})  # a seed listed with no failures is no failure
    assert right.right, right
    some_seed = next(iter(expected))
    wrong = nv.check.ex_2_4({seed: counts for seed, counts in expected.items() if seed != some_seed})
    assert not wrong.right and f"seed {some_seed} (a failing seed is missing)" in repr(wrong)
    assert_hidden(
        nv.check.ex_2_4, f"expected {expected}", failures={seed: c for seed, c in expected.items() if seed != some_seed}
    )
    assert not nv.check.ex_2_4().attempted
    assert_malformed(nv.check.ex_2_4([1, 2]), "failures", r"a list \[1, 2\], expected a dict")
    assert_malformed(nv.check.ex_2_4({1: ["four"]}), "failures", "a str 'four', expected counts N of seed 1")
    assert_malformed(nv.check.ex_2_4({1: 4}), "failures", r"failures\[1\] is an int, expected a list")


def test_held_out_failures_reads_the_table_it_is_given():
    table = nv.results.read_table("paper", "accuracy_per_count.csv")
    rows = (table["experiment"] == "main") & (table["arch"] == "transformer") & (table["task"] == "same")
    perfect = table.assign(accuracy=table["accuracy"].where(~rows, 1.0))
    assert chapter2.held_out_failures(perfect) == {}
    one = perfect.copy()
    one.loc[rows & (one["seed"] == 0) & (one["N"] == 9), "accuracy"] = 0.0
    one.loc[rows & (one["seed"] == 0) & (one["N"] == 10), "accuracy"] = 0.0  # N = 10 is trained, not held out
    assert chapter2.held_out_failures(one) == {0: [9]}
