"""How much the committed tables moved when their measurements ran again by another kernel (or
after any other change of the code that should only round differently): every DAS table of
``results/<profile>/`` in the working tree against the same table at a git revision, row by row
(:func:`numvars.verify.table_changes`).

    .venv/bin/python benchmarks/kernel_tables.py --before REVISION [--profile paper] [--csv OUT]

For every measured column: the rows matched, how many changed, the largest and the median
absolute change and the row of the largest; for DAS fits also the largest change among the rows
whose fit stopped at the same epoch (rounding alone).
"""

from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path

import pandas as pd

from numvars.verify import table_changes

ROOT = Path(__file__).resolve().parents[1]
#: the tables whose numbers come from DAS fits (chapter 6's forward-only tables do not depend on one)
DAS_TABLES = (
    "das.csv",
    "sizes.csv",
    "transformer_variants.csv",
    "alignment_functions.csv",
    "k_sweep.csv",
    "geometry.csv",
    "causes.csv",
    "checkpoints.csv",
)


def at_revision(revision: str, path: Path) -> pd.DataFrame | None:
    """The table at ``path`` as git ``revision`` has it; None if it has none."""
    shown = subprocess.run(
        ["git", "show", f"{revision}:{path.relative_to(ROOT)}"], cwd=ROOT, capture_output=True, text=True
    )
    return pd.read_csv(io.StringIO(shown.stdout)) if shown.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the git revision whose committed tables are compared")
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--tables", nargs="*", default=DAS_TABLES)
    parser.add_argument("--csv", type=Path, help="also write every table's changes to this file")
    args = parser.parse_args()
    every = []
    for name in args.tables:
        path = ROOT / "results" / args.profile / name
        before = at_revision(args.before, path)
        if before is None or not path.is_file():
            print(f"== {name}: not in both versions")
            continue
        changes = table_changes(before, pd.read_csv(path))
        print(f"== {name} ({changes['rows'].iloc[0] if len(changes) else 0} rows matched)")
        print(changes.round(4).to_string(index=False))
        every.append(changes.assign(table=name))
    if args.csv and every:
        table = pd.concat(every)
        table[["table", *table.columns.drop("table")]].round(4).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
