"""Notebook chores for the Makefile (run with the venv's python).

python .ci/notebooks.py golden BOOK/NN_name.ipynb ...
    Re-execute golden notebooks in place with a clean nbclient kernel (cwd = the
    notebook's folder, as papermill and nbval use): no papermill cell, no timing
    metadata, execution counts 1..n, so an unchanged chapter gives a byte-identical file.

python .ci/notebooks.py hide-injected STAGED.ipynb ...
    Tag papermill's injected-parameters cell `remove-cell` so the rendered page
    does not show it (the staged copy under _build/ only, never book/).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat

# Cell metadata written by executors and front ends that changes from run to run.
VOLATILE_CELL_KEYS = ("execution", "ExecuteTime", "papermill")
VOLATILE_NB_KEYS = ("papermill",)


def _clean(nb: nbformat.NotebookNode) -> None:
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for key in VOLATILE_NB_KEYS:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)


def golden(paths: list[str]) -> None:
    from nbclient import NotebookClient

    for path in map(Path, paths):
        t0 = time.perf_counter()
        print(f"==> executing {path} in place (clean kernel, cwd={path.parent})", flush=True)
        nb = nbformat.read(path, as_version=4)
        _clean(nb)
        NotebookClient(
            nb,
            kernel_name="python3",
            timeout=None,  # chapters may train models; no per-cell limit
            record_timing=False,  # no timestamps in committed notebooks
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        _clean(nb)
        nbformat.write(nb, path)
        print(f"    done in {time.perf_counter() - t0:.0f} s", flush=True)


def hide_injected(paths: list[str]) -> None:
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            tags = cell.metadata.setdefault("tags", [])
            if "injected-parameters" in tags and "remove-cell" not in tags:
                tags.append("remove-cell")
        nbformat.write(nb, path)


if __name__ == "__main__":
    commands = {"golden": golden, "hide-injected": hide_injected}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(commands)}}} NOTEBOOK.ipynb ...")
    commands[sys.argv[1]](sys.argv[2:])
