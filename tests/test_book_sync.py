"""The book's chapters are consistent: every book/*.py and its paired .ipynb hold the same cells,
every golden notebook carries the outputs nbval compares, and every chapter is in _toc.yml.

To fix a failure here: edit the .py, then `make sync` (pairs) and `make golden` (outputs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
SCRIPTS = sorted(BOOK.glob("*.py"))
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
MAX_NOTEBOOK_BYTES = 5 * 2**20  # keep the repository light: shrink figures (dpi, size) if hit


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    """What must agree between the .py and the .ipynb: cell type, source and tags."""
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_book_has_paired_chapters():
    assert SCRIPTS, f"no chapter scripts in {BOOK}"
    assert NOTEBOOKS, f"no golden notebooks in {BOOK}"


@pytest.mark.parametrize("script", SCRIPTS, ids=_ids(SCRIPTS))
def test_script_has_notebook(script: Path):
    assert script.with_suffix(".ipynb").exists(), f"{script.name} has no .ipynb: run `make golden`"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_has_script(notebook: Path):
    assert notebook.with_suffix(".py").exists(), f"{notebook.name} has no .py: run `make sync`"


@pytest.mark.parametrize("script", SCRIPTS, ids=_ids(SCRIPTS))
def test_script_and_notebook_in_sync(script: Path):
    notebook = script.with_suffix(".ipynb")
    if not notebook.exists():
        pytest.skip("no notebook (reported by test_script_has_notebook)")
    text, golden = _cells(jupytext.read(script)), _cells(jupytext.read(notebook))
    for i, (a, b) in enumerate(zip(text, golden)):
        assert a == b, (
            f"cell {i} differs between {script.name} and {notebook.name} "
            f"(run `make sync`, then `make golden`):\n--- .py: {a!r}\n--- .ipynb: {b!r}"
        )
    assert len(text) == len(golden), (
        f"{script.name} has {len(text)} cells, {notebook.name} has {len(golden)}: run `make sync`"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_golden_notebook_has_outputs(notebook: Path):
    """nbval passes a notebook without stored outputs without checking anything."""
    nb = nbformat.read(notebook, as_version=4)
    code = _code_cells(nb)
    counts = [c.execution_count for c in code]
    assert None not in counts, (
        f"{notebook.name}: code cells {[i for i, n in enumerate(counts) if n is None]} were never "
        "executed: run `make golden`"
    )
    assert counts == list(range(1, len(code) + 1)), (
        f"{notebook.name}: execution counts {counts} are not 1..{len(code)}: the golden notebook "
        "must come from one clean top-to-bottom run (`make golden`)"
    )
    assert any(c.outputs for c in code), f"{notebook.name}: no stored outputs: run `make golden`"
    errors = [i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)]
    assert not errors, f"{notebook.name}: code cells {errors} stored an error"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_golden_notebook_is_clean(notebook: Path):
    """No papermill output, no timing metadata; a kernelspec every machine has; small."""
    nb = nbformat.read(notebook, as_version=4)
    assert "papermill" not in nb.metadata, f"{notebook.name} is papermill output: run `make golden`"
    for i, cell in enumerate(nb.cells):
        assert "injected-parameters" not in cell.metadata.get("tags", []), (
            f"{notebook.name}: cell {i} is papermill's injected-parameters cell: run `make golden`"
        )
        volatile = {"execution", "ExecuteTime", "papermill"} & set(cell.metadata)
        assert not volatile, f"{notebook.name}: cell {i} has volatile metadata {sorted(volatile)}"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{notebook.name}: kernelspec name must be 'python3'"
    )
    size = notebook.stat().st_size
    assert size < MAX_NOTEBOOK_BYTES, f"{notebook.name} is {size / 2**20:.1f} MB (limit 5 MB)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_first_code_cell_is_parameters(notebook: Path):
    """papermill injects PROFILE after the cell tagged `parameters`; the default is quick."""
    code = _code_cells(nbformat.read(notebook, as_version=4))
    assert code, f"{notebook.name} has no code cell"
    first = code[0]
    assert "parameters" in first.metadata.get("tags", []), (
        f'{notebook.name}: the first code cell must be tagged `parameters` (in the .py: `# %% tags=["parameters"]`)'
    )
    profile = [
        node.value.value
        for node in ast.parse(first.source).body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PROFILE" for t in node.targets)
        and isinstance(node.value, ast.Constant)
    ]
    assert profile == ["quick"], f'{notebook.name}: the parameters cell must set PROFILE = "quick"'


def _toc_files(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["file"]] if "file" in node else []
        if "root" in node:
            found.append(node["root"])
        return found + [f for v in node.values() for f in _toc_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in _toc_files(v)]
    return []


def test_toc_lists_every_chapter():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    listed = {str(Path(f).with_suffix("")) for f in _toc_files(toc)}
    chapters = {str(p.relative_to(ROOT).with_suffix("")) for p in SCRIPTS + NOTEBOOKS}
    assert not chapters - listed, f"chapters missing from _toc.yml: {sorted(chapters - listed)}"
    missing = [f for f in sorted(listed) if not any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml lists pages with no .md or .ipynb (run `make golden`?): {missing}"
