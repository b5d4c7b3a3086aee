"""The grids themselves: :func:`training_grid` and :func:`das_grid` of a profile, gathered in a
:class:`Profile` (:func:`profile`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from numvars.grids.network_measures import (
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
from numvars.grids.settings import (
    CAUSES,
    CONTROL_SEEDS,
    CURVE_SIZES,
    DAS_EPOCHS,
    DAS_KERNEL,
    DAS_PAIRS,
    DAS_PATIENCE,
    GRU_SIZES,
    K_SWEEP,
    LSTM_SIZES,
    PROTOCOL_SEEDS,
    SEEDS,
    TRAIN_EPOCHS,
    TRAIN_STOP,
    VOID_P,
    check_profile,
)
from numvars.jobs import DasConfig
from numvars.models import ARCHITECTURES
from numvars.protocols import AUTHORS_CODE
from numvars.tasks import TASK_KINDS, Task
from numvars.training import TrainConfig


@dataclass(frozen=True)
class Profile:
    """A profile's grids: experiment name -> configs, for training and for DAS."""

    name: str
    training: dict[str, list[TrainConfig]]
    das: dict[str, list[DasConfig]]

    def train_configs(self, experiments=None) -> list[TrainConfig]:
        """Every distinct network of the ``experiments`` (default: all), in a stable order."""
        return _union(self.training, experiments, "training")

    def das_configs(self, experiments=None) -> list[DasConfig]:
        """Every distinct DAS measurement of the ``experiments`` (default: all)."""
        return _union(self.das, experiments, "DAS")


def _union(grid: dict[str, list], experiments, what: str) -> list:
    unknown = set(experiments or ()) - set(grid)
    if unknown:
        raise ValueError(f"unknown {what} experiment(s) {sorted(unknown)}; allowed: {sorted(grid)}")
    return list(dict.fromkeys(c for name in (experiments or grid) for c in grid[name]))


def _seeds(config: TrainConfig, seeds) -> list[TrainConfig]:
    return [replace(config, seed=s) for s in seeds]


def training_grid(profile: str) -> dict[str, list[TrainConfig]]:
    """The networks of a profile, by experiment."""
    check_profile(profile)
    seeds, loop = SEEDS[profile], dict(max_epochs=TRAIN_EPOCHS[profile], stop=TRAIN_STOP[profile])
    if profile == "quick":
        return {
            "main": [
                c for arch in ARCHITECTURES for c in _seeds(TrainConfig(task=Task("single"), arch=arch, **loop), seeds)
            ],
            "gru_sizes": [
                c for d in GRU_SIZES[profile] for c in _seeds(TrainConfig(task=Task("single"), d=d, **loop), seeds)
            ],
            "nope_transformer": _seeds(
                TrainConfig(task=Task("single"), arch="transformer", positional="none", n_layers=1, **loop), seeds
            ),
        }
    return {
        # Figs. 2, 6, 7: every architecture on every task
        "main": [
            c
            for arch in ARCHITECTURES
            for kind in TASK_KINDS
            for c in _seeds(TrainConfig(task=Task(kind), arch=arch, **loop), seeds)
        ],
        # Figs. 3 and 4: GRU sizes on Multi-Object (d = 20 is also in "main"); beyond the paper, LSTMs
        "gru_sizes": [
            c for d in GRU_SIZES[profile] for c in _seeds(TrainConfig(task=Task("multi"), d=d, **loop), seeds)
        ],
        "lstm_sizes": [
            c
            for d in LSTM_SIZES[profile]
            for c in _seeds(TrainConfig(task=Task("multi"), arch="lstm", d=d, **loop), seeds)
        ],
        # Fig. 11: void tokens break position = count
        "void_transformer": [
            c
            for kind in TASK_KINDS
            for c in _seeds(TrainConfig(task=Task(kind, void_p=VOID_P), arch="transformer", **loop), seeds)
        ],
        # Figs. 9-10, App. A.4: no positional encoding, 1 and 2 layers
        "nope_transformer": [
            c
            for n_layers in (1, 2)
            for c in _seeds(
                TrainConfig(task=Task("multi"), arch="transformer", positional="none", n_layers=n_layers, **loop), seeds
            )
        ],
        # Fig. 10, App. A.4: the simplified task without B and T (Multi-Object, as Fig. 10's tokens show), 1 layer, NoPE
        "bare_transformer": _seeds(
            TrainConfig(task=Task("multi", framing="bare"), arch="transformer", positional="none", n_layers=1, **loop),
            seeds,
        ),
        # the scorecard's second column: the main grid, then Fig. 3's GRU sizes, under every rule of
        # the authors' code (two experiments, so that each table is written once its own grid is measured)
        "authors_code": [
            AUTHORS_CODE.network(c)
            for kind in TASK_KINDS
            for arch in ARCHITECTURES
            for c in _seeds(TrainConfig(task=Task(kind), arch=arch, **loop), seeds)
        ],
        "authors_code_sizes": [
            AUTHORS_CODE.network(c)
            for d in GRU_SIZES[profile]
            if d != 20
            for c in _seeds(TrainConfig(task=Task("multi"), d=d, **loop), seeds)
        ],
        # chapter 4 §4.8: the main networks a rule of the authors' code retrains (CAUSES)
        "causes": [
            c
            for cause in CAUSES.values()
            if cause.network
            for arch in cause.archs
            for kind in cause.tasks
            for c in _seeds(TrainConfig(task=Task(kind), arch=arch, **loop, **cause.network), seeds)
        ],
    }


def das_settings(profile: str) -> dict:
    """What a profile sets in every :class:`~numvars.jobs.DasConfig`: pairs, epoch budget and the
    kernel the measured networks run by."""
    check_profile(profile)
    return dict(n_pairs=DAS_PAIRS[profile], max_epochs=DAS_EPOCHS[profile], patience=DAS_PATIENCE, kernel=DAS_KERNEL)


def das_grid(profile: str) -> dict[str, list[DasConfig]]:
    """``"main"``: Figs. 2 and 7 on every network of the main experiment; ``"untrained"``: Up-Down
    count on the same networks untrained (seeds :data:`CONTROL_SEEDS` of each condition);
    ``"sizes"``: Fig. 3 (left) on the size sweeps (:func:`size_measures`, and count untrained on
    seeds :data:`CONTROL_SEEDS`); ``"checkpoints"``: Fig. 3 (right), the learning curves of the
    GRUs of :data:`CURVE_SIZES` (:func:`curve_measures`); paper profile, ``"protocol"``: the
    measures of ``"main"`` and every protocol variant on the networks of seeds
    :data:`PROTOCOL_SEEDS` (chapter 4 §4.7); ``"causes"``: :data:`CAUSES` on every seed of the
    cells each targets (chapter 4 §4.8); ``"authors_code"``: the measures of ``"main"`` (the
    random control aside) under :data:`~numvars.protocols.AUTHORS_CODE` on its own networks, and
    ``"authors_code_sizes"`` those of ``"sizes"`` on its GRUs of every other size (the scorecard's
    second column); ``"transformer_variants"``: the void-token and NoPE
    transformers (:func:`transformer_variant_measures`, and count untrained; the quick profile: its
    NoPE transformers, without the untrained control); ``"alignment_functions"`` (chapter 7):
    Up-Down count with the rotation and the linear map (:class:`numvars.das.LinearAlignment`) and
    their random controls (:func:`alignment_function_measures`) on :func:`alignment_function_runs`,
    and the two learned ones untrained (seeds :data:`CONTROL_SEEDS`); ``"k_sweep"`` (chapter 7):
    both learned maps at every swap size of :data:`K_SWEEP` on :func:`k_sweep_runs`."""
    settings = das_settings(profile)
    networks = training_grid(profile)
    runs = networks["main"]
    sizes = networks["gru_sizes"] + networks.get("lstm_sizes", [])
    grid = {
        "main": [c for run in runs for c in figs_2_and_7(run, **settings)],
        "untrained": [DasConfig(run, trained=False, **settings) for run in runs if run.seed in CONTROL_SEEDS],
        "sizes": [c for run in sizes for c in size_measures(run, **settings)]
        + [DasConfig(run, trained=False, **settings) for run in sizes if run.seed in CONTROL_SEEDS],
        "checkpoints": [
            c
            for run in networks["gru_sizes"]
            if run.d in CURVE_SIZES[profile]
            for c in curve_measures(run, profile, **settings)
        ],
    }
    if profile == "paper":
        grid["protocol"] = [
            c
            for run in runs
            if run.seed in PROTOCOL_SEEDS
            for c in figs_2_and_7(run, **settings) + protocol_variants(run, **settings)
        ]
        grid["causes"] = [c for run in runs for c in cause_measures(run, **settings)]
        grid["authors_code"] = [
            AUTHORS_CODE.measurement_of(c)
            for run in runs
            for c in figs_2_and_7(run, **settings)
            if c.method != "random"
        ]
        grid["authors_code_sizes"] = [
            AUTHORS_CODE.measurement_of(c)
            for run in networks["gru_sizes"]
            if run.d != 20
            for c in size_measures(run, **settings)
            if c.method != "random"
        ]
        variants = networks["void_transformer"] + networks["nope_transformer"]
        grid["transformer_variants"] = [
            c for run in variants for c in transformer_variant_measures(run, **settings)
        ] + [DasConfig(run, trained=False, **settings) for run in variants if run.seed in CONTROL_SEEDS]
    else:
        grid["transformer_variants"] = [
            c for run in networks["nope_transformer"] for c in transformer_variant_measures(run, **settings)
        ]
    linear = alignment_function_runs(profile, networks)
    grid["alignment_functions"] = [c for run in linear for c in alignment_function_measures(run, **settings)] + [
        c
        for run in linear
        if run.seed in CONTROL_SEEDS
        for c in alignment_function_measures(run, trained=False, **settings)
    ]
    grid["k_sweep"] = [c for run in k_sweep_runs(profile, networks) for c in k_sweep(run, K_SWEEP[profile], **settings)]
    return grid


def profile(name: str) -> Profile:
    """The grids of profile ``name`` (``"quick"`` or ``"paper"``)."""
    return Profile(name, training_grid(name), das_grid(name))
