"""The book's exercises, read from the chapters: what each asks, its kind, its time, its checker.

A chapter's exercises are the bold-numbered prompts of its ``## Exercises`` section, written
``**M. Title.** *(kind · T min)*`` — the teaching guide lists them from here, and the tests use
the same reading to check that every exercise says its kind and time and every checker is
called by its chapter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
            rows.append(
                dict(
                    chapter=path.stem,
                    exercise=f"{chapter}.{number}",
                    title=title.rstrip(".").replace("$", ""),
                    kind=kind or None,
                    minutes=int(minutes) if minutes else None,
                    checker=f"nv.check.{name}" if name in numvars.check.__all__ else "",
                )
            )
    return pd.DataFrame(rows, columns=["chapter", "exercise", "title", "kind", "minutes", "checker"])


# ------------------------------------------------------------------ lesson plans, checked against the minutes
@dataclass(frozen=True)
class Slot:
    """A slot of a lesson plan: ``minutes`` long, doing ``what``; the exercises done in it
    (``in_class``, e.g. ``("1.1",)``) and those it sets as homework."""

    when: str
    minutes: int
    what: str
    in_class: tuple[str, ...] = ()
    homework: tuple[str, ...] = ()


#: at least this share of every slot with exercises is left for reading and running the chapter
READING_SHARE = 0.2

#: the 90-minute lab "swap the count": chapter 1, a demonstration of chapter 2, chapter 3 hands-on;
#: before it, learners read the introduction and chapter 1 §1.1–1.3 (about 30 minutes)
LAB = (
    Slot("0–5", 5, "the question, from the pre-reading (the introduction, chapter 1 §1.1–1.3)"),
    Slot("5–25", 20, "chapter 1 §1.4: interchange interventions and counterfactuals", ("1.1",)),
    Slot(
        "25–30",
        5,
        "chapter 2 §2.2, shown by the teacher: a whole-state swap in each network (exercise 2.3; "
        "its setup cell run beforehand)",
    ),
    Slot("30–55", 25, "chapter 3 §3.1–3.2: pairs, the rotation, the swap", ("3.3",)),
    Slot(
        "55–90", 35, "chapter 3 §3.3–3.5: training the rotation, IIA, controls", ("3.5",), ("1.2", "1.4", "3.1", "3.4")
    ),
)

#: a module of three 90-minute sessions; session 3 is one of three chapters
MODULE = (
    Slot(
        "session 1",
        90,
        "programs and networks: chapter 1 whole, chapter 2 §2.1–2.3 (read §2.4)",
        ("1.1", "1.4", "2.1", "2.3"),
        ("1.2", "1.3", "2.4"),
    ),
    Slot(
        "session 2",
        90,
        "distributed alignment search: chapter 3 whole (read chapter 4 §4.2–4.5 before session 3)",
        ("3.1", "3.3", "3.5"),
        ("3.2", "3.4", "4.2"),
    ),
    Slot("session 3a", 90, "learning and size: chapter 5", ("5.1", "5.2", "5.3", "5.4")),
    Slot("session 3b", 90, "transformers: chapter 6", ("6.1", "6.3", "6.4", "6.5"), ("6.2",)),
    Slot("session 3c", 90, "geometry: chapter 7", ("7.1", "7.2", "7.3"), ("7.4",)),
)


def plan_table(plan: tuple[Slot, ...], catalogue: pd.DataFrame) -> pd.DataFrame:
    """One row per slot: its minutes, what it does, the exercises in class and their minutes (from
    the chapters' prompts), the minutes left for reading and running, and the homework with its
    minutes."""
    minutes = catalogue.set_index("exercise")["minutes"]
    rows = []
    for slot in plan:
        in_class, homework = int(minutes[list(slot.in_class)].sum()), int(minutes[list(slot.homework)].sum())
        rows.append(
            {
                "slot": slot.when,
                "minutes": slot.minutes,
                "what": slot.what,
                "in class": ", ".join(slot.in_class) or "—",
                "exercise minutes": in_class,
                "left to read and run": slot.minutes - in_class,
                "homework": ", ".join(slot.homework) or "—",
                "homework minutes": homework,
            }
        )
    return pd.DataFrame(rows).set_index("slot")


def overfull(plan: tuple[Slot, ...], catalogue: pd.DataFrame) -> list[str]:
    """The slots whose exercises leave less than :data:`READING_SHARE` of the slot for reading and
    running; empty when the plan fits."""
    table = plan_table(plan, catalogue)
    return [
        f"{slot}: {row['exercise minutes']} min of exercises in {row['minutes']} min"
        for slot, row in table.iterrows()
        if row["exercise minutes"] and row["left to read and run"] < READING_SHARE * row["minutes"]
    ]
