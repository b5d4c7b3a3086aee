"""Named experiments, the ``quick`` and ``paper`` profiles, and training them through the store.

A profile is a dict ``experiment name -> list of TrainConfig``. :func:`ensure_trained` trains
whatever the store does not hold yet — one condition (all its seeds) per stacked ensemble, one
condition per worker process — and saves every run as soon as its condition finishes, so an
interrupted run resumes where it stopped.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from typing import Callable, Iterable, Sequence

import pandas as pd
import torch
from tqdm import tqdm

from numvars.store import Store
from numvars.tasks import TASK_KINDS, Task
from numvars.training import RunResult, TrainConfig, accuracy_per_count, train

PROFILES = ("quick", "paper")
PAPER_SEEDS = tuple(range(6))
GRU_SIZES = (8, 16, 20, 32, 48, 96)
EVAL_COUNTS = tuple(range(1, 31))
PAPER_MAX_EPOCHS = 1000  # a run that has not reached the criterion by then is dropped
QUICK_MAX_EPOCHS = 400
RUN_KIND = "run"


def _seeds(config: TrainConfig, seeds: Iterable[int]) -> list[TrainConfig]:
    return [replace(config, seed=s) for s in seeds]


def profile_experiments(profile: str) -> dict[str, list[TrainConfig]]:
    """The experiments of a profile: ``"quick"`` (minutes on 2 CPU cores) or ``"paper"``."""
    if profile == "quick":
        single = Task("single")
        return {
            "main": [
                cfg
                for arch in ("gru", "lstm", "transformer")
                for cfg in _seeds(TrainConfig(task=single, arch=arch, max_epochs=QUICK_MAX_EPOCHS), (0, 1))
            ],
        }
    if profile == "paper":
        return {
            "main": [
                cfg
                for arch in ("gru", "lstm", "transformer")
                for kind in TASK_KINDS
                for cfg in _seeds(TrainConfig(task=Task(kind), arch=arch, max_epochs=PAPER_MAX_EPOCHS), PAPER_SEEDS)
            ],
            "gru_sizes": [
                cfg
                for d in GRU_SIZES
                if d != 20
                for cfg in _seeds(TrainConfig(task=Task("multi"), d=d, max_epochs=PAPER_MAX_EPOCHS), PAPER_SEEDS)
            ],
            "void_transformer": [
                cfg
                for kind in TASK_KINDS
                for cfg in _seeds(
                    TrainConfig(task=Task(kind, void_p=0.2), arch="transformer", max_epochs=PAPER_MAX_EPOCHS), PAPER_SEEDS
                )
            ],
            "nope_transformer": [
                cfg
                for n_layers in (1, 2)
                for cfg in _seeds(
                    TrainConfig(
                        task=Task("multi"), arch="transformer", positional="none", n_layers=n_layers, max_epochs=PAPER_MAX_EPOCHS
                    ),
                    PAPER_SEEDS,
                )
            ],
        }
    raise ValueError(f"unknown profile {profile!r}; allowed: {list(PROFILES)}")


def all_configs(profile: str) -> list[TrainConfig]:
    """Every distinct config of a profile, in a stable order."""
    return list(dict.fromkeys(cfg for configs in profile_experiments(profile).values() for cfg in configs))


# ------------------------------------------------------------------------------ store I/O
def run_payload(result: RunResult, accuracy_by_n: torch.Tensor) -> dict:
    return {
        "reached": result.reached,
        "epochs": result.epochs,
        "state": result.state,
        "checkpoints": result.checkpoints,
        "history": result.history,
        "accuracy_per_count": accuracy_by_n,
    }


def load_run(config: TrainConfig, store: Store | None = None) -> RunResult | None:
    """The stored run of ``config``, or ``None`` if it has not been trained."""
    payload = (store or Store.default()).load(RUN_KIND, config)
    if payload is None:
        return None
    return RunResult(config, payload["reached"], payload["epochs"], payload["state"], payload["checkpoints"], payload["history"])


def train_condition(configs: Sequence[TrainConfig], store_root: str, progress: Callable | None = None) -> None:
    """Train one condition's seeds together, evaluate accuracy per N, save each run.
    Runs in a worker process (or in-process) with one torch thread."""
    torch.set_num_threads(1)
    store = Store(store_root)
    results = train(configs, progress=progress)
    for result in results:
        by_n = accuracy_per_count(result.model(), result.config.task, EVAL_COUNTS, seed=0)[0]
        store.save(RUN_KIND, result.config, run_payload(result, by_n))


def ensure_trained(configs: Sequence[TrainConfig], store: Store | None = None, workers: int = 1, progress: bool = True) -> None:
    """Train every config the store lacks (grouped by condition), with ``workers`` processes."""
    store = store or Store.default()
    missing = [c for c in configs if not store.exists(RUN_KIND, c, verify=True)]  # a bad file is rebuilt
    groups: dict[TrainConfig, list[TrainConfig]] = defaultdict(list)
    for cfg in missing:
        groups[cfg.condition()].append(cfg)
    # the costliest conditions first, so that two workers finish together
    order = sorted(groups.values(), key=lambda g: (g[0].arch != "transformer", -g[0].d))
    bar = tqdm(total=len(missing), desc="training runs", unit="run", disable=not progress or not missing)
    if workers <= 1:
        for group in order:
            epochs = tqdm(total=group[0].max_epochs, desc=_describe(group[0]), unit="epoch", leave=False, disable=not progress)
            train_condition(group, str(store.root), progress=lambda epoch, acc: epochs.update(1))
            epochs.close()
            bar.update(len(group))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(train_condition, group, str(store.root)): group for group in order}
            for future in as_completed(futures):
                future.result()
                bar.update(len(futures[future]))
                bar.set_postfix_str(_describe(futures[future][0]))
    bar.close()


def _describe(config: TrainConfig) -> str:
    task = config.task.kind + (f"+void{config.task.void_p}" if config.task.void_p else "")
    extra = "" if config.arch != "transformer" else f" {config.n_layers}L {config.positional}"
    return f"{config.arch}{extra} d={config.d} {task}"


# ---------------------------------------------------------------------------- tables
def config_columns(config: TrainConfig) -> dict:
    """Flat, readable description of a config for tables."""
    return dict(
        arch=config.arch,
        task=config.task.kind,
        void_p=config.task.void_p,
        d=config.d,
        n_layers=config.n_layers if config.arch == "transformer" else None,
        positional=config.positional if config.arch == "transformer" else None,
        seed=config.seed,
    )


def runs_table(profile: str, store: Store | None = None) -> pd.DataFrame:
    """One row per stored run of a profile: experiment, config, reached, dropped, epochs."""
    rows = []
    for experiment, configs in profile_experiments(profile).items():
        for cfg in configs:
            run = load_run(cfg, store)
            if run is not None:
                rows.append(dict(experiment=experiment, **config_columns(cfg), reached=run.reached, epochs=run.epochs))
    return pd.DataFrame(rows)


def accuracy_table(profile: str, store: Store | None = None) -> pd.DataFrame:
    """Long table of trial accuracy per N (1..30) for every stored, non-dropped run."""
    rows = []
    for experiment, configs in profile_experiments(profile).items():
        for cfg in configs:
            payload = (store or Store.default()).load(RUN_KIND, cfg)
            if payload is None or not payload["reached"]:
                continue
            for n, acc in zip(EVAL_COUNTS, payload["accuracy_per_count"].tolist()):
                rows.append(dict(experiment=experiment, **config_columns(cfg), N=n, accuracy=acc))
    return pd.DataFrame(rows)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))
