"""The instructor edition of the book (run with the venv's python; `make instructor` calls it).

    python .ci/instructor.py OUT
        OUT/book/: every golden notebook as it is (solutions and outputs), the teaching guide
        included, with the chapters' .py files (the guide lists the exercises from them) and the
        prose pages; OUT/benchmarks/chapter_times.csv (the guide's run times);
        OUT/answer_key.md: for every exercise its kind, minutes and checker, the checker's answer
        key (``nv.check.ex_C_M(reveal=True)``: each expected value with its tolerance, computed
        from the models in the store — $NUMVARS_STORE or ./store, trained there first if
        missing) and the common mistakes the checker catches; the discussion exercises point to
        OUT/rubric.md (from teaching/rubric.md). Then OUT/numvars-instructor.zip: all of that
        with what `make lab` needs (src/, pyproject.toml, requirements*.txt, Makefile,
        README.md, results/), under numvars-instructor/.

tests/test_instructor.py builds it into a temporary folder and checks it.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZIP_NAME = "numvars-instructor.zip"
ZIP_FOLDER = "numvars-instructor"
# Beside book/ and the answer key: what `make lab` needs, as in the student zip (but the full requirements).
SHIPPED = (
    "src",
    "pyproject.toml",
    "requirements.txt",
    "requirements-student.txt",
    "Makefile",
    "README.md",
    "results",
    "benchmarks/chapter_times.csv",
)

_spec = importlib.util.spec_from_file_location("student", ROOT / ".ci" / "student.py")
student = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student)


def revealed(exercise: str) -> str:
    """The answer key of ``exercise`` ("3.5"): its checker called with reveal=True, as text."""
    from numvars.check.core import CHECKERS

    return repr(CHECKERS[exercise](reveal=True))


def mistakes(exercise: str) -> tuple[str, ...]:
    from numvars.check.core import CHECKERS

    return CHECKERS[exercise].mistakes


def answer_key(
    book: Path, reveal: Callable[[str], str] = revealed, caught: Callable[[str], tuple[str, ...]] = mistakes
) -> str:
    """The answer key as markdown: one section per exercise of the chapters in ``book``."""
    from numvars.check.catalogue import exercises

    lines = [
        "# Answer key",
        "",
        "Every exercise of the chapters: for a checked one, what its checker expects (`reveal=True`: each",
        "part's expected answer, its tolerance and the explanation) and the common mistakes it catches;",
        "for a discussion exercise, the rubric. Numbers come from the instructor's store: a student's live",
        "networks may differ in the second decimal, and each checker judges against the student's own.",
        "",
    ]
    for chapter, rows in exercises(book).groupby("chapter", sort=False):
        lines += [f"## {chapter}", ""]
        for row in rows.itertuples():
            lines += [f"### {row.exercise} {row.title}", "", f"*{row.kind} · {row.minutes} min*", ""]
            exercise = row.exercise
            if not row.checker:
                lines += ["A discussion exercise: see `rubric.md` and the chapter's folded solution.", ""]
                continue
            lines += [
                f"Checker: `{row.checker}`",
                "",
                "```text",
                reveal(exercise),
                "```",
                "",
                "Mistakes it catches:",
                "",
            ]
            lines += [f"- {mistake}" for mistake in caught(exercise)] + [""]
    return "\n".join(lines)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def build(out: Path, root: Path = ROOT, reveal: Callable[[str], str] = revealed) -> Path:
    """Write the instructor edition into ``out``; return the zip's path."""
    book = root / "book"
    pages = sorted(book.glob("[0-9][0-9]_*.ipynb")) + sorted(book.glob("[0-9][0-9]_*.py")) + sorted(book.glob("*.md"))
    if not any(p.suffix == ".ipynb" for p in pages):
        sys.exit("error: no golden notebooks book/NN_*.ipynb")
    out.mkdir(parents=True, exist_ok=True)
    for page in pages:
        _copy(page, out / "book" / page.name)
    _copy(root / "benchmarks" / "chapter_times.csv", out / "benchmarks" / "chapter_times.csv")
    (out / "answer_key.md").write_text(answer_key(book, reveal))
    _copy(root / "teaching" / "rubric.md", out / "rubric.md")
    zip_path = out / ZIP_NAME
    with student.zipfile.ZipFile(zip_path, "w") as zf:
        for f in sorted(out.rglob("*")):
            if f.is_file() and f != zip_path:
                _add(zf, f.relative_to(out).as_posix(), f.read_bytes())
        for name in SHIPPED:
            path = root / name
            for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
                rel = f.relative_to(root)
                if (
                    f.is_file()
                    and not any(part.endswith(student.SKIPPED) for part in rel.parts)
                    and not (out / rel).exists()
                ):
                    _add(zf, rel.as_posix(), f.read_bytes())
    return zip_path


def _add(zf, arcname: str, data: bytes) -> None:
    info = student.zipfile.ZipInfo(f"{ZIP_FOLDER}/{arcname}", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = student.zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    zip_path = build(Path(sys.argv[1]))
    print(f"==> the instructor edition in {sys.argv[1]}/ (answer_key.md, rubric.md, book/), and {zip_path}")
