"""The book's exercises, read from the chapters: what each asks, its kind, its time, its checker.

A chapter's exercises are the bold-numbered prompts of its ``## Exercises`` section, written
``**M. Title.** *(kind · T min)*`` — the teaching guide lists them from here, and the tests use
the same reading to check that every exercise says its kind and time and every checker is
called by its chapter.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

import numvars.check

PROMPT = re.compile(r"\*\*(\d+)\. (.+?)\*\*\s*(?:\*\((.+?) · (\d+) min\)\*)?")


def chapter_number(path: Path) -> int:
    """``book/03_das.py`` -> 3."""
    return int(path.name[:2])


def exercise_text(path: Path) -> str:
    """The markdown of the ``## Exercises`` section of a chapter ``.py`` (``# `` prefixes and
    line breaks removed, solutions left in), or ``""`` if it has none."""
    text = path.read_text()
    if "# ## Exercises" not in text:
        return ""
    section = text.split("# ## Exercises", 1)[1].split("# ## Summary", 1)[0]
    return " ".join(line.removeprefix("#").strip() for line in section.splitlines())


def exercises(book: Path) -> pd.DataFrame:
    """One row per exercise of the chapters ``book/NN_*.py`` (NN < 90): chapter, exercise
    (``"3.2"``), title (TeX's ``$`` dropped: the table is plain text), kind and minutes (NaN where the prompt does not say), and checker (the
    ``nv.check`` function's name, or ``""``)."""
    rows = []
    for path in sorted(book.glob("[0-8][0-9]_*.py")):
        chapter = chapter_number(path)
        for number, title, kind, minutes in PROMPT.findall(exercise_text(path)):
            name = f"ex_{chapter}_{number}"
            rows.append(dict(chapter=path.stem, exercise=f"{chapter}.{number}", title=title.rstrip(".").replace("$", ""),
                             kind=kind or None, minutes=int(minutes) if minutes else None,
                             checker=f"nv.check.{name}" if name in numvars.check.__all__ else ""))
    return pd.DataFrame(rows, columns=["chapter", "exercise", "title", "kind", "minutes", "checker"])
