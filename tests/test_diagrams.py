"""The book's diagrams (numvars.diagrams) show what the package computes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import numvars as nv  # noqa: E402
from numvars import diagrams  # noqa: E402


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_counting_task_shows_each_programs_state_after_every_token():
    fig = diagrams.counting_task("B D D T R R E")
    shown = texts(fig)
    assert ["c=0", "c=1", "c=2", "c=2", "c=1", "c=0", "c=0"] == [t for t in shown if t.startswith("c=")]
    assert shown.count("—") == 7  # Ctx-Distr carries nothing
    assert "d=2 r=1" in shown
    plt.close(fig)


def test_interchange_intervention_draws_the_programs_counterfactual():
    task = nv.Task("single")
    fig = diagrams.interchange_intervention("B D D D T R R R E", 5, "B D D T R R E", 5)
    expected = task.decode(
        nv.get_program("up_down", task).counterfactual(
            task.encode("B D D D T R R R E"), 5, task.encode("B D D T R R E"), 5, "count"
        )
    ).split()
    shown = texts(fig)
    assert "count: 2 → 0" in shown
    start = shown.index("counterfactual") + 1
    assert shown[start : start + len(expected)] == expected
    plt.close(fig)


def test_das_pipeline_swaps_the_first_k_coordinates_from_the_source():
    fig = diagrams.das_pipeline(size=6, k=2)
    mixed = [p for p in fig.axes[0].patches if type(p).__name__ == "Rectangle"][24:30]  # the fifth column of cells
    colors = [matplotlib.colors.to_hex(p.get_facecolor()) for p in mixed]
    assert colors == [diagrams.SOURCE] * 2 + [diagrams.TARGET] * 4
    assert any("first k = 2 of S = 6" in t for t in texts(fig))
    plt.close(fig)
