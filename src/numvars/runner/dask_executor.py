"""Running jobs on a Dask cluster (:class:`DaskExecutor`): a ``LocalCluster`` or an existing
scheduler; a lost worker's job runs again, a job that keeps killing workers ends the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Iterator, Sequence

from numvars.jobs import Job
from numvars.runner.local import _sigint_ignored, execute
from numvars.runner.stops import _Lost, _stops_held
from numvars.store import Store


class DaskExecutor:
    """Jobs on a Dask cluster: ``"local"`` starts a ``LocalCluster`` of ``workers`` single-thread
    processes; an address (``tcp://HOST:PORT``) connects to a running scheduler.

    A worker lost mid-job is Dask's to handle: the scheduler runs the job again on another worker
    (a ``LocalCluster`` restarts the lost one). A job that has lost three workers (Dask's
    ``distributed.scheduler.allowed-failures``), or a cluster left without any worker for
    :attr:`no_workers_timeout` seconds, ends the run with :class:`_Lost`."""

    no_workers_timeout = 60.0  # seconds without a worker before the run gives up
    poll = 1.0  # seconds between checks of the cluster while waiting for results

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
                raise ConnectionError(
                    f"cannot reach the Dask scheduler at {self.scheduler!r} ({error}); start one with "
                    "`dask scheduler` and workers with `dask worker ADDRESS`, or use --scheduler local"
                ) from None
        return self

    def __exit__(self, exc_type, *exc):
        with _stops_held() if exc_type is not None else contextlib.nullcontext():
            if exc_type is not None and self.futures:
                self.client.cancel(self.futures, force=True)
                if self.cluster is not None:  # end busy local workers now, not after the nanny's grace period
                    self.cluster.sync(_kill_workers, self.cluster)
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        return False

    def run(self, jobs: Sequence[Job], store: Store) -> Iterator[Job]:
        from distributed import wait
        from distributed.scheduler import KilledWorker

        root = str(store.root.resolve())
        self.futures = [
            self.client.submit(execute, job, root, pure=False, key=f"numvars-{i}-{job.label()}")
            for i, job in enumerate(jobs)
        ]
        pending, alone_since = set(self.futures), None
        while pending:
            try:
                done, pending = wait(pending, timeout=self.poll, return_when="FIRST_COMPLETED")
            except TimeoutError:
                alone_since = self._check_workers(alone_since)
                continue
            for future in done:
                try:
                    yield future.result()
                except KilledWorker as error:
                    raise _Lost(_killed_worker_message(error)) from None

    def _check_workers(self, alone_since: float | None) -> float | None:
        """When the cluster has had no worker since ``alone_since`` for longer than
        :attr:`no_workers_timeout`, raise :class:`_Lost`; returns the new ``alone_since``."""
        if self.client.scheduler_info(n_workers=-1).get("workers"):
            return None
        now = time.monotonic()
        if alone_since is not None and now - alone_since > self.no_workers_timeout:
            raise _Lost(
                f"the Dask cluster at {self.client.scheduler.address} has had no worker for {self.no_workers_timeout:.0f} s"
            )
        return alone_since or now


def _killed_worker_message(error) -> str:
    """Why Dask gave up a job (a ``KilledWorker``: args task, last worker, allowed failures)."""
    task, last, allowed = (list(error.args) + [None, None, None])[:3]
    died = (
        "Dask workers died"
        if not isinstance(allowed, int)
        else "a Dask worker died"
        if allowed == 0
        else f"{allowed + 1} Dask workers died"
    )
    return (
        f"{died} running the job {task!r} (the last: {getattr(last, 'address', last)}): it may need more memory than "
        "a worker has (Dask gives a job up after distributed.scheduler.allowed-failures lost workers)"
    )


def _local_cluster(workers: int):
    """A ``LocalCluster`` of single-thread worker processes that leave Ctrl-C to this process
    (they inherit SIGINT ignored), log only errors, and run without the nanny's
    ``MALLOC_TRIM_THRESHOLD_=65536``, which made every job about twice as slow here."""
    import dask
    from distributed import LocalCluster

    with _sigint_ignored(), dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )


async def _kill_workers(cluster) -> None:
    await asyncio.gather(*(worker.kill(timeout=0.5) for worker in cluster.workers.values()))
