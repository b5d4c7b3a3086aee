"""The DAS grid of paper Figs. 2 and 7, its controls, and running it through the store.

A :class:`DasConfig` names one measurement: which trained network (a
:class:`~numvars.training.TrainConfig`), which program and variable, and how the alignment is
found — ``"learned"`` (DAS: a rotation trained on the counterfactuals), ``"random"`` (a fixed
random rotation, the control for "any subspace would do") or ``"full_swap"`` (the whole state
swapped, no rotation needed: Ctx-Distr's test). ``trained=False`` measures the network at its
initial weights instead (the control for "DAS can make anything look aligned").

:func:`ensure_das` computes whatever the store lacks, in worker processes, each result saved as
it finishes (resumable); :func:`das_table` gathers them.
"""

from __future__ import annotations

import functools
import multiprocessing
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd
import torch
from tqdm import tqdm

from numvars.analysis import pair_facts
from numvars.das import FixedAlignment, PairSet, RotationAlignment, first_errors, fit_alignment, make_pairs, pair_correct, run_frozen
from numvars.experiments import PROFILES, config_columns, load_run, profile_experiments
from numvars.models import CountingModel, build_model
from numvars.programs import get_program
from numvars.store import Store
from numvars.tasks import Task
from numvars.training import TrainConfig, derive_seed

DAS_KIND = "das"
METHODS = ("learned", "random", "full_swap")
PAPER_PAIRS = (10_000, 1_000, 1_000)
QUICK_PAIRS = (2_000, 500, 500)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DasConfig:
    """One DAS measurement (paper §4 defaults)."""

    run: TrainConfig  # the network: its architecture, task and seed
    program: str = "up_down"  # "up_down", "up_up" or "ctx_distr"
    variable: str | None = "count"  # the program's variable to align; None: the full state
    method: str = "learned"  # "learned", "random" or "full_swap"
    k: int | None = None  # rotated coordinates swapped; None: half the state (a full swap: all of it)
    trained: bool = True  # False: the same network at its initial weights (a control)
    n_pairs: tuple[int, int, int] = PAPER_PAIRS  # train, validation, test
    pair_seed: int = 0  # the same pairs for every network of a task
    demo_continuation: str = "paper"
    max_epochs: int = 100
    patience: int = 20
    lr: float = 3e-3
    batch_size: int = 512

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown DAS method {self.method!r}; allowed: {list(METHODS)}")
        if self.k is not None and (not isinstance(self.k, int) or self.k < 1):
            raise ValueError(f"k (the swapped dimensions) must be None (half the state) or an integer >= 1, got {self.k!r}")
        if self.method == "full_swap" and self.k is not None:
            raise ValueError("a full swap swaps the whole state: leave k as None")
        if (self.method == "full_swap") != (self.variable is None):
            raise ValueError("a full swap aligns the whole state (variable=None), and only a full swap does")
        get_program(self.program, self.run.task).check_variables(self.variable)  # unknown variable: clear error

    @property
    def pairs(self) -> "PairSpec":
        """What the pair sets depend on (not the network, the seed or the method)."""
        return PairSpec(self.run.task, self.program, self.variable, self.n_pairs, self.pair_seed, self.demo_continuation)

    def label(self) -> str:
        """E.g. ``"up_down.count"``, ``"ctx_distr.full_swap"``."""
        return f"{self.program}.{self.variable or 'full_swap'}"


@dataclass(frozen=True)
class PairSpec:
    task: Task
    program: str
    variable: str | None
    n_pairs: tuple[int, int, int]
    pair_seed: int
    demo_continuation: str


# ------------------------------------------------------------------------------ profiles
def _measurements(run: TrainConfig, **settings) -> list[DasConfig]:
    """Figs. 2 and 7 for one network: Up-Down count and phase, Up-Up's two counts, Ctx-Distr's
    full swap, and a random rotation for count."""
    return [
        DasConfig(run, "up_down", "count", **settings),
        DasConfig(run, "up_down", "phase", **settings),
        DasConfig(run, "up_up", "demo_count", **settings),
        DasConfig(run, "up_up", "resp_count", **settings),
        DasConfig(run, "ctx_distr", None, "full_swap", **settings),
        DasConfig(run, "up_down", "count", "random", **settings),
    ]


def das_settings(profile: str) -> dict:
    """What a profile changes in :class:`DasConfig`: the quick profile uses fewer pairs."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; allowed: {list(PROFILES)}")
    return {} if profile == "paper" else dict(n_pairs=QUICK_PAIRS)


def das_experiments(profile: str) -> dict[str, list[DasConfig]]:
    """``"main"``: every measurement on every trained network of the profile's main experiment;
    ``"untrained"``: Up-Down count on untrained networks (seeds 0 and 1 of each condition)."""
    settings = das_settings(profile)
    runs = profile_experiments(profile)["main"]
    return {
        "main": [cfg for run in runs for cfg in _measurements(run, **settings)],
        "untrained": [DasConfig(run, trained=False, **settings) for run in runs if run.seed in (0, 1)],
    }


def all_das_configs(profile: str, experiments: Sequence[str] | None = None) -> list[DasConfig]:
    grid = das_experiments(profile)
    unknown = set(experiments or ()) - set(grid)
    if unknown:
        raise ValueError(f"unknown DAS experiment(s) {sorted(unknown)}; allowed: {sorted(grid)}")
    return list(dict.fromkeys(cfg for name in (experiments or grid) for cfg in grid[name]))


# ---------------------------------------------------------------------------- measuring
@functools.lru_cache(maxsize=64)
def pair_set(spec: PairSpec, split: str) -> PairSet:
    """The ``split`` (``"train"``, ``"val"``, ``"test"``) pairs of a measurement, cached:
    every network of a task is measured on the same pairs. Ctx-Distr's full swap draws pairs
    within one phase (where it is defined)."""
    program = get_program(spec.program, spec.task)
    n = spec.n_pairs[SPLITS.index(split)]
    return make_pairs(program, spec.variable, n, seed=derive_seed(spec.pair_seed, f"das-{split}"),
                      same_phase=spec.program == "ctx_distr", demo_continuation=spec.demo_continuation)


def network(config: DasConfig, store: Store | None = None) -> CountingModel:
    """The measured network: trained (from the store) or at its initial weights."""
    if not config.trained:
        return build_model(config.run.model_config, seeds=(config.run.seed,)).eval()
    run = load_run(config.run, store)
    if run is None:
        raise LookupError(f"the network {config.run} is not trained yet: run `python -m numvars train` first")
    if not run.reached:
        raise LookupError(f"the network {config.run} never reached the criterion (dropped); it has no DAS result")
    return run.model()


def measure(config: DasConfig, store: Store | None = None, progress: Callable | None = None) -> dict:
    """Compute one measurement; the payload the store keeps."""
    start = time.perf_counter()
    model = network(config, store).requires_grad_(False)
    train, val, test = (pair_set(config.pairs, split) for split in SPLITS)
    size = model.config.state_size
    if config.method == "learned":
        fit = fit_alignment(model, train, val, test, k=config.k, max_epochs=config.max_epochs, patience=config.patience, lr=config.lr,
                            batch_size=config.batch_size, seed=config.run.seed, progress=progress)
        alignment, correct, history = fit.alignment, fit.test_correct, fit.history
    else:  # nothing to learn: a fixed random rotation, or (k = S) the full state
        k = size if config.method == "full_swap" else (config.k if config.k is not None else size // 2)
        alignment = RotationAlignment(size, k, seed=config.run.seed)
        correct, history = pair_correct(model, run_frozen(model, test), alignment), []
    return {
        "test_correct": correct,
        "history": history,  # per epoch: loss, val_iia (empty when nothing is learned)
        "rotation": alignment.rotation.detach().clone(),
        "k": alignment.k,
        "seconds": time.perf_counter() - start,
    }


def measure_into(config: DasConfig, store_root: str) -> None:
    """Worker: one measurement, saved (one torch thread per process)."""
    torch.set_num_threads(1)
    store = Store(store_root)
    store.save(DAS_KIND, config, measure(config, store))


def _usable(run: TrainConfig, store: Store) -> bool:
    result = load_run(run, store)
    return result is not None and result.reached


def ensure_das(configs: Sequence[DasConfig], store: Store | None = None, workers: int = 1, progress: bool = True) -> None:
    """Compute every measurement the store lacks, with ``workers`` processes."""
    store = store or Store.default()
    missing = [c for c in configs if not store.exists(DAS_KIND, c, verify=True)]
    dropped = {run for run in {c.run for c in missing if c.trained} if not _usable(run, store)}
    if dropped:
        warnings.warn(f"{len(dropped)} networks are untrained or were dropped; their DAS measurements are skipped: {sorted(map(str, dropped))}")
        missing = [c for c in missing if not (c.trained and c.run in dropped)]
    missing.sort(key=lambda c: (c.run.task.kind, c.label()))  # neighbours share their pair sets
    bar = tqdm(total=len(missing), desc="DAS measurements", unit="fit", disable=not progress or not missing)
    if workers <= 1:
        for config in missing:
            measure_into(config, str(store.root))
            bar.update(1)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(measure_into, config, str(store.root)): config for config in missing}
            for future in as_completed(futures):
                future.result()
                bar.update(1)
    bar.close()


# -------------------------------------------------------------------------------- tables
@functools.lru_cache(maxsize=64)
def test_facts(spec: PairSpec) -> pd.DataFrame:
    """:func:`~numvars.analysis.pair_facts` of a measurement's test pairs (cached; do not modify)."""
    return pair_facts(pair_set(spec, "test"))


def late_gain(history: list[dict], window: int = 25) -> float | None:
    """The rise of the best validation IIA over the last ``window`` epochs (None for a shorter fit)."""
    scores = [h["val_iia"] for h in history]
    return max(scores) - max(scores[:-window]) if len(scores) > window else None


def das_table(grid: dict[str, list[DasConfig]], store: Store | None = None) -> pd.DataFrame:
    """One row per stored measurement of ``grid`` (experiment name -> configs, e.g.
    :func:`das_experiments`): experiment, network, program, variable, method, trained,
    best validation IIA, test IIA, epochs, ``late_gain`` (how much the best validation IIA rose
    in the last 25 epochs of a fit that ran that long: is the epoch budget enough?), seconds, and
    the test IIA split by whether target and source
    positions share a phase (``iia_same_phase`` / ``iia_cross_phase``), by the target's phase
    (``iia_demo_t`` / ``iia_response_t``) and by whether the counterfactual asks for more than
    the trained 20 responses (``iia_upto20`` / ``iia_over20``)."""
    store = store or Store.default()
    rows = []
    for experiment, configs in grid.items():
        for config in configs:
            payload = store.load(DAS_KIND, config)
            if payload is None:
                continue
            history = payload["history"]
            facts = test_facts(config.pairs).copy()
            facts["correct"] = payload["test_correct"].numpy()
            max_count = config.run.task.max_count
            rows.append(dict(
                experiment=experiment,
                **config_columns(config.run),
                program=config.program,
                variable=config.variable or "full_swap",
                method=config.method,
                trained=config.trained,
                val_iia=max((h["val_iia"] for h in history), default=None),
                test_iia=float(facts["correct"].mean()),
                epochs=len(history),
                late_gain=late_gain(history),
                seconds=round(payload["seconds"], 1),
                iia_same_phase=float(facts.loc[facts["t_phase"] == facts["u_phase"], "correct"].mean()),
                iia_cross_phase=float(facts.loc[facts["t_phase"] != facts["u_phase"], "correct"].mean()),
                iia_demo_t=float(facts.loc[facts["t_phase"] == "demo", "correct"].mean()),
                iia_response_t=float(facts.loc[facts["t_phase"] == "response", "correct"].mean()),
                iia_upto20=float(facts.loc[facts["responses"] <= max_count, "correct"].mean()),
                iia_over20=float(facts.loc[facts["responses"] > max_count, "correct"].mean()),
            ))
    return pd.DataFrame(rows)


def pair_outcomes(config: DasConfig, store: Store | None = None) -> pd.DataFrame:
    """Each test pair of a stored measurement: its :func:`~numvars.analysis.pair_facts`, the
    token that follows ``t`` in the counterfactual (``next``), and ``first_error``: the offset
    after ``t`` of the first token the intervened network gets wrong (0: the prediction made at
    ``t`` itself; -1: none). Recomputed from the stored rotation and checked against the stored
    outcomes."""
    payload = (store or Store.default()).load(DAS_KIND, config)
    if payload is None:
        raise LookupError(f"no stored DAS measurement for {config}: run ensure_das first")
    test = pair_set(config.pairs, "test")
    model = network(config, store)
    errors = first_errors(model, run_frozen(model, test), FixedAlignment(payload["rotation"], payload["k"]))
    if not torch.equal(errors < 0, payload["test_correct"]):
        raise RuntimeError(f"recomputed outcomes differ from the stored ones for {config}: was the code changed since?")
    facts = test_facts(config.pairs).copy()
    facts["next"] = [config.run.task.decode([int(test.tokens[i, test.t[i] + 1])]) for i in range(len(test))]
    facts["first_error"] = errors.numpy()
    return facts


def failure_table(grid: dict[str, list[DasConfig]], store: Store | None = None, measures=(("count", "learned"), ("full_swap", "full_swap"))) -> pd.DataFrame:
    """Where the intervened networks fail: for each stored measurement of ``measures``
    ((variable, method) pairs) on a trained network, and each kind of token that follows the
    target position ``t`` (``demo``, ``T``, ``R``, ``E``), the number of test pairs, the share
    failed, and the share whose first error is the prediction made at ``t`` itself."""
    rows = []
    for experiment, configs in grid.items():
        for config in configs:
            if not config.trained or ((config.variable or "full_swap"), config.method) not in measures:
                continue
            if not (store or Store.default()).exists(DAS_KIND, config):
                continue
            outcomes = pair_outcomes(config, store)
            # what follows t: T or E, else a response (R; Same-Object's D after T) or a demo token
            response = outcomes["t_phase"] == "response"
            outcomes["next_kind"] = outcomes["next"].where(outcomes["next"].isin(["T", "E"]), response.map({True: "R", False: "demo"}))
            for (t_phase, next_kind), group in outcomes.groupby(["t_phase", "next_kind"]):
                rows.append(dict(
                    experiment=experiment,
                    **config_columns(config.run),
                    variable=config.variable or "full_swap",
                    method=config.method,
                    t_phase=t_phase,
                    next_kind=next_kind,
                    pairs=len(group),
                    failed=float((group["first_error"] >= 0).mean()),
                    first_error_at_t=float((group["first_error"] == 0).mean()),
                ))
    return pd.DataFrame(rows)
