"""numvars.das: the interchange against hand-written references, and the pair sets."""

import pytest
import torch

from numvars.das import RotationAlignment, iia, interchange, make_pairs, source_states
from numvars.models import ModelConfig, Patch, build_model
from numvars.programs import get_program
from numvars.tasks import Task

TASK = Task("single")


def random_rotation(size, seed=0):
    q, _ = torch.linalg.qr(torch.randn(size, size, generator=torch.Generator().manual_seed(seed)))
    return q


def test_interchange_extremes_and_identity():
    h_o, h_s, rotation = torch.randn(5, 20), torch.randn(5, 20), random_rotation(20)
    assert torch.allclose(interchange(h_o, h_s, rotation, 20), h_s, atol=1e-5)  # k = d: full swap
    assert torch.allclose(interchange(h_o, h_s, rotation, 0), h_o, atol=1e-5)  # k = 0: nothing
    assert torch.allclose(interchange(h_o, h_o, rotation, 10), h_o, atol=1e-5)  # source = target
    # a hand-written per-row version: rotate, swap the first k coordinates, rotate back
    for row in range(5):
        ro, rs = rotation @ h_o[row], rotation @ h_s[row]
        mixed = torch.cat([rs[:7], ro[7:]])
        assert torch.allclose(interchange(h_o, h_s, rotation, 7)[row], rotation.T @ mixed, atol=1e-5)


def test_alignment_rotation_is_orthogonal_and_only_it_learns():
    model = build_model(ModelConfig("gru", vocab_size=len(TASK.vocab))).eval().requires_grad_(False)
    align = RotationAlignment(20, 10, seed=1)
    assert torch.allclose(align.rotation.T @ align.rotation, torch.eye(20), atol=1e-5)
    pairs = make_pairs(get_program("up_down", TASK), "count", 16, seed=0)
    from numvars.das import intervened_logits

    logits = intervened_logits(model, pairs, source_states(model, pairs), align)
    logits.sum().backward()
    assert all(p.grad is None for p in model.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in align.parameters())


def test_full_swap_alignment_equals_patching_the_source_state():
    model = build_model(ModelConfig("lstm", vocab_size=len(TASK.vocab))).eval()
    pairs = make_pairs(get_program("up_down", TASK), None, 32, seed=1)
    h_s = source_states(model, pairs)
    align = RotationAlignment(40, 40, seed=2)
    from numvars.das import intervened_logits

    by_alignment = intervened_logits(model, pairs, h_s, align)
    by_patch = model(pairs.tokens, patch=Patch(torch.arange(len(pairs)), pairs.t, h_s)).logits
    assert torch.allclose(by_alignment, by_patch, atol=1e-4)


def test_pair_scores_follow_the_program_by_hand():
    program = get_program("up_down", TASK)
    pairs = make_pairs(program, "count", 200, seed=3)
    for i in range(len(pairs)):
        ids = [x for x in pairs.tokens[i].tolist() if x != TASK.pad_id]
        t = int(pairs.t[i])
        scored = [j for j in range(len(ids)) if pairs.score[i, j]]
        assert ids[t + 1 :] and scored and min(scored) > t and ids[scored[-1]] == TASK.eos_id
        # every scored token is one the intervened program determines: R or E after the (new) trigger
        assert all(TASK.decode([ids[j]]) in ("R", "E") for j in scored)


def test_untrained_model_scores_low_and_bad_input_is_refused():
    model = build_model(ModelConfig("gru", vocab_size=len(TASK.vocab))).eval()
    pairs = make_pairs(get_program("up_down", TASK), "count", 64, seed=4)
    assert iia(model, pairs, RotationAlignment(20, 10)) < 0.2
    with pytest.raises(ValueError, match=r"k \(the swapped dimensions\) must be in 1..20"):
        RotationAlignment(20, 0)
    with pytest.raises(ValueError, match="at least one pair"):
        make_pairs(get_program("up_down", TASK), "count", 0, seed=0)
    with pytest.raises(ValueError, match="unknown variable"):
        make_pairs(get_program("up_down", TASK), "demo_count", 4, seed=0)
    with pytest.raises(ValueError, match="does not match the task"):  # a Multi-Object model on Single-Object pairs
        iia(build_model(ModelConfig("gru", vocab_size=8)), pairs, RotationAlignment(20, 10))
    with pytest.raises(ValueError, match="empty pair set"):
        iia(model, pairs.subset(torch.tensor([], dtype=torch.long)), RotationAlignment(20, 10))


def test_fit_keeps_the_rotation_with_the_best_validation_iia():
    from numvars.das import fit_alignment

    model = build_model(ModelConfig("gru", vocab_size=len(TASK.vocab), d=8)).eval()
    program = get_program("up_down", TASK)
    train_pairs, val_pairs, test_pairs = (make_pairs(program, "count", n, seed=s) for n, s in ((256, 5), (64, 6), (64, 7)))
    result = fit_alignment(model, train_pairs, val_pairs, test_pairs, epochs=3, batch_size=64)
    assert len(result.history) == 3 and result.alignment.k == 4
    assert result.best_val_iia == max(h["val_iia"] for h in result.history)
    assert iia(model, val_pairs, result.alignment) == result.best_val_iia  # the kept rotation is the best one
    assert torch.allclose(result.alignment.rotation.T @ result.alignment.rotation, torch.eye(8), atol=1e-5)
    assert all(p.grad is None for p in model.parameters())
