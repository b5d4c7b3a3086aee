"""Helpers for the checkers' tests: a wrong try hides the expected answer, reveal shows it; a
malformed part is reported in the verdict."""

from __future__ import annotations

import re


def part(verdict, name: str):
    [found] = [p for p in verdict.parts if p.name == name]
    return found


def assert_hidden(check, *shown: str, **answers):
    """``check(**answers)`` is not right and its text holds none of ``shown`` (the expected
    answers, as the checker prints them) nor the word "expected"; with ``reveal=True`` every one
    of ``shown`` is there. Returns the verdict without reveal."""
    verdict = check(**answers)
    text = repr(verdict)
    assert not verdict.right, text
    assert "expected" not in text.replace("expected a ", "").replace("expected one of", "").replace(
        "expected the ", ""
    ), text
    for value in shown:
        assert value not in text, f"{value!r} is given away:\n{text}"
    revealed = repr(check(**answers, reveal=True))
    for value in shown:
        assert value in revealed, f"{value!r} is not in the answer key:\n{revealed}"
    return verdict


def assert_malformed(verdict, name: str, pattern: str):
    """Part ``name`` of ``verdict`` is reported malformed, its message matching ``pattern``."""
    found = part(verdict, name)
    assert found.malformed and found.right is False and re.search(pattern, found.miss), (found, repr(verdict))
    assert "malformed" in repr(verdict)
