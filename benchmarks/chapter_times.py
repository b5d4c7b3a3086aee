"""How long each chapter takes to run: what the teaching guide's lab and module plans are built on.

    python benchmarks/chapter_times.py [--out benchmarks/chapter_times.csv]

Executes every chapter ``book/NN_*.ipynb`` (NN below 90: not the scorecard or the guide) with papermill (``PROFILE=quick``, as ``make book``
does) into a temporary folder, in the book's order, twice with one new, empty model store
(``NUMVARS_STORE``): the **cold** pass trains and measures every quick network a chapter asks for
(a chapter reuses what an earlier one stored, as on a teacher's laptop after ``git clone``), the
**warm** pass finds everything stored (a class that ran ``make book`` beforehand). Writes one
row per chapter and pass: chapter, pass, seconds (wall-clock, papermill's whole run of the
notebook including kernel start), and the machine's CPU count. A timing: run it with nothing
else on the machine, and say so where the numbers are quoted.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd
import papermill

ROOT = Path(__file__).resolve().parents[1]


def chapter_times(chapters: list[Path], store: Path, scratch: Path) -> list[dict]:
    """One cold and one warm pass over ``chapters`` with the store at ``store``."""
    os.environ["NUMVARS_STORE"] = str(store)
    rows = []
    for run in ("cold", "warm"):
        for chapter in chapters:
            start = time.perf_counter()
            papermill.execute_notebook(
                str(chapter),
                str(scratch / chapter.name),
                parameters={"PROFILE": "quick"},
                cwd=str(chapter.parent),
                progress_bar=False,
            )
            seconds = time.perf_counter() - start
            print(f"{run:5s} {chapter.stem:32s} {seconds:7.1f} s", flush=True)
            rows.append(
                dict(
                    chapter=chapter.stem,
                    run=run,
                    seconds=round(seconds, 1),
                    cpus=os.cpu_count(),
                    machine=platform.machine(),
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "chapter_times.csv")
    args = parser.parse_args()
    chapters = [
        c for c in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")) if int(c.name[:2]) < 90
    ]  # not the scorecard, not this guide
    with tempfile.TemporaryDirectory() as store, tempfile.TemporaryDirectory() as scratch:
        rows = chapter_times(chapters, Path(store), Path(scratch))
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
