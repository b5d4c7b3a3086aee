"""numvars.models: shapes, patching, references, ensembles and bad input."""

import pytest
import torch

from numvars.models import CountingModel, ModelConfig, Patch, build_model
from numvars.tasks import Task

TASK = Task("multi")
ARCHS = [
    ModelConfig("gru", vocab_size=8),
    ModelConfig("lstm", vocab_size=8),
    ModelConfig("transformer", vocab_size=8),
    ModelConfig("transformer", vocab_size=8, positional="none", n_layers=1),
]


def tokens(n=5, seed=0):
    return TASK.pad(TASK.sample(n, seed=seed))


@pytest.mark.parametrize("config", ARCHS, ids=lambda c: f"{c.arch}-{c.positional}-{c.n_layers}")
def test_shapes(config):
    x = tokens()
    out = build_model(config).eval()(x)
    assert out.logits.shape == (*x.shape, 8)
    assert out.states.shape == (*x.shape, config.state_size)
    stacked = build_model(config, seeds=(0, 1, 2)).eval()(x.expand(3, -1, -1))
    assert stacked.logits.shape == (3, *x.shape, 8)


@pytest.mark.parametrize("config", ARCHS, ids=lambda c: f"{c.arch}-{c.positional}-{c.n_layers}")
def test_patch_changes_only_later_outputs_and_identity_changes_nothing(config):
    torch.manual_seed(0)
    model = build_model(config).eval()
    x = tokens()
    clean = model(x)
    t = 4
    rows, steps = torch.tensor([0, 2]), torch.tensor([t, t])
    patched = model(x, patch=Patch(rows, steps, torch.randn(2, config.state_size) * 3))
    assert torch.equal(patched.logits[:, :t], clean.logits[:, :t])  # the past is untouched
    assert not torch.allclose(patched.logits[0, t:], clean.logits[0, t:])  # the patched row changes from t on
    assert torch.equal(patched.logits[1], clean.logits[1])  # other rows do not
    if config.arch != "transformer" or config.n_layers == 2:  # a 1-layer transformer has no later layer to carry it
        assert not torch.allclose(patched.logits[0, t + 1 :], clean.logits[0, t + 1 :])
    identity_fn = model(x, patch=Patch(rows, steps, lambda original, which: original))
    identity_values = model(x, patch=Patch(rows, steps, clean.states[rows, steps]))
    assert torch.equal(identity_fn.logits, clean.logits) and torch.equal(identity_fn.states, clean.states)
    assert torch.equal(identity_values.logits, clean.logits)


@pytest.mark.parametrize("config", ARCHS, ids=lambda c: f"{c.arch}-{c.positional}-{c.n_layers}")
def test_resume_equals_a_full_patched_run_from_the_patched_step_on(config):
    torch.manual_seed(1)
    model = build_model(config).eval()
    x = tokens(n=8, seed=3)
    lengths = (x != TASK.pad_id).sum(1)
    steps = torch.stack([torch.randint(1, int(n) - 1, ()) for n in lengths])
    new_states = torch.randn(len(x), config.state_size)
    full = model(x, patch=Patch(torch.arange(len(x)), steps, new_states)).logits
    for states in (None, model(x).states):
        resumed = model.rerun_from(x, steps, new_states, states)
        assert resumed.shape == (len(x), int((lengths - steps).max()), 8)
        for b in range(len(x)):
            n_after = int(lengths[b] - steps[b])  # predictions after the patched token, up to the last real token
            assert torch.allclose(resumed[b, :n_after], full[b, steps[b] : lengths[b]], atol=1e-5)
            assert torch.all(resumed[b, n_after:] == 0)
    needed = torch.rand(resumed.shape[:2], generator=torch.Generator().manual_seed(0)) < 0.5
    some = model.rerun_from(x, steps, new_states, needed=needed)
    assert torch.equal(some[needed], resumed[needed])  # the same logits, bit for bit, where they are needed
    if config.arch != "transformer":  # the recurrent nets skip the head elsewhere
        assert torch.all(some[~needed] == 0)


def test_resume_refuses_ensembles_and_bad_shapes():
    x = tokens()
    with pytest.raises(ValueError, match="one member per row"):
        build_model(ARCHS[0], seeds=(0, 1)).rerun_from(x, torch.ones(5, dtype=torch.long), torch.zeros(5, 20))
    with pytest.raises(ValueError, match="new_states"):
        build_model(ARCHS[1]).rerun_from(x, torch.ones(5, dtype=torch.long), torch.zeros(5, 20))
    with pytest.raises(ValueError, match="steps must lie"):
        build_model(ARCHS[0]).rerun_from(x, torch.full((5,), 99), torch.zeros(5, 20))


@pytest.mark.parametrize("arch", ["gru", "lstm"])
def test_replaced_recurrent_state_is_what_the_network_carries_on_with(arch):
    model = build_model(ModelConfig(arch, vocab_size=8)).eval()
    x = tokens()
    new_state = torch.randn(1, model.config.state_size)
    patched = model(x, patch=Patch(torch.tensor([1]), torch.tensor([3]), new_state))
    assert torch.equal(patched.states[1, 3], new_state[0])
    # stepping the cell by hand from the new state gives the next state
    gates_x = torch.baddbmm(model.b_x.unsqueeze(1), model.embed(x[1:2, 4:5].unsqueeze(0))[:, :, 0], model.w_x)
    assert torch.allclose(model.cell(gates_x, new_state.unsqueeze(0))[0, 0], patched.states[1, 4], atol=1e-6)


def test_gru_and_lstm_match_pytorch_cells():
    x = tokens()
    for arch, reference in (("gru", torch.nn.GRUCell(20, 20)), ("lstm", torch.nn.LSTMCell(20, 20))):
        model = build_model(ModelConfig(arch, vocab_size=8)).eval()
        with torch.no_grad():
            reference.weight_ih.copy_(model.w_x[0].T)
            reference.bias_ih.copy_(model.b_x[0])
            reference.weight_hh.copy_(model.w_h[0].T)
            reference.bias_hh.copy_(model.b_h[0])
        embedded = model.embedding[0, x]
        state = torch.zeros(len(x), 20) if arch == "gru" else (torch.zeros(len(x), 20), torch.zeros(len(x), 20))
        expected = []
        for t in range(x.shape[1]):
            state = reference(embedded[:, t], state)
            expected.append(state if arch == "gru" else torch.cat(state, dim=-1))
        assert torch.allclose(model(x).states, torch.stack(expected, dim=1), atol=1e-5)


def test_transformer_attention_is_causal_and_normalised():
    model = build_model(ModelConfig("transformer", vocab_size=8)).eval()
    x = tokens()
    out = model(x, return_attention=True)
    assert len(out.attention) == 2
    for weights in out.attention:
        assert weights.shape == (x.shape[0], x.shape[1], x.shape[1])
        assert torch.allclose(weights.sum(-1), torch.ones(x.shape))
        assert torch.all(weights.triu(1) == 0)
    assert torch.allclose(out.logits, model(x).logits, atol=1e-5)  # fused and explicit attention agree


def test_rope_makes_attention_depend_on_relative_position_only():
    from numvars.models import rope

    q, k = torch.randn(1, 20), torch.randn(1, 20)

    def score(i, j):
        L = max(i, j) + 1
        qs, ks = rope(q.expand(L, -1).clone()), rope(k.expand(L, -1).clone())
        return qs[i] @ ks[j]

    assert torch.allclose(score(5, 2), score(9, 6), atol=1e-4)
    assert not torch.allclose(score(5, 2), score(5, 4), atol=1e-3)


def test_members_are_independent_of_their_stack():
    config = ModelConfig("gru", vocab_size=8)
    alone = build_model(config, seeds=(3,)).eval()
    stack = build_model(config, seeds=(1, 3)).eval()
    for name, param in alone.named_parameters():
        assert torch.equal(param[0], getattr(stack, name)[1])  # same seed, same initial weights
    x = tokens()
    assert torch.allclose(stack(x.expand(2, -1, -1)).logits[1], alone(x).logits, atol=1e-6)
    rebuilt = CountingModel.stack([stack.member(0), stack.member(1)])
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.parameters(), stack.parameters()))
    assert not torch.equal(build_model(config, seeds=(4,)).w_h, alone.w_h)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(arch="rnn"), "unknown architecture 'rnn'"),
        (dict(arch="gru", d=0), "model size d must be an integer >= 1"),
        (dict(arch="transformer", n_layers=3), "1 or 2 layers"),
        (dict(arch="transformer", positional="alibi"), "unknown positional encoding 'alibi'"),
        (dict(arch="transformer", d=7), "d must be even"),
    ],
)
def test_bad_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(vocab_size=8, **kwargs)


def test_bad_inputs_are_refused():
    model = build_model(ModelConfig("gru", vocab_size=8)).eval()
    x = tokens()
    with pytest.raises(ValueError, match="past the sequence end"):
        model(x, patch=Patch(torch.tensor([0]), torch.tensor([x.shape[1]]), torch.zeros(1, 20)))
    with pytest.raises(ValueError, match="outside the batch"):
        model(x, patch=Patch(torch.tensor([len(x)]), torch.tensor([1]), torch.zeros(1, 20)))
    with pytest.raises(ValueError, match=r"patch values must have shape \(1, 20\)"):
        model(x, patch=Patch(torch.tensor([0]), torch.tensor([1]), torch.zeros(1, 40)))
    with pytest.raises(ValueError, match="outside the model's vocabulary.*do not match"):
        model(torch.full((2, 3), 9))
    with pytest.raises(ValueError, match="attention weights exist only for the transformer"):
        model(x, return_attention=True)
    with pytest.raises(ValueError, match=r"needs tokens of shape \(E, B, L\)"):
        build_model(ModelConfig("gru", vocab_size=8), seeds=(0, 1))(x)


@pytest.mark.parametrize("config", ARCHS[:3], ids=lambda c: c.arch)
def test_generate_is_greedy_and_carries_a_patch_through_every_step(config):
    from numvars.models import generate

    model = build_model(config).eval()
    prefix = torch.tensor(TASK.encode("B D0 D1 D2 T"))
    out = generate(model, prefix, max_new=6)
    assert out.shape == (len(prefix) + 6,) and torch.equal(out[: len(prefix)], prefix)
    for i in range(len(prefix), len(out)):  # each new token is the argmax after the tokens before it
        assert out[i] == model(out[None, :i]).logits[0, -1].argmax()
    source = model(torch.tensor([TASK.encode("B D0 D1 D2 D0 D1 D2 T")])).states[0, 6]
    patch = Patch(torch.tensor([0]), torch.tensor([3]), source[None])
    patched = generate(model, prefix, patch=patch, max_new=6)
    for i in range(len(prefix), len(patched)):
        assert patched[i] == model(patched[None, :i], patch=patch).logits[0, -1].argmax()
    stopped = generate(model, prefix[None].expand(2, -1), max_new=6, stop=int(out[len(prefix)]))
    assert stopped.shape == (2, len(prefix) + 1)  # both rows stop at once
    with pytest.raises(ValueError, match="past the prefix"):
        generate(model, prefix, patch=Patch(torch.tensor([0]), torch.tensor([5]), source[None]))
    with pytest.raises(ValueError, match="one network"):
        generate(build_model(config, seeds=(0, 1)), prefix)


# ------------------------------------------------------------------- the "packed" kernel
def _ragged_batch(members: int = 3, rows: int = 40, length: int = 12) -> torch.Tensor:
    """(E, B, L) ids of random lengths 0..L, right-padded with PAD (0)."""
    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(1, 8, (members, rows, length), generator=generator)
    lengths = torch.randint(0, length + 1, (members, rows), generator=generator)
    return torch.where(torch.arange(length) < lengths.unsqueeze(-1), ids, 0)


@pytest.mark.parametrize("config", ARCHS, ids=lambda c: f"{c.arch}-{c.positional}-{c.n_layers}")
def test_packed_kernel_computes_the_stepped_function_and_its_gradient(config):
    """In float64 the packed kernel (rows sorted by length, only running rows stepped, a
    hand-written backward; transformer: length buckets) gives the stepped reference's logits,
    states and weight gradients at every real position, to rounding — for a batch of ragged
    rows, empty ones included, of three members."""
    from dataclasses import replace

    x = _ragged_batch()
    real = x != 0
    results = {}
    for kernel in ("stepped", "packed"):
        model = build_model(replace(config, kernel=kernel), seeds=(0, 1, 2)).double().eval()
        out = model(x)
        weights = torch.randn(out.logits.shape, generator=torch.Generator().manual_seed(1), dtype=torch.double)
        ((out.logits * weights)[real].sum() + (out.states[real] ** 2).sum()).backward()
        results[kernel] = out, {name: p.grad for name, p in model.named_parameters()}
    (stepped, stepped_grads), (packed, packed_grads) = results["stepped"], results["packed"]
    assert torch.allclose(packed.logits[real], stepped.logits[real], rtol=0, atol=1e-12)
    assert torch.allclose(packed.states[real], stepped.states[real], rtol=0, atol=1e-12)
    for name, grad in stepped_grads.items():
        assert torch.allclose(packed_grads[name], grad, rtol=0, atol=1e-10), name
    if config.arch != "transformer":
        assert torch.all(packed.states[~real] == 0) and torch.all(packed.logits[~real] == 0)  # no work past a row's end


@pytest.mark.parametrize(
    "config",
    [*ARCHS, ModelConfig("transformer", vocab_size=8, dropout_sites="all")],
    ids=lambda c: f"{c.arch}-{c.positional}-{c.n_layers}-{c.dropout_sites}",
)
def test_packed_losses_and_trial_scores_are_the_stepped_ones(config):
    """Training's loss (dropout on: the same masks) and its weight gradients, and the trial
    scores of validation, are the stepped kernel's to rounding in float64 — the recurrent packed
    kernel computes them without laying the logits out as (E, B, L, V). A loss scored on the
    wrong positions, or dropout masks drawn in another order, would differ by far more. (With
    dropout inside its layers the transformer runs the whole batch: no buckets.)"""
    from dataclasses import replace

    x = _ragged_batch()
    targets = (torch.rand(x.shape, generator=torch.Generator().manual_seed(4)) < 0.5) & (x != 0)
    losses, grads, correct = {}, {}, {}
    for kernel in ("stepped", "packed"):
        model = build_model(replace(config, kernel=kernel, dropout=0.5), seeds=(0, 1, 2)).double().train()
        losses[kernel] = model.next_token_losses(x)
        losses[kernel].sum().backward()
        grads[kernel] = {name: p.grad for name, p in model.named_parameters()}
        model.eval()
        correct[kernel] = model.trials_correct(x, targets)
        logits = model(x).logits[:, :, :-1]
        # a fresh look at every trial, from the full logits (what Task.trial_correct does)
        expected = ~((logits.argmax(-1) != x[:, :, 1:]) & targets[:, :, 1:]).any(-1)
        assert torch.equal(correct[kernel], expected)
    assert torch.allclose(losses["packed"], losses["stepped"], rtol=0, atol=1e-12)
    for name, grad in grads["stepped"].items():
        assert torch.allclose(grads["packed"][name], grad, rtol=0, atol=1e-10), name
    assert torch.equal(correct["packed"], correct["stepped"])
    assert 0 < int(correct["stepped"].sum()) < correct["stepped"].numel()  # the check can fail both ways


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig("gru", vocab_size=8),
        ModelConfig("lstm", vocab_size=8),
        ModelConfig("lstm", vocab_size=8, lstm_units="half"),
    ],
    ids=lambda c: f"{c.arch}-{c.lstm_units}",
)
def test_packed_free_running_losses_are_the_stepped_ones(config):
    """Free-running training's loss and its weight gradients (dropout on: the same masks) by the
    packed kernel — teacher-forced rows, and only the rows whose fed-back input departs stepped
    on — are the stepped kernel's to rounding in float64: rows that depart at their first
    fed-back input, later or never (rows without a fed-back position; an untrained network
    guesses 1 in 8 right), empty rows included. Feeding back the true token instead, or another
    position's dropout mask, would differ by far more."""
    from dataclasses import replace

    x = _ragged_batch()
    fed = (torch.rand(x.shape, generator=torch.Generator().manual_seed(5)) < 0.6) & (x != 0)
    fed[:, :, 0] = False  # nothing precedes the first input
    fed[:, :10] = False  # ten rows with nothing fed back: teacher forcing
    losses, grads = {}, {}
    for kernel in ("stepped", "packed"):
        model = build_model(replace(config, kernel=kernel, dropout=0.5), seeds=(0, 1, 2)).double().train()
        losses[kernel] = model.next_token_losses(x, fed[:, :, :-1])
        losses[kernel].sum().backward()
        grads[kernel] = {name: p.grad for name, p in model.named_parameters()}
    assert torch.allclose(losses["packed"], losses["stepped"], rtol=0, atol=1e-12)
    for name, grad in grads["stepped"].items():
        assert torch.allclose(grads["packed"][name], grad, rtol=0, atol=1e-10), name
    teacher = build_model(replace(config, dropout=0.5), seeds=(0, 1, 2)).double().train().next_token_losses(x)
    assert (
        teacher - losses["stepped"]
    ).abs().min() > 1e-6  # the fed-back inputs changed every member's loss (rounding: 1e-15)


@pytest.mark.parametrize("config", ARCHS, ids=lambda c: f"{c.arch}-{c.positional}-{c.n_layers}")
def test_a_packed_rerun_is_the_stepped_one_and_so_is_its_gradient(config):
    """DAS's resumed run (:meth:`rerun_from`) under the packed kernel — GRU/LSTM: the steps after
    the swap by :func:`numvars.recurrence.run_packed`; 2-layer transformer: the swapped key and
    value added to an attention over the others — gives the stepped kernel's logits and gradient into
    the swapped-in states (all DAS trains through), and the loss a fit minimises
    (:meth:`rerun_losses`: the packed kernel scores the states where they are), float64, three
    members, sequences whose swap is at their last or first token included."""
    from dataclasses import replace

    x = tokens(n=9, seed=5)
    lengths = (x != TASK.pad_id).sum(1)
    steps = torch.stack(
        [torch.randint(0, int(n), (), generator=torch.Generator().manual_seed(int(n))) for n in lengths]
    )
    steps[0] = lengths[0] - 1
    steps[1] = 0  # a swap at the first token: nothing before it to attend to
    new_states = torch.randn(
        3, len(x), config.state_size, dtype=torch.double, generator=torch.Generator().manual_seed(2)
    )
    weights = torch.randn(3, len(x), int((lengths - steps).max()), 8, dtype=torch.double)
    targets = torch.randint(0, 8, weights.shape[1:3], generator=torch.Generator().manual_seed(6))
    scored = torch.rand(weights.shape[1:3], generator=torch.Generator().manual_seed(7)) < 0.6
    scored &= torch.arange(scored.shape[1]) < (lengths - steps).unsqueeze(1)  # predictions the sequences make
    results = {}
    for kernel in ("stepped", "packed"):
        model = build_model(replace(config, kernel=kernel), seeds=(0, 1, 2)).double().eval().requires_grad_(False)
        swapped = new_states.clone().requires_grad_(True)
        logits = model.rerun_from(x, steps, swapped)
        (logits * weights).sum().backward()
        swapped_for_loss = new_states.clone().requires_grad_(True)
        losses = model.rerun_losses(x, steps, swapped_for_loss, targets, scored)  # what a DAS fit minimises
        losses.sum().backward()
        results[kernel] = logits, swapped.grad, losses, swapped_for_loss.grad
        constants = model.rerun_constants(x, steps, model(x.expand(3, *x.shape)).states, scored)
        assert (constants is not None) == (kernel == "packed" and config.arch == "transformer" and config.n_layers == 2)
        if constants is not None:  # computed once for a fit: the same losses and gradient
            swapped_for_loss = new_states.clone().requires_grad_(True)
            again = model.rerun_losses(x, steps, swapped_for_loss, targets, scored, constants=constants)
            again.sum().backward()
            assert torch.allclose(again, losses, rtol=0, atol=1e-12)
            assert torch.allclose(swapped_for_loss.grad, results[kernel][3], rtol=0, atol=1e-12)
    for a, b in zip(results["packed"], results["stepped"]):
        assert torch.allclose(a, b, rtol=0, atol=1e-12)
    by_hand = torch.stack(
        [torch.nn.functional.cross_entropy(member[scored], targets[scored]) for member in results["stepped"][0]]
    )
    assert torch.allclose(results["packed"][2], by_hand, rtol=0, atol=1e-12)
    assert (results["stepped"][1] != 0).any(-1).all()  # the gradient reaches every swapped-in state


@pytest.mark.parametrize("config", ARCHS, ids=lambda c: f"{c.arch}-{c.positional}-{c.n_layers}")
def test_a_one_member_rerun_loss_takes_one_members_states(config):
    """A stack that is one network (a condition where one seed met the standard) is fitted with
    (B, S) swapped states and the unpatched states (B, L, S) of its frozen run: the packed
    kernel's loss is then the stepped one's, as for a stack of several."""
    from dataclasses import replace

    x = tokens(n=6, seed=3)
    lengths = (x != TASK.pad_id).sum(1)
    steps = lengths // 2
    width = int((lengths - steps).max())  # the most predictions after a swap
    new_states = torch.randn(len(x), config.state_size, dtype=torch.double, generator=torch.Generator().manual_seed(1))
    targets = torch.randint(0, 8, (len(x), width), generator=torch.Generator().manual_seed(2))
    scored = torch.zeros(len(x), width, dtype=torch.bool)
    scored[:, :2] = True
    losses = {}
    for kernel in ("stepped", "packed"):
        model = build_model(replace(config, kernel=kernel), seeds=(0,)).double().eval()
        states = model.intervenable_states(x.unsqueeze(0))[0]  # (B, L, S), as a one-member frozen run keeps them
        losses[kernel] = model.rerun_losses(x, steps, new_states, targets, scored, states)
    assert losses["packed"].shape == (1,)
    assert torch.allclose(losses["packed"], losses["stepped"], rtol=0, atol=1e-12)


def test_packed_kernel_is_a_setting_with_its_own_store_key():
    from numvars.store import config_hash
    from numvars.training import TrainConfig

    assert TrainConfig(kernel="stepped") == TrainConfig()
    assert config_hash(TrainConfig(kernel="stepped")) == config_hash(TrainConfig())  # the default keeps every key
    assert config_hash(TrainConfig(kernel="packed")) != config_hash(TrainConfig())
    assert TrainConfig(kernel="packed").model_config.kernel == "packed"
    with pytest.raises(ValueError, match=r"unknown kernel 'fast'; allowed: \['stepped', 'packed'\]"):
        TrainConfig(kernel="fast")


@pytest.mark.parametrize("config", ARCHS, ids=lambda c: f"{c.arch}-{c.positional}-{c.n_layers}")
def test_intervenable_states_are_the_forward_states_without_the_logits(config):
    """What DAS runs the frozen network for (:meth:`intervenable_states`: no head, a transformer's
    first layer only) is ``forward(tokens).states`` — exactly with the stepped kernel, so no
    committed measurement changes; to rounding with the packed one, at every real position."""
    from dataclasses import replace

    x = tokens(n=7, seed=3).expand(2, 7, -1)
    real = x != TASK.pad_id
    for kernel in ("stepped", "packed"):
        model = build_model(replace(config, kernel=kernel), seeds=(0, 1)).eval()
        states, expected = model.intervenable_states(x), model(x).states
        assert states.shape == expected.shape
        if kernel == "stepped":
            assert torch.equal(states, expected)
        else:
            assert torch.allclose(states[real], expected[real], rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match=r"tokens must have shape \(2, B, L\)"):
        model.intervenable_states(x[0])
