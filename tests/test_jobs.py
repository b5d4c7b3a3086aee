"""numvars.jobs and numvars.runner: measurement configs, the store round trip, resuming, the
controls, DAS on a trained network finding its count, and Dask giving the local pool's tables."""

import shutil
from dataclasses import replace

import pandas as pd
import pytest
import torch

import numvars.jobs as jobs
from numvars.grids import figs_2_and_7
from numvars.jobs import DAS_KIND, RUN_KIND, DasConfig, TrainJob, jobs_for, load_measurement, measure
from numvars.results import das_table, failure_table, late_gain, pair_outcomes
from numvars.runner import ensure
from numvars.store import Store, config_hash
from numvars.tasks import Task
from numvars.training import TrainConfig

SINGLE = TrainConfig(task=Task("single"), arch="gru", max_epochs=400)  # the quick profile's GRU, seed 0
TINY = dict(n_pairs=(96, 48, 48), max_epochs=2, patience=1)


def test_a_measurement_key_is_pinned():
    # Existing stores stay valid only while keys stay the same: a changed key recomputes everything
    # (changed on purpose by the protocol fields of issue 9: the stop rule, checkpoint, positions, score_at_t).
    assert config_hash(DasConfig(SINGLE, n_pairs=(2_000, 500, 500))) == "1729f5b772845540"


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="unknown variable"):
        DasConfig(SINGLE, "up_down", "demo_count")
    with pytest.raises(
        ValueError,
        match="unknown DAS method 'pca'; allowed: \\['learned', 'random', 'full_swap', 'linear', 'random_linear'\\]",
    ):
        DasConfig(SINGLE, method="pca")
    with pytest.raises(ValueError, match="full swap"):
        DasConfig(SINGLE, "ctx_distr", None, "learned")
    with pytest.raises(ValueError, match="unknown program"):
        DasConfig(SINGLE, "count_down", "count")
    with pytest.raises(ValueError, match=r"k \(the swapped dimensions\) must be None"):
        DasConfig(SINGLE, k=0)
    with pytest.raises(ValueError, match=r"k \(the swapped dimensions\) must be in 1..20"):  # known once the network is
        measure(DasConfig(SINGLE, trained=False, k=21, **TINY))
    with pytest.raises(TypeError, match="no job computes a dict"):
        jobs_for([{"arch": "gru"}])


def test_jobs_group_a_conditions_seeds_and_train_before_measuring():
    configs = [replace(SINGLE, seed=s) for s in (0, 1)] + [replace(SINGLE, arch="lstm")]
    planned = jobs_for([DasConfig(SINGLE, **TINY), *configs])
    assert [type(job).__name__ for job in planned] == ["TrainJob", "TrainJob", "DasJob"]
    assert {job.configs for job in planned[:2]} == {tuple(configs[:2]), (configs[2],)}


def test_measurements_are_stored_reused_and_tabled(tmp_path, monkeypatch):
    store = Store(tmp_path)
    untrained = [
        DasConfig(SINGLE, trained=False, **TINY),
        DasConfig(SINGLE, "ctx_distr", None, "full_swap", trained=False, **TINY),
    ]
    done = ensure(untrained, store, progress=False)
    assert (done.computed, done.stored) == (2, 0)
    first = load_measurement(untrained[0], store)
    assert first.test_correct.shape == (48,) and len(first.history) <= 2 and first.k == 10
    assert load_measurement(untrained[1], store).k == 20  # a full swap swaps the whole state
    monkeypatch.setattr(jobs, "measure", lambda *a, **k: pytest.fail("recomputed a stored measurement"))
    again = ensure(untrained, store, progress=False)  # everything is stored: nothing is recomputed
    assert (again.computed, again.stored) == (0, 2)
    table = das_table({"untrained": untrained}, store)
    assert list(table["variable"]) == ["count", "full_swap"] and table["test_iia"].between(0, 1).all()
    assert (table["epochs"] == [len(first.history), 0]).all()


def test_an_untrained_network_is_a_clear_error(tmp_path):
    with pytest.raises(LookupError, match="not trained yet"):
        measure(DasConfig(SINGLE, **TINY), Store(tmp_path))


def test_measurements_of_a_dropped_network_are_skipped_with_a_warning(tmp_path):
    never = TrainConfig(
        task=Task("single"), d=4, max_epochs=1, n_train=32, n_val=16
    )  # cannot reach 99.99 % in one epoch
    with pytest.warns(UserWarning, match="dropped"):
        done = ensure([DasConfig(never, **TINY)], Store(tmp_path), progress=False)
    assert len(done.skipped) == 1 and not Store(tmp_path).exists(DAS_KIND, DasConfig(never, **TINY))
    assert Store(tmp_path).exists(RUN_KIND, never)  # the dropped run itself is kept (and reported)


def test_das_finds_the_count_of_a_trained_gru_and_the_controls_do_not(quick_gru):
    """The quick-profile GRU (Single-Object, seed 0): a learned rotation aligns Up-Down's count
    far better than a random rotation or the same network untrained."""
    settings = dict(n_pairs=(2000, 300, 300), max_epochs=40, patience=40)
    learned = measure(DasConfig(quick_gru, **settings)).test_iia
    random = measure(DasConfig(quick_gru, method="random", **settings)).test_iia
    untrained = measure(DasConfig(quick_gru, trained=False, **settings)).test_iia
    assert learned > 0.65, (
        learned,
        random,
        untrained,
    )  # the paper's positions: harder for a GRU than the first protocol's
    assert random < learned - 0.3 and untrained < 0.2, (random, untrained)


def test_pair_outcomes_are_recomputed_from_the_stored_rotation(tmp_path):
    store = Store(tmp_path)
    config = DasConfig(SINGLE, trained=False, **TINY)
    ensure([config], store, progress=False)
    outcomes = pair_outcomes(config, store)
    assert len(outcomes) == 48 and set(outcomes["t_phase"]) <= {"demo", "response"}
    assert ((outcomes["first_error"] < 0).to_numpy() == load_measurement(config, store).test_correct.numpy()).all()
    assert set(outcomes["next"]) <= {"D", "T", "R", "E"}


def test_late_gain_is_the_rise_of_the_best_validation_iia_in_the_last_epochs():
    history = [dict(val_iia=v) for v in [0.1, 0.5, 0.4, 0.45, 0.6]]
    assert late_gain(history, window=2) == pytest.approx(0.6 - 0.5)
    assert late_gain(history, window=5) is None  # too short to tell


def _store_with(run_config, root) -> Store:
    """A fresh store holding only the default store's copy of one trained run."""
    store = Store(root)
    source = Store.default().root / RUN_KIND / f"{config_hash(run_config)}.pt"
    (store.root / RUN_KIND).mkdir(parents=True)
    shutil.copy(source, store.root / RUN_KIND / source.name)
    return store


def test_a_dask_local_cluster_gives_the_local_pools_tables(quick_gru, tmp_path):
    """A quick-profile subset — Figs. 2 and 7 on the quick GRU, with fewer pairs — computed by two
    local worker processes and by a Dask LocalCluster of two workers: the same tables."""
    pytest.importorskip("distributed")
    grid = {"main": figs_2_and_7(quick_gru, n_pairs=(200, 100, 100), max_epochs=3, patience=3)}
    tables = []
    for name, scheduler in (("pool", None), ("dask", "local")):
        store = _store_with(quick_gru, tmp_path / name)
        done = ensure(grid["main"], store, workers=2, scheduler=scheduler, progress=False)
        assert done.computed == len(grid["main"])
        tables.append((das_table(grid, store).drop(columns="seconds"), failure_table(grid, store)))
    pd.testing.assert_frame_equal(tables[0][0], tables[1][0])
    pd.testing.assert_frame_equal(tables[0][1], tables[1][1])


def test_a_worker_that_cannot_write_the_store_says_so(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match="every worker can write"):
        ensure([DasConfig(SINGLE, trained=False, **TINY)], Store(blocker / "store"), progress=False)


def test_train_jobs_save_every_seed(tmp_path):
    store = Store(tmp_path)
    configs = tuple(replace(SINGLE, d=4, max_epochs=1, n_train=32, n_val=16, seed=s) for s in (3, 4))
    TrainJob(configs).run(store)
    assert all(store.exists(RUN_KIND, c) for c in configs)


def test_a_conditions_checkpoints_stack_into_one_job_and_each_equals_its_fit_alone(quick_gru):
    """Learning curves: one network's saved epochs and its other seed's fit as one stack; each
    member's measurement is the one it gets alone (same rotation start: its seed's)."""
    configs = [
        DasConfig(replace(quick_gru, seed=s), checkpoint=e, **dict(TINY, max_epochs=3, patience=3))
        for s in (0, 1)
        for e in (0, 60, 90)
    ]
    planned = jobs_for(configs)
    assert len(planned) == 1 and set(planned[0].configs) == set(configs)
    assert "at 3 saved epochs" in planned[0].label() and "seeds 0,1" in planned[0].label()
    many = jobs_for(
        [replace(c, checkpoint=e) for c in (configs[0], configs[3]) for e in (0, 5, 10, 15)]
    )  # 8 networks: 6 per stack at most
    assert [len(job.configs) for job in many] == [6, 2] and [c.checkpoint for c in many[0].configs] == [
        0,
        0,
        5,
        5,
        10,
        10,
    ]
    together = jobs.measure_stack(configs)
    for config, stacked in zip(configs, together):
        alone = measure(config)
        assert [h["val_iia"] for h in stacked.history] == [h["val_iia"] for h in alone.history]
        assert torch.equal(stacked.test_correct, alone.test_correct)
    assert (
        len(jobs_for([configs[0], DasConfig(quick_gru, **dict(TINY, max_epochs=3, patience=3))])) == 2
    )  # the analysed checkpoint: its own stack


def test_a_checkpoint_that_was_not_saved_is_a_clear_error(quick_gru):
    with pytest.raises(
        ValueError, match=r"unknown checkpoint 'best'; allowed: \['analysed', 'criterion'\] or a saved epoch"
    ):
        DasConfig(SINGLE, checkpoint="best")
    with pytest.raises(ValueError, match="unknown checkpoint -5"):
        DasConfig(SINGLE, checkpoint=-5)
    with pytest.raises(ValueError, match=r"no checkpoint at epoch 7 .* every 5 epochs"):
        measure(DasConfig(quick_gru, checkpoint=7, **TINY))


def test_every_learning_curve_epoch_of_the_quick_profile_is_saved(quick_gru):
    from numvars.grids import profile

    for config in profile("quick").das["checkpoints"]:
        run = jobs.load_run(config.run)
        assert run.epoch_of(config.checkpoint) in run.checkpoints  # a missing epoch would fail the book's chapter 5


def test_chapter_6_measures_the_transformer_variants_with_their_controls():
    from numvars.grids import profile

    quick, paper = profile("quick"), profile("paper")
    live = quick.das["transformer_variants"]
    assert {c.run for c in live} == set(quick.training["nope_transformer"]) and all(
        c.run.positional == "none" for c in live
    )
    assert sorted((c.variable or "full_swap", c.method) for c in live if c.run.seed == 0) == [
        ("count", "learned"),
        ("count", "random"),
        ("full_swap", "full_swap"),
        ("phase", "learned"),
    ]
    grid = paper.das["transformer_variants"]
    networks = paper.training["void_transformer"] + paper.training["nope_transformer"]
    assert {c.run for c in grid} == set(networks) and len(
        networks
    ) == 30  # 3 void tasks + NoPE 1 and 2 layers, 6 seeds each
    untrained = [c for c in grid if not c.trained]
    assert len(untrained) == 10 and {c.run.seed for c in untrained} == {0, 1} and len(grid) == 4 * 30 + 10
    assert not any(c.run.task.framing == "bare" for c in grid)  # the bare task's networks are for App. A.4 only


def test_the_linear_alignment_is_measured_where_the_rotation_is_weak_and_where_it_is_strong():
    from numvars.grids import das_settings, profile

    paper = profile("paper")
    grid = paper.das["alignment_functions"]
    assert {(c.program, c.variable) for c in grid} == {("up_down", "count")}
    trained = [c for c in grid if c.trained]
    conditions = {(c.run.arch, c.run.task.kind, c.run.d) for c in trained}
    assert conditions == {
        ("gru", "multi", 8),
        ("gru", "multi", 16),
        ("gru", "multi", 20),
        ("gru", "same", 20),
        ("lstm", "multi", 20),
        ("lstm", "same", 20),
        ("transformer", "multi", 20),
    }
    for network in {c.run for c in trained}:  # each learned map beside its random control, on every network
        assert sorted(c.method for c in trained if c.run == network) == ["learned", "linear", "random", "random_linear"]
    untrained = [c for c in grid if not c.trained]
    assert {c.method for c in untrained} == {"learned", "linear"} and {c.run.seed for c in untrained} == {0, 1}
    assert len(trained) == 7 * 6 * 4 and len(untrained) == 7 * 2 * 2
    settings = das_settings("paper")
    shared = set(paper.das_configs(["main", "sizes", "untrained"]))
    for config in grid:  # the rotation's measurements are those of chapters 4 and 5: same pairs, same budget
        assert config.n_pairs == settings["n_pairs"] and config.max_epochs == settings["max_epochs"]
        assert (config in shared) == (config.method in ("learned", "random"))
    quick = profile("quick").das["alignment_functions"]
    assert {c.run.arch for c in quick} == {"gru", "lstm"} and {c.method for c in quick} == {
        "learned",
        "linear",
        "random",
        "random_linear",
    }


def test_the_k_sweep_covers_every_swap_size_and_shares_the_default():
    from numvars.das import half_state
    from numvars.grids import profile

    paper = profile("paper")
    sweep = paper.das["k_sweep"]
    assert {(c.run.arch, c.run.task.kind, c.run.d, c.run.seed) for c in sweep} == {
        (arch, "multi", 20, seed) for arch in ("gru", "lstm") for seed in (0, 1)
    }
    for network in {c.run for c in sweep}:
        size = network.model_config.state_size  # 20 for the GRU, 40 for the LSTM's [h; c]
        for method in ("learned", "linear"):
            ks = sorted(c.k or half_state(size) for c in sweep if c.run == network and c.method == method)
            assert ks == list(range(1, size + 1))
    defaults = [c for c in sweep if c.k is None]  # k = S/2 is the default measurement, not a second one
    assert len(defaults) == 8 and set(defaults) <= set(paper.das_configs(["main", "alignment_functions"]))
    quick = profile("quick").das["k_sweep"]
    assert {c.run.arch for c in quick} == {"gru"} and sorted({c.k or 10 for c in quick}) == [1, 2, 4, 10, 20]


def test_every_cause_is_measured_on_every_seed_of_the_cells_it_targets_beside_the_default():
    from numvars.grids import CAUSES, profile
    from numvars.results import protocol_of

    paper = profile("paper")
    grid = paper.das["causes"]
    main = set(paper.das["main"])
    for name, cause in CAUSES.items():
        under = [c for c in grid if protocol_of(c) == name]
        assert {(c.run.arch, c.run.task.kind, c.variable_name, c.run.seed) for c in under} == {
            (arch, task, measure, seed)
            for arch in cause.archs
            for task in cause.tasks
            for measure in cause.measures
            for seed in range(6)
        }
        for config in under:  # the same measurement under the default protocol is main's, on the main network
            default = replace(
                config,
                run=replace(config.run, **{f: TrainConfig.__dataclass_fields__[f].default for f in cause.network}),
                **{f: DasConfig.__dataclass_fields__[f].default for f in cause.measurement},
            )
            assert default in grid and default in main
            assert (config.run in paper.training["causes"]) == bool(
                cause.network
            )  # a network cause's networks are trained
    assert all(protocol_of(c) == "default" for c in grid if c in main)
    assert "causes" not in profile("quick").das


def test_an_unknown_demo_continuation_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"demo_continuation 'theirs'.*\['paper', 'authors'\]"):
        DasConfig(TrainConfig(), demo_continuation="theirs")


def test_a_measurement_may_run_its_network_by_the_packed_kernel(quick_gru):
    """``DasConfig(kernel="packed")``: the same weights run by the packed kernel — its own store
    key (the default keeps every key), the network's function to rounding, and the same fit: the
    quick GRU's count measured both ways agrees."""
    settings = dict(n_pairs=(2000, 300, 300), max_epochs=10, patience=10)
    stepped, packed = DasConfig(quick_gru, **settings), DasConfig(quick_gru, kernel="packed", **settings)
    assert config_hash(replace(stepped, kernel="stepped")) == config_hash(stepped) != config_hash(packed)
    networks = [jobs.load_network(c) for c in (stepped, packed)]
    assert [n.config.kernel for n in networks] == ["stepped", "packed"]
    for a, b in zip(networks[0].state_dict().values(), networks[1].state_dict().values()):
        assert torch.equal(a, b)
    x = Task("single").pad(Task("single").sample(8, 0)).unsqueeze(0)
    assert torch.allclose(networks[0](x).logits, networks[1](x).logits, atol=1e-5)
    results = [measure(c) for c in (stepped, packed)]
    assert abs(results[0].test_iia - results[1].test_iia) <= 0.01
    assert len(results[0].history) == len(results[1].history)
    with pytest.raises(ValueError, match=r"unknown kernel 'fused'; allowed: \['stepped', 'packed'\]"):
        DasConfig(quick_gru, kernel="fused")
