"""One way to compute results: skip what the store holds, run the rest, save each as it finishes.

:func:`ensure` takes configs (:class:`~numvars.training.TrainConfig` for trained networks,
:class:`~numvars.jobs.DasConfig` for DAS measurements), trains any network a measurement needs
first, and runs the missing jobs (:func:`numvars.jobs.jobs_for`) with one of three executors:

* in this process (``workers=1``, no scheduler);
* ``workers`` local worker processes (one torch thread each: on a 2-core machine two
  single-thread processes are faster than one process with two threads);
* a Dask cluster: ``scheduler="local"`` starts a ``LocalCluster`` of ``workers`` processes,
  ``scheduler="tcp://HOST:PORT"`` sends every job to an existing cluster. The store must then
  be a path every worker sees and can write (shared storage); a worker that cannot write it
  fails with :class:`~numvars.store.StoreNotWritable`.

Each job saves its own results in the worker, so a killed run loses only the jobs that were
running; running it again recomputes nothing that was saved. Ctrl-C cancels pending jobs, ends
the workers and raises :class:`Interrupted` (a ``KeyboardInterrupt``) saying what was saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
import warnings
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from tqdm import tqdm

from numvars.jobs import DAS_KIND, RUN_KIND, Config, Job, jobs_for, kind_of, load_run
from numvars.shipped import restore
from numvars.store import Store


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`ensure`: ``saved`` of ``total`` results of this call are in ``store``."""

    def __init__(self, saved: int, total: int, store: Store):
        super().__init__(f"interrupted: {saved} of {total} results saved in {store.root}")
        self.saved, self.total, self.store = saved, total, store


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

    Args:
        configs: TrainConfigs and/or DasConfigs, in any order; duplicates are fine.
        store: where results live (default: :meth:`Store.default`).
        workers: local worker processes (1: in this process), or the size of a local Dask cluster.
        scheduler: ``None`` (local processes), ``"local"`` (a Dask ``LocalCluster``) or a Dask
            scheduler address ``"tcp://HOST:PORT"``.
        progress: show a progress bar with an ETA (tqdm) per kind of job.
    Raises:
        Interrupted: on Ctrl-C, after the workers have been ended.
    """
    start = time.perf_counter()
    store = store or Store.default()
    store.check_writable()  # here first: every worker writes its own results
    configs = list(dict.fromkeys(configs))
    measurements = [c for c in configs if kind_of(c) == DAS_KIND]
    networks = [c for c in configs if kind_of(c) == RUN_KIND] + [m.run for m in measurements if m.trained]
    restore(networks, store, _epochs_needed(measurements))  # shipped weights, where the repository has them
    computed = _compute(networks, store, workers, scheduler, progress, "training networks", redo=_lacking(measurements, store))
    usable = {run for run in {m.run for m in measurements if m.trained} if _usable(run, store)}
    skipped = [m for m in measurements if m.trained and m.run not in usable]
    if skipped:
        dropped = sorted({str(m.run) for m in skipped})
        warnings.warn(f"{len(dropped)} networks never reached the criterion (dropped); their {len(skipped)} DAS measurements are skipped: {dropped}")
    computed += _compute([m for m in measurements if m not in skipped], store, workers, scheduler, progress, "DAS measurements")
    stored = len(configs) - len(skipped) - len(set(computed) & set(configs))
    return Outcome(len(computed), stored, skipped, time.perf_counter() - start)


def _epochs_needed(measurements: Sequence) -> dict:
    """{network: the saved epochs measured on it} (learning curves)."""
    needed: dict = {}
    for m in measurements:
        if m.trained and m.at_epoch:
            needed.setdefault(m.run, set()).add(m.checkpoint)
    return needed


def _lacking(measurements: Sequence, store: Store) -> list:
    """The stored networks that lack a saved epoch a measurement needs — restored from shipped
    weights, which keep only the analysed and criterion checkpoints: they are trained again."""
    return [run for run, epochs in _epochs_needed(measurements).items()
            if (result := load_run(run, store)) is not None and not epochs <= set(result.checkpoints)]


def _usable(run, store: Store) -> bool:
    result = load_run(run, store)
    return result is not None and result.reached


def _compute(configs: list, store: Store, workers: int, scheduler: str | None, progress: bool, desc: str, redo=()) -> list:
    """Run the jobs for the configs the store lacks (and those of ``redo``); returns those configs
    (now computed)."""
    missing = [c for c in dict.fromkeys(configs) if c in redo or not store.exists(kind_of(c), c, verify=True)]  # a bad file is rebuilt
    if not missing:
        return []
    bar = tqdm(total=len(missing), desc=desc, unit="result", disable=not progress)
    try:
        with _executor(workers, scheduler) as executor:
            for job in executor.run(jobs_for(missing), store):
                bar.update(len(job.configs))
                bar.set_postfix_str(job.label(), refresh=False)
    except KeyboardInterrupt:
        saved = sum(store.exists(kind_of(c), c) for c in missing)  # jobs still running may have finished meanwhile
        raise Interrupted(saved, len(missing), store) from None
    finally:
        bar.close()
    return missing


# ------------------------------------------------------------------------------- executors
def execute(job: Job, store_root: str) -> Job:
    """Run one job where it lands (this process, a worker process or a Dask worker) and save
    its results there: one torch thread, and a clear error if the store is not writable."""
    torch.set_num_threads(1)
    store = Store(store_root)
    store.check_writable()
    job.run(store)
    return job


def _executor(workers: int, scheduler: str | None):
    if scheduler is not None:
        return DaskExecutor(scheduler, workers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return InProcess() if workers == 1 else LocalPool(workers)


class InProcess:
    """Jobs one after the other in this process."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, jobs: Sequence[Job], store: Store) -> Iterator[Job]:
        threads = torch.get_num_threads()
        try:
            for job in jobs:
                yield execute(job, str(store.root))
        finally:
            torch.set_num_threads(threads)


@contextlib.contextmanager
def _sigint_ignored():
    """Start workers inside this: they inherit SIGINT ignored from their first instruction on, so
    Ctrl-C (which a terminal sends to every process of the group) is left to this process,
    which ends them — no tracebacks from workers, even from one still starting up."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _execute_args(args) -> Job:
    return execute(*args)


class LocalPool:
    """``workers`` spawned processes; terminated at once on an error or Ctrl-C."""

    def __init__(self, workers: int):
        self.workers = workers

    def __enter__(self):
        with _sigint_ignored():
            self.pool = multiprocessing.get_context("spawn").Pool(self.workers)
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.pool.close()
        else:
            self.pool.terminate()  # pending jobs dropped, running ones killed (their results were not saved)
        self.pool.join()
        return False

    def run(self, jobs: Sequence[Job], store: Store) -> Iterator[Job]:
        yield from self.pool.imap_unordered(_execute_args, [(job, str(store.root)) for job in jobs], chunksize=1)


class DaskExecutor:
    """Jobs on a Dask cluster: ``"local"`` starts a ``LocalCluster`` of ``workers`` single-thread
    processes; an address (``tcp://HOST:PORT``) connects to a running scheduler."""

    def __init__(self, scheduler: str, workers: int):
        self.scheduler, self.workers = scheduler, workers
        self.cluster = self.client = None
        self.futures = []

    def __enter__(self):
        from distributed import Client

        if self.scheduler == "local":
            self.cluster = _local_cluster(self.workers)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(self.scheduler, timeout="20s")
            except (OSError, ValueError) as error:
                raise ConnectionError(f"cannot reach the Dask scheduler at {self.scheduler!r} ({error}); start one with "
                                      "`dask scheduler` and workers with `dask worker ADDRESS`, or use --scheduler local") from None
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None and self.futures:
            self.client.cancel(self.futures, force=True)
            if self.cluster is not None:  # end busy local workers now, not after the nanny's grace period
                self.cluster.sync(_kill_workers, self.cluster)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False

    def run(self, jobs: Sequence[Job], store: Store) -> Iterator[Job]:
        from distributed import as_completed

        root = str(store.root.resolve())
        self.futures = [self.client.submit(execute, job, root, pure=False, key=f"numvars-{i}-{job.label()}") for i, job in enumerate(jobs)]
        for future in as_completed(self.futures):
            yield future.result()


def _local_cluster(workers: int):
    """A ``LocalCluster`` of single-thread worker processes that leave Ctrl-C to this process
    (they inherit SIGINT ignored), log only errors, and run without the nanny's
    ``MALLOC_TRIM_THRESHOLD_=65536``, which made every job about twice as slow here."""
    import dask
    from distributed import LocalCluster

    with _sigint_ignored(), dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR)


async def _kill_workers(cluster) -> None:
    await asyncio.gather(*(worker.kill(timeout=0.5) for worker in cluster.workers.values()))
