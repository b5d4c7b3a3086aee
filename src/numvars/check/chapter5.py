"""Checkers for chapter 5's exercises (size, learning and graded symbols), computed from the
committed paper-profile tables under ``results/paper/``."""

from __future__ import annotations

import numpy as np

from numvars.check.core import (
    Malformed,
    attempted,
    checker,
    choice,
    close,
    malformed,
    not_attempted,
    nothing_to_do,
    number,
    verdict,
)

#: how much a mean IIA must change from the smallest to the largest GRU to "rise" or "fall"
#: (exercise 5.1): a tenth of the IIA scale, above the seed-to-seed spread of a size's mean
TREND_TOLERANCE = 0.1
TRENDS = ("rises", "falls", "stays flat")
#: how much |large − small| must change to "grow" or "shrink" (exercise 5.4): two pairs in a hundred
THRESHOLD_TOLERANCE = 0.02
CHANGES = ("grows", "shrinks", "about the same")
SIGNS = ("negative", "zero", "positive")


def _trend(change: float) -> str:
    return "rises" if change > TREND_TOLERANCE else "falls" if change < -TREND_TOLERANCE else "stays flat"


@checker(
    "5.1",
    mistakes=[
        '"rises" for the random rotation too: a random half of a bigger state does not hold the count better',
        "reading the change between neighbouring sizes instead of the smallest and the largest",
    ],
)
def ex_5_1(das=..., random=...):
    """Exercise 5.1: from the smallest to the largest GRU of the size sweep
    (``results/paper/sizes.csv``), does the mean count IIA of DAS (``das``) and of a random
    rotation (``random``) rise, fall or stay flat? Each a word of ``["rises", "falls", "stays
    flat"]``; "rises"/"falls" means a change of more than 0.1."""
    if nothing_to_do(das, random):
        return verdict("5.1", not_attempted("das"), not_attempted("random"))
    from numvars.results import read_table, size_table

    gru = size_table(read_table("paper", "sizes.csv")).query("arch == 'gru'").sort_values("d")
    first, last = gru.iloc[0], gru.iloc[-1]
    parts = []
    for name, answer, column, reason in [
        ("das", das, "count", "a bigger state gives the learned subspace room to hold the count cleanly"),
        ("random", random, "random", "a random half of any state holds only part of the count's direction"),
    ]:
        change = last[column] - first[column]
        why = f"d={first['d']} {first[column]:.2f}, d={last['d']} {last[column]:.2f} ({change:+.2f}): {reason}"
        parts.append(choice(name, answer, _trend(change), TRENDS, why))
    return verdict("5.1", *parts)


def _d16_seed0():
    from numvars.results import read_table

    curves = read_table("paper", "checkpoints.csv")
    one = curves[
        (curves["arch"] == "gru") & (curves["d"] == 16) & (curves["seed"] == 0) & (curves["checkpoint"] != "analysed")
    ]
    return one.sort_values("epoch")


@checker(
    "5.2",
    mistakes=[
        "an epoch that is not a saved checkpoint",
        "half of the largest value instead of the last checkpoint's",
        "the first epoch above half of the final accuracy read from the IIA curve (or the other way round)",
    ],
)
def ex_5_2(accuracy_epoch=..., iia_epoch=...):
    """Exercise 5.2: for the d = 16 GRU of seed 0 (``results/paper/checkpoints.csv``, its saved
    checkpoints), the first checkpoint epoch (a number) at which task accuracy and count IIA
    reach half of their value at the last checkpoint."""
    from numvars.dynamics import epoch_reaching

    if nothing_to_do(accuracy_epoch, iia_epoch):
        return verdict("5.2", not_attempted("accuracy_epoch"), not_attempted("iia_epoch"))
    one = _d16_seed0()
    epochs = set(one["epoch"].tolist())
    parts = []
    for name, answer, column in (("accuracy_epoch", accuracy_epoch, "accuracy"), ("iia_epoch", iia_epoch, "test_iia")):
        try:
            if attempted(answer) and number(answer, name) not in epochs:
                raise Malformed(name, f"{answer!r} is not a checkpoint epoch; they are {sorted(epochs)}")
        except Malformed as error:
            parts.append(malformed(error.name, error.message))
            continue
        expected = epoch_reaching(one["epoch"], one[column], 0.5)
        before = one[one["epoch"] < expected][column].iloc[-1]
        at = one[one["epoch"] == expected][column].iloc[0]
        final = one[column].iloc[-1]
        why = (
            f"half of the last value {final:.2f} is {final / 2:.2f}; the curve is {before:.2f} one checkpoint "
            f"earlier and {at:.2f} at epoch {expected:g}"
        )
        parts.append(close(name, answer, expected, 0, why, digits=0))
    return verdict("5.2", *parts)


def _size_sweep_facts():
    """The size sweep's count test pairs (the same for every network) with what a network that
    ignores the swap gets right (``rereader``) and the counts the swap exchanges."""
    from numvars.grids import das_grid
    from numvars.results import facts_of_test_pairs

    config = next(c for c in das_grid("paper")["sizes"] if c.variable == "count" and c.method == "learned")
    return facts_of_test_pairs(config.pairs)


@checker(
    "5.3",
    mistakes=[
        "a slope of 1 for a perfect symbol (IIA is 1 everywhere: the line is flat)",
        '"zero" for a network that ignores the swap: it is right only where the counts swapped are equal',
    ],
)
def ex_5_3(slope=..., large_minus_small=..., chance_slope=...):
    """Exercise 5.3: for a perfect symbol (every count swap works) the gradience ``slope`` and
    ``large_minus_small`` (numbers); and the sign of the slope (``chance_slope``: a word of
    ``["negative", "zero", "positive"]``) of a network that ignores the swap — IIA at its chance
    level on every pair. Both on the size sweep's 1 000 count test pairs."""
    from numvars.dynamics import gradience_measures

    if nothing_to_do(slope, large_minus_small, chance_slope):
        return verdict("5.3", not_attempted("slope"), not_attempted("large_minus_small"), not_attempted("chance_slope"))
    facts = _size_sweep_facts()
    difference = (facts["u_count"] - facts["t_count"]).abs().to_numpy()
    larger = np.maximum(facts["u_count"], facts["t_count"]).to_numpy()
    perfect = gradience_measures(difference, larger, np.ones(len(facts), dtype=bool))
    chance = gradience_measures(difference, larger, facts["rereader"].to_numpy())
    sign = "negative" if chance["slope"] < 0 else "positive" if chance["slope"] > 0 else "zero"
    return verdict(
        "5.3",
        close("slope", slope, round(perfect["slope"], 6), 0.001, "IIA is 1 whatever the difference: a flat line"),
        close(
            "large_minus_small",
            large_minus_small,
            perfect["large_minus_small"],
            0.001,
            "IIA is 1 for small and large counts alike",
        ),
        choice(
            "chance_slope",
            chance_slope,
            sign,
            SIGNS,
            f"slope {chance['slope']:+.3f} per count of difference: a swap between equal counts changes nothing, so a "
            "network that ignores it is right there and wrong further apart — graded without any symbol",
        ),
    )


def _thresholds(large: int):
    from numvars.results import gradience_per_network, read_table

    cells = read_table("paper", "gradience.csv")
    counts = cells[cells["standard"] & (cells["reading"] == "count")]
    return gradience_per_network(counts, large=large).groupby(["arch", "d"])["large_minus_small"].mean()


@checker(
    "5.4",
    mistakes=[
        "reading the sign instead of the magnitude of large − small",
        "averaging the LSTMs below d = 20 too",
    ],
)
def ex_5_4(gru=..., lstm=...):
    """Exercise 5.4: with "large" counts > 10 instead of > 15, does the magnitude of the
    large − small difference grow, shrink or stay about the same — for the GRUs (all sizes,
    mean change over sizes) and for the LSTMs of d ≥ 20? Each a word of ``["grows", "shrinks",
    "about the same"]``; "about the same" means a change of at most 0.02."""
    if nothing_to_do(gru, lstm):
        return verdict("5.4", not_attempted("gru"), not_attempted("lstm"))
    old, new = _thresholds(15), _thresholds(10)
    change = new.abs() - old.abs()
    parts = []
    for name, answer, rows, reason in [
        (
            "gru",
            gru,
            change.loc["gru"],
            "pairs whose larger count is 11–15, swapped more reliably than those above 15, join the large group",
        ),
        (
            "lstm",
            lstm,
            change.loc["lstm"][change.loc["lstm"].index >= 20],
            "their large and small counts are both swapped almost always",
        ),
    ]:
        mean = float(rows.mean())
        expected = (
            "grows" if mean > THRESHOLD_TOLERANCE else "shrinks" if mean < -THRESHOLD_TOLERANCE else "about the same"
        )
        sizes = ", ".join(f"d={d} {old.loc[(name, d)]:+.3f} -> {new.loc[(name, d)]:+.3f}" for d in rows.index)
        why = f"{sizes}; its size changes by {mean:+.3f} on average: {reason}"
        parts.append(choice(name, answer, expected, CHANGES, why))
    return verdict("5.4", *parts)
