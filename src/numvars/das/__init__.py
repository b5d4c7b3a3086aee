"""Distributed Alignment Search (paper §4): interchange interventions on a learned rotation.

Freeze a trained network. For a target state ``h_o`` (after target token ``t``) and a source
state ``h_s`` (after source token ``u``), the intervened state is

    h_v = Rᵀ (M · R h_s + (1 − M) · R h_o)

with ``R`` orthogonal (``torch.nn.utils.parametrizations.orthogonal``) and ``M`` selecting the
first ``k`` rotated coordinates. The network runs on from ``h_v``; **IIA** (interchange
intervention accuracy) is the share of pairs whose every scored prediction matches the
program's counterfactual (:mod:`numvars.programs`). The TMLR extension replaces ``R`` by an
invertible, non-orthogonal ``A`` (:class:`LinearAlignment`): ``h_v = A⁻¹ (M A h_s + (1 − M) A h_o)``.

Shapes: ``n`` pairs, ``L`` tokens, ``S`` state size. States are row vectors, so ``R h`` is
``h @ R.T``.

The package: :mod:`~numvars.das.alignments` (the intervention and its alignments),
:mod:`~numvars.das.pairs` (counterfactual pairs), :mod:`~numvars.das.runs` (frozen networks,
intervened predictions, IIA), :mod:`~numvars.das.fit` (fitting); every name is re-exported here.
"""

from __future__ import annotations

from numvars.das.alignments import (
    ALIGNMENTS,
    FIXED_ALIGNMENTS,
    Alignment,
    FixedLinear,
    FullSwap,
    LearnedRotation,
    LinearAlignment,
    RandomLinear,
    RandomRotation,
    half_state,
    interchange,
    make_alignment,
    seeded_rotation,
    swap_first,
    swap_size,
)
from numvars.das.fit import (
    AUTHORS_FIT,
    DAS_STOPS,
    DasResult,
    alignment_losses,
    fit_alignment,
    fit_alignments,
    plateaued,
)
from numvars.das.pairs import PairSet, make_pairs, program_completes, rereader_correct
from numvars.das.runs import (
    LOSS_TOKENS,
    FrozenRuns,
    check_model_task,
    first_errors,
    iia,
    intervened_predictions,
    pair_correct,
    rows_correct,
    run_frozen,
)

__all__ = [
    "swap_first",
    "interchange",
    "half_state",
    "swap_size",
    "Alignment",
    "seeded_rotation",
    "LearnedRotation",
    "RandomRotation",
    "FullSwap",
    "FixedLinear",
    "LinearAlignment",
    "RandomLinear",
    "ALIGNMENTS",
    "FIXED_ALIGNMENTS",
    "make_alignment",
    "PairSet",
    "program_completes",
    "rereader_correct",
    "make_pairs",
    "check_model_task",
    "FrozenRuns",
    "run_frozen",
    "intervened_predictions",
    "first_errors",
    "pair_correct",
    "rows_correct",
    "iia",
    "DasResult",
    "fit_alignment",
    "fit_alignments",
    "alignment_losses",
    "DAS_STOPS",
    "AUTHORS_FIT",
    "plateaued",
    "LOSS_TOKENS",
]
