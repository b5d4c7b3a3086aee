"""Chapter 4's exercise checkers (numvars.check.chapter4): for each, a right answer, a wrong one,
the untouched stub and a malformed answer. Programs and the committed paper tables only (no
network is run); about 10 s."""

from checking import assert_hidden, assert_malformed

import numvars as nv


def test_ex_4_1_rereader_and_carrier_full_swap():
    single = nv.Task("single")
    up_down = nv.get_program("up_down", single)
    pairs = nv.das.make_pairs(nv.get_program("ctx_distr", single), None, 1_000, seed=0)

    def unpadded(row):
        return [x for x in row.tolist() if x != single.pad_id]

    same = [
        up_down.states(unpadded(ids))[int(t)] == up_down.states(unpadded(src))[int(u)]
        for ids, t, src, u in zip(pairs.tokens, pairs.t, pairs.sources, pairs.u)
    ]
    carrier = sum(same) / len(same)  # a carrier keeps the continuation only where the swap writes back its own state
    assert 0.03 < carrier < 0.2
    right = nv.check.ex_4_1(rereader=1, carrier=carrier)
    assert right.right, right
    wrong = assert_hidden(nv.check.ex_4_1, f"expected {carrier:.3f}", "writes back", rereader=1, carrier=0)
    assert [p.right for p in wrong.parts] == [True, False] and "too low" in repr(wrong)
    assert not nv.check.ex_4_1().attempted
    malformed = nv.check.ex_4_1(rereader="high", carrier=8)
    assert_malformed(malformed, "rereader", "expected a number")
    assert_malformed(malformed, "carrier", "between 0 and 1")


def responses_made(task, ids, pos):
    return ids[: pos + 1].count(task.response_id)


def full_rule(task, pair):
    up_down, up_up = nv.get_program("up_down", task), nv.get_program("up_up", task)
    if responses_made(task, pair.target, pair.t) == responses_made(task, pair.source, pair.u):
        return True
    if nv.programs.phase_at(task, pair.target, pair.t) != "response":
        return False
    return (
        up_down.states(pair.source)[pair.u]["count"] == 0
        and up_up.states(pair.source)[pair.u]["demo_count"] <= up_up.states(pair.target)[pair.t]["resp_count"]
    )


def test_ex_4_2_the_coincidence_rule():
    right = nv.check.ex_4_2(full_rule)
    assert right.right and "agrees on all 1000 pairs" in repr(right), right
    # responses made alone misses the pairs on which both programs say E at once
    partial = nv.check.ex_4_2(
        lambda task, pair: responses_made(task, pair.target, pair.t) == responses_made(task, pair.source, pair.u)
    )
    assert not partial.right and "first counterexample" in repr(partial) and "you say False" in repr(partial)
    assert not nv.check.ex_4_2(lambda task, pair: False).right
    assert not nv.check.ex_4_2().attempted
    assert_malformed(nv.check.ex_4_2(coincide=True), "coincide", r"coincide\(task, pair\) -> bool")
    assert_malformed(nv.check.ex_4_2(lambda task, pair: "yes"), "coincide", "should return True or False")


def both_counterfactuals(task, pair):
    """The lazy answer the prompt forbids: compute both counterfactuals and compare them."""
    return nv.get_program("up_down", task).counterfactual(*pair, "count") == nv.get_program(
        "up_up", task
    ).counterfactual(*pair, "demo_count")


def test_ex_4_2_refuses_a_rule_that_computes_the_counterfactuals():
    lazy = nv.check.ex_4_2(both_counterfactuals)
    assert not lazy.right and "computes a counterfactual" in repr(lazy), lazy
    assert nv.check.ex_4_2(full_rule).right  # the programs' counterfactuals are back afterwards


def test_ex_4_3_chance_levels_per_measure():
    right = nv.check.ex_4_3(count=0.08, phase=0.5, demo_count=0.06, resp_count=0.41)
    assert right.right, right
    assert "transformers measure" in repr(right)
    wrong = assert_hidden(nv.check.ex_4_3, "expected 0.4", count=0.08, phase=0.5, demo_count=0.06, resp_count=0.08)
    assert [p.right for p in wrong.parts] == [True, True, True, False] and "far too low" in repr(wrong)
    assert not nv.check.ex_4_3().attempted
    assert nv.check.ex_4_3(count=0.08).attempted and not nv.check.ex_4_3(count=0.08).right  # the rest not attempted
    malformed = nv.check.ex_4_3(count=-0.1, phase="half", demo_count=0.06)
    assert_malformed(malformed, "phase", "a str 'half', expected a number")
    assert_malformed(malformed, "count", "between 0 and 1")
    assert malformed.parts[2].right
