"""Running jobs here: in this process (:class:`InProcess`) or in local worker processes
(:class:`LocalPool`) that end with their parent (a parent-death signal on Linux, a watchdog
thread elsewhere).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator, Sequence

import torch

from numvars import store as store_module
from numvars.jobs import Job
from numvars.runner.stops import _Lost, _stops_held
from numvars.store import Store


def execute(job: Job, store_root: str) -> Job:
    """Run one job where it lands (this process, a worker process or a Dask worker) and save
    its results there: one torch thread, and a clear error if the store is not writable."""
    torch.set_num_threads(1)
    store = Store(store_root)
    store.check_writable()
    job.run(store)
    return job


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


class LocalPool:
    """``workers`` spawned processes (a ``ProcessPoolExecutor``), started from this thread so
    that they end with this process (:func:`_worker_start`); ended at once on an error or a
    stop. A worker that dies mid-job (killed, out of memory) ends the run with :class:`_Lost`
    instead of leaving it waiting for a result that never comes."""

    def __init__(self, workers: int):
        self.workers = workers
        self.processes = {}  # pid -> Process, every worker started (the executor drops none of them)

    def __enter__(self):
        self.pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            with _stops_held():
                self._end_workers()
        self.pool.shutdown(wait=True, cancel_futures=True)
        return False

    def run(self, jobs: Sequence[Job], store: Store) -> Iterator[Job]:
        with _sigint_ignored():  # the executor starts its workers as jobs are submitted
            pending = {self.pool.submit(execute, job, str(store.root)) for job in jobs}
        self.processes.update(self.pool._processes)
        while pending:
            done, pending = wait_futures(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    yield future.result()
                except BrokenProcessPool:
                    raise _Lost(self._death()) from None

    def _death(self) -> str:
        """What ended a worker, from the exit codes of the workers."""
        time.sleep(0.1)  # the executor ends the other workers; let their codes settle
        codes = {p.exitcode for p in self.processes.values()} - {None, 0, _WORKER_STOPPED}
        if not codes:
            return "a worker process ended unexpectedly"
        code = min(codes)
        if code > 0:
            return f"a worker process ended unexpectedly with exit code {code}"
        hint = " (the out-of-memory killer sends SIGKILL)" if code == -signal.SIGKILL else ""
        return f"a worker process was killed by {signal.Signals(-code).name} mid-job{hint}"

    def _end_workers(self) -> None:
        """SIGTERM to every worker (each removes a store write in progress, then exits), SIGKILL
        to any still alive a few seconds later."""
        processes = [*self.processes.values(), *self.pool._processes.values()]
        for p in processes:
            with contextlib.suppress(OSError, ValueError):
                p.terminate()
        deadline = time.monotonic() + _WORKER_GRACE
        for p in processes:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.exitcode is None:
                p.kill()


_WORKER_STOPPED = 128 + signal.SIGTERM  # a worker's exit code after SIGTERM


_WORKER_GRACE = 5.0  # seconds a worker gets to end after SIGTERM


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _worker_start(parent: int) -> None:
    """The first thing a local worker does: SIGTERM ends it at once, a store write in progress
    removed (no half-written file, no temporary file left); and it ends when ``parent`` does."""
    signal.signal(signal.SIGTERM, _worker_stop)
    _end_with_parent(parent)


def _worker_stop(signum, frame):
    """SIGTERM in a worker: remove the store writes in progress and exit, without unwinding the
    job (the executor's worker loop would catch a ``SystemExit`` and carry on)."""
    store_module.remove_partial_writes()
    os._exit(128 + signum)


def _end_with_parent(parent: int, interval: float = 0.5) -> None:
    """End this process with SIGTERM when ``parent`` ends: the kernel's parent-death signal on
    Linux, else a daemon thread that checks the parent every ``interval`` seconds."""
    if not _set_parent_death_signal(signal.SIGTERM):
        threading.Thread(
            target=_watch_parent, args=(parent, interval), name="numvars-parent-watch", daemon=True
        ).start()
    elif os.getppid() != parent:  # the parent ended before the signal was set
        os.kill(os.getpid(), signal.SIGTERM)


def _set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent ends (``prctl(PR_SET_PDEATHSIG)``);
    ``False`` where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int, interval: float) -> None:
    while os.getppid() == parent:  # an orphan is adopted by init or a subreaper: its parent pid changes
        time.sleep(interval)
    os.kill(os.getpid(), signal.SIGTERM)
