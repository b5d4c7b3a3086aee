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

The package: :mod:`~numvars.runner.compute` (:func:`ensure`), :mod:`~numvars.runner.local`
(in-process and local-worker executors), :mod:`~numvars.runner.dask_executor`,
:mod:`~numvars.runner.stops` (how a run stops, the main-module guard); every public name is
re-exported here.
"""

from __future__ import annotations

from numvars.runner.compute import Outcome, default_workers, ensure
from numvars.runner.dask_executor import DaskExecutor
from numvars.runner.local import InProcess, LocalPool, execute
from numvars.runner.stops import (
    Interrupted,
    MainGuardError,
    Stopped,
    WorkersLost,
    check_main_guard,
    stop_exit_code,
    stop_on_sigterm,
    stop_reason,
    stop_signal,
)

# the errors a user sees (a traceback's last line) are named where they are imported from
for _error in (Interrupted, MainGuardError, Stopped, WorkersLost):
    _error.__module__ = __name__

__all__ = [
    "Stopped",
    "stop_signal",
    "stop_reason",
    "stop_exit_code",
    "Interrupted",
    "WorkersLost",
    "MainGuardError",
    "stop_on_sigterm",
    "check_main_guard",
    "execute",
    "InProcess",
    "LocalPool",
    "DaskExecutor",
    "Outcome",
    "default_workers",
    "ensure",
]
