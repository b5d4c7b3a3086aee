"""Every grid of every profile, on one screen: what ``quick`` and ``paper`` train and measure.

* ``quick`` — minutes on two CPU cores: what CI, the golden notebooks and a first-time reader
  run. A GRU, an LSTM and a transformer on Single-Object counting, seeds 0 and 1, and a bigger
  GRU for chapter 5; DAS with fewer pairs.
* ``paper`` — the paper's grid: 132 networks and 1 536 DAS measurements (hours on two cores:
  book/cluster.md gives measured times), and the authors' rules on top (chapter 4 §4.8: the
  ``"causes"`` and ``"authors_code"`` experiments, 174 more networks, 306 and 2 510 in all);
  its tables are committed under ``results/paper/``.

A :class:`Profile` holds named experiments of each kind: ``training`` (experiment ->
:class:`~numvars.training.TrainConfig` list) and ``das`` (experiment ->
:class:`~numvars.jobs.DasConfig` list). ``python -m numvars reproduce --profile NAME`` computes
all of it; chapters ask for the parts they show.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

from numvars.das import half_state
from numvars.jobs import PAPER_PAIRS, DasConfig
from numvars.measures import readings, single_figure_measures
from numvars.models import ARCHITECTURES, RECURRENT
from numvars.protocols import AUTHORS_CODE
from numvars.tasks import TASK_KINDS, Task
from numvars.training import TrainConfig

PROFILES = ("quick", "paper")

# ---- programs (chapter 1): task sequences per task, intervention pairs ------------------
PROGRAM_SAMPLES = {"quick": (300, 1_000), "paper": (3_000, 10_000)}

# ---- training ---------------------------------------------------------------------------
SEEDS = {"quick": (0, 1), "paper": tuple(range(6))}
# quick: stop at the criterion (at most 400 epochs); paper: train every network for a budget of
# 600 epochs (the span of the paper's Fig. 3 right) and analyse its last checkpoint that meets
# the criterion. A run that never meets the criterion is dropped.
TRAIN_EPOCHS = {"quick": 400, "paper": 600}
TRAIN_STOP = {"quick": "criterion", "paper": "budget"}
#: chapter 5's size sweeps (Multi-Object; quick: Single-Object, two sizes): paper Fig. 3 (left), and
#: beyond the paper, LSTMs at three of the GRU sizes
GRU_SIZES = {"quick": (20, 48), "paper": (8, 16, 20, 32, 48, 96)}
LSTM_SIZES = {"quick": (), "paper": (8, 20, 48)}
VOID_P = 0.2  # void-token transformers (paper Fig. 11)

# ---- DAS --------------------------------------------------------------------------------
DAS_PAIRS = {"quick": (2_000, 500, 500), "paper": PAPER_PAIRS}  # train, validation, test
# A fit stops when 20 epochs have passed without a better validation IIA (convergence), or at
# the cap: 500 epochs at paper scale (rarely reached: chapter 4 counts the fits that reach it),
# 100 in the quick profile.
DAS_EPOCHS = {"quick": 100, "paper": 500}
DAS_PATIENCE = 20
CONTROL_SEEDS = (0, 1)  # networks measured untrained (the control for DAS's freedom)
#: chapter 7's k sweep (how many dimensions the count takes): the rotation and the linear map
K_SWEEP_METHODS = ("learned", "linear")
K_SWEEP = {"quick": (1, 2, 4, 10, 20), "paper": None}  # swap sizes k (None: every k = 1..S)
# Learning curves (chapter 5, paper Fig. 3 right): count DAS on saved checkpoints of the GRUs of
# these sizes, on fewer training pairs (chapter 5 checks them against the full set on the analysed
# checkpoints). Epochs: dense while accuracy and IIA change (every 10 epochs to 40, every 20 to
# 100), sparse on the plateau (150, 200, 300, 600); quick: the main GRUs stop at the criterion (95 and
# 111 epochs) after learning from about epoch 60, so their curves are dense from 60 to 90.
CURVE_SIZES = {"quick": (20,), "paper": (8, 16, 20, 32, 48)}
CHECKPOINT_EPOCHS = {
    "quick": (0, 30, 60, 70, 80, 85, 90),
    "paper": (0, 10, 20, 30, 40, 60, 80, 100, 150, 200, 300, 600),
}
CURVE_PAIRS = {"quick": (500, 250, 500), "paper": PAPER_PAIRS}  # train, validation, test
#: whether the learning-curve checkpoints of CHECKPOINT_EPOCHS are shipped with a profile's networks
#: (numvars.shipped): the quick profile's take a few hundred KB, the paper profile's about 12 MB
SHIPPED_CURVES = {"quick": True, "paper": False}
PROTOCOL_SEEDS = (0, 1)  # networks every protocol variant is measured on (chapter 4's protocol table)
#: the protocol variants (chapter 4 §4.7): name -> the DasConfig settings that differ from the
#: default, and the measures they are run for
PROTOCOL_VARIANTS = {
    "criterion checkpoint": (dict(checkpoint="criterion"), ("count", "phase", "full_swap")),
    "positions after a token": (dict(positions="after_token"), ("count", "phase", "count+phase", "full_swap")),
    "positions non-terminal": (dict(positions="nonterminal"), ("full_swap",)),
    "scored from t + 1": (dict(score_at_t=False), ("count", "full_swap")),
}
#: the measures of Figs. 2 and 7 a cause is judged on (the paper's cells; Up-Up follows from its two counts)
FIGURE_MEASURES = single_figure_measures()


@dataclass(frozen=True)
class Cause:
    """One rule of the authors' code (PAPER.md §6) tested alone, on every seed of the cells it is
    suspected to move (chapter 4 §4.8, issue 23): ``measurement`` — the
    :class:`~numvars.jobs.DasConfig` settings that differ from the default; ``network`` — the
    :class:`~numvars.training.TrainConfig` rules that differ (new networks: the paper profile's
    ``"causes"`` training experiment); measured for ``measures`` on ``archs`` × ``tasks``."""

    archs: tuple[str, ...]
    tasks: tuple[str, ...]
    measures: tuple[str, ...]
    measurement: dict = field(default_factory=dict)
    network: dict = field(default_factory=dict)

    @property
    def changes(self) -> dict:
        """Every setting it changes, as :meth:`~numvars.jobs.DasConfig.protocol_changes` names them."""
        return {**self.network, **self.measurement}

    def targets(self, run: TrainConfig) -> bool:
        return run.arch in self.archs and run.task.kind in self.tasks


#: the causes, cheap first (a measurement alone), then those that need new networks. A name shared
#: with PROTOCOL_VARIANTS is the same change (its seeds 0 and 1 are measured once).
CAUSES = {
    "positions after a token": Cause(
        ("gru",), ("multi", "single"), ("count", "phase"), measurement=dict(positions="after_token")
    ),
    "authors' demo continuation": Cause(
        ("gru",), ("multi", "single"), ("count", "phase"), measurement=dict(demo_continuation="authors")
    ),
    "positions after a token + authors' continuation": Cause(
        ("gru",),
        ("multi", "single"),
        ("count", "phase"),
        measurement=dict(positions="after_token", demo_continuation="authors"),
    ),
    "criterion checkpoint": Cause(("lstm",), TASK_KINDS, FIGURE_MEASURES, measurement=dict(checkpoint="criterion")),
    "positions non-terminal": Cause(
        ("transformer",), ("same",), ("full_swap",), measurement=dict(positions="nonterminal")
    ),
    "LSTM of d/2 units": Cause(("lstm",), TASK_KINDS, FIGURE_MEASURES, network=dict(lstm_units="half")),
    "dropout inside the transformer": Cause(
        ("transformer",), TASK_KINDS, FIGURE_MEASURES, network=dict(dropout_sites="all")
    ),
    "free-running RNN training": Cause(RECURRENT, TASK_KINDS, FIGURE_MEASURES, network=dict(response_inputs="free")),
    "authors' learning rate": Cause(("gru",), TASK_KINDS, FIGURE_MEASURES, network=dict(lr=5e-4, lr_decay=0.25)),
}


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
        # the scorecard's second column: the main grid and Fig. 3's GRU sizes under every rule of the authors' code
        "authors_code": [
            AUTHORS_CODE.network(c)
            for kind in TASK_KINDS
            for arch in ARCHITECTURES
            for c in _seeds(TrainConfig(task=Task(kind), arch=arch, **loop), seeds)
        ]
        + [
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


def das_settings(profile: str) -> dict:
    """What a profile sets in every :class:`~numvars.jobs.DasConfig`: pairs and epoch budget."""
    check_profile(profile)
    return dict(n_pairs=DAS_PAIRS[profile], max_epochs=DAS_EPOCHS[profile], patience=DAS_PATIENCE)


def das_grid(profile: str) -> dict[str, list[DasConfig]]:
    """``"main"``: Figs. 2 and 7 on every network of the main experiment; ``"untrained"``: Up-Down
    count on the same networks untrained (seeds :data:`CONTROL_SEEDS` of each condition);
    ``"sizes"``: Fig. 3 (left) on the size sweeps (:func:`size_measures`, and count untrained on
    seeds :data:`CONTROL_SEEDS`); ``"checkpoints"``: Fig. 3 (right), the learning curves of the
    GRUs of :data:`CURVE_SIZES` (:func:`curve_measures`); paper profile, ``"protocol"``: the
    measures of ``"main"`` and every protocol variant on the networks of seeds
    :data:`PROTOCOL_SEEDS` (chapter 4 §4.7); ``"causes"``: :data:`CAUSES` on every seed of the
    cells each targets (chapter 4 §4.8); ``"transformer_variants"``: the void-token and NoPE
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
        grid["authors_code"] += [
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


def check_profile(name: str) -> str:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; allowed: {list(PROFILES)}")
    return name
