"""numvars.training: schedule, determinism, criterion, and runs through the store."""

import io
import warnings
from dataclasses import replace

import pandas as pd
import pytest
import torch

from numvars.jobs import RUN_KIND, load_run
from numvars.runner import ensure
from numvars.store import Store, StoreWarning, config_hash
from numvars.tasks import Task
from numvars.training import (
    RunResult,
    TrainConfig,
    config_columns,
    describe,
    load_model,
    lr_at,
    train,
    trial_correct,
    validation_set,
)

SINGLE = TrainConfig(task=Task("single"), arch="gru", max_epochs=3)


def test_learning_rate_schedule_by_hand():
    config = TrainConfig()
    assert lr_at(config, 0) == pytest.approx(1e-5)  # warm-up: (step + 1) / 100 of 1e-3
    assert lr_at(config, 49) == pytest.approx(5e-4)
    assert lr_at(config, 99) == pytest.approx(1e-3)
    assert lr_at(config, 399) == pytest.approx(1e-3 * (100 / 400) ** 0.5)  # inverse square root
    assert lr_at(config, 10**12) == 1e-7  # the floor


def test_same_seed_same_weights_and_members_do_not_depend_on_their_stack():
    alone = train([SINGLE])[0]
    again = train([SINGLE])[0]
    in_stack = train([replace(SINGLE, seed=5), SINGLE])[1]
    for name, value in alone.state.items():
        assert torch.equal(value, again.state[name])
        assert torch.allclose(value, in_stack.state[name], atol=1e-5)
    other = train([replace(SINGLE, seed=1)])[0]
    assert not torch.equal(other.state["w_h"], alone.state["w_h"])


def test_runs_that_miss_the_criterion_are_dropped_with_their_checkpoints():
    result = train([replace(SINGLE, max_epochs=10)])[0]
    assert not result.reached and result.epochs == 10
    assert sorted(result.checkpoints) == [0, 5, 10]
    assert [h["epoch"] for h in result.history] == list(range(1, 11))
    assert not torch.equal(result.checkpoints[0]["w_h"], result.checkpoints[10]["w_h"])


def test_a_budget_trains_past_the_criterion_and_keeps_the_criterion_network():
    easy = replace(
        SINGLE, criterion=0.2, n_train=256, n_val=100, lr=1e-2, warmup_steps=10, max_epochs=300
    )  # met in about 60 short epochs
    for seed in (0, 1):  # one member per stack: a stack that shrinks when members stop rounds differently
        early = train([replace(easy, seed=seed)])[0]
        late = train([replace(easy, seed=seed, stop="budget", max_epochs=early.epochs + 12)])[0]
        assert early.criterion_epoch == early.analysed_epoch == early.epochs  # stop="criterion": analysed = first met
        assert late.criterion_epoch == early.criterion_epoch and late.epochs == early.epochs + 12
        met = [e for e in late.checkpoints if e and late.history[e - 1]["val_accuracy"] >= easy.criterion]
        assert late.analysed_epoch == max(met)  # the last checkpoint that meets the criterion
        assert all(e in late.checkpoints for e in range(0, late.epochs + 1, 5))
        for name, value in early.state.items():  # training on did not change the way there
            assert torch.equal(late.checkpoints[late.criterion_epoch][name], value)
    with pytest.raises(ValueError, match=r"unknown stop rule 'never'; allowed: \['criterion', 'budget'\]"):
        replace(SINGLE, stop="never")


def test_the_papers_standard_drops_a_network_that_fails_a_held_out_count():
    counts = SINGLE.task.eval_counts  # the standard reads only the behavioural test
    run = RunResult(SINGLE, True, 1, {}, {}, [], criterion_epoch=1, analysed_epoch=1)
    perfect = torch.ones(len(counts))
    run.accuracy_per_count = {run.analysed_epoch: perfect.clone()}
    run.accuracy_per_count[run.analysed_epoch][counts.index(25)] = 0.0  # extrapolation may fail
    assert run.meets_standard()
    run.accuracy_per_count[run.analysed_epoch][counts.index(9)] = 14 / 15  # one of 15 wrong at held-out N = 9
    assert not run.meets_standard()
    run.accuracy_per_count[run.analysed_epoch] = perfect.clone()
    run.accuracy_per_count[run.analysed_epoch][counts.index(20)] = 14 / 15  # or at a trained N
    assert not run.meets_standard()


def test_a_small_gru_learns_single_object_counting():
    config = replace(SINGLE, max_epochs=150, n_val=300)
    result = train([config])[0]
    accuracy = trial_correct(result.model(), config.task, [validation_set(config)]).float().mean().item()
    assert accuracy > 0.9, f"trial accuracy {accuracy:.3f} after {result.epochs} epochs"
    assert result.reached == (accuracy >= config.criterion)


@pytest.mark.parametrize(
    "arch, rules",
    [("gru", {}), ("lstm", {}), ("transformer", {}), ("gru", dict(response_inputs="free"))],
    ids=["gru", "lstm", "transformer", "gru-free-running"],
)
def test_the_packed_kernel_trains_the_stepped_kernels_networks_to_rounding(arch, rules):
    """Same seeds, batches and dropout masks: after 5 epochs of two seeds the packed kernel's
    weights, losses and validation scores are the stepped kernel's to float32 rounding (one
    epoch's update is ~1e-3, a mask drawn differently moves a weight by that much) — free-running
    too (an untrained network's fed-back guesses are mostly wrong: most rows are stepped on)."""
    configs = [replace(SINGLE, arch=arch, seed=seed, max_epochs=5, criterion=2.0, **rules) for seed in (0, 1)]
    stepped = train(configs)
    packed = train([replace(c, kernel="packed") for c in configs])
    for a, b in zip(stepped, packed):
        assert max(float((a.state[k] - b.state[k]).abs().max()) for k in a.state) < 1e-5
        assert [h["val_accuracy"] for h in a.history] == [h["val_accuracy"] for h in b.history]
        assert all(abs(x["loss"] - y["loss"]) < 1e-5 for x, y in zip(a.history, b.history))
        assert max(float((a.state[k] - a.checkpoints[0][k]).abs().max()) for k in a.state) > 1e-2  # it did train


def test_trained_runs_round_trip_through_the_store_and_bad_files_are_rebuilt(tmp_path):
    store = Store(tmp_path)
    configs = [SINGLE, replace(SINGLE, seed=1)]
    ensure(configs, store, progress=False)
    first = load_run(SINGLE, store)
    assert (
        first is not None and first.epochs == 3 and first.accuracy_per_count[3].shape == (30,)
    )  # the behavioural test, N = 1..30
    path = next((tmp_path / RUN_KIND).glob(f"{config_hash(SINGLE)}.pt"))
    path.write_bytes(path.read_bytes()[:100])  # a truncated file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StoreWarning)  # the store warns, then the run is retrained
        ensure(configs, store, progress=False)
    rebuilt = load_run(SINGLE, store)
    assert all(torch.equal(rebuilt.state[k], first.state[k]) for k in first.state)


def test_weights_of_another_config_are_refused():
    state = train([SINGLE])[0].state
    with pytest.raises(ValueError, match="do not fit"):
        load_model(replace(SINGLE, d=16), state)


@pytest.mark.parametrize(
    "configs, message",
    [
        ([], "nothing to train"),
        ([SINGLE, replace(SINGLE, arch="lstm", seed=1)], "differ only in their seed"),
        ([SINGLE, SINGLE], "distinct seeds"),
    ],
)
def test_bad_training_requests_are_refused(configs, message):
    with pytest.raises(ValueError, match=message):
        train(configs)


def test_describe_names_what_sets_a_network_apart_the_same_from_a_config_and_its_table_row():
    cases = {
        TrainConfig(task=Task("multi")): "gru multi",
        TrainConfig(task=Task("multi"), d=8, seed=3): "gru d=8 multi",
        TrainConfig(task=Task("single", void_p=0.2), arch="transformer"): "transformer 2L RoPE single +void",
        TrainConfig(task=Task("multi", framing="bare"), arch="transformer", positional="none", n_layers=1): (
            "transformer 1L NoPE multi-bare"
        ),
    }
    for config, name in cases.items():
        assert describe(config) == name
        row = pd.read_csv(io.StringIO(pd.DataFrame([config_columns(config)]).to_csv(index=False))).iloc[0]  # a table's
        assert describe(row) == name
    assert describe(TrainConfig(task=Task("same"), arch="lstm", lstm_units="half")) == "lstm same lstm_units=half"
