"""Checkers for chapter 3's exercises (interchange interventions, the rotated swap, IIA):
:mod:`~numvars.check.chapter3.interventions` (3.1–3.3) and :mod:`~numvars.check.chapter3.probes`
(3.4–3.5); every name is re-exported here."""

from __future__ import annotations

from numvars.check.chapter3.interventions import (
    count_alignment_iias,
    count_fits,
    ex_3_1,
    ex_3_2,
    ex_3_3,
    exercise_pair,
    frozen_test_runs,
    possible_responses,
)
from numvars.check.chapter3.probes import (
    COPY_DISTANCE,
    PASS_FRACTION,
    PROBE_SEQUENCES,
    ex_3_4,
    ex_3_5,
    probe_data,
    probe_r2,
    probe_versus_intervention,
    subspace_distance,
)

__all__ = [
    "exercise_pair",
    "possible_responses",
    "ex_3_1",
    "count_fits",
    "frozen_test_runs",
    "count_alignment_iias",
    "ex_3_2",
    "ex_3_3",
    "PROBE_SEQUENCES",
    "probe_data",
    "probe_r2",
    "probe_versus_intervention",
    "ex_3_4",
    "PASS_FRACTION",
    "COPY_DISTANCE",
    "subspace_distance",
    "ex_3_5",
]
