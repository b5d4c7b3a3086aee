"""How long a DAS measurement takes to make its pairs, today's code against another revision's.

    .venv/bin/python benchmarks/pair_speed.py [--before REVISION] [--repeats 5]

Every fit of the paper profile starts from its pair sets: the counterfactual sequences, the
intervention positions, which tokens are scored — 10 000 training, 1 000 validation and 1 000
test pairs, made by running the task's program in Python (:func:`numvars.das.make_pairs`). A
worker keeps the sets it made (``numvars.jobs.pair_set``, 64 sets per worker): the paper profile's
70 kinds of pair set are made about 130 times in all (a simulation of the grids' job order on two
workers, not a measurement), and ``verify`` makes one before it fits anything.

Times the Up-Down ``count`` pairs of each task kind (the grid's settings, ``das_settings``),
median of ``--repeats``, each repeat in a fresh process (nothing cached). With ``--before``,
the same in processes that import ``src/`` of that revision (``git archive``), alternating with
today's code, and checks that both make the same pairs (a hash of every tensor). Run it on a
quiet machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("tokens", "t", "sources", "u", "score", "rereader_correct", "target_n")


def one_repeat() -> dict:
    """Make the pair sets once in this process: ``{"seconds": ..., "hash": ...}``."""
    from numvars.das import make_pairs
    from numvars.grids import das_settings
    from numvars.programs import get_program
    from numvars.tasks import TASK_KINDS, Task

    n_pairs = das_settings("paper")["n_pairs"]
    digest, start = hashlib.sha256(), time.perf_counter()
    for kind in TASK_KINDS:
        program = get_program("up_down", Task(kind))
        for split, n in enumerate(n_pairs):
            pairs = make_pairs(program, "count", n, seed=split)
            for name in FIELDS:
                digest.update(getattr(pairs, name).numpy().tobytes())
    return {"seconds": time.perf_counter() - start, "hash": digest.hexdigest()}


def run_in(src: Path) -> dict:
    """:func:`one_repeat` in a fresh process importing the package from ``src``."""
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, __file__, "--one"], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="a git revision to compare with (its src/, in processes of its own)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a repeat, in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_repeat()))
        return
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"today": ROOT / "src"}
        if args.before:
            archive = subprocess.run(["git", "archive", args.before, "src"], cwd=ROOT, check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
            trees = {args.before: Path(tmp) / "src", **trees}
        results = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, src in trees.items():
                results[name].append(run_in(src))
    seconds = {name: statistics.median(r["seconds"] for r in runs) for name, runs in results.items()}
    hashes = {r["hash"] for runs in results.values() for r in runs}
    for name, value in seconds.items():
        print(
            f"{name:>12s}: {value:6.2f} s for the count pairs of 3 task kinds x (train, val, test), median of {args.repeats}"
        )
    if args.before:
        print(f"speed-up {seconds[args.before] / seconds['today']:.2f}x; the same pairs: {len(hashes) == 1}")


if __name__ == "__main__":
    main()
