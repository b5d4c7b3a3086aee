"""Slide decks for the lab and the module's sessions (run with the venv's python; `make slides`).

    python .ci/slides.py OUT
        One reveal.js deck per plan of the teaching guide (numvars.check.catalogue: the lab, and
        sessions 1, 2, 3a, 3b, 3c of the module), OUT/<deck>.slides.html, made from the golden
        notebooks of the chapters whose exercises the plan sets, in order: every heading starts
        a slide, every other paragraph, figure or table is a sub-slide (down arrow); code is
        hidden, its outputs shown; solutions, checker calls and the `parameters` cell are left
        out; MyST markup (admonitions such as Think!, {term} and {doc} roles) becomes plain
        Markdown. The decks open offline from file://: reveal.js is served from OUT/reveal.js/
        (vendored in teaching/revealjs/, reveal.js 5.2.0, MIT) and MathJax from OUT/mathjax/ (the
        book's offline copy, sphinx-mathjax-offline); the template teaching/slides/numvars_reveal
        loads nothing from the web. OUT/index.html lists the decks.

tests/test_slides.py builds them into a temporary folder and checks them.
"""

from __future__ import annotations

import copy
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "teaching" / "slides"
REVEAL = ROOT / "teaching" / "revealjs"
HEADING = re.compile(r"^#{1,3} ", re.MULTILINE)
ADMONITION = re.compile(r"```\{admonition\} ?([^\n]*)\n((?::[^\n]*\n)*)(.*?)```", re.DOTALL)
ROLE = re.compile(r"\{(\w+)\}`([^`]*)`")


def _role_text(match: re.Match) -> str:
    """``{term}`IIA``` -> IIA; ``{term}`text <target>``` -> text; ``{doc}`03_das``` -> chapter 3."""
    role, text = match.groups()
    text = re.sub(r"\s*<[^>]*>$", "", text).strip()
    if role == "doc" and re.match(r"^\d\d_", text) and int(text[:2]) < 90:
        return f"chapter {int(text[:2])}"
    return text.replace("_", " ") if role == "doc" else text


def plain_markdown(source: str) -> str:
    """MyST for a slide: an admonition becomes a quoted paragraph under its bold title, a role
    its plain text, a ``(label)=`` target nothing."""

    def quoted(match: re.Match) -> str:
        title, body = match.group(1).strip(), match.group(3).strip()
        lines = [f"> **{title}**" if title else ">", ">", *(f"> {line}" if line else ">" for line in body.splitlines())]
        return "\n".join(lines)

    source = ADMONITION.sub(quoted, source)
    source = ROLE.sub(_role_text, source)
    return re.sub(r"^\([\w-]+\)=\s*$\n?", "", source, flags=re.MULTILINE)


def _slide(cell, kind: str):
    cell = copy.deepcopy(cell)
    cell.metadata["slideshow"] = {"slide_type": kind}
    return cell


def keep(cell) -> bool:
    """A cell a deck shows: not a solution, not the parameters cell, not a checker call, and a
    code cell only if it has an output."""
    tags = cell.metadata.get("tags", [])
    if "solution" in tags or "parameters" in tags:
        return False
    if cell.cell_type == "code":
        return bool(cell.outputs) and "nv.check." not in cell.source
    return cell.cell_type == "markdown" and cell.source.strip() != ""


def deck(title: str, subtitle: str, chapters: list[Path]) -> nbformat.NotebookNode:
    """The notebook of one deck: a title slide, then each chapter's cells (see :func:`keep`)."""
    cells = [_slide(nbformat.v4.new_markdown_cell(f"# {title}\n\n{subtitle}"), "slide")]
    for path in chapters:
        for cell in nbformat.read(path, as_version=4).cells:
            if not keep(cell):
                continue
            if cell.cell_type == "markdown":
                cell = copy.deepcopy(cell)
                cell.source = plain_markdown(cell.source)
                cells.append(_slide(cell, "slide" if HEADING.match(cell.source) else "subslide"))
            else:
                cells.append(_slide(cell, "subslide"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["title"] = title
    return nb


def plans() -> dict[str, tuple[str, str, list[int]]]:
    """Deck name -> (title, subtitle, chapter numbers): the lab and every session of the module,
    with the chapters of the exercises each sets (in class or as homework)."""
    from numvars.check.catalogue import LAB, MODULE

    def chapters(slots) -> list[int]:
        return sorted({int(e.split(".")[0]) for slot in slots for e in (*slot.in_class, *slot.homework)})

    def subtitle(slots, what: str) -> str:
        in_class = ", ".join(e for slot in slots for e in slot.in_class) or "none"
        homework = ", ".join(e for slot in slots for e in slot.homework) or "none"
        return f"{what}\n\nExercises in class: {in_class}. Homework: {homework}."

    decks = {
        "lab": (
            "A 90-minute lab: swap the count",
            subtitle(LAB, "Chapters 1 and 3, with chapter 2 §2.2 shown"),
            chapters(LAB),
        )
    }
    for slot in MODULE:
        decks[slot.when.replace(" ", "-")] = (
            slot.when.capitalize(),
            subtitle([slot], slot.what.capitalize()),
            chapters([slot]),
        )
    return decks


def _assets(out: Path) -> None:
    """reveal.js and MathJax (its TeX-to-SVG bundle and the TeX extensions it loads) beside the decks."""
    import importlib.util

    shutil.copytree(REVEAL, out / "reveal.js", dirs_exist_ok=True)
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    mathjax = Path(spec.origin).parent / "static" / "mathjax"
    (out / "mathjax").mkdir(exist_ok=True)
    shutil.copyfile(mathjax / "tex-svg.js", out / "mathjax" / "tex-svg.js")
    shutil.copytree(
        mathjax / "input" / "tex" / "extensions", out / "mathjax" / "input" / "tex" / "extensions", dirs_exist_ok=True
    )


def build(out: Path, book: Path = ROOT / "book", only: list[str] | None = None) -> list[Path]:
    """Write the decks (all, or the names in ``only``) and their assets into ``out``."""
    from nbconvert import SlidesExporter

    out.mkdir(parents=True, exist_ok=True)
    _assets(out)
    exporter = SlidesExporter(
        template_name="numvars_reveal",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        reveal_url_prefix="reveal.js",
        reveal_theme="white",
    )
    written = []
    for name, (title, subtitle, numbers) in plans().items():
        if only and name not in only:
            continue
        chapters = [next(book.glob(f"{n:02d}_*.ipynb")) for n in numbers]
        body, _ = exporter.from_notebook_node(deck(title, subtitle, chapters), resources={"metadata": {"name": name}})
        path = out / f"{name}.slides.html"
        path.write_text(body)
        written.append(path)
    links = "\n".join(f'<li><a href="{p.name}">{p.stem.removesuffix(".slides")}</a></li>' for p in written)
    (out / "index.html").write_text(
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>numvars slides</title></head>'
        f"<body><h1>Slide decks</h1><ul>\n{links}\n</ul></body></html>\n"
    )
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    decks = build(Path(sys.argv[1]))
    print(f"==> {len(decks)} slide decks in {sys.argv[1]}/ (open index.html; offline, file:// is fine)")
