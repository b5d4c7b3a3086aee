"""Command line: ``python -m numvars reproduce|train|das|results|verify --profile quick|paper``.

* ``reproduce`` — everything, in dependency order: train the profile's networks, run its DAS
  grid, write its tables under ``results/<profile>/`` and ``manifest.json`` (code version,
  package versions, machine, wall-clock per stage).
* ``train`` / ``das`` / ``results`` — one stage each (``das`` trains any network it needs;
  ``results`` also writes the trained networks' weights under ``results/<profile>/networks``).
* ``verify CELL`` — measure one Fig. 2/7 cell (e.g. ``gru/multi/count``) again from the shipped
  networks and compare it with the committed table (:mod:`numvars.verify`); exit code 1 if it
  differs.

Every stage skips what the store holds, so a command killed at any point and started again
recomputes nothing that was saved. ``--workers N`` runs N local processes;
``--scheduler local`` a Dask LocalCluster of N workers; ``--scheduler tcp://HOST:PORT`` an
existing Dask cluster (the store must then be a path every worker can write). Ctrl-C and
SIGTERM stop within seconds (exit code 130 and 143) and say how to resume.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

import numvars
from numvars.grids import PROFILES, Profile, profile as get_profile
from numvars.jobs import DAS_KIND, RUN_KIND, load_run
from numvars.measures import MEASURES
from numvars.results import RESULTS_DIR, TABLE_SOURCES, write_tables
from numvars.runner import (
    Interrupted,
    WorkersLost,
    default_workers,
    ensure,
    stop_exit_code,
    stop_on_sigterm,
    stop_reason,
)
from numvars.shipped import ShippedError
from numvars.store import Store, StoreNotWritable
from numvars.verify import TOLERANCE, NotShipped, parse_cell, verify

STAGES = ("train", "das", "results")
PACKAGES = ("torch", "numpy", "pandas", "dask", "distributed")


def main(argv: list[str] | None = None) -> int:
    """Run a command; returns its exit code. SIGTERM stops it as Ctrl-C does."""
    with stop_on_sigterm():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    store = Store(args.store) if args.store else Store.default()
    out = getattr(args, "out", None) or RESULTS_DIR / args.profile
    warnings.formatwarning = lambda message, category, *rest, **kw: f"warning: {message}\n"
    try:
        profile = get_profile(args.profile)
        if args.command == "verify":
            try:
                cell = parse_cell(args.cell)
            except ValueError as error:
                parser.error(str(error))
            result = verify(cell, profile, workers=args.workers, tolerance=args.tolerance)
            print(result.report(profile.name))
            return 0 if result.agrees else 1
        if args.command == "reproduce":
            reproduce(profile, store, out, args.workers, args.scheduler)
        elif args.command == "results":
            try:
                profile.train_configs(args.experiment)
            except ValueError as error:
                parser.error(str(error))
            return results_stage(profile, store, out, args.experiment, args.table)
        else:
            experiments = args.experiment or None
            try:
                configs = (
                    profile.train_configs(experiments) if args.command == "train" else profile.das_configs(experiments)
                )
            except ValueError as error:
                parser.error(str(error))
            done = ensure(configs, store, workers=args.workers, scheduler=args.scheduler)
            print(
                f"{args.command}: {done.computed} results computed, {done.stored} already stored ({done.seconds:.0f} s)",
                file=sys.stderr,
            )
            if args.command == "das":
                _write_das_tables(profile, store, out, experiments)
    except Interrupted as stop:
        print(
            f"\n{stop.reason}: {stop.saved} of the {stop.total} results this stage was computing are saved in {store.root}; "
            f"run the same command again to resume (nothing saved is recomputed)",
            file=sys.stderr,
        )
        return stop.exit_code
    except KeyboardInterrupt as stop:
        print(
            f"\n{stop_reason(stop)}; everything computed so far is saved in {store.root}: run the same command again to resume",
            file=sys.stderr,
        )
        return stop_exit_code(stop)
    except (StoreNotWritable, ConnectionError, WorkersLost, NotShipped, ShippedError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def reproduce(profile: Profile, store: Store, out: Path, workers: int = 1, scheduler: str | None = None) -> dict:
    """Train, measure and write every table of ``profile`` under ``out``, with ``manifest.json``;
    returns the manifest."""
    stages = {}
    for stage, configs in (("train", profile.train_configs()), ("das", profile.das_configs())):
        done = ensure(configs, store, workers=workers, scheduler=scheduler)
        stages[stage] = dict(
            seconds=round(done.seconds, 1),
            computed=done.computed,
            already_stored=done.stored,
            skipped=len(done.skipped),
        )
    start = time.perf_counter()
    written = write_tables(profile, store, out)
    stages["results"] = dict(seconds=round(time.perf_counter() - start, 1), tables=[p.name for p in written])
    manifest = dict(
        profile=profile.name,
        code_version=code_version(),
        packages=package_versions(),
        machine=machine(),
        workers=workers,
        scheduler=scheduler,
        stages=stages,
    )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(
        f"reproduce --profile {profile.name}: wrote {', '.join(p.name for p in written)} and manifest.json to {out}",
        file=sys.stderr,
    )
    return manifest


def results_stage(
    profile: Profile, store: Store, out: Path, experiments: list[str] | None = None, tables: list[str] | None = None
) -> int:
    """Write the tables of what the store holds; refuse while networks of ``experiments``
    (default: all) are not trained. ``tables``: only these tables
    (:data:`~numvars.results.writing.TABLE_SOURCES`), refused while a measurement they are
    built from is not in the store (one of a network that never reached the criterion is never
    made)."""
    if tables:
        sources, unmeasured = _unmeasured(profile, store, tables)
        if unmeasured:
            print(
                f"{len(unmeasured)} measurements of {', '.join(sources)} are not in the store {store.root}: run "
                f"`python -m numvars das --profile {profile.name}"
                + "".join(f" --experiment {name}" for name in sources)
                + "` first",
                file=sys.stderr,
            )
            return 2
        written = write_tables(profile, store, out, tables)
        print(f"wrote {', '.join(p.name for p in written)} to {out}", file=sys.stderr)
        return 0
    missing = [c for c in profile.train_configs(experiments) if not store.exists(RUN_KIND, c)]
    if missing:
        print(
            f"{len(missing)} runs of profile {profile.name!r} are not trained: run "
            f"`python -m numvars train --profile {profile.name}` first",
            file=sys.stderr,
        )
        return 2
    written = write_tables(profile, store, out)
    print(f"wrote {', '.join(p.name for p in written)} to {out}", file=sys.stderr)
    return 0


def _write_das_tables(profile: Profile, store: Store, out: Path, experiments: list[str] | None) -> None:
    """After ``das``: write every table (and the shipped networks), or with ``experiments`` only the
    tables built from one of them whose every measurement is in the store, so that measuring one
    grid never rewrites another grid's table from a store that does not hold it."""
    if experiments:
        touched = {t: [s for s in sources if s in profile.das] for t, sources in TABLE_SOURCES.items()}
        touched = {t: sources for t, sources in touched.items() if set(sources) & set(experiments)}
        complete = {s for s in set().union(*touched.values()) if not _missing(profile, store, [s])}
        tables = [t for t, sources in touched.items() if set(sources) <= complete]
        written = write_tables(profile, store, out, tables) if tables else []
    else:
        written = write_tables(profile, store, out)
    print(f"wrote {', '.join(p.name for p in written) or 'no table'} to {out}", file=sys.stderr)


def _unmeasured(profile: Profile, store: Store, tables: list[str]) -> tuple[list[str], list]:
    """The DAS experiments ``tables`` are built from (:data:`~numvars.results.writing.TABLE_SOURCES`),
    and the measurements of them the store does not hold (one of a network that never reached the
    criterion is never made, so it is not missing)."""
    sources = sorted({name for table in tables for name in TABLE_SOURCES[table] if name in profile.das})
    return sources, _missing(profile, store, sources)


def _missing(profile: Profile, store: Store, experiments: list[str]) -> list:
    """The measurements of ``experiments`` (DAS experiments of ``profile``) the store does not
    hold, but for those never made (their network never reached the criterion)."""
    configs = profile.das_configs(experiments) if experiments else []  # runs.csv: no measurement
    return [c for c in configs if not store.exists(DAS_KIND, c) and not _dropped(c, store)]


def _dropped(measurement, store: Store) -> bool:
    """Whether a measurement is never made: its network was trained and never reached the criterion."""
    run = load_run(measurement.run, store) if measurement.trained else None
    return run is not None and not run.reached


def code_version() -> str:
    """``git describe --always --dirty`` of the checkout, or the package version outside git."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"numvars {numvars.__version__}"


def package_versions() -> dict:
    versions = {"python": platform.python_version(), "numvars": numvars.__version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine() -> dict:
    return dict(system=platform.system(), release=platform.release(), machine=platform.machine(), cpus=os.cpu_count())


def _scheduler(address: str) -> str:
    if address != "local" and "://" not in address:
        raise argparse.ArgumentTypeError(f"{address!r} is neither 'local' nor a scheduler address like tcp://HOST:PORT")
    return address


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m numvars", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    helps = {
        "reproduce": "train, measure and write every table of a profile (results/<profile>/, manifest.json)",
        "train": "train the networks of a profile",
        "das": "run the DAS grid of a profile (training what it needs) and write its tables",
        "results": "write results/<profile>/ tables and networks from the store",
        "verify": "measure one Fig. 2/7 cell again from the shipped networks and compare it with the committed table",
    }
    for name, text in helps.items():
        p = sub.add_parser(name, help=text, description=text)
        if name == "verify":
            p.add_argument(
                "cell", help="ARCH/TASK/MEASURE, e.g. gru/multi/count (measures: " + ", ".join(MEASURES) + ")"
            )
            p.add_argument(
                "--tolerance",
                type=float,
                default=TOLERANCE,
                help=f"largest difference of a network's test IIA that counts as agreeing (default {TOLERANCE})",
            )
        p.add_argument("--profile", choices=PROFILES, default="paper" if name == "verify" else "quick")
        if name == "verify":
            p.set_defaults(store=None)  # it measures in a fresh temporary store: nothing is reused
        else:
            p.add_argument("--store", type=Path, default=None, help="store folder (default: $NUMVARS_STORE or ./store)")
        if name != "results":
            p.add_argument("--workers", type=int, default=default_workers(), help="worker processes (default: up to 2)")
        if name not in ("results", "verify"):
            p.add_argument(
                "--scheduler",
                default=None,
                metavar="ADDRESS",
                type=_scheduler,
                help="run on Dask: 'local' (a LocalCluster of --workers processes) or tcp://HOST:PORT",
            )
        if name in ("train", "das", "results"):
            p.add_argument(
                "--experiment",
                action="append",
                default=None,
                help="only this experiment of the profile (repeatable; results: the experiments whose networks must be trained)",
            )
        if name == "results":
            p.add_argument(
                "--table",
                action="append",
                default=None,
                choices=list(TABLE_SOURCES),
                help="only this table, after its measurements were made again (repeatable; no networks written)",
            )
        if name not in ("train", "verify"):
            p.add_argument("--out", type=Path, default=None, help="folder for the tables (default: results/<profile>)")
    return parser
