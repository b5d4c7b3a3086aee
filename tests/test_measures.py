"""numvars.measures: one row per measure, read by the grids, the job planner, the tables and the
plots — so that adding a measure is one row (issue 25)."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from numvars import measures, paper
from numvars.grids import PROTOCOL_VARIANTS, figs_2_and_7, protocol_variants
from numvars.jobs import DasConfig, DasJob
from numvars.measures import MEASURES, Measure, Reading
from numvars.plots import plot_iia_grid
from numvars.results import per_network, summarise
from numvars.tasks import Task
from numvars.training import TrainConfig

RUN = TrainConfig(task=Task("multi"), seed=0)
#: a measure the book does not have: Up-Down count through a linear map (the TMLR extension)
LINEAR = Measure("linear_count", "Up-Down count, linear map", (Reading("up_down", "count", "linear"),), None, 8)


def test_every_reading_names_a_variable_of_its_program_and_every_figure_measure_has_the_papers_cells():
    for measure in MEASURES.values():
        for reading in measure.reads:
            DasConfig(RUN, *reading)  # an unknown program, variable or method is refused here
    compared = set(paper.iia_cells()["measure"])
    assert {m.name for m in MEASURES.values() if m.figure} == compared
    assert len({m.label for m in MEASURES.values()}) == len(MEASURES) and len(
        {m.order for m in MEASURES.values()}
    ) == len(MEASURES)


def test_the_figure_grid_is_the_tables_readings_in_the_order_das_csv_was_written_in():
    got = [(c.program, c.variable, c.method) for c in figs_2_and_7(RUN)]
    assert got == [
        ("up_down", "count", "learned"),
        ("up_down", "phase", "learned"),
        ("up_down", "count+phase", "learned"),
        ("up_up", "demo_count", "learned"),
        ("up_up", "resp_count", "learned"),
        ("ctx_distr", None, "full_swap"),
        ("up_down", "count", "random"),
    ]
    variants = protocol_variants(RUN)
    assert len(variants) == sum(len(names) for _, names in PROTOCOL_VARIANTS.values())


def test_an_unknown_measure_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown measure 'count_phase'.*'count'"):
        measures.label("count_phase")


def test_a_variable_no_measure_reads_is_planned_last_instead_of_crashing_the_planner():
    joint = DasConfig(RUN, "up_up", "demo_count+resp_count")
    count = DasConfig(RUN, "up_down", "count")
    assert measures.order_of(joint.variable) == len(MEASURES)
    assert sorted([DasJob((joint,)), DasJob((count,))], key=DasJob.priority)[0].configs == (count,)


def test_a_new_measure_is_one_row_and_flows_through_grid_planner_table_and_plot(monkeypatch):
    monkeypatch.setitem(MEASURES, LINEAR.name, LINEAR)
    linear = DasConfig(RUN, "up_down", "count", "linear")
    assert linear in figs_2_and_7(RUN)  # the grid measures it
    assert DasJob((linear,)).priority()[1] == 0  # planned with count, whose variable it reads

    rows = [
        dict(
            arch="gru", task="multi", seed=0, variable=variable, method=method, trained=True, val_iia=val, test_iia=test
        )
        for variable, method, val, test in (
            ("count", "learned", 0.9, 0.91),
            ("count", "linear", 0.95, 0.97),
            ("full_swap", "full_swap", None, 0.08),
        )
    ]
    networks = per_network(pd.DataFrame(rows)).set_index("measure")
    assert networks.loc["linear_count", "test_iia"] == 0.97 and networks.loc["count", "test_iia"] == 0.91
    assert list(networks.index) == ["count", "full_swap", "linear_count"]  # the table's order

    figure = plot_iia_grid(summarise(pd.DataFrame(rows)), measures=("count", "linear_count"))
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert legend[:2] == ["Up-Down count", "Up-Down count, linear map"]
