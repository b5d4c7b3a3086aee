"""The scorecard page (book/90_scorecard): every claim of the paper and every Fig. 2/7 cell is on
it, as the committed paper-profile tables it scores (results/paper: the chosen protocol) give them today."""

import json
from pathlib import Path

import pytest

from numvars import paper
from numvars.results import read_table, scorecard_claims

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
    claims = scorecard_claims(read_table("paper", "das.csv"), read_table("paper", "accuracy_per_count.csv"),  # the page scores these
                              sizes=read_table("paper", "sizes.csv"), curves=read_table("paper", "checkpoints.csv"),
                              gradience=read_table("paper", "gradience.csv"), attention=read_table("paper", "attention.csv"),
                              plus_minus=read_table("paper", "plus_minus.csv"), variants=read_table("paper", "transformer_variants.csv"),
                              geometry=read_table("paper", "geometry.csv"))
    assert len(claims) == len(paper.CLAIMS) == 13  # the rows of PAPER.md §5
    assert not claims["verdict"].str.startswith("not measured").any()  # every claim measured (chapter 7 the last)
    for chapter, rows in (("05_size_learning_gradience", 3), ("06_transformers", 3), ("07_where_the_count_lives", 1)):
        assert (claims["chapter"] == chapter).sum() == rows
    for claim in claims.itertuples():
        assert claim.claim in page_outputs, f"missing claim: {claim.claim}"
        assert claim.verdict in page_outputs, f"stale or missing verdict for: {claim.claim} (run `make golden`)"


def test_every_cell_of_figs_2_and_7_is_on_the_page(page_outputs):
    rows = {tuple(part.strip() for part in line.strip("|").split("|"))[:4] for line in page_outputs.splitlines() if line.startswith("|")}
    for cell in paper.iia_cells().itertuples():
        row = (cell.arch, cell.task, f"Fig {cell.figure}", paper.MEASURE_NAMES[cell.measure])
        assert row in rows, f"missing cell row: {row}"
    for line in paper.INCONSISTENCIES:
        assert line in page_outputs
