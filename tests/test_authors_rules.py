"""The rules of the authors' code as settings (PAPER.md §6, issue 23), each checked by hand:
an LSTM of d/2 units, dropout inside a transformer's layers, free-running RNN training and the
learning rate's decay exponent. The defaults keep every stored network's key."""

import math

import pytest
import torch

from numvars.models import ModelConfig, build_model
from numvars.store import config_hash
from numvars.tasks import Task
from numvars.training import TrainConfig, lr_at, train

TASK = Task("multi")
RULES = dict(lstm_units="half", dropout_sites="all", response_inputs="free", lr_decay=0.25)


def tokens(n=6, seed=0):
    return TASK.pad(TASK.sample(n, seed=seed))


def test_the_defaults_keep_every_key_and_each_rule_has_its_own():
    assert config_hash(
        TrainConfig(lstm_units="d", dropout_sites="head", response_inputs="teacher", lr_decay=0.5)
    ) == config_hash(TrainConfig())
    keys = {
        config_hash(TrainConfig(arch="lstm", lstm_units="half")),
        config_hash(TrainConfig(arch="transformer", dropout_sites="all")),
        config_hash(TrainConfig(response_inputs="free")),
        config_hash(TrainConfig(lr_decay=0.25)),
        config_hash(TrainConfig()),
    }
    assert len(keys) == 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(arch="gru", lstm_units="half"), "lstm_units='half' needs an LSTM"),
        (dict(arch="lstm", lstm_units="quarter"), r"unknown LSTM size rule 'quarter'; allowed: \['d', 'half'\]"),
        (dict(arch="lstm", d=21, lstm_units="half"), "even d"),
        (dict(arch="gru", dropout_sites="all"), "needs a transformer"),
        (dict(arch="transformer", dropout_sites="ffn"), r"unknown dropout sites 'ffn'; allowed: \['head', 'all'\]"),
        (dict(arch="transformer", response_inputs="free"), "a rule for GRUs and LSTMs"),
        (dict(response_inputs="forced"), r"unknown response-phase inputs 'forced'; allowed: \['teacher', 'free'\]"),
        (dict(lr_decay=0), r"lr_decay must be a number in \(0, 1\]"),
    ],
)
def test_a_rule_outside_its_range_is_refused_with_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_an_lstm_of_half_units_is_pytorchs_cell_of_d_over_2_and_its_state_has_d_coordinates():
    config = ModelConfig("lstm", vocab_size=8, d=20, lstm_units="half")
    model = build_model(config).eval()
    assert config.units == 10 and config.state_size == 20 and tuple(model.w_h.shape) == (1, 10, 40)
    assert tuple(model.w_x.shape) == (1, 20, 40) and tuple(model.head_w1.shape) == (1, 10, 80)
    reference = torch.nn.LSTMCell(20, 10)
    with torch.no_grad():
        reference.weight_ih.copy_(model.w_x[0].T)
        reference.bias_ih.copy_(model.b_x[0])
        reference.weight_hh.copy_(model.w_h[0].T)
        reference.bias_hh.copy_(model.b_h[0])
    x = tokens()
    embedded, state, expected = model.embedding[0, x], (torch.zeros(len(x), 10), torch.zeros(len(x), 10)), []
    for t in range(x.shape[1]):
        state = reference(embedded[:, t], state)
        expected.append(torch.cat(state, dim=-1))
    out = model(x)
    assert torch.allclose(out.states, torch.stack(expected, dim=1), atol=1e-5)
    packed = build_model(ModelConfig("lstm", vocab_size=8, d=20, lstm_units="half", kernel="packed")).eval()
    packed.load_state_dict(model.state_dict())
    assert torch.allclose(packed(x).logits, out.logits, atol=1e-5)  # the packed kernel takes the size from the weights


def test_dropout_in_the_layers_moves_the_state_in_training_only():
    head_only = build_model(ModelConfig("transformer", vocab_size=8))
    everywhere = build_model(ModelConfig("transformer", vocab_size=8, dropout_sites="all"))
    everywhere.load_state_dict(head_only.state_dict())
    x = tokens()
    head_only.eval(), everywhere.eval()
    assert torch.equal(head_only(x).states, everywhere(x).states) and torch.equal(
        head_only(x).logits, everywhere(x).logits
    )
    head_only.train(), everywhere.train()
    assert torch.equal(head_only(x).states, head_only.eval()(x).states)  # the head's dropout never reaches the state
    dropped = everywhere(x).states
    assert not torch.allclose(dropped, head_only(x).states)
    assert not torch.equal(everywhere(x).states, dropped)  # a new mask every pass


def test_free_running_feeds_back_the_argmax_where_asked_and_nowhere_else():
    model = build_model(ModelConfig("gru", vocab_size=8)).eval()
    x = tokens()
    never = torch.zeros_like(x, dtype=torch.bool)
    assert torch.allclose(model(x, feed_back=never).logits, model(x).logits, atol=1e-6)  # teacher forcing
    # one fed-back position: the same as a teacher-forced run whose token there is the previous argmax
    row, position = 0, TASK.switch_position(x[0].tolist()) + 1
    ask = never.clone()
    ask[row, position] = True
    guess = model(x).logits[row, position - 1].argmax()
    swapped = x.clone()
    swapped[row, position] = guess
    assert torch.allclose(model(x, feed_back=ask).logits, model(swapped).logits, atol=1e-6)
    with pytest.raises(ValueError, match="False at position 0"):
        model(x, feed_back=torch.ones_like(x, dtype=torch.bool))
    with pytest.raises(ValueError, match="unpatched GRU or LSTM; this is a transformer"):
        build_model(ModelConfig("transformer", vocab_size=8))(x, feed_back=never)


def test_free_running_training_feeds_back_the_response_phase_only():
    config = TrainConfig(Task("single"), arch="gru", response_inputs="free", n_train=64, max_epochs=1, stop="budget")
    free, teacher = (
        train([config])[0],
        train([TrainConfig(Task("single"), arch="gru", n_train=64, max_epochs=1, stop="budget")])[0],
    )
    assert free.history[0]["loss"] != teacher.history[0]["loss"]  # the response inputs were the untrained net's guesses
    inputs = Task("single").pad(Task("single").sample(3, seed=1))
    mask = Task("single").response_mask(inputs)
    switch = [Task("single").switch_position(row.tolist()) for row in inputs]
    assert all(not mask[b, : switch[b] + 1].any() and mask[b, switch[b] + 1] for b in range(3))


def test_the_decay_exponent_sets_the_learning_rate_by_hand():
    authors = TrainConfig(lr=5e-4, lr_decay=0.25)
    assert lr_at(authors, 99) == pytest.approx(5e-4) and lr_at(authors, 1599) == pytest.approx(
        5e-4 * 0.5
    )  # (100/1600)^0.25
    assert lr_at(TrainConfig(), 399) == 1e-3 * math.sqrt(100 / 400)  # the default, bit for bit as before
