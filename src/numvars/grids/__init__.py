"""Every grid of every profile, on one screen: what ``quick`` and ``paper`` train and measure.

* ``quick`` — minutes on two CPU cores: what CI, the golden notebooks and a first-time reader
  run. A GRU, an LSTM and a transformer on Single-Object counting, seeds 0 and 1, and a bigger
  GRU for chapter 5; DAS with fewer pairs.
* ``paper`` — the paper's grid: 132 networks and 1 536 DAS measurements (hours on two cores:
  book/cluster.md gives measured times), and the authors' rules on top (chapter 4 §4.8: the
  ``"causes"``, ``"authors_code"`` and ``"authors_code_sizes"`` experiments, 174 more
  networks, 306 and 2 510 in all);
  its tables are committed under ``results/paper/``.

A :class:`Profile` holds named experiments of each kind: ``training`` (experiment ->
:class:`~numvars.training.TrainConfig` list) and ``das`` (experiment ->
:class:`~numvars.jobs.DasConfig` list). ``python -m numvars reproduce --profile NAME`` computes
all of it; chapters ask for the parts they show.

The package: :mod:`~numvars.grids.settings` (every number a profile sets, and :data:`CAUSES`),
:mod:`~numvars.grids.network_measures` (the measurements of one network, per figure),
:mod:`~numvars.grids.profiles` (:func:`training_grid`, :func:`das_grid`, :func:`profile`); every name is
re-exported here, so a reader still finds the whole of a profile from here.
"""

from __future__ import annotations

from numvars.grids.network_measures import (
    ALIGNMENT_FUNCTIONS,
    alignment_function_measures,
    alignment_function_runs,
    cause_measures,
    curve_measures,
    figs_2_and_7,
    k_sweep,
    k_sweep_runs,
    protocol_variants,
    size_measures,
    transformer_variant_measures,
)
from numvars.grids.profiles import Profile, das_grid, das_settings, profile, training_grid
from numvars.grids.settings import (
    CAUSES,
    CHECKPOINT_EPOCHS,
    CONTROL_SEEDS,
    CURVE_PAIRS,
    CURVE_SIZES,
    DAS_EPOCHS,
    DAS_PAIRS,
    DAS_PATIENCE,
    FIGURE_MEASURES,
    GRU_SIZES,
    K_SWEEP,
    K_SWEEP_METHODS,
    LSTM_SIZES,
    PROFILES,
    PROGRAM_SAMPLES,
    PROTOCOL_SEEDS,
    PROTOCOL_VARIANTS,
    SEEDS,
    SHIPPED_CURVES,
    TRAIN_EPOCHS,
    TRAIN_STOP,
    VOID_P,
    Cause,
    check_profile,
)

__all__ = [
    "PROFILES",
    "PROGRAM_SAMPLES",
    "SEEDS",
    "TRAIN_EPOCHS",
    "TRAIN_STOP",
    "GRU_SIZES",
    "LSTM_SIZES",
    "VOID_P",
    "DAS_PAIRS",
    "DAS_EPOCHS",
    "DAS_PATIENCE",
    "CONTROL_SEEDS",
    "K_SWEEP_METHODS",
    "K_SWEEP",
    "CURVE_SIZES",
    "CHECKPOINT_EPOCHS",
    "CURVE_PAIRS",
    "SHIPPED_CURVES",
    "PROTOCOL_SEEDS",
    "PROTOCOL_VARIANTS",
    "FIGURE_MEASURES",
    "Cause",
    "CAUSES",
    "check_profile",
    "figs_2_and_7",
    "size_measures",
    "curve_measures",
    "transformer_variant_measures",
    "ALIGNMENT_FUNCTIONS",
    "alignment_function_measures",
    "alignment_function_runs",
    "k_sweep_runs",
    "k_sweep",
    "protocol_variants",
    "cause_measures",
    "Profile",
    "training_grid",
    "das_settings",
    "das_grid",
    "profile",
]
