""":func:`ensure`: skip what the store holds (restoring shipped networks first), train what a
measurement needs, run the rest with one executor, save each result as it finishes.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import Sequence

from tqdm import tqdm

from numvars.jobs import DAS_KIND, RUN_KIND, Config, jobs_for, kind_of, load_run
from numvars.runner.dask_executor import DaskExecutor
from numvars.runner.local import InProcess, LocalPool
from numvars.runner.stops import Interrupted, WorkersLost, _Lost, check_main_guard, stop_on_sigterm, stop_signal
from numvars.shipped import checkpoints_needed, restore
from numvars.store import Store


@dataclass
class Outcome:
    """What one :func:`ensure` call did."""

    computed: int  # results computed and saved now (networks a measurement needed included)
    stored: int  # of the configs asked for, those that were in the store already
    skipped: list  # measurements skipped because their network was dropped
    seconds: float


def default_workers() -> int:
    """Up to two worker processes (the machines this book targets have two cores)."""
    return max(1, min(2, os.cpu_count() or 1))


def ensure(
    configs: Sequence[Config],
    store: Store | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
) -> Outcome:
    """Compute every config the store lacks (networks before the measurements that need them).

    In a script, call it with ``workers > 1`` or ``scheduler="local"`` under
    ``if __name__ == "__main__":`` (worker processes import the script again).

    Args:
        configs: TrainConfigs and/or DasConfigs, in any order; duplicates are fine.
        store: where results live (default: :meth:`Store.default`).
        workers: local worker processes (1: in this process), or the size of a local Dask cluster.
        scheduler: ``None`` (local processes), ``"local"`` (a Dask ``LocalCluster``) or a Dask
            scheduler address ``"tcp://HOST:PORT"``.
        progress: show a progress bar with an ETA (tqdm) per kind of job.
    Raises:
        Interrupted: on Ctrl-C or SIGTERM, after the workers have been ended.
        WorkersLost: when the workers cannot finish the jobs (see the module docstring).
        MainGuardError: when worker processes cannot be started from here.
    """
    start = time.perf_counter()
    if workers > 1 or scheduler == "local":
        check_main_guard()
    store = store or Store.default()
    store.check_writable()  # here first: every worker writes its own results
    configs = list(dict.fromkeys(configs))
    measurements = [c for c in configs if kind_of(c) == DAS_KIND]
    networks = [c for c in configs if kind_of(c) == RUN_KIND] + [m.run for m in measurements if m.trained]
    restore(networks, store, checkpoints_needed(measurements))  # shipped weights, where the repository has them
    with stop_on_sigterm():
        computed = _compute(
            networks, store, workers, scheduler, progress, "training networks", redo=_lacking(measurements, store)
        )
        usable = {run for run in {m.run for m in measurements if m.trained} if _usable(run, store)}
        skipped = [m for m in measurements if m.trained and m.run not in usable]
        if skipped:
            dropped = sorted({str(m.run) for m in skipped})
            warnings.warn(
                f"{len(dropped)} networks never reached the criterion (dropped); their {len(skipped)} DAS measurements are skipped: {dropped}"
            )
        computed += _compute(
            [m for m in measurements if m not in skipped], store, workers, scheduler, progress, "DAS measurements"
        )
    stored = len(configs) - len(skipped) - len(set(computed) & set(configs))
    return Outcome(len(computed), stored, skipped, time.perf_counter() - start)


def _lacking(measurements: Sequence, store: Store) -> list:
    """The stored networks that lack a checkpoint a measurement needs — restored from shipped
    weights, which keep only the checkpoints their profile measures: they are trained again."""
    return [
        run
        for run, checkpoints in checkpoints_needed(measurements).items()
        if (result := load_run(run, store)) is not None and not result.holds(checkpoints)
    ]


def _usable(run, store: Store) -> bool:
    result = load_run(run, store)
    return result is not None and result.reached


def _compute(
    configs: list, store: Store, workers: int, scheduler: str | None, progress: bool, desc: str, redo=()
) -> list:
    """Run the jobs for the configs the store lacks (and those of ``redo``); returns those configs
    (now computed)."""
    missing = [
        c for c in dict.fromkeys(configs) if c in redo or not store.exists(kind_of(c), c, verify=True)
    ]  # a bad file is rebuilt
    if not missing:
        return []
    saved = lambda: sum(store.exists(kind_of(c), c) for c in missing)  # noqa: E731 (jobs still running may have finished meanwhile)
    bar = tqdm(total=len(missing), desc=desc, unit="result", disable=not progress)
    try:
        with _executor(workers, scheduler) as executor:
            for job in executor.run(jobs_for(missing), store):
                bar.update(len(job.configs))
                bar.set_postfix_str(job.label(), refresh=False)
    except KeyboardInterrupt as stop:
        raise Interrupted(saved(), len(missing), store, stop_signal(stop)) from None
    except _Lost as lost:
        raise WorkersLost(str(lost), saved(), len(missing), store) from None
    finally:
        bar.close()
    return missing


def _executor(workers: int, scheduler: str | None):
    if scheduler is not None:
        return DaskExecutor(scheduler, workers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return InProcess() if workers == 1 else LocalPool(workers)
