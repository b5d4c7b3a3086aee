"""Command line: ``python -m numvars train|results --profile quick|paper``.

* ``train`` trains every model of a profile that the store lacks (resumable: finished
  conditions are kept), with progress bars.
* ``results`` writes the small tables the book shows under ``results/<profile>/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from numvars.experiments import PROFILES, RUN_KIND, accuracy_table, all_configs, default_workers, ensure_trained, profile_experiments, runs_table
from numvars.store import Store

RESULTS_DIR = Path(__file__).resolve().parents[2] / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m numvars", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("train", "train the models of a profile"), ("results", "write results/<profile>/ tables")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--profile", choices=PROFILES, default="quick")
        p.add_argument("--store", type=Path, default=None, help="store folder (default: $NUMVARS_STORE or ./store)")
    sub.choices["train"].add_argument("--workers", type=int, default=default_workers(), help="worker processes (default: up to 2)")
    sub.choices["train"].add_argument(
        "--experiment", action="append", default=None, help="only this experiment of the profile (repeatable)"
    )
    sub.choices["results"].add_argument("--out", type=Path, default=None, help="folder for the tables (default: results/<profile>)")
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
