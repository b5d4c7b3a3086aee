"""The instructor edition (`make instructor`, .ci/instructor.py): every solution, the answer key
from the checkers, the rubric of the discussion exercises, the teaching guide."""

from __future__ import annotations

import importlib.util
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

import numvars as nv

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("instructor", ROOT / ".ci" / "instructor.py")
instructor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(instructor)


def fake_key(exercise: str) -> str:
    return f"Exercise {exercise}: answer key."


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("instructor")
    instructor.build(out, reveal=fake_key)
    return out


def test_edition_keeps_every_solution_and_the_guide(edition: Path):
    golden = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.name for p in (edition / "book").glob("*.ipynb")) == [p.name for p in golden]
    for path in golden:
        assert (edition / "book" / path.name).read_bytes() == path.read_bytes()
    assert any(
        "solution" in c.metadata.get("tags", []) for c in nbformat.read(edition / "book" / "03_das.ipynb", 4).cells
    )
    assert (edition / "book" / "95_teaching_guide.ipynb").exists() and (
        edition / "benchmarks" / "chapter_times.csv"
    ).exists()


def test_answer_key_lists_every_exercise_with_its_checker_or_the_rubric(edition: Path):
    key = (edition / "answer_key.md").read_text()
    sections = re.findall(r"^### (\d+\.\d+) ", key, re.MULTILINE)
    assert len(sections) == len(set(sections)) > 25
    for name in nv.check.__all__:
        exercise = name.removeprefix("ex_").replace("_", ".")
        assert f"Checker: `nv.check.{name}`" in key and f"Exercise {exercise}: answer key." in key
        assert all(f"- {mistake}" in key for mistake in nv.check.core.CHECKERS[exercise].mistakes)
    unchecked = set(sections) - {name.removeprefix("ex_").replace("_", ".") for name in nv.check.__all__}
    rubric = (edition / "rubric.md").read_text()
    assert unchecked and all(f"## {exercise} " in rubric for exercise in unchecked), unchecked


def test_zip_holds_the_edition_and_what_make_lab_needs(edition: Path):
    with zipfile.ZipFile(edition / instructor.ZIP_NAME) as zf:
        names = set(zf.namelist())
    top = f"{instructor.ZIP_FOLDER}/"
    for name in (
        "answer_key.md",
        "rubric.md",
        "book/95_teaching_guide.ipynb",
        "book/03_das.py",
        "book/glossary.md",
        "Makefile",
        "requirements.txt",
        "src/numvars/check/core.py",
        "results/paper/das.csv",
    ):
        assert top + name in names, name


@pytest.mark.slow
def test_the_real_answer_key_shows_an_expected_value_for_every_checker(tmp_path: Path):
    """Every checker's reveal=True with no answer: no error, and each part says what it expects
    (from the store: $NUMVARS_STORE, warm in seconds)."""
    key = instructor.answer_key(ROOT / "book")
    for name in nv.check.__all__:
        exercise = name.removeprefix("ex_").replace("_", ".")
        block = key.split(f"Exercise {exercise}: answer key.", 1)[1].split("```", 1)[0]
        assert "answer key:" in block, (exercise, block)


@pytest.mark.slow
def test_the_teaching_guide_runs_from_the_instructor_zip(edition: Path, tmp_path: Path):
    """The guide reads ../benchmarks/chapter_times.csv and the chapters' .py: both ship, so it
    runs and lists every exercise (the student edition's copy used to fail and list none)."""
    import os

    from nbclient import NotebookClient

    with zipfile.ZipFile(edition / instructor.ZIP_NAME) as zf:
        zf.extractall(tmp_path)
    book = tmp_path / instructor.ZIP_FOLDER / "book"
    nb = nbformat.read(book / "95_teaching_guide.ipynb", as_version=4)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / instructor.ZIP_FOLDER / "src")}
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(book)}}).execute(env=env)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "29 exercises" in text or re.search(r"\b(2\d|3\d) exercises, 25 of them checked", text), text[:300]
