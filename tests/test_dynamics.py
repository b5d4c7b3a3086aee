"""numvars.dynamics: the statistics of chapter 5 on small curves and pair sets whose answers are
known by hand."""

import math

import numpy as np
import pytest

from numvars.dynamics import (
    bootstrap_ci,
    correlations,
    curve_statistics,
    epoch_reaching,
    gain_after,
    gradience_measures,
    summarise_with_ci,
)

EPOCHS = [0, 10, 20, 30, 40, 50]


def test_pearson_and_spearman_by_hand():
    assert correlations([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx({"pearson": 1.0, "spearman": 1.0})
    # monotone but not linear: Spearman 1, Pearson below 1 (by hand, x against x³ on 0..3:
    # r = 44 / sqrt(5 · 470) = 0.9077)
    r = correlations([0, 1, 2, 3], [0, 1, 8, 27])
    assert r["spearman"] == pytest.approx(1.0) and r["pearson"] == pytest.approx(0.9077, abs=1e-4)
    assert correlations([0, 1, 2], [2, 1, 0])["spearman"] == pytest.approx(-1.0)
    assert math.isnan(correlations([1, 1, 1], [0, 1, 2])["pearson"])  # a flat curve has no correlation
    with pytest.raises(ValueError, match="same length >= 3"):
        correlations([0, 1], [0, 1])


def test_the_epoch_a_curve_reaches_a_share_of_its_final_value():
    accuracy = [0.0, 0.2, 0.6, 0.9, 1.0, 1.0]
    assert epoch_reaching(EPOCHS, accuracy, 0.5) == 20  # first value >= 0.5
    assert epoch_reaching(EPOCHS, accuracy, 0.95) == 40
    iia = [0.1, 0.1, 0.3, 0.5, 0.7, 0.8]  # final 0.8: 50 % is 0.4, 95 % is 0.76
    assert epoch_reaching(EPOCHS, iia, 0.5) == 30 and epoch_reaching(EPOCHS, iia, 0.95) == 50
    with pytest.raises(ValueError, match="strictly increasing"):
        epoch_reaching([0, 10, 10], [0, 1, 1], 0.5)


def test_iia_keeps_rising_after_accuracy_saturates():
    accuracy = [0.0, 0.2, 0.6, 0.99, 1.0, 1.0]  # reaches 99 % of its final value at epoch 30
    iia = [0.1, 0.1, 0.3, 0.5, 0.7, 0.8]
    stats = curve_statistics(EPOCHS, accuracy, iia)
    assert stats["accuracy_saturated"] == 30
    assert stats["iia_gain_after_saturation"] == pytest.approx(0.8 - 0.5)
    assert stats["accuracy_50"] == 20 and stats["iia_50"] == 30 and stats["lag_50"] == 10
    assert stats["accuracy_95"] == 30 and stats["iia_95"] == 50 and stats["lag_95"] == 20
    assert gain_after(EPOCHS, iia, 35) == pytest.approx(0.8 - 0.7)  # from the first checkpoint at or after 35
    with pytest.raises(ValueError, match="no checkpoint at or after"):
        gain_after(EPOCHS, iia, 60)


def test_gradience_slope_and_small_against_large_counts_by_hand():
    # difference 0: 4 of 4 right; difference 10: 2 of 4 right -> slope (0.5 - 1) / 10 = -0.05
    difference = [0] * 4 + [10] * 4
    larger = [2, 3, 4, 5, 16, 17, 18, 19]
    correct = [True] * 4 + [True, True, False, False]
    g = gradience_measures(difference, larger, correct)
    assert g["slope"] == pytest.approx(-0.05)
    assert g["iia_small"] == 1.0 and g["iia_large"] == 0.5 and g["large_minus_small"] == -0.5
    flat = gradience_measures([1, 2, 3], [1, 2, 3], [True, True, True])
    assert flat["slope"] == pytest.approx(0.0) and math.isnan(flat["iia_large"])  # no large count among the pairs


def test_the_bootstrap_interval_contains_the_mean_and_collapses_without_spread():
    assert bootstrap_ci([0.7, 0.7, 0.7]) == pytest.approx((0.7, 0.7))
    low, high = bootstrap_ci([0.1, 0.5, 0.9, 0.3, 0.7])
    assert low < 0.5 < high and low >= 0.1 and high <= 0.9
    assert all(math.isnan(x) for x in bootstrap_ci([0.5]))
    assert bootstrap_ci([0.1, 0.5, 0.9], seed=3) == bootstrap_ci([0.1, 0.5, 0.9], seed=3)  # seeded


def test_summaries_per_group_with_seed_spread():
    import pandas as pd

    table = pd.DataFrame({"d": [8, 8, 8, 20, 20], "r": [0.5, 0.7, 0.9, 1.0, 1.0]})
    out = summarise_with_ci(table, ["d"], ["r"]).set_index("d")
    assert out.loc[8, "n"] == 3 and out.loc[8, "r"] == pytest.approx(0.7) and out.loc[8, "r_sd"] == pytest.approx(0.2)
    assert out.loc[20, "r_ci"] == "[1.00, 1.00]"
    assert np.isclose(out.loc[20, "r_sd"], 0.0)
