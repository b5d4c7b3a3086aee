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
running; running it again recomputes nothing that was saved. How a run stops:

* Ctrl-C (SIGINT) or SIGTERM to this process cancels pending jobs, ends the workers and raises
  :class:`Interrupted` (a ``KeyboardInterrupt``) saying what was saved; its ``exit_code`` is
  130 or 143. (SIGTERM is handled so while :func:`ensure` runs, unless the program installed
  its own handler; the command line handles it for the whole command.)
* A local worker ends itself within a second or so when this process dies without a word
  (SIGKILL, the OOM killer): a parent-death signal on Linux, a watchdog thread elsewhere. A
  store write in progress is removed, never left half-written.
* A local worker that dies mid-job, or a Dask cluster that cannot run a job (a job whose worker
  died three times, no worker left for :attr:`DaskExecutor.no_workers_timeout` seconds), ends
  the call with :class:`WorkersLost`, saying what was saved. A Dask worker lost once is not an
  error: its job runs again on another worker (a ``LocalCluster`` restarts it).
* Local workers are spawned processes that import the program's main module again: a script
  must call :func:`ensure` with ``workers > 1`` under ``if __name__ == "__main__":``, else
  :class:`MainGuardError` says so.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import tokenize
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from tqdm import tqdm

from numvars import store as store_module
from numvars.jobs import DAS_KIND, RUN_KIND, Config, Job, jobs_for, kind_of, load_run
from numvars.shipped import restore
from numvars.store import Store


# ----------------------------------------------------------------------------------- stops
class Stopped(KeyboardInterrupt):
    """SIGTERM arrived (see :func:`stop_on_sigterm`): a stop like Ctrl-C, which raises a plain
    ``KeyboardInterrupt``; ``signum`` says which signal."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def stop_signal(stop: BaseException) -> int:
    """The signal behind a ``KeyboardInterrupt``: its ``signum``, else SIGINT (Ctrl-C)."""
    return int(getattr(stop, "signum", signal.SIGINT))


def stop_reason(stop: BaseException) -> str:
    """``"interrupted"`` for Ctrl-C, ``"stopped by SIGTERM"`` for SIGTERM: how a stop message starts."""
    signum = stop_signal(stop)
    return "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"


def stop_exit_code(stop: BaseException) -> int:
    """The shell's code for a stop: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + stop_signal(stop)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during :func:`ensure`: ``saved`` of ``total`` results of this call are in ``store``."""

    def __init__(self, saved: int, total: int, store: Store, signum: int = signal.SIGINT):
        self.saved, self.total, self.store, self.signum = saved, total, store, signum
        super().__init__(f"{self.reason}: {saved} of {total} results saved in {store.root}")

    @property
    def reason(self) -> str:
        return stop_reason(self)

    @property
    def exit_code(self) -> int:
        return stop_exit_code(self)


class WorkersLost(RuntimeError):
    """The workers could not finish the jobs (a worker died mid-job, no Dask worker left);
    ``saved`` of ``total`` results of this call are in ``store``."""

    def __init__(self, why: str, saved: int, total: int, store: Store):
        super().__init__(
            f"{why}; {saved} of the {total} results this stage was computing are saved in {store.root}: "
            "run the same command again to resume (nothing saved is recomputed)"
        )
        self.saved, self.total, self.store = saved, total, store


class MainGuardError(RuntimeError):
    """:func:`ensure` with worker processes called where Python cannot start them: at the top
    level of a script, which every spawned worker imports again."""


class _Lost(Exception):
    """An executor's workers could not finish; :func:`_compute` adds what was saved."""


def _raise_stopped(signum, frame):
    raise Stopped(signum)


@contextlib.contextmanager
def stop_on_sigterm():
    """Within this block SIGTERM raises :class:`Stopped` (a ``KeyboardInterrupt``) in the main
    thread, so it stops a run exactly as Ctrl-C does. Nothing changes off the main thread or
    where the program handles SIGTERM itself."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def _stops_held():
    """Ignore Ctrl-C and SIGTERM while the workers are being ended (a second stop must not cut
    the clean-up short); the first stop is already being handled."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


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
    restore(networks, store, _epochs_needed(measurements))  # shipped weights, where the repository has them
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
    return [
        run
        for run, epochs in _epochs_needed(measurements).items()
        if (result := load_run(run, store)) is not None and not epochs <= set(result.checkpoints)
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


# ------------------------------------------------------------------- the main-module guard
def check_main_guard() -> None:
    """Raise :class:`MainGuardError` where worker processes cannot be started: while a spawned
    process imports the main module (Python's "bootstrapping phase"), or — found before any
    worker starts — from top-level code of a script outside ``if __name__ == "__main__":``."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise MainGuardError(_guard_message("this process is a worker that is importing the main module again"))
    site = _unguarded_call_site()
    if site is not None:
        raise MainGuardError(_guard_message(f"it is called from {site[0]}, line {site[1]}, outside that block"))


def _guard_message(why: str) -> str:
    return (
        "numvars.runner.ensure with worker processes (workers > 1 or scheduler='local') must run under "
        f'`if __name__ == "__main__":` in a script, because every worker imports the script again; {why}. '
        "Put the call (or the code that leads to it) in that block, or pass workers=1"
    )


def _unguarded_call_site() -> tuple[str, int] | None:
    """(file, line) of the top-level statement of the main script that led here, if that statement
    is not inside an ``if __name__ == "__main__":`` block; ``None`` if it is, or if the main module is
    no script that spawned workers import again (an interactive session, ``python -c``, a notebook)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    frame = sys._getframe(1)
    while frame is not None and not (
        frame.f_code.co_name == "<module>" and frame.f_globals is vars(main) and frame.f_code.co_filename == path
    ):
        frame = frame.f_back
    if frame is None:
        return None
    try:
        with tokenize.open(path) as f:
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    line = frame.f_lineno
    guarded = any(
        isinstance(node, ast.If)
        and _is_main_test(node.test)
        and node.body[0].lineno <= line <= node.body[-1].end_lineno
        for node in ast.walk(tree)
    )
    return None if guarded else (path, line)


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = {ast.dump(test.left), ast.dump(test.comparators[0])}
    return sides == {ast.dump(ast.Name("__name__", ast.Load())), ast.dump(ast.Constant("__main__"))}


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


# --------------------------------------------------------------- local workers end with us
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


# ------------------------------------------------------------------------------------ Dask
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
