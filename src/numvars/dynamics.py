"""Statistics of chapter 5: learning curves (paper Fig. 3 right) and graded symbols (Fig. 4).

The paper says task accuracy and IIA rise "together", a "strong correlation", and that the
symbols are graded, without a statistic. These functions name one for each claim; every one
takes plain arrays, so that tests can check it on curves whose answer is known by hand.

Learning curves — for one network, values at checkpoint ``epochs`` (ascending):

* :func:`correlations` — Pearson and Spearman r between accuracy and IIA across checkpoints;
* :func:`epoch_reaching` — the first checkpoint at which a curve reaches a fraction of its final
  value (50 %, 95 %); the lag of IIA behind accuracy is the difference of the two epochs;
* :func:`gain_after` — how much a curve rises after an epoch (IIA after accuracy saturates).

Gradience — for one network's test pairs (:func:`gradience_measures`): the least-squares slope
of pair correctness against the source–target count difference ``|u_count − t_count|``, and IIA
on pairs whose counts are all small against pairs with a large count.

Uncertainty over seeds: :func:`bootstrap_ci` (percentile bootstrap of the mean).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

#: the fractions of its final value at which a curve's epoch is reported
REACH_FRACTIONS = (0.5, 0.95)
#: accuracy "saturates" at the first checkpoint where it reaches this share of its final value
SATURATION = 0.99
#: gradience: counts up to SMALL_COUNT are small, above LARGE_COUNT large
SMALL_COUNT, LARGE_COUNT = 5, 15


def _curve(epochs: Sequence[float], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    epochs, values = np.asarray(epochs, dtype=float), np.asarray(values, dtype=float)
    if epochs.shape != values.shape or epochs.ndim != 1 or len(epochs) < 2:
        raise ValueError(
            f"a curve needs matching 1-d epochs and values with at least 2 points, got {epochs.shape} and {values.shape}"
        )
    if np.any(np.diff(epochs) <= 0):
        raise ValueError("a curve's epochs must be strictly increasing")
    return epochs, values


def correlations(accuracy: Sequence[float], iia: Sequence[float]) -> dict[str, float]:
    """Pearson and Spearman r between two curves sampled at the same checkpoints — or any two
    paired samples, e.g. a count and a state's coordinate (:func:`numvars.geometry.count_order`);
    NaN when one of them is constant."""
    a, b = pd.Series(accuracy, dtype=float), pd.Series(iia, dtype=float)
    if len(a) != len(b) or len(a) < 3:
        raise ValueError(f"correlations need two curves of the same length >= 3, got {len(a)} and {len(b)}")
    ranked = a.rank(), b.rank()  # Spearman's r is Pearson's r of the ranks (ties: average rank)
    return {"pearson": float(a.corr(b)), "spearman": float(ranked[0].corr(ranked[1]))}


def epoch_reaching(epochs: Sequence[float], values: Sequence[float], fraction: float) -> float:
    """The first checkpoint epoch at which ``values`` reaches ``fraction`` of its final value
    (the value at the last checkpoint). Every curve reaches 100 % at its last checkpoint."""
    epochs, values = _curve(epochs, values)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return float(epochs[np.argmax(values >= fraction * values[-1])])


def gain_after(epochs: Sequence[float], values: Sequence[float], epoch: float) -> float:
    """How much a curve rises from the checkpoint at ``epoch`` (the first at or after it) to its
    last checkpoint."""
    epochs, values = _curve(epochs, values)
    later = np.flatnonzero(epochs >= epoch)
    if len(later) == 0:
        raise ValueError(f"no checkpoint at or after epoch {epoch}; the last is {epochs[-1]:g}")
    return float(values[-1] - values[later[0]])


def curve_statistics(epochs: Sequence[float], accuracy: Sequence[float], iia: Sequence[float]) -> dict[str, float]:
    """Every learning-curve statistic of one network: Pearson and Spearman r, the epochs at which
    accuracy and IIA reach each of :data:`REACH_FRACTIONS` of their final values and IIA's lag
    behind accuracy there, the epoch at which accuracy saturates (:data:`SATURATION`), and IIA's
    rise from then to the end (``iia_gain_after_saturation``)."""
    out = correlations(accuracy, iia)
    for fraction in REACH_FRACTIONS:
        percent = round(fraction * 100)
        accuracy_epoch, iia_epoch = epoch_reaching(epochs, accuracy, fraction), epoch_reaching(epochs, iia, fraction)
        out.update(
            {
                f"accuracy_{percent}": accuracy_epoch,
                f"iia_{percent}": iia_epoch,
                f"lag_{percent}": iia_epoch - accuracy_epoch,
            }
        )
    saturated = epoch_reaching(epochs, accuracy, SATURATION)
    out.update(accuracy_saturated=saturated, iia_gain_after_saturation=gain_after(epochs, iia, saturated))
    return out


def gradience_measures(
    difference: Sequence[int],
    larger_count: Sequence[int],
    correct: Sequence[bool],
    small: int = SMALL_COUNT,
    large: int = LARGE_COUNT,
) -> dict[str, float]:
    """Gradience of one network's test pairs: ``slope`` — the least-squares slope of pair
    correctness (0/1) against ``difference`` (|source count − target count|), per count of
    difference (negative: IIA falls as the swapped values lie further apart); ``iia_small`` /
    ``iia_large`` — IIA on pairs whose larger count is at most ``small`` / above ``large``, and
    ``large_minus_small``."""
    x, y = np.asarray(difference, dtype=float), np.asarray(correct, dtype=float)
    larger = np.asarray(larger_count)
    if not (len(x) == len(y) == len(larger)) or len(x) == 0:
        raise ValueError("difference, larger_count and correct need the same non-zero length")
    slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else float("nan")
    iia_small = float(y[larger <= small].mean()) if np.any(larger <= small) else float("nan")
    iia_large = float(y[larger > large].mean()) if np.any(larger > large) else float("nan")
    return {"slope": slope, "iia_small": iia_small, "iia_large": iia_large, "large_minus_small": iia_large - iia_small}


def bootstrap_ci(
    values: Sequence[float], level: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``values`` (one per seed): resample
    the seeds with replacement ``resamples`` times. NaNs are left out; fewer than two values
    give (NaN, NaN)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return float("nan"), float("nan")
    means = np.random.default_rng(seed).choice(x, size=(resamples, len(x)), replace=True).mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def summarise_with_ci(table: pd.DataFrame, by: Sequence[str], columns: Sequence[str]) -> pd.DataFrame:
    """Per group of ``by``: for each of ``columns`` (one value per network), the mean, the
    standard deviation over seeds, and the 95 % bootstrap interval of the mean; ``n`` networks."""
    rows = []
    for key, group in table.groupby(list(by), sort=True):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)), n=len(group))
        for column in columns:
            low, high = bootstrap_ci(group[column])
            row.update(
                {
                    column: group[column].mean(),
                    f"{column}_sd": group[column].std(),
                    f"{column}_ci": f"[{low:.2f}, {high:.2f}]",
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)
