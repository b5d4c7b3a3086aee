"""The student edition (`make student`, .ci/student.py) and the solution tags it relies on.

Every solution in a chapter is tagged `solution` exactly once: the "Solution" dropdown is a
markdown cell of its own, and the code cell that runs it (tagged `hide-cell`, so the page folds
it) carries the tag too. The student edition drops those cells and clears every output. Checked
here, fast (no chapter is executed):

- in the golden notebooks: every chapter with exercises has solution cells; no "Solution"
  admonition is left untagged or shares its cell with a prompt; every code cell of the exercises
  is tagged `solution` and `hide-cell`, or neither;
- in an edition built into a temporary folder: no solution cell, no "Solution" text and no output
  survive; every other cell of every chapter is there, in order; every exercise prompt is there;
  the `parameters` cell is kept; the zip holds the notebooks and what `make lab` needs.

To fix a failure in the golden notebooks: tag the cell in the .py (`# %% [markdown]
tags=["solution"]`, `# %% tags=["hide-cell", "solution"]`), then `make sync`.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
SOLUTION = "{admonition} Solution"
PROMPT = re.compile(r"^\*\*(\d+)\. [^*]+\*\*", re.MULTILINE)  # "**1. By hand.** ..."
EXERCISES = "## Exercises"

spec = importlib.util.spec_from_file_location("student", ROOT / ".ci" / "student.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)
STUDENT_CHAPTERS = [path for path in CHAPTERS if not student.is_instructor_page(path)]


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def _exercise_cells(nb) -> list:
    """The cells from the '## Exercises' heading up to the next '## ' heading (the summary)."""
    cells, inside = [], False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and re.search(r"^## ", cell.source, re.MULTILINE):
            inside = EXERCISES in cell.source
        if inside:
            cells.append(cell)
    return cells


def _prompts(nb) -> list[str]:
    """Every exercise prompt's bold heading, in order, from any markdown cell of the exercises."""
    return [m.group(0) for c in _exercise_cells(nb) if c.cell_type == "markdown" for m in PROMPT.finditer(c.source)]


def untagged_solutions(nb) -> list[str]:
    """What is wrong with a notebook's solution tags; empty if nothing is."""
    problems = []
    for i, cell in enumerate(nb.cells):
        tagged = "solution" in _tags(cell)
        if cell.cell_type == "markdown":
            if SOLUTION in cell.source and not tagged:
                problems.append(f"cell {i}: a Solution admonition without the tag `solution`")
            if tagged and not (
                cell.source.startswith(f"```{SOLUTION}")
                and cell.source.endswith("```")
                and cell.source.count("```{admonition}") == 1
            ):
                problems.append(
                    f"cell {i}: a `solution` markdown cell must hold one Solution admonition and nothing else"
                )
            if tagged and PROMPT.search(cell.source):
                problems.append(f"cell {i}: an exercise prompt in a `solution` cell")
        elif tagged and "hide-cell" not in _tags(cell):
            problems.append(f"cell {i}: a `solution` code cell without `hide-cell` (the page would show it)")
    for cell in _exercise_cells(nb):  # a folded code cell there runs a solution; a starter cell is neither
        if cell.cell_type == "code" and ("hide-cell" in _tags(cell)) != ("solution" in _tags(cell)):
            problems.append(
                f"cell {nb.cells.index(cell)}: a code cell of the exercises tagged only one of `hide-cell`, `solution`"
            )
    return problems


def test_there_are_chapters():
    assert CHAPTERS, "no golden notebooks book/NN_*.ipynb"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=_ids(CHAPTERS))
def test_golden_solutions_are_tagged(notebook: Path):
    nb = nbformat.read(notebook, as_version=4)
    has_exercises = any(c.cell_type == "markdown" and EXERCISES in c.source for c in nb.cells)
    if int(notebook.name[:2]) < 90:  # 90_ and up: the scorecard and the teaching guide, no exercises
        assert has_exercises, f"{notebook.name}: chapters 01-89 have a '{EXERCISES}' section"
    if has_exercises:
        assert _prompts(nb), f"{notebook.name}: no exercise prompt ('**1. Title.**') under '{EXERCISES}'"
        assert any("solution" in _tags(c) for c in nb.cells), (
            f"{notebook.name}: exercises, but no cell tagged `solution`"
        )
    problems = untagged_solutions(nb)
    assert not problems, f"{notebook.name} (fix in the .py, then `make sync`):\n" + "\n".join(problems)


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a code cell binds, names it reads); IPython magics and shell lines are skipped."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    bound, read, parameters = set(), set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):  # a parameter: the function's own name, not the notebook's
            parameters.add(node.arg)
    return bound | parameters, read - parameters


@pytest.mark.parametrize("notebook", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_runs_without_its_solutions(notebook: Path):
    """No cell the student edition keeps reads a name that only a solution cell defines."""
    nb = nbformat.read(notebook, as_version=4)
    defined, only_in_solutions = set(), set()
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        bound, read = _names(cell.source)
        if "solution" in _tags(cell):
            only_in_solutions |= bound - defined
            continue
        needed = read & only_in_solutions
        assert not needed, f"{notebook.name}: code cell {i} reads {sorted(needed)}, defined only in a solution"
        defined |= bound
        only_in_solutions -= bound


def test_the_tag_check_catches_an_untagged_solution():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(
                f"{EXERCISES}\n\n**1. A prompt.** Do it.\n\n```{SOLUTION}\n:class: dropdown\nDone.\n```"
            ),
            nbformat.v4.new_code_cell("print('the answer')", metadata={"tags": ["hide-cell"]}),
        ]
    )
    problems = untagged_solutions(nb)
    assert len(problems) == 2 and "cell 0" in problems[0] and "cell 1" in problems[1], problems
    nb.cells[0].metadata["tags"] = ["solution"]  # tagged, but the prompt would go with it
    assert any("prompt" in p for p in untagged_solutions(nb))


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    student.build(out, CHAPTERS)
    return out


def test_edition_has_every_chapter_and_no_instructor_page(edition: Path):
    assert sorted(p.name for p in edition.glob("*.ipynb")) == _ids(STUDENT_CHAPTERS)
    assert "95_teaching_guide.ipynb" in _ids(CHAPTERS) and "95_teaching_guide.ipynb" not in _ids(STUDENT_CHAPTERS)


@pytest.mark.parametrize("notebook", STUDENT_CHAPTERS, ids=_ids(STUDENT_CHAPTERS))
def test_student_chapter(edition: Path, notebook: Path):
    golden = nbformat.read(notebook, as_version=4)
    nb = nbformat.read(edition / notebook.name, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        assert "solution" not in _tags(cell), f"{notebook.name}: cell {i} is tagged `solution`"
        assert SOLUTION not in cell.source, f"{notebook.name}: cell {i} still holds a Solution admonition"
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{notebook.name}: cell {i} kept its output"

    def kept(cells):
        return [(c.cell_type, c.source, _tags(c)) for c in cells]

    assert kept(nb.cells) == kept(c for c in golden.cells if "solution" not in _tags(c)), (
        f"{notebook.name}: the student edition must keep every other cell, unchanged and in order"
    )
    assert _prompts(nb) == _prompts(golden), f"{notebook.name}: an exercise prompt went missing"
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in _tags(first) and 'PROFILE = "quick"' in first.source, (
        f"{notebook.name}: the `parameters` cell must stay first"
    )
    assert "jupytext" not in nb.metadata and nb.metadata.kernelspec.name == "python3"


def test_zip_holds_what_make_lab_needs(edition: Path):
    with zipfile.ZipFile(edition / student.ZIP_NAME) as zf:
        names = set(zf.namelist())
        top = f"{student.ZIP_FOLDER}/"
        for nb in STUDENT_CHAPTERS:
            assert zf.read(f"{top}book/{nb.name}") == (edition / nb.name).read_bytes()
        for name in (
            "Makefile",
            "README.md",
            "pyproject.toml",
            "requirements.txt",
            "src/numvars/__init__.py",
            "src/numvars/chapter.py",
            "results/paper/das.csv",
            "results/paper_v1/das.csv",
            "results/README.md",
        ):
            assert top + name in names, f"{name} is missing from the zip"
        committed = [f.relative_to(ROOT).as_posix() for f in (ROOT / "results").rglob("*") if f.is_file()]
        assert all(top + name in names for name in committed), "the whole results/ folder ships (networks included)"
        assert all(n.startswith(top) for n in names)
        litter = [n for n in names if "__pycache__" in n or ".egg-info" in n or n.endswith(".pyc")]
        assert not litter, f"build litter in the zip: {litter}"
        assert zf.read(f"{top}requirements.txt") == (ROOT / "requirements-student.txt").read_bytes()
        book = {n.removeprefix(f"{top}book/") for n in names if n.startswith(f"{top}book/")}
        assert not {n for n in book if n.endswith(".ipynb")} - set(_ids(STUDENT_CHAPTERS))
        assert {"intro.md", "glossary.md", "reproduction_notes.md"} <= book, book
        assert "95_teaching_guide.ipynb" not in book and not [n for n in book if "teaching" in n]


def test_the_prose_pages_a_chapter_links_are_shipped(tmp_path: Path):
    (tmp_path / "intro.md").write_text("Start. See {doc}`95_teaching_guide`.")
    (tmp_path / "glossary.md").write_text("Terms; see {doc}`the notes <notes>`.")
    (tmp_path / "notes.md").write_text("Notes.")
    (tmp_path / "unlinked.md").write_text("Nobody links this.")
    (tmp_path / "95_teaching_guide.md").write_text("For teachers.")
    pages = student.linked_pages(["read the {doc}`glossary` and {doc}`01_tasks`"], tmp_path)
    assert [p.name for p in pages] == ["glossary.md", "intro.md", "notes.md"]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_student_requirements_are_slim_and_pinned_as_the_full_ones():
    slim, full = _pins(ROOT / "requirements-student.txt"), _pins(ROOT / "requirements.txt")
    assert {name: version for name, version in slim.items() if full.get(name) != version} == {}
    needed = {"torch", "numpy", "pandas", "matplotlib", "seaborn", "tqdm", "jupyterlab", "ipykernel", "setuptools"}
    assert needed <= set(slim), needed - set(slim)
    assert not {"jupyter-book", "playwright", "dask", "distributed", "pytest", "nbval", "papermill"} & set(slim)
    assert len(slim) < len(full)
    assert "download.pytorch.org/whl/cpu" in (ROOT / "requirements-student.txt").read_text()  # the CPU-only torch


def _top_level_imports(tree: ast.AST, anywhere: bool = False) -> set[str]:
    nodes = ast.walk(tree) if anywhere else tree.body
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_and_the_chapters_import_nothing_the_student_requirements_lack():
    """Every module numvars imports at the top of a file, and every module a student notebook
    imports, is in the standard library, numvars itself or requirements-student.txt (dask and
    distributed only inside the cluster runner's functions)."""
    import sys

    slim = set(_pins(ROOT / "requirements-student.txt"))
    # an import name against the pins' distribution names (lowercase: IPython is ipython)
    allowed = lambda top: top in sys.stdlib_module_names or top == "numvars" or top.lower() in slim  # noqa: E731
    for path in (ROOT / "src" / "numvars").rglob("*.py"):
        missing = {top for top in _top_level_imports(ast.parse(path.read_text())) if not allowed(top)}
        assert not missing, f"{path.name} imports {missing}"
    for notebook in STUDENT_CHAPTERS:
        code = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        missing = {top for top in _top_level_imports(ast.parse(code), anywhere=True) if not allowed(top)}
        assert not missing, f"{notebook.name} imports {missing}"


def test_zip_is_reproducible(edition: Path, tmp_path: Path):
    again = student.build(tmp_path, CHAPTERS)
    assert again.read_bytes() == (edition / student.ZIP_NAME).read_bytes()


def test_a_parameter_is_not_read_from_a_solution():
    bound, read = _names("def train(model, seed=0):\n    return seed + offset\n")
    assert {"train", "model", "seed"} <= bound and read == {"offset"}


# ------------------------------------------------------------------ the edition runs, as a student runs it
def _unzipped(edition: Path, into: Path) -> Path:
    with zipfile.ZipFile(edition / student.ZIP_NAME) as zf:
        zf.extractall(into)
    return into / student.ZIP_FOLDER


@pytest.fixture(scope="module")
def unzipped(edition: Path, tmp_path_factory) -> Path:
    return _unzipped(edition, tmp_path_factory.mktemp("unzipped"))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", STUDENT_CHAPTERS, ids=_ids(STUDENT_CHAPTERS))
def test_student_notebook_runs_from_a_fresh_unzip(unzipped: Path, notebook: Path):
    """Each student notebook, stubs untouched, runs top to bottom in a clean kernel from the
    unzipped edition: its own src/ first on the path (the venv's interpreter and packages, which
    requirements-student.txt pins alike), cwd its book/, the model store $NUMVARS_STORE or the
    repository's (warm: seconds per chapter; empty: the chapters train, minutes). Any error fails.
    Every checker cell then says "not attempted yet"."""
    import os

    from nbclient import NotebookClient

    book = unzipped / "book"
    nb = nbformat.read(book / notebook.name, as_version=4)
    env = {
        **os.environ,
        "PYTHONPATH": str(unzipped / "src"),
        "NUMVARS_STORE": os.environ.get("NUMVARS_STORE") or str(ROOT / "store"),
    }
    client = NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(book)}})
    client.execute(env=env)  # raises CellExecutionError on the first error
    checked = [c for c in nb.cells if c.cell_type == "code" and "nv.check.ex_" in c.source]
    for cell in checked:
        text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        assert "not attempted yet" in text, f"{notebook.name}: a stub cell says {text!r}"


def test_the_unzipped_package_is_the_one_a_kernel_imports(unzipped: Path):
    """PYTHONPATH puts the zip's src/ before the repository's editable install."""
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import numvars; print(numvars.__file__)"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(unzipped / "src")},
        check=True,
    ).stdout
    assert out.strip().startswith(str(unzipped)), out
