"""How a run stops (issue 27): each stop signal sent to a small ``reproduce`` with two local
workers, a script that calls the API without a main guard, workers whose parent dies, and
workers lost mid-job (local pool and Dask).

Each signal test starts ``reproduce --workers 2`` on the tiny profile of ``reproduce_process.py`` in a
process group of its own, waits until measurements are being saved, sends the signal and checks:
the exit code; one line of output (besides the progress bars); no process of the run alive 10 s
later (every process carries a marker in its environment, found through /proc); no temporary or
broken file in the store; a resume that recomputes nothing saved; tables equal to those of a run
that was never stopped.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import torch
from reproduce_process import processes_with, start_reproduce, tiny_profile

from numvars import runner
from numvars.cli import reproduce
from numvars.runner import DaskExecutor, LocalPool, MainGuardError, check_main_guard
from numvars.runner.stops import _Lost
from numvars.store import Store

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the run's processes")

PROGRESS = ("training networks", "DAS measurements")  # the descriptions of the runner's progress bars
RESUME_HINT = "run the same command again to resume (nothing saved is recomputed)"
TABLES = ("runs.csv", "accuracy_per_count.csv", "das.csv", "das_failures.csv")


def _gone_within(marker: str, seconds: float) -> list[int]:
    """Wait up to ``seconds`` for every process marked ``marker`` to end; returns those left."""
    deadline = time.monotonic() + seconds
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _messages(err: str) -> list[str]:
    """What a run printed on stderr besides its progress bars."""
    lines = (part.strip() for line in err.splitlines() for part in line.split("\r"))
    return [line for line in lines if line and not line.startswith(PROGRESS)]


def _tables(out: Path) -> dict:
    return {name: pd.read_csv(out / name).drop(columns=["seconds"], errors="ignore") for name in TABLES}


@pytest.fixture
def marker():
    """A fresh marker for a run's processes; any of them still alive after the test is killed."""
    marker = uuid.uuid4().hex
    yield marker
    for pid in processes_with(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The tables of the tiny profile computed without a stop (in this process)."""
    root = tmp_path_factory.mktemp("reference")
    reproduce(tiny_profile(), Store(root / "store"), root / "out")
    return _tables(root / "out")


def _send(how: str, pid: int) -> None:
    if how == "SIGINT to the group":  # Ctrl-C in a terminal: the whole foreground process group
        os.killpg(pid, signal.SIGINT)
    else:
        os.kill(pid, getattr(signal, how.split()[0]))


# how the signal is sent -> (exit code, how the one line starts: None for no line)
STOPS = {
    "SIGINT to the group": (130, "interrupted: "),
    "SIGINT to main": (130, "interrupted: "),
    "SIGTERM to main": (143, "stopped by SIGTERM: "),
    "SIGKILL to main": (-signal.SIGKILL, None),
}


@pytest.mark.parametrize("how", STOPS)
def test_a_stopped_reproduce_ends_every_process_and_resumes(how, tmp_path, reference, marker):
    store, out = tmp_path / "store", tmp_path / "out"
    run = start_reproduce(store, out, marker)
    deadline = time.monotonic() + 120
    while not list((store / "das").glob("*.pt")) and time.monotonic() < deadline:  # measurements are being saved
        assert run.poll() is None, run.stderr.read()
        time.sleep(0.05)
    workers = [pid for pid in processes_with(marker) if pid != run.pid]
    assert len(workers) >= 2, "the run should have its worker processes now"
    _send(how, run.pid)
    try:
        _, err = run.communicate(timeout=30)  # returns once every process holding its stderr has ended
    except subprocess.TimeoutExpired:
        pytest.fail(f"processes of the run still hold its stderr 30 s after {how}")

    code, line = STOPS[how]
    assert run.returncode == code, err
    assert "Traceback" not in err, err
    messages = _messages(err)
    if line is None:  # nothing can speak for a killed process; the workers end without a word
        assert not [m for m in messages if "leaked" not in m and "warnings.warn" not in m], (
            messages
        )  # but Python's resource tracker
    else:
        assert len(messages) == 1 and messages[0].startswith(line) and messages[0].endswith(RESUME_HINT), messages
    assert _gone_within(marker, 10) == [], f"processes of the run left behind after {how}"
    assert not [p for p in store.rglob("*") if p.name.endswith(".tmp")], "a store write left its temporary file"
    for path in store.rglob("*.pt"):  # every stored file whole
        assert torch.load(path, weights_only=True)["header"]["format"] == "numvars.store"

    saved = {p: p.stat().st_mtime_ns for p in store.rglob("*.pt")}
    assert saved and not (out / "manifest.json").exists()
    manifest = reproduce(tiny_profile(), Store(store), out)  # the resume (what the same command runs, in this process)
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in saved.items()), "a saved result was recomputed"
    assert sum(stage["already_stored"] for stage in manifest["stages"].values() if "already_stored" in stage) >= len(
        saved
    )
    assert not list(store.rglob("*.bad*")), "a stored file was broken"
    for name, table in reference.items():
        pd.testing.assert_frame_equal(_tables(out)[name], table, obj=name)
    assert json.loads((out / "manifest.json").read_text())["profile"] == "tiny"


# ------------------------------------------------------------------------------------ guard
SCRIPT = """
from numvars.runner import ensure
from numvars.store import Store
from numvars.tasks import Task
from numvars.training import TrainConfig

configs = [TrainConfig(task=Task("single", max_count=6, hold_outs=()), arch="gru", d=8, n_train=64, n_val=16, max_epochs=2,
                       criterion=0.0, seed=seed) for seed in (0, 1)]
{call}
"""
CALL = "ensure(configs, Store({store!r}), workers=2, progress=False)"


def _script(tmp_path: Path, call: str) -> subprocess.CompletedProcess:
    path = tmp_path / "script.py"
    path.write_text(SCRIPT.format(call=call.format(store=str(tmp_path / "store"))))
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_a_script_without_a_main_guard_gets_one_clear_error(tmp_path):
    done = _script(tmp_path, CALL)
    assert done.returncode == 1
    assert done.stderr.count("Traceback") == 1 and "bootstrapping phase" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("numvars.runner.MainGuardError: ") and 'if __name__ == "__main__":' in last
    assert f"{tmp_path / 'script.py'}, line 9" in last  # the line of the call
    assert not (tmp_path / "store" / "run").exists()  # no worker was started

    guarded = _script(tmp_path, 'if __name__ == "__main__":\n    ' + CALL)
    assert guarded.returncode == 0, guarded.stderr
    assert len(list((tmp_path / "store" / "run").glob("*.pt"))) == 2


def test_a_worker_importing_the_main_module_refuses_to_start_workers(monkeypatch):
    """What a worker does if the check in the main process was inconclusive (Python's own flag)."""
    import multiprocessing

    check_main_guard()  # pytest's main module is guarded
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    with pytest.raises(MainGuardError, match='if __name__ == "__main__":'):
        check_main_guard()


# ------------------------------------------------------------------ workers end with parent
ORPHAN = """
import os, signal, sys, time
from numvars import store
from numvars.runner import local
if sys.argv[1] == "watchdog":
    local._set_parent_death_signal = lambda signum: False
partial = store.Store(sys.argv[2]).root / ".half-written.tmp"
partial.write_bytes(b"half")
store._PARTIAL.add(partial)  # a store write in progress
local._worker_start(os.getppid())
print("ready", flush=True)
time.sleep(20)
"""


@pytest.mark.parametrize("means", ["parent-death signal", "watchdog"])
def test_a_worker_ends_itself_when_its_parent_is_killed(means, tmp_path):
    # a parent that starts a worker, then waits; the worker reports ready on the shared stdout
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            f"subprocess.Popen([sys.executable, '-c', {ORPHAN!r}, {means.split()[0]!r}, {str(tmp_path)!r}]); "
            "time.sleep(20)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout.readline() == "ready\n"
    worker = [int(p.name) for p in Path("/proc").glob("[0-9]*") if _parent_of(p) == parent.pid]
    assert len(worker) == 1
    parent.kill()
    start = time.monotonic()
    parent.wait()
    assert parent.stdout.read() == ""  # EOF: the worker, which shared the pipe, has ended
    ended = lambda: not Path(f"/proc/{worker[0]}").exists() or _state(worker[0]) == "Z"  # noqa: E731
    while not ended() and time.monotonic() - start < 3:  # EOF came as it closed its files: let it finish exiting
        time.sleep(0.05)
    assert ended() and time.monotonic() - start < 3
    assert not (tmp_path / ".half-written.tmp").exists()


def _parent_of(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


# ------------------------------------------------------------------------- lost workers
class KillsItsWorker:
    """A job that kills the process it runs in (as the OOM killer would) the first ``times`` times
    it runs, then finishes; ``marks`` counts the runs."""

    def __init__(self, marks: Path, times: int):
        self.marks, self.times, self.configs = marks, times, [object()]

    def label(self) -> str:
        return "kills its worker"

    def run(self, store) -> None:
        self.marks.mkdir(exist_ok=True)
        runs = len(list(self.marks.iterdir()))
        (self.marks / str(runs)).touch()
        if runs < self.times:
            os.kill(os.getpid(), signal.SIGKILL)


def test_a_local_worker_killed_mid_job_ends_the_run_with_a_clear_reason(tmp_path):
    with pytest.raises(
        _Lost, match=r"a worker process was killed by SIGKILL mid-job \(the out-of-memory killer sends SIGKILL\)"
    ):
        with LocalPool(2) as pool:
            list(pool.run([KillsItsWorker(tmp_path / "marks", 1)], Store(tmp_path / "store")))
    assert all(p.exitcode is not None for p in pool.processes.values())


@pytest.fixture
def dask_config():
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):  # the first lost worker fails the job
        yield


def test_a_lost_dask_worker_is_replaced_and_its_job_runs_again(tmp_path):
    with DaskExecutor("local", 2) as executor:
        done = list(executor.run([KillsItsWorker(tmp_path / "marks", 1)], Store(tmp_path / "store")))
    assert len(done) == 1 and len(list((tmp_path / "marks").iterdir())) == 2  # killed once, then run to the end


def test_a_dask_job_that_keeps_killing_workers_stops_the_run(tmp_path, dask_config):
    with pytest.raises(
        _Lost, match=r"a Dask worker died running the job 'numvars-0-kills its worker' \(the last: tcp://"
    ):
        with DaskExecutor("local", 1) as executor:
            list(executor.run([KillsItsWorker(tmp_path / "marks", 5)], Store(tmp_path / "store")))


def test_a_dask_cluster_without_workers_stops_the_run(tmp_path, monkeypatch):
    from distributed import LocalCluster

    monkeypatch.setattr(DaskExecutor, "no_workers_timeout", 1.0)
    monkeypatch.setattr(DaskExecutor, "poll", 0.2)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster:
        start = time.monotonic()
        with pytest.raises(_Lost, match=r"has had no worker for 1 s"):
            with DaskExecutor(cluster.scheduler_address, 1) as executor:
                list(executor.run([KillsItsWorker(tmp_path / "marks", 0)], Store(tmp_path / "store")))
        assert time.monotonic() - start < 10


def test_stops_are_reported_with_the_signal_and_its_exit_code(tmp_path):
    stop = runner.Interrupted(3, 5, Store(tmp_path), signal.SIGTERM)
    assert (stop.reason, stop.exit_code, stop.saved) == ("stopped by SIGTERM", 143, 3)
    assert (runner.stop_reason(KeyboardInterrupt()), runner.stop_exit_code(KeyboardInterrupt())) == ("interrupted", 130)
