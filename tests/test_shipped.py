"""Shipped networks (numvars.shipped) and `python -m numvars verify` (numvars.verify): a shipped
run is the stored run to the bit, the runner restores instead of training, bad files are refused
clearly, and a quick-profile cell re-measured from the committed networks equals the committed
table."""

import json
import math

import pytest
import torch

from numvars.cli import main
from numvars.grids import profile
from numvars.jobs import DasConfig, load_run
from numvars.runner import ensure
from numvars.shipped import INDEX, ShippedError, restore, ship, shipped_payload, shipped_run
from numvars.store import Store, config_hash
from numvars.tasks import Task
from numvars.training import RunResult, TrainConfig, train_and_test
from numvars.verify import parse_cell, verify

TINY = dict(task=Task("single", max_count=6, hold_outs=()), d=8, n_train=64, n_val=16, max_epochs=4, checkpoint_every=1)


@pytest.fixture(scope="module")
def tiny_runs() -> list[RunResult]:
    """Two tiny GRUs trained for 4 epochs (every epoch a checkpoint); seed 0 given a criterion of
    0, so that it 'reaches' it at epoch 1 and is analysed at its last epoch (stop="budget")."""
    reached = train_and_test([TrainConfig(**TINY, criterion=0.0, stop="budget", seed=0)])
    dropped = train_and_test([TrainConfig(**TINY, seed=1)])
    return reached + dropped


def test_a_shipped_run_is_the_stored_run_to_the_bit(tiny_runs, results):
    ship(tiny_runs, networks(results))
    for run in tiny_runs:
        back = shipped_run(run.config, results)
        assert back is not None
        assert (back.reached, back.epochs, back.criterion_epoch, back.analysed_epoch) == (
            run.reached,
            run.epochs,
            run.criterion_epoch,
            run.analysed_epoch,
        )
        assert back.history == run.history  # floats exactly, epochs as ints
        assert all(type(h["epoch"]) is int for h in back.history)
        assert all(torch.equal(back.state[name], run.state[name]) for name in run.state)
        for epoch, state in back.checkpoints.items():
            assert all(torch.equal(state[name], run.checkpoints[epoch][name]) for name in state)
        assert all(torch.equal(back.accuracy_per_count[e], run.accuracy_per_count[e]) for e in run.accuracy_per_count)
    reached, dropped = tiny_runs
    # only what is measured: the analysed checkpoint and those asked for, or a dropped run's last
    assert set(shipped_run(reached.config, results).checkpoints) == {4}
    assert set(shipped_run(dropped.config, results).checkpoints) == {4}
    assert set(shipped_payload(reached, ["criterion", 2])["checkpoints"]) == {1, 2, 4}


def test_the_analysed_weights_are_shipped_once(tiny_runs, results):
    """The analysed weights are the analysed checkpoint's own tensors in the file (one storage
    each, not two copies), and come back equal to the stored ones."""
    ship(tiny_runs[:1], networks(results))
    (path,) = networks(results).glob("*.pt")
    (entry,) = torch.load(path, weights_only=True)["networks"].values()
    state, analysed = entry["run"]["state"], entry["run"]["checkpoints"][4]
    assert all(state[name].data_ptr() == analysed[name].data_ptr() for name in state)  # one storage each
    assert all(torch.equal(state[name], tiny_runs[0].state[name]) for name in state)


@pytest.fixture
def results(tmp_path):
    """An empty results folder of its own; :func:`networks` is where its one profile ships."""
    return tmp_path / "results"


def networks(results):
    """The networks folder of the results folder's profile ``tiny``: shipped_run looks for
    ``<results>/*/networks/index.json``."""
    return results / "tiny" / "networks"


def test_shipping_again_rewrites_nothing_and_keeps_other_networks(tiny_runs, results):
    folder = networks(results)
    written = ship(tiny_runs[:1], folder)
    assert {p.name for p in written} >= {INDEX}
    assert ship(tiny_runs[:1], folder) == []  # same content: no file touched
    ship(tiny_runs[1:], folder)  # another condition: its own file, the first one kept
    index = json.loads((folder / INDEX).read_text())
    assert set(index) == {config_hash(r.config) for r in tiny_runs}
    assert (
        len(set(index.values())) == len({r.config.condition() for r in tiny_runs}) == 2
    )  # one file per training condition
    assert all(shipped_run(r.config, results) is not None for r in tiny_runs)


def test_restore_fills_a_store_and_leaves_missing_epochs_to_training(tiny_runs, results, tmp_path):
    ship(tiny_runs, networks(results))
    store = Store(tmp_path / "store")
    reached = tiny_runs[0].config
    assert restore([reached], store, {reached: {2}}, results=results) == []  # epoch 2 is not shipped
    assert restore([reached], store, {reached: {"criterion"}}, results=results) == []  # nor the criterion one
    assert restore([reached], store, results=results) == [reached]
    assert load_run(reached, store).history == tiny_runs[0].history
    assert restore([reached], store, results=results) == []  # already stored


def test_the_runner_restores_instead_of_training_and_retrains_for_a_missing_epoch(
    tiny_runs, results, tmp_path, monkeypatch
):
    ship(tiny_runs, networks(results))
    monkeypatch.setattr("numvars.shipped.default_results", lambda: results)
    store = Store(tmp_path / "store")
    reached = tiny_runs[0].config
    outcome = ensure([reached], store, progress=False)
    assert outcome.computed == 0 and load_run(reached, store) is not None  # restored, not trained
    assert set(load_run(reached, store).checkpoints) == {4}
    at_criterion = DasConfig(reached, n_pairs=(16, 8, 8), max_epochs=1, patience=1, checkpoint="criterion")
    outcome = ensure([at_criterion], store, progress=False)
    assert outcome.computed == 2  # the network trained again for its criterion checkpoint, then the measurement
    assert set(load_run(reached, store).checkpoints) == {0, 1, 2, 3, 4}


def test_bad_shipped_files_are_refused_clearly(tiny_runs, results):
    folder = networks(results)
    ship(tiny_runs, folder)
    file = folder / json.loads((folder / INDEX).read_text())[config_hash(tiny_runs[0].config)]
    file.write_bytes(b"not a torch file")
    with pytest.raises(ShippedError, match=r"is unreadable \(UnpicklingError\): restore it with `git checkout`"):
        shipped_run(tiny_runs[0].config, results)
    (folder / INDEX).write_text("[1, 2]")
    import numvars.shipped

    numvars.shipped._index_of.cache_clear()
    with pytest.raises(ShippedError, match="not an index of shipped networks"):
        shipped_run(tiny_runs[0].config, results)
    numvars.shipped._index_of.cache_clear()


def test_cells_are_parsed_with_clear_errors():
    assert str(parse_cell("gru/multi/count")) == "gru/multi/count"
    for bad, message in (
        ("gru/multi", "a cell is ARCH/TASK/MEASURE"),
        ("rnn/multi/count", "unknown architecture 'rnn'"),
        ("gru/many/count", "unknown task 'many'"),
        ("gru/multi/size", "unknown measure 'size'"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_cell(bad)


def test_verify_command_refuses_a_bad_cell(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "gru/multi/sizes"])
    assert "unknown measure 'sizes'" in capsys.readouterr().err


def test_a_quick_cell_remeasured_from_the_shipped_networks_equals_the_committed_table():
    """The quick profile's networks are shipped (results/quick/networks): both GRUs' Up-Down
    count, fitted again in a fresh store, give the committed test IIA."""
    result = verify(parse_cell("gru/single/count"), profile("quick"))
    assert len(result.table) == 2 and result.agrees
    assert result.largest_difference == 0.0  # the same code on the same weights: the same fit
    assert (result.table["network"] == "same epochs").all()  # the shipped networks are the ones the table measured
    assert not math.isnan(result.table["committed"].iloc[0])
    assert "agrees: largest difference 0.000" in result.report("quick")


def test_shipped_networks_that_are_not_the_measured_ones_are_listed(tmp_path):
    import shutil

    import pandas as pd

    from numvars.results import RESULTS_DIR
    from numvars.verify import shipped_differences

    quick = profile("quick")
    assert shipped_differences(quick).empty  # the quick networks are the ones its tables measured
    shutil.copytree(RESULTS_DIR / "quick", tmp_path / "quick")
    runs = pd.read_csv(tmp_path / "quick" / "runs.csv")
    lstm = (runs["arch"] == "lstm") & (runs["seed"] == 1) & (runs["experiment"] == "main")
    runs.loc[lstm, "criterion_epoch"] += 5  # as if the committed tables had measured another network
    runs.to_csv(tmp_path / "quick" / "runs.csv", index=False)
    listed = shipped_differences(quick, results=tmp_path)
    assert listed[["arch", "seed"]].to_dict("records") == [dict(arch="lstm", seed=1)]
    assert int(listed["criterion_epoch"].iloc[0]) == int(listed["shipped_criterion_epoch"].iloc[0]) + 5
    # a network retrained under other rules has the same key columns in another experiment:
    # its row, first in the file, is not the main network's
    other = runs[lstm].assign(experiment="authors_code", criterion_epoch=runs.loc[lstm, "criterion_epoch"] + 100)
    pd.concat([other, runs]).to_csv(tmp_path / "quick" / "runs.csv", index=False)
    listed = shipped_differences(quick, results=tmp_path)
    assert int(listed["criterion_epoch"].iloc[0]) == int(listed["shipped_criterion_epoch"].iloc[0]) + 5


def test_table_changes_match_rows_by_key_and_separate_rounding_from_a_moved_stop():
    """Two versions of a DAS table: rows are matched on their key columns (whatever their order),
    a fit that stopped at the same epoch changes by rounding alone, one whose stop moved by more;
    a table whose keys name two rows is refused."""
    import pandas as pd

    from numvars.verify import table_changes

    before = pd.DataFrame(
        dict(arch=["gru", "gru", "lstm"], seed=[0, 1, 0], positional=[float("nan")] * 3, test_iia=[0.80, 0.50, 0.90])
    ).assign(epochs=[40, 60, 30])
    after = before.iloc[::-1].assign(test_iia=[0.90, 0.42, 0.8001], epochs=[30, 75, 40])  # reversed rows
    changes = table_changes(before, after).set_index("column")
    assert list(changes.index) == ["test_iia", "epochs"]  # seed and the empty positional name rows
    iia = changes.loc["test_iia"]
    assert (iia["rows"], iia["changed"], iia["same_epochs"]) == (3, 2, 2)
    assert iia["largest"] == pytest.approx(0.08) and iia["at"] == "gru, 1, nan"
    assert iia["largest_same_epochs"] == pytest.approx(1e-4)  # gru seed 0: rounding alone
    assert changes.loc["epochs", "largest"] == 15
    with pytest.raises(ValueError, match="do not name one row each"):
        table_changes(before, pd.concat([after, after]))
    verdicts = table_changes(  # a cell's verdict is measured, not a key: a flip is a change of 1
        before.assign(within_before=[True, True, False]), after.assign(within_before=[False, True, False])
    ).set_index("column")
    assert (verdicts.loc["within_before", "changed"], verdicts.loc["within_before", "largest"]) == (1, 1.0)
