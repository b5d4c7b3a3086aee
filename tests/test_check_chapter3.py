"""Chapter 3's checkers: a right answer, a wrong one, the untouched stub and a malformed answer
each. The expected answers are computed here as the checkers compute them (the program, the live
quick GRU and its stored count alignment, numvars.das)."""

import ast
from pathlib import Path

import pytest
import torch
from checking import assert_hidden, assert_malformed, part

import numvars as nv
from numvars.check import chapter3


def test_ex_3_1_possible_numbers_of_responses():
    expected = chapter3.possible_responses()
    assert len(expected) == nv.programs.MAX_EXTRA_DEMOS + 1  # 0..3 extra demos, every one drawn
    assert nv.check.ex_3_1(sorted(expected)).right
    assert nv.check.ex_3_1(range(min(expected), max(expected) + 1)).right
    wrong = assert_hidden(nv.check.ex_3_1, str(sorted(expected)), responses={min(expected), 99})
    assert f"1 of yours cannot happen, {len(expected) - 1} possible numbers missing" in repr(wrong)
    assert not nv.check.ex_3_1().attempted
    assert_malformed(nv.check.ex_3_1(5), "responses", "an int 5, expected a set, list or range")
    assert_malformed(nv.check.ex_3_1([5.0, 6]), "responses", "whole numbers")


def test_ex_3_2_full_swap_against_das():
    learned, full = chapter3.count_alignment_iias()
    direction = "higher" if full > learned else "lower"
    right = nv.check.ex_3_2(direction=direction, full_swap_iia=full)
    assert right.right, right
    other = {"higher": "lower", "lower": "higher"}[direction]
    wrong = assert_hidden(
        nv.check.ex_3_2, f"expected {direction!r}", f"{full:.3f}", direction=other, full_swap_iia=full + 0.05
    )
    assert [p.right for p in wrong.parts] == [False, False] and "too high, by more than the tolerance" in repr(wrong)
    half = nv.check.ex_3_2(direction=direction, full_swap_iia=full + 0.05)  # a right part does not give away the other
    assert part(half, "direction").right and f"{full:.3f}" not in repr(half)
    assert not nv.check.ex_3_2().attempted
    malformed = nv.check.ex_3_2(direction="same", full_swap_iia=full)
    assert_malformed(malformed, "direction", r"one of \['higher', 'lower'\]")
    assert part(malformed, "full_swap_iia").right


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
    assert_malformed(
        nv.check.ex_3_3(interchange(torch.zeros(1, 2), torch.zeros(1, 2), torch.eye(2), 1)),
        "interchange",
        "a tensor .*expected your function",
    )


def test_ex_3_3_refuses_the_packages_own_swap():
    own = nv.check.ex_3_3(nv.das.interchange)
    assert not own.right and "numvars.das.interchange itself" in repr(own)
    wrapped = nv.check.ex_3_3(lambda h_o, h_s, R, k: nv.das.interchange(h_o, h_s, R, k))
    assert not wrapped.right and "interchange is the package's own answer" in repr(wrapped)
    by_module = nv.check.ex_3_3(lambda h_o, h_s, R, k: h_o if k == 0 else nv.das.FixedLinear(R, k)(h_o, h_s))
    assert not by_module.right and "FixedLinear.forward is the package's own answer" in repr(by_module)
    assert nv.check.ex_3_3(interchange).right  # and the package's swap is back afterwards
    assert nv.das.interchange(torch.zeros(1, 2), torch.ones(1, 2), torch.eye(2), 2).eq(1).all()


def test_ex_3_4_probe_versus_intervention():
    m = chapter3.probe_versus_intervention()
    assert m["iia_das"] > m["iia_random"] + 0.3  # the intervention tells the subspaces apart …
    worse = "yes" if m["r2_das"] - m["r2_random"] > 0.1 else "no"
    assert worse == "no"  # … the probe does not
    r2 = {name: m[name] for name in ("r2_full", "r2_das", "r2_random")}
    right = nv.check.ex_3_4(random_far_worse=worse, **r2)
    assert right.right, right
    wrong = assert_hidden(
        nv.check.ex_3_4,
        "expected 'no'",
        f"expected {m['r2_random']:.3f}",
        random_far_worse="yes",
        **{**r2, "r2_random": m["r2_random"] - 0.2},
    )
    assert [p.right for p in wrong.parts] == [False, True, True, False]
    half = nv.check.ex_3_4(random_far_worse=worse, r2_full=0.5)
    assert part(half, "random_far_worse").right and f"{m['r2_das']:.3f}" not in repr(half)
    assert not nv.check.ex_3_4().attempted
    assert_malformed(nv.check.ex_3_4(r2_full="high"), "r2_full", "expected a number")
    assert_malformed(nv.check.ex_3_4(random_far_worse="maybe"), "random_far_worse", r"one of \['yes', 'no'\]")


def test_probe_r2_is_one_for_a_linear_target_and_low_for_noise():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=generator, dtype=torch.float64)
    y = x @ torch.arange(5.0, dtype=torch.float64) + 3
    assert chapter3.probe_r2(x[:100], y[:100], x[100:], y[100:]) == pytest.approx(1.0)
    noise = torch.randn(200, generator=generator, dtype=torch.float64)
    assert chapter3.probe_r2(x[:100], noise[:100], x[100:], noise[100:]) < 0.2


def chapter_solution(name: str):
    """A function the chapter's folded solution defines, run from book/03_das.py itself (so the
    test checks the solution learners see, not a copy of it): the last definition of ``name``,
    which in the notebook replaces the exercise's stub."""
    source = (Path(__file__).parents[1] / "book" / "03_das.py").read_text()
    *_, node = [n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name]
    namespace = {"nv": nv, "torch": torch}
    exec(compile(ast.Module([node], []), "book/03_das.py", "exec"), namespace)
    return namespace[name]


train_rotation = chapter_solution("train_rotation")  # exercise 3.5: Adam on R, the network frozen


@pytest.fixture(scope="module")
def count_fit():
    model, learned, _ = chapter3.count_fits()
    return model, learned, nv.load_measurement(learned)


def test_ex_3_5_a_40_epoch_loop_passes_and_5_epochs_do_not(count_fit):
    model, learned, stored = count_fit
    pairs = nv.pair_set(learned.pairs, "train")
    trained = train_rotation(model, pairs, stored.k, epochs=40)
    assert nv.check.ex_3_5(trained).right, nv.check.ex_3_5(trained)
    assert (
        chapter3.subspace_distance(trained.rotation.detach()[: stored.k], stored.alignment().rotation[: stored.k])
        > chapter3.COPY_DISTANCE
    )  # trained, not copied
    short = nv.check.ex_3_5(train_rotation(model, pairs, stored.k, epochs=5))
    assert not short.right and "below the bar" in repr(short), short


def test_ex_3_5_refuses_the_stored_fit_and_near_copies(count_fit):
    model, _, stored = count_fit
    rotation, k = stored.alignment().rotation, stored.k
    assert "a copy of it — train your own" in repr(nv.check.ex_3_5(stored.alignment()))
    same_subspace = torch.cat([rotation[:k].flip(0), rotation[k:]])  # the first k rows reordered: the same swap
    assert "a copy of it" in repr(nv.check.ex_3_5(nv.das.Alignment(same_subspace, k)))
    near = nv.das.Alignment(
        rotation + 1e-5 * torch.randn(rotation.shape, generator=torch.Generator().manual_seed(0)), k
    )
    assert "a copy of it" in repr(nv.check.ex_3_5(near))


def test_ex_3_5_untrained_and_malformed(count_fit):
    model, _, stored = count_fit
    untrained = nv.check.ex_3_5(nv.das.LearnedRotation(model.config.state_size, stored.k, seed=0))  # the random control
    assert not untrained.right and "below the bar" in repr(untrained)
    assert f"{stored.test_iia:.3f}" not in repr(untrained) and f"{stored.test_iia:.3f}" in repr(
        nv.check.ex_3_5(nv.das.LearnedRotation(model.config.state_size, stored.k, seed=0), reveal=True)
    )
    assert not nv.check.ex_3_5().attempted
    assert_malformed(nv.check.ex_3_5(stored.alignment().rotation), "test IIA", "expected the trained alignment itself")
    assert_malformed(
        nv.check.ex_3_5(torch.nn.Linear(20, 3)), "test IIA", r"could not swap two \(n, 20\) states: TypeError"
    )
    assert_malformed(
        nv.check.ex_3_5(FirstThree()), "test IIA", r"should map \(n, 20\) states to \(n, 20\), it gave \(2, 3\)"
    )


def test_subspace_distance_ignores_rotations_within_the_subspace():
    rotation = nv.das.seeded_rotation(20, 0)
    assert chapter3.subspace_distance(rotation[:5], rotation[:5].flip(0)) == pytest.approx(0, abs=1e-9)
    assert chapter3.subspace_distance(rotation[:5], rotation[5:10]) == pytest.approx(1)


class FirstThree(torch.nn.Module):
    def forward(self, h_o, h_s):
        return h_o[:, :3]
