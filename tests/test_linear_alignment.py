"""numvars.das.LinearAlignment (the TMLR extension): an invertible, non-orthogonal A = W0 · L · U
in place of DAS's rotation — its exact inverse, its start at DAS's rotation, the offset that
cancels, a fit, and the stored result."""

import pytest
import torch

from numvars.das import (
    Alignment,
    DasResult,
    FixedLinear,
    FullSwap,
    LearnedRotation,
    LinearAlignment,
    RandomLinear,
    RandomRotation,
    fit_alignment,
    fit_alignments,
    iia,
    interchange,
    make_alignment,
    make_pairs,
    pair_correct,
    run_frozen,
    swap_first,
)
from numvars.geometry import principal_angles
from numvars.jobs import DasConfig, load_measurement, load_network, pair_set
from numvars.models import CountingModel, ModelConfig, build_model
from numvars.programs import get_program
from numvars.results import pair_outcomes
from numvars.runner import ensure
from numvars.store import Store
from numvars.tasks import Task
from numvars.training import TrainConfig

TASK = Task("single")
SINGLE = TrainConfig(task=TASK, arch="gru", max_epochs=400)  # as tests/test_jobs.py
TINY = dict(n_pairs=(96, 48, 48), max_epochs=2, patience=1)


@pytest.fixture(autouse=True)
def _fixed_draws():
    """The same random states in every run, whatever ran before: tolerances are checked on them."""
    torch.manual_seed(0)


def moved(alignment: LinearAlignment, seed: int = 0, scale: float = 0.3) -> LinearAlignment:
    """``alignment`` with random non-zero L, U and s (its packed factors), in place."""
    with torch.no_grad():
        alignment.factors.copy_(
            scale * torch.randn(alignment.factors.shape, generator=torch.Generator().manual_seed(seed))
        )
    return alignment


def tiny_pairs(n_train=256):
    program = get_program("up_down", TASK)
    return [make_pairs(program, "count", n, seed=s) for n, s in ((n_train, 5), (64, 6), (64, 7))]


@pytest.mark.parametrize("seed", [4, (4, 5, 6)])
def test_the_map_is_w0_l_u_and_its_inverse_undoes_it(seed):
    align = moved(LinearAlignment(12, 5, seed=seed))
    h = torch.randn(*align.start.shape[:-2], 30, 12, generator=torch.Generator().manual_seed(0))  # (n, S) or (E, n, S)
    tol = 1e-6 * float(
        align.condition_number().max()
    )  # float32 rounding, amplified at most cond(A) times (up to 38 here)
    lower, upper, s = align.lower, align.upper, align.factors.diagonal(dim1=-2, dim2=-1)
    assert torch.equal(lower.triu(1), torch.zeros_like(lower)) and torch.equal(
        lower.diagonal(dim1=-2, dim2=-1), torch.ones_like(s)
    )
    assert torch.equal(upper.tril(-1), torch.zeros_like(upper)) and torch.allclose(
        upper.diagonal(dim1=-2, dim2=-1), s.exp()
    )
    assert (lower.tril(-1) != 0).any() and (upper.triu(1) != 0).any() and (s != 0).any()
    assert torch.allclose(align.matrix, align.start @ lower @ upper)
    z = align.align(h)
    assert torch.allclose(z, torch.einsum("...ij,...nj->...ni", align.matrix, h), atol=1e-5)  # rows: A h
    assert torch.allclose(align.unalign(z), h, atol=tol)
    assert torch.allclose(align.align(align.unalign(h)), h, atol=tol)
    h_o, h_s = h, h.flip(-2)
    assert torch.allclose(
        align.unalign(swap_first(align.align(h_o), align.align(h_s), 0)), h_o, atol=1e-5
    )  # k = 0: nothing
    # the fixed counterpart of the same A (general solve) intervenes alike
    assert torch.allclose(FixedLinear(align.matrix, 5)(h_o, h_s), align(h_o, h_s), atol=1e-5)


def test_a_stack_holds_each_seeds_alignment_and_select_keeps_members():
    stacked = moved(LinearAlignment(12, 5, seed=(4, 5, 6)))
    h_o, h_s = torch.randn(3, 30, 12), torch.randn(3, 30, 12)
    for e, seed in enumerate((4, 5, 6)):
        alone = LinearAlignment(12, 5, seed=seed)
        assert torch.equal(alone.start, stacked.start[e])
        with torch.no_grad():
            alone.factors.copy_(stacked.factors[e])
        assert torch.allclose(stacked(h_o, h_s)[e], alone(h_o[e], h_s[e]), atol=1e-5)
    kept = stacked.select([2, 0])
    assert kept.factors.shape == (2, 12, 12) and isinstance(kept.factors, torch.nn.Parameter)
    assert torch.allclose(kept(h_o[[2, 0]], h_s[[2, 0]]), stacked(h_o, h_s)[[2, 0]], atol=1e-6)


@pytest.mark.parametrize("seed", [3, (3, 8)])
def test_at_its_start_a_is_das_rotation_and_the_intervention_is_das(seed):
    align = LinearAlignment(20, 7, seed=seed)
    rotation = RandomRotation(20, 7, seed=seed).rotation
    assert torch.equal(align.matrix, rotation) and torch.equal(
        align.matrix, LearnedRotation(20, seed=seed).rotation.detach()
    )
    h_o, h_s = torch.randn(*rotation.shape[:-2], 40, 20), torch.randn(*rotation.shape[:-2], 40, 20)
    assert torch.allclose(align(h_o, h_s), interchange(h_o, h_s, rotation, 7), atol=1e-6)
    assert torch.allclose(align.condition_number(), torch.ones(rotation.shape[:-2]), atol=1e-4)  # orthogonal
    assert (moved(align).condition_number() > 1.5).all()


def test_swapping_every_coordinate_gives_the_source_for_any_invertible_a():
    h_o, h_s = torch.randn(30, 12), torch.randn(30, 12)
    assert torch.allclose(moved(LinearAlignment(12, 12, seed=1))(h_o, h_s), h_s, atol=1e-5)
    general = torch.randn(12, 12, generator=torch.Generator().manual_seed(2))  # no structure at all
    assert torch.allclose(FixedLinear(general, 12)(h_o, h_s), h_s, atol=1e-4)


def test_an_offset_b_cancels_in_the_swap():
    align = moved(LinearAlignment(12, 5, seed=1))
    h_o, h_s, b = torch.randn(30, 12), torch.randn(30, 12), 3 * torch.randn(12)
    A = align.matrix.detach()
    mask = (torch.arange(12) < 5).float()
    # h ↦ A h + b, swap, and back: A⁻¹ (M (A h_s + b) + (1 − M)(A h_o + b) − b)
    aligned_o, aligned_s = h_o @ A.T + b, h_s @ A.T + b
    mixed = mask * aligned_s + (1 - mask) * aligned_o
    with_offset = torch.linalg.solve(A, (mixed - b).T).T
    assert torch.allclose(with_offset, align(h_o, h_s), atol=1e-4)
    assert not torch.allclose(torch.linalg.solve(A, mixed.T).T, with_offset, atol=1e-2)  # b itself is not nothing


def test_a_short_fit_moves_a_off_the_rotation_and_its_stored_result_reproduces_it():
    model = build_model(ModelConfig("gru", vocab_size=len(TASK.vocab), d=8)).eval()
    train_pairs, val_pairs, test_pairs = tiny_pairs()
    align = LinearAlignment(8, seed=2)
    start = align.matrix.detach().clone()
    result = fit_alignment(model, align, train_pairs, val_pairs, test_pairs, max_epochs=3, batch_size=64)
    assert result.kind == "linear" and result.k == 4 and len(result.history) == 3
    assert result.history[-1]["loss"] < result.history[0]["loss"]  # it learns
    assert not torch.allclose(result.rotation, start, atol=1e-3)  # A left W0 ...
    assert not torch.allclose(result.rotation.T @ result.rotation, torch.eye(8), atol=1e-3)  # ... and is not orthogonal
    fixed = result.alignment()
    assert type(fixed) is FixedLinear and fixed.condition_number() > 1.01
    assert torch.equal(fixed.matrix, result.rotation)
    assert iia(model, run_frozen(model, val_pairs), fixed) == result.best_val_iia  # the kept A is the best one
    assert torch.equal(pair_correct(model, run_frozen(model, test_pairs), fixed), result.test_correct)
    assert all(p.grad is None for p in model.parameters())
    payload = result.to_payload()
    assert payload["kind"] == "linear"
    again = DasResult.from_payload(payload)
    assert again.kind == "linear" and torch.equal(again.rotation, result.rotation) and again.history == result.history
    assert torch.equal(pair_correct(model, run_frozen(model, test_pairs), again.alignment()), result.test_correct)


def test_an_ensemble_fits_each_members_a_as_it_would_alone():
    config = ModelConfig("gru", vocab_size=len(TASK.vocab), d=8)
    models = [build_model(config, seeds=(s,)).eval() for s in (0, 1)]
    pairs, settings = tiny_pairs(128), dict(max_epochs=3, batch_size=64, seed=4)
    alone = [fit_alignment(m, LinearAlignment(8, seed=s), *pairs, **settings) for m, s in zip(models, (0, 1))]
    together = fit_alignments(CountingModel.stack(models), LinearAlignment(8, seed=(0, 1)), *pairs, **settings)
    for a, t in zip(alone, together):
        assert t.kind == "linear" and [h["val_iia"] for h in t.history] == [h["val_iia"] for h in a.history]
        assert torch.equal(t.test_correct, a.test_correct) and torch.allclose(t.rotation, a.rotation, atol=1e-5)


def test_a_rotation_payload_keeps_its_old_form_and_an_old_one_loads_as_orthogonal():
    rotation = RandomRotation(8, seed=1).rotation
    old = {"test_correct": torch.tensor([True, False]), "history": [], "rotation": rotation, "k": 4, "seconds": 1.5}
    result = DasResult.from_payload(old)
    assert result.kind == "orthogonal" and type(result.alignment()) is Alignment
    assert result.to_payload().keys() == old.keys()  # no "kind" key: exactly what was stored before
    with pytest.raises(ValueError, match="unknown alignment kind 'affine'; allowed: \\['orthogonal', 'linear'\\]"):
        DasResult.from_payload({**old, "kind": "affine"})


def test_a_linear_measurement_is_stored_and_its_pair_outcomes_recomputed(tmp_path):
    store = Store(tmp_path)
    config = DasConfig(SINGLE, method="linear", trained=False, **TINY)
    ensure([config], store, progress=False)
    result = load_measurement(config, store)
    assert result.kind == "linear" and result.k == 10 and result.rotation.shape == (20, 20)
    outcomes = pair_outcomes(config, store)  # recomputed with the stored A
    assert ((outcomes["first_error"] < 0).to_numpy() == result.test_correct.numpy()).all()


def test_the_random_map_is_seeded_invertible_and_not_a_rotation():
    a, again, other = RandomLinear(20, seed=3), RandomLinear(20, seed=3), RandomLinear(20, seed=4)
    assert torch.equal(a.matrix, again.matrix) and not torch.allclose(a.matrix, other.matrix)
    assert torch.equal(RandomLinear(20, seed=(3, 4)).matrix[1], other.matrix)  # a stack holds each seed's own
    assert not a.trainable and a.kind == "linear" and a.k == 10
    assert a.condition_number() > 2  # far from orthogonal (an orthogonal map has 1)
    start = RandomRotation(20, seed=3).rotation  # not W0 under another name: its swapped directions are others
    assert principal_angles(torch.linalg.inv(a.matrix)[:, :10].T, start[:10]).max() > 30
    h_o = torch.randn(8, 20)
    assert torch.allclose(a.unalign(a.align(h_o)), h_o, atol=1e-4)


@pytest.mark.parametrize("method", ["learned", "linear"])
def test_the_k_sweeps_largest_k_is_the_full_swap(tmp_path, method):
    store = Store(tmp_path)
    config = DasConfig(SINGLE, method=method, k=20, trained=False, **TINY)  # k = S: the whole state is swapped
    ensure([config], store, progress=False)
    model = load_network(config)
    full = pair_correct(model, run_frozen(model, pair_set(config.pairs, "test")), FullSwap(20))
    result = load_measurement(config, store)
    assert torch.equal(result.test_correct, full)
    assert result.history == [] and torch.equal(
        result.rotation, make_alignment(method, 20, seed=0).matrix.detach()
    )  # nothing to fit


def test_bad_input_is_refused_with_what_is_allowed():
    with pytest.raises(ValueError, match=r"unknown DAS method 'pca'; allowed: \[.*'linear', 'random_linear'\]"):
        make_alignment("pca", 8)
    assert isinstance(make_alignment("linear", 8, 3, seed=(0, 1)), LinearAlignment)
    for k in (0, 9):
        with pytest.raises(ValueError, match=r"k \(the swapped dimensions\) must be in 1..8"):
            LinearAlignment(8, k)
    with pytest.raises(ValueError, match=r"k \(the swapped dimensions\) must be in 1..8"):
        FixedLinear(torch.eye(8), 9)
    with pytest.raises(ValueError, match=r"k must be in 0..8, got 9"):
        swap_first(torch.zeros(2, 8), torch.zeros(2, 8), 9)
