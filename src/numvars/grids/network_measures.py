"""The DAS measurements of one network, per figure (:func:`figs_2_and_7`, :func:`size_measures`, ...)
and the networks some of them are run on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from numvars.das import half_state
from numvars.grids.settings import (
    CAUSES,
    CHECKPOINT_EPOCHS,
    CONTROL_SEEDS,
    CURVE_PAIRS,
    K_SWEEP_METHODS,
    PROTOCOL_VARIANTS,
)
from numvars.jobs import DasConfig
from numvars.measures import readings
from numvars.models import RECURRENT
from numvars.training import TrainConfig


def figs_2_and_7(run: TrainConfig, **settings) -> list[DasConfig]:
    """The measurements of Figs. 2 and 7 for one network, every measurement a measure of
    :data:`numvars.measures.MEASURES` is read from: Up-Down count, phase and both together, Up-Up's
    two counts, Ctx-Distr's full swap, and a random rotation for count (a control)."""
    return [DasConfig(run, *reading, **settings) for reading in readings()]


def size_measures(run: TrainConfig, **settings) -> list[DasConfig]:
    """Fig. 3 (left) for one network: Up-Down count, with its controls — the full swap (the
    floor: Ctx-Distr's swap of the whole state) and a random rotation."""
    return [
        DasConfig(run, "up_down", "count", **settings),
        DasConfig(run, "ctx_distr", None, "full_swap", **settings),
        DasConfig(run, "up_down", "count", "random", **settings),
    ]


def curve_measures(run: TrainConfig, profile: str, **settings) -> list[DasConfig]:
    """Fig. 3 (right) for one network: Up-Down count on each of :data:`CHECKPOINT_EPOCHS` and on
    the analysed checkpoint, all on :data:`CURVE_PAIRS` (at paper scale the paper's pairs, so
    the analysed point is the size sweep's measurement; the quick profile's fewer pairs are
    checked against its size sweep there)."""
    settings = dict(settings, n_pairs=CURVE_PAIRS[profile])
    return [
        DasConfig(run, "up_down", "count", checkpoint=c, **settings) for c in (*CHECKPOINT_EPOCHS[profile], "analysed")
    ]


def transformer_variant_measures(run: TrainConfig, **settings) -> list[DasConfig]:
    """Fig. 11 and the NoPE transformers (chapter 6) for one network: Up-Down count and phase,
    Ctx-Distr's full swap, and a random rotation for count (a control)."""
    return [
        DasConfig(run, "up_down", "count", **settings),
        DasConfig(run, "up_down", "phase", **settings),
        DasConfig(run, "ctx_distr", None, "full_swap", **settings),
        DasConfig(run, "up_down", "count", "random", **settings),
    ]


#: chapter 7's alignment functions, each beside its fixed random control
ALIGNMENT_FUNCTIONS = {"learned": "random", "linear": "random_linear"}


def alignment_function_measures(run: TrainConfig, trained: bool = True, **settings) -> list[DasConfig]:
    """Chapter 7 for one network: Up-Down count with the learned rotation and the learned linear
    map, each with its fixed random control (:data:`ALIGNMENT_FUNCTIONS`); untrained
    (``trained=False``): the two learned ones. The rotation's measurements are shared with
    ``"main"``, ``"sizes"`` and ``"untrained"``."""
    methods = [m for pair in ALIGNMENT_FUNCTIONS.items() for m in (pair if trained else pair[:1])]
    return [DasConfig(run, "up_down", "count", method, trained=trained, **settings) for method in methods]


def alignment_function_runs(profile: str, networks: dict[str, list[TrainConfig]]) -> list[TrainConfig]:
    """Chapter 7 (the TMLR alignment functions): the networks of ``profile`` the linear map is
    compared with the rotation on — where the rotation is weak (GRUs of d = 8 and 16, Same-Object
    GRUs and LSTMs, transformers' count on Multi-Object) and, as the reference, where it is strong
    (Multi-Object GRUs and LSTMs of d = 20). The quick profile: its main GRUs and LSTMs."""
    if profile == "quick":
        return [c for c in networks["main"] if c.arch in RECURRENT]
    return (
        [c for c in networks["gru_sizes"] if c.d in (8, 16)]
        + [c for c in networks["main"] if c.arch in RECURRENT and c.task.kind in ("multi", "same")]
        + [c for c in networks["main"] if c.arch == "transformer" and c.task.kind == "multi"]
    )


def k_sweep_runs(profile: str, networks: dict[str, list[TrainConfig]]) -> list[TrainConfig]:
    """Chapter 7, how many dimensions the count takes: the d = 20 GRUs and LSTMs of the main
    experiment on Multi-Object, seeds :data:`CONTROL_SEEDS`; the quick profile: its main GRUs."""
    if profile == "quick":
        return [c for c in networks["main"] if c.arch == "gru"]
    return [c for c in networks["main"] if c.arch in RECURRENT and c.task.kind == "multi" and c.seed in CONTROL_SEEDS]


def k_sweep(
    run: TrainConfig, ks: Sequence[int] | None = None, methods: Sequence[str] = K_SWEEP_METHODS, **settings
) -> list[DasConfig]:
    """Up-Down count on one network for each swap size of ``ks`` (None: every k = 1..S, S its
    intervenable state: d, or 2d for an LSTM's [h; c]) with each of ``methods``; at the default
    k = S/2 the config is the default one (``k=None``), so that measurement is shared with
    ``"main"`` and ``"alignment_functions"``."""
    size = run.model_config.state_size
    ks = range(1, size + 1) if ks is None else ks
    return [
        DasConfig(run, "up_down", "count", method, k=None if k == half_state(size) else k, **settings)
        for method in methods
        for k in ks
    ]


def protocol_variants(run: TrainConfig, **settings) -> list[DasConfig]:
    """Each of :data:`PROTOCOL_VARIANTS` on one network, for the measures it is run for."""
    return [
        DasConfig(run, *reading, **settings, **change)
        for change, names in PROTOCOL_VARIANTS.values()
        for reading in readings(names)
    ]


def cause_measures(run: TrainConfig, **settings) -> list[DasConfig]:
    """Each of :data:`CAUSES` that targets ``run``'s architecture and task, on its measures (on
    ``run`` retrained under the cause's rules where it has any), and the same measures on ``run``
    under the default protocol (shared with ``"main"``)."""
    configs = []
    for cause in CAUSES.values():
        if cause.targets(run):
            default = [
                c for c in figs_2_and_7(run, **settings) if c.method != "random" and c.variable_name in cause.measures
            ]
            configs += default + [replace(c, run=replace(c.run, **cause.network), **cause.measurement) for c in default]
    return list(dict.fromkeys(configs))
