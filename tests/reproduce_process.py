"""A tiny ``reproduce`` run in a process of its own, for the tests that stop one (``test_cli.py``,
``test_signals.py``): the tiny profile, how to start it, and how to find its processes."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

# A profile of seconds, with every stage: two tiny networks that reach a criterion of 0, and the
# measurements of Figs. 2 and 7 on each with a few pairs.
TINY_PROFILE = """
from dataclasses import replace
from numvars.grids import Profile, figs_2_and_7
from numvars.jobs import DasConfig
from numvars.tasks import Task
from numvars.training import TrainConfig
runs = [TrainConfig(task=Task("single", max_count=6, hold_outs=()), arch=arch, d=8, n_train=64, n_val=16, max_epochs=2, criterion=0.0, seed=s)
        for arch in ("gru", "lstm") for s in range(3)]
settings = dict(n_pairs=(64, 32, 32), max_epochs=3, patience=3)
TINY = Profile("tiny", {"main": runs}, {"main": [c for r in runs for c in figs_2_and_7(r, **settings)],
                                         "untrained": [DasConfig(r, trained=False, **settings) for r in runs[:2]]})
"""


def tiny_profile():
    """The tiny profile itself (:data:`TINY_PROFILE` run here)."""
    namespace = {}
    exec(TINY_PROFILE, namespace)
    return namespace["TINY"]


def start_reproduce(store: Path, out: Path, marker: str) -> subprocess.Popen:
    """``python -m numvars reproduce --workers 2`` on the tiny profile, in a process group of its own,
    every process of it marked with ``marker`` in its environment."""
    script = TINY_PROFILE + textwrap.dedent(f"""
        import sys, numvars.cli as cli
        cli.get_profile = lambda name: TINY
        sys.exit(cli.main(['reproduce', '--store', {str(store)!r}, '--out', {str(out)!r}, '--workers', '2']))
        """)
    env = {**os.environ, "NUMVARS_TEST_MARKER": marker, "NUMVARS_STORE": str(store)}
    # Ctrl-C's default action, even when this test runs where SIGINT is ignored (a background job)
    restore_sigint = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=restore_sigint,
    )


def processes_with(marker: str) -> list[int]:
    """The pids of live processes whose environment holds ``marker`` (zombies have none)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"NUMVARS_TEST_MARKER={marker}".encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:
            pass
    return found
