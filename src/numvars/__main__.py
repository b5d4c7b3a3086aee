"""Command line: ``python -m numvars train|das|results --profile quick|paper``.

* ``train`` trains every model of a profile that the store lacks (resumable: finished
  conditions are kept), with progress bars.
* ``das`` runs the DAS grid of paper Figs. 2 and 7 (training any network it needs first;
  resumable: finished measurements are kept) and writes ``results/<profile>/das.csv`` and
  ``das_failures.csv``.
* ``results`` writes the training tables the book shows under ``results/<profile>/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from numvars.das_experiments import all_das_configs, das_experiments, das_table, ensure_das, failure_table
from numvars.experiments import PROFILES, RUN_KIND, accuracy_table, all_configs, default_workers, ensure_trained, profile_experiments, runs_table
from numvars.store import Store

RESULTS_DIR = Path(__file__).resolve().parents[2] / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m numvars", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("train", "train the models of a profile"),
        ("das", "run the DAS grid of a profile and write results/<profile>/das.csv"),
        ("results", "write results/<profile>/ training tables"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--profile", choices=PROFILES, default="quick")
        p.add_argument("--store", type=Path, default=None, help="store folder (default: $NUMVARS_STORE or ./store)")
    for name in ("train", "das"):
        sub.choices[name].add_argument("--workers", type=int, default=default_workers(), help="worker processes (default: up to 2)")
        sub.choices[name].add_argument("--experiment", action="append", default=None, help="only this experiment of the profile (repeatable)")
    for name in ("das", "results"):
        sub.choices[name].add_argument("--out", type=Path, default=None, help="folder for the tables (default: results/<profile>)")
    args = parser.parse_args(argv)
    store = Store(args.store) if args.store else Store.default()

    if args.command == "train":
        experiments = profile_experiments(args.profile)
        unknown = set(args.experiment or ()) - set(experiments)
        if unknown:
            parser.error(f"unknown experiment(s) {sorted(unknown)} for profile {args.profile!r}; allowed: {sorted(experiments)}")
        names = args.experiment or list(experiments)
        configs = list(dict.fromkeys(c for name in names for c in experiments[name]))
        start = time.perf_counter()
        ensure_trained(configs, store, workers=args.workers)
        print(f"{len(configs)} runs of profile {args.profile!r} in the store ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
        return 0

    out = args.out or RESULTS_DIR / args.profile
    if args.command == "das":
        grid = das_experiments(args.profile)
        unknown = set(args.experiment or ()) - set(grid)
        if unknown:
            parser.error(f"unknown experiment(s) {sorted(unknown)} for DAS profile {args.profile!r}; allowed: {sorted(grid)}")
        configs = all_das_configs(args.profile, args.experiment)
        start = time.perf_counter()
        ensure_trained(list(dict.fromkeys(c.run for c in configs if c.trained)), store, workers=args.workers)
        ensure_das(configs, store, workers=args.workers)
        out.mkdir(parents=True, exist_ok=True)
        das_table(grid, store).round(4).to_csv(out / "das.csv", index=False)
        failure_table(grid, store).round(4).to_csv(out / "das_failures.csv", index=False)
        print(f"{len(configs)} DAS measurements of profile {args.profile!r} in the store ({time.perf_counter() - start:.0f} s); "
              f"wrote {out}/das.csv and das_failures.csv", file=sys.stderr)
        return 0
    missing = [c for c in all_configs(args.profile) if not store.exists(RUN_KIND, c)]
    if missing:
        print(f"{len(missing)} runs of profile {args.profile!r} are not trained: run `python -m numvars train --profile {args.profile}` first", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    runs = runs_table(args.profile, store)
    runs.to_csv(out / "runs.csv", index=False)
    accuracy_table(args.profile, store).round(4).to_csv(out / "accuracy_per_count.csv", index=False)
    summary = {"profile": args.profile, "runs": len(runs), "dropped": int((~runs["reached"]).sum())}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out}/runs.csv, accuracy_per_count.csv, summary.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
