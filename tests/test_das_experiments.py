"""numvars.das_experiments: measurement configs, the store round trip, the controls, and DAS on a
trained network finding its count."""

import pytest

import numvars.das_experiments as das_module
from numvars.das_experiments import DasConfig, all_das_configs, das_experiments as grid, das_table, ensure_das, late_gain, measure, pair_outcomes
from numvars.experiments import load_run
from numvars.store import Store
from numvars.tasks import Task
from numvars.training import TrainConfig

SINGLE = TrainConfig(task=Task("single"), arch="gru", max_epochs=400)  # the quick profile's GRU, seed 0
TINY = dict(n_pairs=(96, 48, 48), max_epochs=2, patience=1)


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="unknown variable"):
        DasConfig(SINGLE, "up_down", "demo_count")
    with pytest.raises(ValueError, match="unknown DAS method"):
        DasConfig(SINGLE, method="pca")
    with pytest.raises(ValueError, match="full swap"):
        DasConfig(SINGLE, "ctx_distr", None, "learned")
    with pytest.raises(ValueError, match="unknown program"):
        DasConfig(SINGLE, "count_down", "count")
    with pytest.raises(ValueError, match=r"k \(the swapped dimensions\) must be None"):
        DasConfig(SINGLE, k=0)
    with pytest.raises(ValueError, match=r"k \(the swapped dimensions\) must be in 1..20"):  # known once the network is
        measure(DasConfig(SINGLE, trained=False, k=21, **TINY))
    with pytest.raises(ValueError, match="unknown DAS experiment"):
        all_das_configs("quick", ["fig9"])


def test_grid_has_every_measurement_of_figs_2_and_7_and_the_controls():
    paper = grid("paper")
    labels = {(c.label(), c.method) for c in paper["main"]}
    assert labels == {
        ("up_down.count", "learned"), ("up_down.phase", "learned"), ("up_up.demo_count", "learned"),
        ("up_up.resp_count", "learned"), ("ctx_distr.full_swap", "full_swap"), ("up_down.count", "random"),
    }
    assert len(paper["main"]) == 54 * 6 and all(c.n_pairs == (10_000, 1_000, 1_000) for c in paper["main"])
    assert {c.run.arch for c in paper["untrained"]} == {"gru", "lstm", "transformer"}
    assert not any(c.trained for c in paper["untrained"])


def test_measurements_are_stored_reused_and_tabled(tmp_path, monkeypatch):
    store = Store(tmp_path)
    untrained = [DasConfig(SINGLE, trained=False, **TINY), DasConfig(SINGLE, "ctx_distr", None, "full_swap", trained=False, **TINY)]
    ensure_das(untrained, store, progress=False)
    first = store.load("das", untrained[0])
    assert first["test_correct"].shape == (48,) and len(first["history"]) <= 2 and first["k"] == 10
    assert store.load("das", untrained[1])["k"] == 20  # a full swap swaps the whole state
    calls = []
    monkeypatch.setattr(das_module, "measure", lambda *a, **k: calls.append(a))
    ensure_das(untrained, store, progress=False)  # everything is stored: nothing is recomputed
    assert calls == []
    table = das_table({"untrained": untrained}, store)
    assert list(table["variable"]) == ["count", "full_swap"] and table["test_iia"].between(0, 1).all()
    assert (table["epochs"] == [len(first["history"]), 0]).all()


def test_an_unknown_network_is_a_clear_error(tmp_path):
    with pytest.raises(LookupError, match="not trained yet"):
        measure(DasConfig(SINGLE, **TINY), Store(tmp_path))


@pytest.mark.skipif(load_run(SINGLE) is None, reason="the quick-profile GRU is not in the store (make book trains it)")
def test_das_finds_the_count_of_a_trained_gru_and_the_controls_do_not():
    """The quick-profile GRU (Single-Object, seed 0): a learned rotation aligns Up-Down's count
    far better than a random rotation or the same network untrained."""
    settings = dict(n_pairs=(2000, 300, 300), max_epochs=40, patience=40)
    learned = measure(DasConfig(SINGLE, **settings))["test_correct"].float().mean()
    random = measure(DasConfig(SINGLE, method="random", **settings))["test_correct"].float().mean()
    untrained = measure(DasConfig(SINGLE, trained=False, **settings))["test_correct"].float().mean()
    assert learned > 0.75, (learned, random, untrained)
    assert random < learned - 0.3 and untrained < 0.2, (random, untrained)


def test_pair_outcomes_are_recomputed_from_the_stored_rotation(tmp_path):
    store = Store(tmp_path)
    config = DasConfig(SINGLE, trained=False, **TINY)
    ensure_das([config], store, progress=False)
    outcomes = pair_outcomes(config, store)
    assert len(outcomes) == 48 and set(outcomes["t_phase"]) <= {"demo", "response"}
    assert ((outcomes["first_error"] < 0).to_numpy() == store.load("das", config)["test_correct"].numpy()).all()
    assert set(outcomes["next"]) <= {"D", "T", "R", "E"}


def test_late_gain_is_the_rise_of_the_best_validation_iia_in_the_last_epochs():
    history = [dict(val_iia=v) for v in [0.1, 0.5, 0.4, 0.45, 0.6]]
    assert late_gain(history, window=2) == pytest.approx(0.6 - 0.5)
    assert late_gain(history, window=5) is None  # too short to tell
