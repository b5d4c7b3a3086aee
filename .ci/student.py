"""The student edition of the book (run with the venv's python; `make student` calls it).

    python .ci/student.py OUT BOOK/NN_name.ipynb ...
        For every golden chapter notebook, write OUT/NN_name.ipynb without its solutions: the
        cells tagged `solution` (the "Solution" dropdowns and the code cells that run them) are
        removed, and every remaining code cell's outputs and execution count are cleared, so
        students run the chapter themselves. The `parameters` cell stays (papermill still works).
        The notebooks lose their jupytext pairing metadata: they are plain notebooks.

        Then write OUT/numvars-student.zip, one folder numvars-student/ holding those notebooks
        under book/ and what `make lab` needs to run them: src/, pyproject.toml,
        requirements.txt, Makefile, README.md and the committed tables the chapters read
        (results/paper/, and results/paper_v1/, which chapter 4 reads too). Entries are sorted
        and dated 1980-01-01, so unchanged inputs give a byte-identical zip.

tests/test_student.py builds the edition into a temporary folder and checks it.
"""

from __future__ import annotations

import copy
import sys
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"
ZIP_NAME = "numvars-student.zip"
ZIP_FOLDER = "numvars-student"
# Repository paths (files or folders) that go into the zip beside the notebooks.
SHIPPED = ("src", "pyproject.toml", "requirements.txt", "Makefile", "README.md", "results/paper", "results/paper_v1")
# Build and editor litter under those folders stays out.
SKIPPED = ("__pycache__", ".ipynb_checkpoints", ".egg-info", ".pyc")


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return SOLUTION_TAG in cell.metadata.get("tags", [])


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without solution cells, outputs, execution counts or jupytext pairing."""
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if not is_solution(cell)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("jupytext", None)
    return nb


def _shipped_files(root: Path) -> list[Path]:
    files = []
    for name in SHIPPED:
        path = root / name
        if not path.exists():
            sys.exit(f"error: {path} is missing: the student zip needs it")
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            rel = f.relative_to(root)
            if f.is_file() and not any(part.endswith(SKIPPED) for part in rel.parts):
                files.append(rel)
    return files


def _add(zf: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(f"{ZIP_FOLDER}/{arcname}", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def build(out: Path, notebooks: list[Path], root: Path = ROOT) -> Path:
    """Write the student notebooks into ``out`` and the zip beside them; return the zip's path."""
    if not notebooks:
        sys.exit("error: no chapter notebooks given")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(notebooks):
        nb = student_notebook(nbformat.read(path, as_version=4))
        target = out / path.name
        nbformat.write(nb, target)
        written.append(target)
    zip_path = out / ZIP_NAME
    with zipfile.ZipFile(zip_path, "w") as zf:
        for nb_path in written:
            _add(zf, f"book/{nb_path.name}", nb_path.read_bytes())
        for rel in _shipped_files(root):
            _add(zf, rel.as_posix(), (root / rel).read_bytes())
    return zip_path


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR NOTEBOOK.ipynb ...")
    zip_path = build(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
    print(f"==> {len(sys.argv) - 2} student notebooks in {sys.argv[1]}/, everything for `make lab` in {zip_path}")
