"""The scorecard page (book/90_scorecard): every claim of the paper and every Fig. 2/7 cell is on
it, as the committed paper-profile tables it scores (results/paper: the chosen protocol) give them today."""

import json
from pathlib import Path

import pytest

from numvars import paper
from numvars.measures import label
from numvars.results import claims_table, read_table

PAGE = Path(__file__).resolve().parents[1] / "book" / "90_scorecard.ipynb"


@pytest.fixture(scope="module")
def page_outputs() -> str:
    """Everything the golden page shows (Markdown tables, printed text), as one string."""
    texts = []
    for cell in json.loads(PAGE.read_text())["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for text in (data.get("text/markdown"), data.get("text/plain"), output.get("text")):
                if text:
                    texts.append("".join(text))
    return "\n".join(texts)


def test_every_claim_of_the_paper_is_on_the_page_with_its_verdict(page_outputs):
    claims = claims_table()  # every claim, scored from the committed tables, as the page does
    assert len(claims) == len(paper.CLAIMS) == 13  # the rows of PAPER.md §5
    assert not claims["verdict"].str.startswith("not measured").any()  # every claim measured (chapter 7 the last)
    for chapter, rows in (("05_size_learning_gradience", 3), ("06_transformers", 3), ("07_where_the_count_lives", 1)):
        assert (claims["chapter"] == chapter).sum() == rows
    for claim in claims.itertuples():
        assert claim.claim in page_outputs, f"missing claim: {claim.claim}"
        assert claim.verdict in page_outputs, f"stale or missing verdict for: {claim.claim} (run `make golden`)"


def test_every_cell_of_figs_2_and_7_is_on_the_page(page_outputs):
    rows = {
        tuple(part.strip() for part in line.strip("|").split("|"))[:4]
        for line in page_outputs.splitlines()
        if line.startswith("|")
    }
    for cell in paper.iia_cells().itertuples():
        row = (cell.arch, cell.task, f"Fig {cell.figure}", label(cell.measure))
        assert row in rows, f"missing cell row: {row}"
    for line in paper.INCONSISTENCIES:
        assert line in page_outputs


def test_a_differing_cell_names_a_cause_only_where_a_measured_row_moves_it(page_outputs):
    causes = read_table("paper", "causes.csv")
    lines = [
        line
        for line in page_outputs.splitlines()  # the cell table's rows: "differs" is the whole verdict cell
        if line.startswith("|") and any(part.strip() == "differs" for part in line.split("|"))
    ]
    assert lines, "no differing cell on the page"
    for line in lines:
        reason = line.strip("|").split("|")[-1].strip()
        assert reason.startswith(("evidenced: ", "not explained: ")), f"an asserted reason: {line}"
        if reason.startswith("evidenced: "):
            arch, task = (part.strip() for part in line.strip("|").split("|")[:2])
            named = [c for c in causes["cause"].unique() if f"{c} moves it" in reason]
            assert named and all(
                ((causes["cause"] == c) & (causes["arch"] == arch) & (causes["task"] == task)).any() for c in named
            )


def test_a_claims_stated_ranges_are_the_min_and_max_of_the_cells_it_covers():
    cells = paper.iia_cells()
    for claim in paper.CLAIMS:
        if claim.cells is None or claim.key == "same_object":  # same_object quotes Up-Down only, in words
            continue
        archs, tasks, figure, measures = claim.cells
        for measure in measures:
            values = cells[
                cells["arch"].isin(archs)
                & cells["task"].isin(tasks)
                & (cells["figure"] == figure)
                & (cells["measure"] == measure)
            ]
            assert f"{values['paper'].min():.2f}–{values['paper'].max():.2f}" in claim.paper, (claim.key, measure)
