"""numvars.das_results: per-network measures, Up-Up chosen by validation, summaries beside the paper."""

import pandas as pd
import pytest

from numvars.das_results import breakdown, paper_values, per_network, summarise, untrained_summary


def row(seed, variable, method="learned", val=None, test=0.5, trained=True, arch="gru", task="multi"):
    return dict(arch=arch, task=task, seed=seed, variable=variable, method=method, trained=trained, val_iia=val, test_iia=test,
                iia_same_phase=test, iia_cross_phase=test, iia_demo_t=test, iia_response_t=test, iia_upto20=test, iia_over20=test)


TABLE = pd.DataFrame([
    row(0, "count", val=0.9, test=0.92), row(0, "demo_count", val=0.5, test=0.30), row(0, "resp_count", val=0.4, test=0.60),
    row(0, "full_swap", "full_swap", test=0.08), row(0, "count", "random", test=0.1), row(0, "phase", val=0.9, test=0.88),
    row(1, "count", val=0.8, test=0.96), row(1, "demo_count", val=0.3, test=0.35), row(1, "resp_count", val=0.45, test=0.40),
    row(1, "full_swap", "full_swap", test=0.10), row(1, "count", "random", test=0.2), row(1, "phase", val=0.9, test=0.90),
    row(0, "count", val=0.1, test=0.05, trained=False),
])


def test_up_up_is_the_better_variable_by_validation_not_by_test():
    networks = per_network(TABLE).set_index(["seed", "measure"])
    # seed 0: demo_count has the better validation IIA (0.5 > 0.4) although resp_count tests better
    assert networks.loc[(0, "up_up"), "variable"] == "demo_count" and networks.loc[(0, "up_up"), "test_iia"] == 0.30
    assert networks.loc[(1, "up_up"), "variable"] == "resp_count" and networks.loc[(1, "up_up"), "test_iia"] == 0.40
    assert len(networks) == 10  # the untrained network is not a trained network's measure


def test_summary_means_over_seeds_beside_the_paper():
    summary = summarise(TABLE).set_index("measure")
    assert summary.loc["count", "mean"] == pytest.approx(0.94) and summary.loc["count", "seeds"] == 2
    assert summary.loc["count", "min"] == 0.92 and summary.loc["count", "max"] == 0.96
    assert summary.loc["count", "paper_low"] == 0.93 and summary.loc["count", "vs_paper"] == pytest.approx(0.94 - 0.95)
    assert pd.isna(summary.loc["random", "paper_low"])  # the paper has no random-rotation control
    assert untrained_summary(TABLE).iloc[0]["mean"] == 0.05
    assert breakdown(TABLE).iloc[0]["test_iia"] == pytest.approx(0.94)


def test_paper_values_cover_figs_2_and_7():
    paper = paper_values()
    assert set(paper["measure"]) == {"count", "up_up", "full_swap", "phase"}
    assert ((paper["paper_low"] <= paper["paper_high"]) & paper["paper_high"].between(0, 1)).all()
    rnn = paper[(paper["arch"] == "gru") & (paper["task"] == "multi")].set_index("measure")
    assert rnn.loc["count", "paper_low"] == 0.93 and rnn.loc["full_swap", "paper_high"] == 0.09
