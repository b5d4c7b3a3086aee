"""The student edition of the book (run with the venv's python; `make student` calls it).

    python .ci/student.py OUT BOOK/NN_name.ipynb ...
        For every golden chapter notebook but the instructor pages (``95_`` and up: the teaching
        guide), write OUT/NN_name.ipynb without its solutions: the cells tagged `solution` (the
        "Solution" dropdowns and the code cells that run them) are removed, and every remaining
        code cell's outputs and execution count are cleared, so students run the chapter
        themselves. The `parameters` cell stays (papermill still works). The notebooks lose their
        jupytext pairing metadata: they are plain notebooks.

        Then write OUT/numvars-student.zip, one folder numvars-student/ holding those notebooks
        under book/ with the prose pages they link ({doc}`glossary` and the like, followed from
        page to page, intro.md always; never an instructor page), and what `make lab` needs to
        run them: src/, pyproject.toml, Makefile, README.md, the whole results/ folder (the
        committed tables the chapters read, and the trained networks the store imports where a
        profile ships them) and requirements-student.txt as requirements.txt — the slim pins,
        without the book's and the tests' tools. Entries are sorted and dated 1980-01-01, so
        unchanged inputs give a byte-identical zip.

tests/test_student.py builds the edition into a temporary folder and checks it.
"""

from __future__ import annotations

import copy
import re
import sys
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"
ZIP_NAME = "numvars-student.zip"
ZIP_FOLDER = "numvars-student"
# Repository paths (files or folders) that go into the zip beside the notebooks, by their path in the zip.
SHIPPED = {
    "src": "src",
    "pyproject.toml": "pyproject.toml",
    "requirements-student.txt": "requirements.txt",
    "Makefile": "Makefile",
    "README.md": "README.md",
    "results": "results",
}
# Notebooks from this number up are the instructor's (the teaching guide): never in the student edition.
INSTRUCTOR_FROM = 95
# The prose page every edition starts from; the others go in when a shipped page links them.
FIRST_PAGE = "intro.md"
DOC_LINK = re.compile(r"\{doc\}`(?:[^`<]*<)?([\w./-]+?)>?`")
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


def is_instructor_page(path: Path) -> bool:
    """``95_teaching_guide.ipynb`` (and any ``NN_`` page from :data:`INSTRUCTOR_FROM` up)."""
    return path.name[:2].isdigit() and int(path.name[:2]) >= INSTRUCTOR_FROM


def linked_pages(texts: list[str], book: Path) -> list[Path]:
    """The prose pages ``book/*.md`` that ``texts`` link with {doc}`name`, and the pages those
    link in turn, with :data:`FIRST_PAGE` always; never a notebook or an instructor page."""
    todo, found = [*texts, (book / FIRST_PAGE).read_text()], {book / FIRST_PAGE}
    while todo:
        for name in DOC_LINK.findall(todo.pop()):
            page = book / f"{name}.md"
            if page.exists() and page not in found and not is_instructor_page(page):
                found.add(page)
                todo.append(page.read_text())
    return sorted(found)


def _shipped_files(root: Path) -> list[tuple[Path, str]]:
    """(file, its path in the zip) for everything :data:`SHIPPED`."""
    files = []
    for name, arcname in SHIPPED.items():
        path = root / name
        if not path.exists():
            sys.exit(f"error: {path} is missing: the student zip needs it")
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            rel = f.relative_to(path)
            if f.is_file() and not any(part.endswith(SKIPPED) for part in rel.parts):
                files.append((f, f"{arcname}/{rel.as_posix()}" if path.is_dir() else arcname))
    return files


def _add(zf: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    info = zipfile.ZipInfo(f"{ZIP_FOLDER}/{arcname}", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def build(out: Path, notebooks: list[Path], root: Path = ROOT) -> Path:
    """Write the student notebooks into ``out`` and the zip beside them; return the zip's path."""
    notebooks = [path for path in sorted(notebooks) if not is_instructor_page(path)]
    if not notebooks:
        sys.exit("error: no chapter notebooks given")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        nb = student_notebook(nbformat.read(path, as_version=4))
        target = out / path.name
        nbformat.write(nb, target)
        written.append(target)
    texts = [cell.source for nb_path in written for cell in nbformat.read(nb_path, as_version=4).cells]
    zip_path = out / ZIP_NAME
    with zipfile.ZipFile(zip_path, "w") as zf:
        for nb_path in written:
            _add(zf, f"book/{nb_path.name}", nb_path.read_bytes())
        for page in linked_pages(texts, root / "book"):
            _add(zf, f"book/{page.name}", page.read_bytes())
        for path, arcname in _shipped_files(root):
            _add(zf, arcname, path.read_bytes())
    return zip_path


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR NOTEBOOK.ipynb ...")
    zip_path = build(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
    count = len(list(Path(sys.argv[1]).glob("*.ipynb")))
    print(f"==> {count} student notebooks in {sys.argv[1]}/, everything for `make lab` in {zip_path}")
