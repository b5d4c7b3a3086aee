"""The slide decks (`make slides`, .ci/slides.py): one per lesson plan, offline, no solutions."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("slides", ROOT / ".ci" / "slides.py")
slides = importlib.util.module_from_spec(spec)
spec.loader.exec_module(slides)
EXTERNAL = re.compile(r'(?:src|href)="(?:https?:)?//|url\((?:https?:)?//|@import')


def test_myst_becomes_plain_markdown():
    source = (
        "See the {term}`IIA` and {term}`the notes <teacher forcing>` in {doc}`03_das` and {doc}`glossary`.\n\n"
        "```{admonition} Think!\n:class: tip\nPredict first.\nThen run.\n```\n(my-label)=\n"
    )
    assert slides.plain_markdown(source) == (
        "See the IIA and the notes in chapter 3 and glossary.\n\n> **Think!**\n>\n> Predict first.\n> Then run.\n"
    )


def test_a_deck_keeps_no_solution_checker_or_parameters_cell():
    new = nbformat.v4
    cells = [
        new.new_code_cell("PROFILE = 'quick'", metadata={"tags": ["parameters"]}, outputs=[]),
        new.new_markdown_cell("```{admonition} Solution\nDone.\n```", metadata={"tags": ["solution"]}),
        new.new_code_cell("nv.check.ex_1_1(...)", outputs=[new.new_output("stream", text="not attempted")]),
        new.new_code_cell("x = 1", outputs=[]),
        new.new_code_cell("x", outputs=[new.new_output("execute_result", data={"text/plain": "1"})]),
        new.new_markdown_cell("## A heading\nText."),
    ]
    assert [slides.keep(c) for c in cells] == [False, False, False, False, True, True]


def test_each_plan_has_a_deck_of_its_chapters():
    plans = slides.plans()
    assert plans["lab"][2] == [1, 3] and plans["session-2"][2] == [3, 4]
    assert set(plans) == {"lab", "session-1", "session-2", "session-3a", "session-3b", "session-3c"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("slides")
    slides.build(out, only=["lab"])
    return out


def test_the_lab_deck_reads_offline_and_holds_no_solution(built: Path):
    html = (built / "lab.slides.html").read_text()
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    for asset in (
        "reveal.js/dist/reveal.js",
        "reveal.js/dist/theme/white.css",
        "reveal.js/plugin/notes/notes.js",
        "reveal.js/LICENSE",
        "mathjax/tex-svg.js",
    ):
        assert (built / asset).exists(), asset
    for link in ('src="reveal.js/dist/reveal.js"', 'href="reveal.js/dist/theme/white.css"', 'src="mathjax/tex-svg.js"'):
        assert link in html, link
    assert "Reveal.initialize" in html and html.count("<section") > 20
    assert "Solution" not in html and "{admonition}" not in html and "nv.check.ex_1_1(" not in html
    assert "1.4 Interchange interventions" in html and "3.5 Interchange intervention accuracy" in html
    assert 'href="lab.slides.html"' in (built / "index.html").read_text()
