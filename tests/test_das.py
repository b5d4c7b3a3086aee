"""numvars.das: the interchange against hand-written references, and the pair sets."""

import pytest
import torch

from numvars.das import (
    AUTHORS_FIT,
    Alignment,
    DasResult,
    FullSwap,
    LearnedRotation,
    RandomRotation,
    first_errors,
    fit_alignment,
    fit_alignments,
    iia,
    interchange,
    intervened_predictions,
    make_alignment,
    make_pairs,
    pair_correct,
    plateaued,
    rereader_correct,
    run_frozen,
)
from numvars.das.runs import intervened_losses
from numvars.jobs import load_run
from numvars.models import CountingModel, ModelConfig, Patch, build_model
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
    align = LearnedRotation(20, 10, seed=1)
    assert torch.allclose(align.rotation.T @ align.rotation, torch.eye(20), atol=1e-5)
    runs = run_frozen(model, make_pairs(get_program("up_down", TASK), "count", 16, seed=0))
    logits, _, _ = intervened_predictions(model, runs, torch.arange(16), align)
    logits.sum().backward()
    assert all(p.grad is None for p in model.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in align.parameters())


def test_full_swap_alignment_equals_patching_the_source_state():
    model = build_model(ModelConfig("lstm", vocab_size=len(TASK.vocab))).eval()
    pairs = make_pairs(get_program("up_down", TASK), None, 32, seed=1)
    runs = run_frozen(model, pairs)
    by_alignment, targets, scored = intervened_predictions(model, runs, torch.arange(32), FullSwap(40))
    by_patch = model(pairs.tokens, patch=Patch(torch.arange(32), pairs.t, runs.h_s)).logits
    # the source state is the one after token u of the source sequence, computed by hand
    assert torch.allclose(runs.h_s[5], model(pairs.sources[5:6]).states[0, pairs.u[5]], atol=1e-6)
    for i in range(32):
        n = int(scored[i].nonzero().max()) + 1
        t = int(pairs.t[i])
        read = scored[i, :n]  # only the scored predictions are computed
        assert torch.allclose(by_alignment[i, :n][read], by_patch[i, t : t + n][read], atol=1e-4)
        assert torch.equal(targets[i, :n], pairs.tokens[i, t + 1 : t + 1 + n])  # shifted targets


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
    assert iia(model, run_frozen(model, pairs), LearnedRotation(20)) < 0.2
    with pytest.raises(ValueError, match=r"k \(the swapped dimensions\) must be in 1..20"):
        LearnedRotation(20, 21)
    with pytest.raises(ValueError, match="unknown DAS method 'pca'"):
        make_alignment("pca", 20)
    with pytest.raises(ValueError, match="full swap swaps the whole state"):
        FullSwap(20, k=10)
    with pytest.raises(ValueError, match="at least one pair"):
        make_pairs(get_program("up_down", TASK), "count", 0, seed=0)
    with pytest.raises(ValueError, match="unknown variable"):
        make_pairs(get_program("up_down", TASK), "demo_count", 4, seed=0)
    with pytest.raises(ValueError, match="does not match the task"):  # a Multi-Object model on Single-Object pairs
        run_frozen(build_model(ModelConfig("gru", vocab_size=8)), pairs)
    with pytest.raises(ValueError, match="empty pair set"):
        run_frozen(model, pairs.subset(torch.tensor([], dtype=torch.long)))


def test_fit_keeps_the_rotation_with_the_best_validation_iia():
    model = build_model(ModelConfig("gru", vocab_size=len(TASK.vocab), d=8)).eval()
    program = get_program("up_down", TASK)
    train_pairs, val_pairs, test_pairs = (
        make_pairs(program, "count", n, seed=s) for n, s in ((256, 5), (64, 6), (64, 7))
    )
    result = fit_alignment(model, LearnedRotation(8), train_pairs, val_pairs, test_pairs, max_epochs=3, batch_size=64)
    assert len(result.history) == 3 and result.k == 4  # k: half the state
    assert result.best_val_iia == max(h["val_iia"] for h in result.history)
    assert (
        iia(model, run_frozen(model, val_pairs), result.alignment()) == result.best_val_iia
    )  # the kept rotation is the best one
    assert torch.equal(result.test_correct, pair_correct(model, run_frozen(model, test_pairs), result.alignment()))
    # patience: stops once the validation IIA has not improved for that many epochs
    stopped = fit_alignment(
        model, LearnedRotation(8), train_pairs, val_pairs, test_pairs, max_epochs=50, patience=2, batch_size=64
    )
    best_epoch = max(stopped.history, key=lambda h: (h["val_iia"], -h["epoch"]))["epoch"]
    assert len(stopped.history) == min(50, best_epoch + 2)
    assert torch.allclose(result.rotation.T @ result.rotation, torch.eye(8), atol=1e-5)
    assert all(p.grad is None for p in model.parameters())
    # the payload round trip keeps everything
    again = DasResult.from_payload(result.to_payload())
    assert torch.equal(again.rotation, result.rotation) and again.k == 4 and again.history == result.history


def test_fixed_alignments_are_only_scored_and_the_random_one_is_where_learning_starts():
    model = build_model(ModelConfig("gru", vocab_size=len(TASK.vocab), d=8)).eval()
    program = get_program("up_down", TASK)
    pairs = [make_pairs(program, "count", 32, seed=s) for s in (5, 6, 7)]
    random = fit_alignment(model, RandomRotation(8, seed=3), *pairs, max_epochs=3)
    assert random.history == [] and random.k == 4
    assert torch.allclose(
        random.rotation, LearnedRotation(8, seed=3).rotation.detach()
    )  # DAS starts from this rotation
    full = fit_alignment(model, FullSwap(8), *pairs)
    assert full.k == 8 and torch.equal(full.rotation, torch.eye(8))
    h_o, h_s = torch.randn(4, 8), torch.randn(4, 8)
    assert torch.equal(FullSwap(8)(h_o, h_s), h_s)  # exactly the source state


def test_first_errors_mark_the_first_wrong_scored_token_and_a_fixed_rotation_equals_the_learned_one():
    model = build_model(ModelConfig("gru", vocab_size=len(TASK.vocab))).eval()
    runs = run_frozen(model, make_pairs(get_program("up_down", TASK), "count", 64, seed=8))
    align = LearnedRotation(20, 10, seed=3)
    errors = first_errors(model, runs, align)
    logits, targets, scored = intervened_predictions(model, runs, torch.arange(64), align)
    for i in range(64):
        wrong = [j for j in range(targets.shape[1]) if scored[i, j] and logits[i, j].argmax() != targets[i, j]]
        assert int(errors[i]) == (wrong[0] if wrong else -1)
    assert torch.equal(pair_correct(model, runs, align), errors < 0)
    fixed = Alignment(align.rotation.detach().clone(), 10)
    assert torch.equal(first_errors(model, runs, fixed), errors)


def _fit_alone_and_together(models, seeds, settings):
    program = get_program("up_down", TASK)
    pairs = [make_pairs(program, "count", n, seed=s) for n, s in ((256, 5), (64, 6), (64, 7))]
    size = models[0].config.state_size
    alone = [fit_alignment(m, LearnedRotation(size, seed=s), *pairs, **settings) for m, s in zip(models, seeds)]
    together = fit_alignments(CountingModel.stack(models), LearnedRotation(size, seed=seeds), *pairs, **settings)
    for a, t in zip(alone, together):
        assert [h["val_iia"] for h in t.history] == [h["val_iia"] for h in a.history]  # each member stops on its own
        assert torch.equal(t.test_correct, a.test_correct)
        assert torch.allclose(t.rotation, a.rotation, atol=1e-5)
    return together


@pytest.mark.parametrize("arch", ["gru", "lstm", "transformer"])
def test_an_ensemble_fits_each_member_exactly_as_it_would_fit_alone(arch):
    config = ModelConfig(arch, vocab_size=len(TASK.vocab), d=8)
    seeds = (0, 1, 2)
    models = [build_model(config, seeds=(s,)).eval() for s in seeds]
    _fit_alone_and_together(models, seeds, dict(max_epochs=3, batch_size=64, seed=4))


def test_ensemble_members_stop_each_at_their_own_epoch(quick_gru):
    trained = load_run(quick_gru).model()
    untrained = build_model(trained.config, seeds=(quick_gru.seed,)).eval()
    together = _fit_alone_and_together(
        [trained, untrained], (0, 1), dict(max_epochs=30, patience=3, batch_size=64, seed=4)
    )
    assert len(together[1].history) == 4  # untrained: IIA 0 from the first epoch, so patience ends it at epoch 4
    assert len(together[0].history) > 4 and together[0].best_val_iia > 0.2  # trained: learns, and goes on


def test_pair_sets_join_variables_with_plus_and_can_leave_the_prediction_at_t_unscored():
    program = get_program("up_down", TASK)
    joint = make_pairs(program, "count+phase", 32, seed=3)
    assert torch.equal(joint.tokens, make_pairs(program, ("count", "phase"), 32, seed=3).tokens)
    later = make_pairs(program, "count+phase", 32, seed=3, score_at_t=False)
    at_t = joint.score[torch.arange(32), joint.t + 1]  # the token predicted from the swapped state itself
    assert at_t.any() and not later.score[torch.arange(32), later.t + 1].any()
    assert torch.equal(later.score | (joint.score & ~later.score), joint.score)
    assert torch.equal(joint.score.sum(1) - at_t.long(), later.score.sum(1))  # only that token is left out


def test_the_rereader_chance_level_by_hand():
    def score_from(ids, first):
        return [j >= first for j in range(len(ids))]

    unchanged = TASK.encode("B D D T R R E")
    assert rereader_correct(TASK, unchanged, score_from(unchanged, 4))  # the task's own continuation
    longer = TASK.encode("B D D T R R R E")  # a count swap asked for three responses after two demos
    assert not rereader_correct(TASK, longer, score_from(longer, 4))  # a re-reader stops after two
    no_trigger = TASK.encode("B D D R R E")  # a phase swap in the demo: R without T
    assert not rereader_correct(TASK, no_trigger, score_from(no_trigger, 3))
    assert rereader_correct(TASK, longer, [False] * len(longer))  # nothing scored: nothing to get wrong


def test_members_that_stop_leave_the_stack_and_the_others_go_on_exactly_as_alone(quick_gru):
    # the untrained members (first and last) stop early; the trained one, in the middle of the
    # stack, goes on alone after them: each fit still equals its fit alone
    trained = load_run(quick_gru).model()
    untrained = [build_model(trained.config, seeds=(s,)).eval() for s in (5, 6)]
    together = _fit_alone_and_together(
        [untrained[0], trained, untrained[1]], (0, 1, 2), dict(max_epochs=12, patience=3, batch_size=64, seed=4)
    )
    assert len(together[1].history) > max(len(together[0].history), len(together[2].history))


def test_a_fits_constants_are_those_of_the_pairs_asked_for():
    """A packed 2-layer transformer keeps its last layer's attention over the unswapped keys per
    scored prediction (``run_frozen(..., for_losses=True)``); a batch of pairs in any order, and
    after members leave the stack, gets the losses and gradients it would compute itself."""
    from numvars.das.runs import intervened_losses

    config = ModelConfig("transformer", vocab_size=len(TASK.vocab), kernel="packed")
    model = build_model(config, seeds=(0, 1, 2)).double().eval().requires_grad_(False)
    pairs = make_pairs(get_program("up_down", TASK), "count", 40, seed=4)
    kept, plain = run_frozen(model, pairs, for_losses=True), run_frozen(model, pairs)
    assert plain.constants is None and kept.constants.shape[:2] == (3, int(kept.starts[-1]))
    assert kept.starts[-1] > len(pairs)  # several scored predictions per pair: the ragged layout is exercised
    rows = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(1))[:17]
    for members, runs_kept, runs_plain in [
        ((0, 1, 2), kept, plain),
        ((2, 0), kept.select([2, 0]), plain.select([2, 0])),
    ]:
        stack = model.select(members).double().eval().requires_grad_(False)
        losses, grads = [], []
        for runs in (runs_kept, runs_plain):
            alignment = LearnedRotation(20, 8, seed=tuple(range(len(members)))).double()
            loss = intervened_losses(stack, runs, rows, alignment)
            loss.sum().backward()
            losses.append(loss)
            grads.append(next(alignment.parameters()).grad)
        assert torch.allclose(losses[0], losses[1], rtol=0, atol=1e-12)
        assert torch.allclose(grads[0], grads[1], rtol=0, atol=1e-12)


def test_the_authors_plateau_by_hand():
    # the best loss so far must fall by more than the threshold to count; patience 3
    assert not plateaued([1.0, 0.9995, 0.9995], patience=3, threshold=1e-3)  # two without a fall
    assert plateaued([1.0, 0.9995, 0.9995, 0.9991], patience=3, threshold=1e-3)  # 0.9991 > 1.0 - 0.001
    assert not plateaued([1.0, 0.9995, 0.9995, 0.998], patience=3, threshold=1e-3)  # a fall of 0.002 resets
    assert plateaued([1.0, 0.9, 0.95, 0.95, 0.95], patience=3, threshold=1e-3)  # a rise is no fall
    assert not plateaued([], patience=3, threshold=1e-3)


def test_the_authors_fit_validates_every_few_steps_stops_on_its_rule_and_keeps_the_last(quick_gru, monkeypatch):
    rule = dict(AUTHORS_FIT, eval_every=3, patience=2, max_steps=60, poor_after=20)
    for name, value in rule.items():  # a short rule: it is read when a fit runs
        monkeypatch.setitem(AUTHORS_FIT, name, value)
    trained = load_run(quick_gru).model()
    untrained = build_model(trained.config, seeds=(5,)).eval()
    settings = dict(stop="val_loss_plateau", lr=1e-3, batch_size=64, seed=4)
    fits = _fit_alone_and_together([untrained, trained], (0, 1), settings)  # members leave the stack exactly
    program = get_program("up_down", TASK)
    val_pairs = make_pairs(program, "count", 64, seed=6)
    for fit, model in zip(fits, (untrained, trained)):
        steps = [h["step"] for h in fit.history]
        assert steps == list(range(1, steps[-1] + 1, 3))  # after steps 1, 4, 7, ...
        assert fit.epochs == -(-steps[-1] // 4)  # 256 training pairs: 4 batches an epoch
        losses = [h["val_loss"] for h in fit.history]

        def stops(i):
            h = fit.history[i]
            done = h["val_iia"] >= rule["done_at"]  # (with the batch's IIA: not recorded, so only necessary)
            poor = h["val_iia"] < rule["poor_below"] and h["step"] > rule["poor_after"]
            return h["step"] + 3 > 60 or poor or plateaued(losses[: i + 1], 2, 1e-3) or done

        # it stops at the first validation its rule ends (an earlier one may reach done_at on
        # validation alone, without the batch's IIA)
        assert stops(len(steps) - 1) and not any(
            stops(i) and fit.history[i]["val_iia"] < rule["done_at"] for i in range(len(steps) - 1)
        )
        assert fit.kept == "last" and fit.kept_val_iia == fit.history[-1]["val_iia"]
        assert iia(model, run_frozen(model, val_pairs), fit.alignment()) == fit.kept_val_iia  # the last one kept
        again = DasResult.from_payload(fit.to_payload())
        assert again.kept == "last" and again.kept_val_iia == fit.kept_val_iia
    assert fits[1].kept_val_iia > 0.2 and fits[0].kept_val_iia < 0.2  # the trained network learns
    with pytest.raises(ValueError, match="unknown DAS stopping rule 'soon'.*best_val_iia"):
        fit_alignment(trained, LearnedRotation(trained.config.state_size), val_pairs, val_pairs, val_pairs, stop="soon")


@pytest.mark.parametrize("kernel", ["stepped", "packed"])
@pytest.mark.parametrize("arch", ["gru", "lstm", "transformer"])
def test_the_authors_loss_covers_every_prediction_of_the_counterfactual_sequence(arch, kernel):
    # by hand: the network patched at t with the aligned state, cross-entropy over every
    # non-pad next token of the counterfactual sequences (before t the frozen network's own)
    model = build_model(ModelConfig(arch, vocab_size=len(TASK.vocab), d=8, kernel=kernel), seeds=(0, 1)).eval()
    pairs = make_pairs(get_program("up_down", TASK), "count", 24, seed=2)
    alignment = LearnedRotation(model.config.state_size, seed=(3, 4))
    runs = run_frozen(model, pairs, for_losses=True, loss_tokens="sequence")
    rows = torch.tensor([0, 5, 7, 11, 23])
    swapped = alignment(runs.h_o[:, rows], runs.h_s[:, rows])  # (E, r, S)
    tokens = pairs.tokens[rows]
    for e in range(2):
        patch = Patch(torch.arange(len(rows)), pairs.t[rows], swapped[e], members=torch.full((len(rows),), e))
        logits = model(tokens.expand(2, *tokens.shape), patch=patch).logits[e, :, :-1]
        real = tokens[:, 1:] != TASK.pad_id
        expected = torch.nn.functional.cross_entropy(logits[real], tokens[:, 1:][real])
        assert intervened_losses(model, runs, rows, alignment)[e].item() == pytest.approx(expected.item(), rel=1e-5)
    scored_only = intervened_losses(model, run_frozen(model, pairs, for_losses=True), rows, alignment)
    assert not torch.allclose(scored_only, intervened_losses(model, runs, rows, alignment))  # a rule of its own
    with pytest.raises(ValueError, match="unknown loss tokens 'all'.*scored"):
        run_frozen(model, pairs, for_losses=True, loss_tokens="all")
