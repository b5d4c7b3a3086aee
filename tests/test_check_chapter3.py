"""Chapter 3's checkers: a right answer, a wrong one, the untouched stub and a malformed answer
each. The expected answers are computed here as the checkers compute them (the program, the live
quick GRU and its stored count alignment, numvars.das)."""

import pytest
import torch

import numvars as nv
from numvars.check import chapter3


def test_ex_3_1_possible_numbers_of_responses():
    expected = chapter3.possible_responses()
    assert len(expected) == nv.programs.MAX_EXTRA_DEMOS + 1  # 0..3 extra demos, every one drawn
    assert nv.check.ex_3_1(sorted(expected)).right
    assert nv.check.ex_3_1(range(min(expected), max(expected) + 1)).right
    wrong = nv.check.ex_3_1({min(expected)})
    assert not wrong.right and f"expected {sorted(expected)}" in repr(wrong)
    assert not nv.check.ex_3_1().attempted
    with pytest.raises(TypeError, match="should be a set, list or range"):
        nv.check.ex_3_1(5)
    with pytest.raises(TypeError, match="whole numbers"):
        nv.check.ex_3_1([5.0, 6])


def test_ex_3_2_full_swap_against_das():
    learned, full = chapter3.count_alignment_iias()
    direction = "higher" if full > learned else "lower"
    right = nv.check.ex_3_2(direction=direction, full_swap_iia=full)
    assert right.right, right
    other = {"higher": "lower", "lower": "higher"}[direction]
    wrong = nv.check.ex_3_2(direction=other, full_swap_iia=full + 0.05)
    assert [p.right for p in wrong.parts] == [False, False]
    assert f"expected {direction!r}" in repr(wrong) and f"expected {full:.3f}" in repr(wrong)
    assert not nv.check.ex_3_2().attempted
    with pytest.raises(ValueError, match=r"one of \['higher', 'lower'\]"):
        nv.check.ex_3_2(direction="same")


def interchange(h_o, h_s, R, k):
    z_o, z_s = h_o @ R.T, h_s @ R.T
    return torch.cat([z_s[:, :k], z_o[:, k:]], dim=1) @ R


def test_ex_3_3_implement_the_swap():
    assert nv.check.ex_3_3(interchange).right
    by_projection = lambda h_o, h_s, R, k: h_o + (h_s - h_o) @ R[:k].T @ R[:k]  # noqa: E731 — only the subspace matters
    assert nv.check.ex_3_3(by_projection).right
    unrotated = nv.check.ex_3_3(lambda h_o, h_s, R, k: torch.cat([h_s[:, :k], h_o[:, k:]], dim=1))
    assert [p.right for p in unrotated.parts] == [False, True] and "first mismatch: S = 20, k = 1" in repr(unrotated)
    transposed = nv.check.ex_3_3(lambda h_o, h_s, R, k: interchange(h_o, h_s, R.T, k))
    assert not transposed.right
    crashing = nv.check.ex_3_3(lambda h_o, h_s, R, k: 1 / 0)
    assert not crashing.right and "ZeroDivisionError" in repr(crashing)
    assert not nv.check.ex_3_3().attempted
    assert not nv.check.ex_3_3(lambda h_o, h_s, R, k: ...).attempted  # the stub's function
    with pytest.raises(TypeError, match="pass your function itself"):
        nv.check.ex_3_3(interchange(torch.zeros(1, 2), torch.zeros(1, 2), torch.eye(2), 1))


def test_ex_3_4_probe_versus_intervention():
    m = chapter3.probe_versus_intervention()
    assert m["iia_das"] > m["iia_random"] + 0.3  # the intervention tells the subspaces apart …
    worse = "yes" if m["r2_das"] - m["r2_random"] > 0.1 else "no"
    assert worse == "no"  # … the probe does not
    r2 = {name: m[name] for name in ("r2_full", "r2_das", "r2_random")}
    right = nv.check.ex_3_4(random_far_worse=worse, **r2)
    assert right.right, right
    wrong = nv.check.ex_3_4(random_far_worse="yes", **{**r2, "r2_random": m["r2_random"] - 0.2})
    assert [p.right for p in wrong.parts] == [False, True, True, False]
    assert "expected 'no'" in repr(wrong) and f"expected {m['r2_random']:.3f}" in repr(wrong)
    assert not nv.check.ex_3_4().attempted
    with pytest.raises(TypeError, match="r2_full should be a number"):
        nv.check.ex_3_4(r2_full="high")
    with pytest.raises(ValueError, match=r"one of \['yes', 'no'\]"):
        nv.check.ex_3_4(random_far_worse="maybe")


def test_probe_r2_is_one_for_a_linear_target_and_low_for_noise():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=generator, dtype=torch.float64)
    y = x @ torch.arange(5.0, dtype=torch.float64) + 3
    assert chapter3.probe_r2(x[:100], y[:100], x[100:], y[100:]) == pytest.approx(1.0)
    noise = torch.randn(200, generator=generator, dtype=torch.float64)
    assert chapter3.probe_r2(x[:100], noise[:100], x[100:], noise[100:]) < 0.2


def test_ex_3_5_scores_a_rotation_against_halfway_from_random_to_the_stored_fit():
    model, learned, _ = chapter3.count_fits()
    stored = nv.load_measurement(learned)
    rotation, k = stored.alignment().rotation, stored.k
    same_subspace = torch.cat([rotation[:k].flip(0), rotation[k:]])  # the first k rows reordered: the same swap
    right = nv.check.ex_3_5(nv.das.Alignment(same_subspace, k))
    assert right.right and f"yours {stored.test_iia:.3f}" in repr(right), right
    untrained = nv.check.ex_3_5(nv.das.LearnedRotation(model.config.state_size, k, seed=0))  # = the random control
    assert not untrained.right and "halfway" in repr(untrained)
    assert "train your own" in repr(nv.check.ex_3_5(stored.alignment()))
    assert not nv.check.ex_3_5().attempted
    with pytest.raises(TypeError, match="pass the trained alignment itself"):
        nv.check.ex_3_5(rotation)
    with pytest.raises(TypeError, match=r"could not swap two \(n, 20\) states: TypeError"):
        nv.check.ex_3_5(torch.nn.Linear(20, 3))  # one input, not (h_o, h_s)
    with pytest.raises(TypeError, match=r"should map \(n, 20\) states to \(n, 20\), it gave \(2, 3\)"):
        nv.check.ex_3_5(FirstThree())


class FirstThree(torch.nn.Module):
    def forward(self, h_o, h_s):
        return h_o[:, :3]
