"""What one job computes and stores: a condition's trained networks, or one DAS measurement.

Two kinds of result live in the store (:mod:`numvars.store`), each keyed by its config:

* ``"run"`` — a trained network (:class:`~numvars.training.RunResult`), keyed by its
  :class:`~numvars.training.TrainConfig`. A :class:`TrainJob` trains one condition's seeds as
  one stacked ensemble.
* ``"das"`` — one DAS measurement (:class:`~numvars.das.DasResult`), keyed by a
  :class:`DasConfig`: which trained network, which program variable, which alignment method.
  A :class:`DasJob` computes one.

:func:`jobs_for` turns the configs the store lacks into jobs; :mod:`numvars.runner` runs them.
"""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar, Sequence, Union

from numvars.das import (
    ALIGNMENTS,
    DAS_STOPS,
    LOSS_TOKENS,
    DasResult,
    PairSet,
    fit_alignments,
    make_alignment,
    make_pairs,
)
from numvars.measures import order_of
from numvars.models import KERNELS, CountingModel, build_model, with_kernel
from numvars.programs import DEMO_CONTINUATIONS, get_program
from numvars.store import OMIT_IF_DEFAULT, Store
from numvars.tasks import POSITION_RULES, Task
from numvars.training import (
    CHECKPOINTS,
    RunResult,
    TrainConfig,
    derive_seed,
    describe,
    train_and_test,
)

RUN_KIND, DAS_KIND = "run", "das"
SPLITS = ("train", "val", "test")
PAPER_PAIRS = (10_000, 1_000, 1_000)  # paper §4: train, validation, test pairs


# ---------------------------------------------------------------------------- trained runs
def load_run(config: TrainConfig, store: Store | None = None) -> RunResult | None:
    """The stored run of ``config``, or ``None`` if it has not been trained."""
    payload = (store or Store.default()).load(RUN_KIND, config)
    return None if payload is None else RunResult.from_payload(config, payload)


# ------------------------------------------------------------------------ DAS measurements
#: the settings of a measurement that a protocol or a cause may change (chapter 4 §4.7–4.8)
PROTOCOL_FIELDS = (
    "checkpoint",
    "positions",
    "score_at_t",
    "demo_continuation",
    "lr",
    "batch_size",
    "stop",
    "loss_tokens",
)
#: the names :meth:`DasConfig.protocol_changes` gives the fit's settings that a network's training
#: has too (a training rule ``lr`` and the alignment's ``das_lr`` are two rules)
DAS_RULE_NAMES = {"lr": "das_lr", "batch_size": "das_batch_size"}


def measurement_rules(settings: dict) -> dict:
    """The :data:`PROTOCOL_FIELDS` among a measurement's ``settings`` (DasConfig field -> value),
    named as :meth:`DasConfig.protocol_changes` names them (:data:`DAS_RULE_NAMES`)."""
    return {DAS_RULE_NAMES.get(name, name): value for name, value in settings.items() if name in PROTOCOL_FIELDS}


@dataclass(frozen=True)
class DasConfig:
    """One DAS measurement (paper §4 defaults): a network, a program variable, an alignment method.

    ``method`` names an alignment of :data:`numvars.das.ALIGNMENTS`: ``"learned"`` (DAS, a
    rotation trained on the counterfactuals), ``"random"`` (a fixed random rotation, the control
    for "any subspace would do"), ``"full_swap"`` (the whole state; Ctx-Distr's test) or
    ``"linear"`` (an invertible, non-orthogonal map trained like DAS; the TMLR extension).
    ``trained=False`` measures the network at its initial weights (the control for "DAS can
    make anything look aligned"). ``variable`` may join names with ``+`` (``"count+phase"``:
    the joint swap of the authors' configs).

    The protocol settings (chapter 4's protocol table): ``checkpoint`` — the network's analysed
    checkpoint, the first that met the criterion, or a saved epoch (an int: learning dynamics,
    chapter 5); ``positions`` — which states are swapped
    (:data:`numvars.tasks.POSITION_RULES`); ``score_at_t`` — whether the prediction made from the
    swapped state itself is scored; ``demo_continuation`` — how the program goes on after a swap
    into the demo phase (:meth:`numvars.programs.Program.counterfactual`: ``"paper"`` or the
    authors' code's ``"authors"``); ``lr``, ``batch_size`` and ``stop`` — how the alignment is
    fitted (:data:`numvars.das.DAS_STOPS`: ``"best_val_iia"``, or the authors' code's
    ``"val_loss_plateau"``, which sets its own budget in place of ``max_epochs`` and ``patience``);
    ``loss_tokens`` — which predictions the fit's loss covers (:data:`numvars.das.LOSS_TOKENS`:
    the scored ones, or with the authors' code every prediction of the counterfactual sequence)."""

    run: TrainConfig  # the network: its architecture, task and seed
    program: str = "up_down"  # "up_down", "up_up" or "ctx_distr"
    variable: str | None = "count"  # the program's variable to align; None: the full state
    method: str = "learned"  # a key of numvars.das.ALIGNMENTS
    k: int | None = None  # rotated coordinates swapped; None: half the state (numvars.das.half_state)
    trained: bool = True  # False: the same network at its initial weights (a control)
    n_pairs: tuple[int, int, int] = PAPER_PAIRS  # train, validation, test
    pair_seed: int = 0  # the same pairs for every network of a task
    demo_continuation: str = "paper"
    max_epochs: int = 100
    patience: int = 20
    lr: float = 3e-3
    batch_size: int = 512
    checkpoint: str | int = "analysed"  # numvars.training.CHECKPOINTS, or a saved epoch
    positions: str = "paper_index"  # numvars.tasks.POSITION_RULES
    score_at_t: bool = True
    # how the measurement runs the network (numvars.models.KERNELS), whatever kernel trained it:
    # "packed" computes the same function, rounded differently, faster (README, "Performance")
    kernel: str = field(default="stepped", metadata={OMIT_IF_DEFAULT: True})
    stop: str = field(default="best_val_iia", metadata={OMIT_IF_DEFAULT: True})  # numvars.das.DAS_STOPS
    loss_tokens: str = field(default="scored", metadata={OMIT_IF_DEFAULT: True})  # numvars.das.LOSS_TOKENS

    def __post_init__(self):
        if self.method not in ALIGNMENTS:
            raise ValueError(f"unknown DAS method {self.method!r}; allowed: {list(ALIGNMENTS)}")
        if self.k is not None and (not isinstance(self.k, int) or self.k < 1):
            raise ValueError(
                f"k (the swapped dimensions) must be None (half the state) or an integer >= 1, got {self.k!r}"
            )
        if self.method == "full_swap" and self.k is not None:
            raise ValueError("a full swap swaps the whole state: leave k as None")
        if (self.method == "full_swap") != (self.variable is None):
            raise ValueError("a full swap aligns the whole state (variable=None), and only a full swap does")
        get_program(self.program, self.run.task).check_variables(self.variables)  # unknown variable: clear error
        if not (self.at_epoch and self.checkpoint >= 0) and self.checkpoint not in CHECKPOINTS:
            raise ValueError(
                f"unknown checkpoint {self.checkpoint!r}; allowed: {list(CHECKPOINTS)} or a saved epoch (an int >= 0)"
            )
        if self.demo_continuation not in DEMO_CONTINUATIONS:
            raise ValueError(
                f"unknown demo_continuation {self.demo_continuation!r}; allowed: {list(DEMO_CONTINUATIONS)}"
            )
        if self.positions not in POSITION_RULES:
            raise ValueError(f"unknown position rule {self.positions!r}; allowed: {list(POSITION_RULES)}")
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}; allowed: {list(KERNELS)}")
        if self.stop not in DAS_STOPS:
            raise ValueError(f"unknown DAS stopping rule {self.stop!r}; allowed: {list(DAS_STOPS)}")
        if self.loss_tokens not in LOSS_TOKENS:
            raise ValueError(f"unknown loss tokens {self.loss_tokens!r}; allowed: {list(LOSS_TOKENS)}")

    @property
    def at_epoch(self) -> bool:
        """Is the network measured at a saved epoch (``checkpoint`` an int)?"""
        return isinstance(self.checkpoint, int) and not isinstance(self.checkpoint, bool)

    @property
    def variables(self) -> tuple[str, ...] | None:
        """The swapped variables (``None``: the full state)."""
        return None if self.variable is None else tuple(self.variable.split("+"))

    @property
    def pairs(self) -> "PairSpec":
        """What the pair sets depend on (not the network, the seed or the method)."""
        return PairSpec(
            self.run.task,
            self.program,
            self.variable,
            self.n_pairs,
            self.pair_seed,
            self.demo_continuation,
            self.positions,
            self.score_at_t,
        )

    def protocol_changes(self) -> dict:
        """The protocol settings where this measurement departs from the default protocol: its
        network's training rules (:meth:`TrainConfig.rule_changes`) and its own
        (:data:`PROTOCOL_FIELDS`, named by :data:`DAS_RULE_NAMES` where training has the same
        name), e.g. ``{"checkpoint": "criterion"}``."""
        changed = {f.name: getattr(self, f.name) for f in fields(DasConfig) if getattr(self, f.name) != f.default}
        return {**self.run.rule_changes(), **measurement_rules(changed)}

    def stack_key(self) -> "DasConfig":
        """What the measurements fitted together as one stack share: this measurement on seed 0 of
        its condition — at epoch 0 when it is measured at a saved epoch, so that a condition's
        checkpoints stack too."""
        return replace(self, run=self.run.condition(), **({"checkpoint": 0} if self.at_epoch else {}))

    @property
    def member(self) -> tuple[int, str | int]:
        """Which network of a stack this measurement is on: (seed, checkpoint)."""
        return self.run.seed, self.checkpoint

    @property
    def variable_name(self) -> str:
        """The ``variable`` column of the DAS tables: the variable, ``"full_swap"`` for the whole state."""
        return self.variable or "full_swap"

    def label(self) -> str:
        """E.g. ``"up_down.count"``, ``"ctx_distr.full_swap"``."""
        return f"{self.program}.{self.variable_name}"


@dataclass(frozen=True)
class PairSpec:
    task: Task
    program: str
    variable: str | None
    n_pairs: tuple[int, int, int]
    pair_seed: int
    demo_continuation: str
    positions: str
    score_at_t: bool


@functools.lru_cache(maxsize=64)
def pair_set(spec: PairSpec, split: str) -> PairSet:
    """The ``split`` (``"train"``, ``"val"``, ``"test"``) pairs of a measurement, cached: every
    network of a task is measured on the same pairs."""
    n = spec.n_pairs[SPLITS.index(split)]
    program = get_program(spec.program, spec.task)
    return make_pairs(
        program,
        spec.variable,
        n,
        seed=derive_seed(spec.pair_seed, f"das-{split}"),
        demo_continuation=spec.demo_continuation,
        positions=spec.positions,
        score_at_t=spec.score_at_t,
    )


def load_network(config: DasConfig, store: Store | None = None, run: RunResult | None = None) -> CountingModel:
    """The measured network, run by ``config.kernel``: trained (from the store — or ``run``, if
    already loaded — at ``config.checkpoint``) or at its initial weights."""
    if not config.trained:
        return with_kernel(build_model(config.run.model_config, seeds=(config.run.seed,)).eval(), config.kernel)
    run = run or load_run(config.run, store)
    if run is None:
        raise LookupError(f"the network {config.run} is not trained yet: run `python -m numvars train` first")
    if not run.reached:
        raise LookupError(f"the network {config.run} never reached the criterion (dropped); it has no DAS result")
    return with_kernel(run.network_at(config.checkpoint), config.kernel)


def measure(config: DasConfig, store: Store | None = None) -> DasResult:
    """Compute one measurement (chapter 3): the alignment ``config.method`` fitted (or, with
    nothing to learn, only scored) on the network's pairs."""
    return measure_stack([config], store)[0]


def measure_stack(configs: Sequence[DasConfig], store: Store | None = None) -> list[DasResult]:
    """Compute the measurements ``configs`` of one condition's networks (they differ only in
    ``run.seed`` and, for saved epochs, ``checkpoint``: :meth:`DasConfig.stack_key`) together:
    their networks stacked into one ensemble, each with its own alignment, started from its
    seed's rotation (:func:`numvars.das.fit_alignments`), each result the one it would be alone."""
    start = time.perf_counter()
    first = configs[0]
    if len({c.stack_key() for c in configs}) != 1 or len({c.member for c in configs}) != len(configs):
        raise ValueError("measurements computed together must differ only in the network's seed (or saved epoch)")
    runs = {
        c.run: load_run(c.run, store) for c in configs if c.trained
    }  # each run once: a stack may hold its checkpoints
    model = CountingModel.stack([load_network(c, store, runs.get(c.run)) for c in configs]).requires_grad_(False)
    seeds = tuple(c.run.seed for c in configs)
    alignment = make_alignment(
        first.method, model.config.state_size, first.k, seed=seeds if len(seeds) > 1 else seeds[0]
    )
    train, val, test = (pair_set(first.pairs, split) for split in SPLITS)
    results = fit_alignments(
        model,
        alignment,
        train,
        val,
        test,
        max_epochs=first.max_epochs,
        patience=first.patience,
        lr=first.lr,
        batch_size=first.batch_size,
        seed=derive_seed(first.pair_seed, "das-batches"),
        stop=first.stop,
        loss_tokens=first.loss_tokens,
    )
    for result in results:
        result.seconds = (time.perf_counter() - start) / len(configs)
    return results


def load_measurement(config: DasConfig, store: Store | None = None) -> DasResult | None:
    """The stored measurement of ``config``, or ``None`` if it has not been computed."""
    payload = (store or Store.default()).load(DAS_KIND, config)
    return None if payload is None else DasResult.from_payload(payload)


# ------------------------------------------------------------------------------------ jobs
@dataclass(frozen=True)
class TrainJob:
    """Train one condition's seeds as one stacked ensemble, test each network's behaviour, and
    store each run."""

    configs: tuple[TrainConfig, ...]
    kind: ClassVar[str] = RUN_KIND

    def run(self, store: Store) -> None:
        for result in train_and_test(self.configs):
            store.save(RUN_KIND, result.config, result.to_payload())

    def label(self) -> str:
        return f"{describe(self.configs[0])} seeds {','.join(str(c.seed) for c in self.configs)}"

    def priority(self) -> tuple:
        """Sort key, costliest first, so that parallel workers finish together."""
        first = self.configs[0]
        return (first.arch != "transformer", -first.d, -len(self.configs))


@dataclass(frozen=True)
class DasJob:
    """Compute one measurement on a condition's networks together (:func:`measure_stack`) and
    store each."""

    configs: tuple[DasConfig, ...]
    kind: ClassVar[str] = DAS_KIND

    def run(self, store: Store) -> None:
        for config, result in zip(self.configs, measure_stack(self.configs, store)):
            store.save(DAS_KIND, config, result.to_payload())

    def label(self) -> str:
        first = self.configs[0]
        rules = first.run.rule_changes()  # named by describe(first.run)
        changes = "".join(f" {name}={value}" for name, value in first.protocol_changes().items() if name not in rules)
        changes += "" if first.trained else " untrained"
        changes += "" if first.kernel == "stepped" else f" ({first.kernel} kernel)"
        if first.at_epoch:
            epochs = sorted({c.checkpoint for c in self.configs})
            changes = f" at epoch {epochs[0]}" if len(epochs) == 1 else f" at {len(epochs)} saved epochs"
        seeds = ",".join(str(s) for s in dict.fromkeys(c.run.seed for c in self.configs))
        return f"{first.label()} {first.method}{changes} on {describe(first.run)} seeds {seeds}"

    def priority(self) -> tuple:
        """Sort key: the measurements with nothing to learn first (they are quick), then by
        :func:`numvars.measures.order_of` (so that an interrupted grid has its main measures), the default
        protocol before its variants, and neighbours that share pair sets together."""
        first = self.configs[0]
        return (
            ALIGNMENTS[first.method].trainable,
            order_of(first.variable),
            bool(first.protocol_changes()),
            first.run.task.kind,
            first.label(),
            first.method,
            str(first.protocol_changes()),
        )


Job = Union[TrainJob, DasJob]
Config = Union[TrainConfig, DasConfig]


def kind_of(config: Config) -> str:
    """The store kind of a config's result."""
    if isinstance(config, TrainConfig):
        return RUN_KIND
    if isinstance(config, DasConfig):
        return DAS_KIND
    raise TypeError(f"no job computes a {type(config).__name__}; allowed: TrainConfig, DasConfig")


#: the most networks one DAS job fits as a stack: on this book's 2-core machines a stack of six
#: d = 20 GRUs costs the least per member (``benchmarks/das_speed.py``); bigger stacks cost more
MAX_STACK = 6


def jobs_for(configs: Sequence[Config]) -> list[Job]:
    """The jobs that compute ``configs``: one :class:`TrainJob` per training condition and
    :class:`DasJob` s of at most :data:`MAX_STACK` networks per measurement of a condition (its
    seeds together; learning curves: the seeds at one saved epoch together); costliest first."""
    conditions: dict[Config, list[Config]] = defaultdict(list)
    for config in configs:
        kind = kind_of(config)  # anything else: a clear error
        conditions[(kind, config.condition() if kind == RUN_KIND else config.stack_key())].append(config)
    jobs: list[Job] = []
    for (kind, _), group in conditions.items():
        if kind == RUN_KIND:
            jobs.append(TrainJob(tuple(group)))
            continue
        # checkpoints of one epoch fit (and stop) alike: they share a stack
        group = sorted(group, key=lambda c: (c.checkpoint if c.at_epoch else -1, c.run.seed))
        jobs.extend(DasJob(tuple(group[i : i + MAX_STACK])) for i in range(0, len(group), MAX_STACK))
    return sorted(jobs, key=lambda job: (job.kind != RUN_KIND, job.priority()))  # training before measuring
