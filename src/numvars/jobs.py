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
from dataclasses import dataclass
from typing import Callable, ClassVar, Sequence, Union

from numvars.das import ALIGNMENTS, DasResult, PairSet, fit_alignment, make_alignment, make_pairs
from numvars.models import CountingModel, build_model
from numvars.programs import get_program
from numvars.store import Store
from numvars.tasks import Task
from numvars.training import RunResult, TrainConfig, derive_seed, train_and_test

RUN_KIND, DAS_KIND = "run", "das"
SPLITS = ("train", "val", "test")
PAPER_PAIRS = (10_000, 1_000, 1_000)  # paper §4: train, validation, test pairs


# ---------------------------------------------------------------------------- trained runs
def load_run(config: TrainConfig, store: Store | None = None) -> RunResult | None:
    """The stored run of ``config``, or ``None`` if it has not been trained."""
    payload = (store or Store.default()).load(RUN_KIND, config)
    return None if payload is None else RunResult.from_payload(config, payload)


def describe(config: TrainConfig) -> str:
    """A short name of a training condition, e.g. ``"transformer 2L rope d=20 single+void0.2"``."""
    task = config.task.kind + (f"+void{config.task.void_p}" if config.task.void_p else "")
    extra = "" if config.arch != "transformer" else f" {config.n_layers}L {config.positional}"
    return f"{config.arch}{extra} d={config.d} {task}"


# ------------------------------------------------------------------------ DAS measurements
@dataclass(frozen=True)
class DasConfig:
    """One DAS measurement (paper §4 defaults): a network, a program variable, an alignment method.

    ``method`` names an alignment of :data:`numvars.das.ALIGNMENTS`: ``"learned"`` (DAS, a
    rotation trained on the counterfactuals), ``"random"`` (a fixed random rotation, the control
    for "any subspace would do") or ``"full_swap"`` (the whole state; Ctx-Distr's test).
    ``trained=False`` measures the network at its initial weights (the control for "DAS can
    make anything look aligned")."""

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

    def __post_init__(self):
        if self.method not in ALIGNMENTS:
            raise ValueError(f"unknown DAS method {self.method!r}; allowed: {list(ALIGNMENTS)}")
        if self.k is not None and (not isinstance(self.k, int) or self.k < 1):
            raise ValueError(f"k (the swapped dimensions) must be None (half the state) or an integer >= 1, got {self.k!r}")
        if self.method == "full_swap" and self.k is not None:
            raise ValueError("a full swap swaps the whole state: leave k as None")
        if (self.method == "full_swap") != (self.variable is None):
            raise ValueError("a full swap aligns the whole state (variable=None), and only a full swap does")
        get_program(self.program, self.run.task).check_variables(self.variable)  # unknown variable: clear error

    @property
    def pairs(self) -> "PairSpec":
        """What the pair sets depend on (not the network, the seed or the method)."""
        return PairSpec(self.run.task, self.program, self.variable, self.n_pairs, self.pair_seed, self.demo_continuation)

    def label(self) -> str:
        """E.g. ``"up_down.count"``, ``"ctx_distr.full_swap"``."""
        return f"{self.program}.{self.variable or 'full_swap'}"


@dataclass(frozen=True)
class PairSpec:
    task: Task
    program: str
    variable: str | None
    n_pairs: tuple[int, int, int]
    pair_seed: int
    demo_continuation: str


@functools.lru_cache(maxsize=64)
def pair_set(spec: PairSpec, split: str) -> PairSet:
    """The ``split`` (``"train"``, ``"val"``, ``"test"``) pairs of a measurement, cached: every
    network of a task is measured on the same pairs."""
    n = spec.n_pairs[SPLITS.index(split)]
    program = get_program(spec.program, spec.task)
    return make_pairs(program, spec.variable, n, seed=derive_seed(spec.pair_seed, f"das-{split}"), demo_continuation=spec.demo_continuation)


def network(config: DasConfig, store: Store | None = None) -> CountingModel:
    """The measured network: trained (from the store) or at its initial weights."""
    if not config.trained:
        return build_model(config.run.model_config, seeds=(config.run.seed,)).eval()
    run = load_run(config.run, store)
    if run is None:
        raise LookupError(f"the network {config.run} is not trained yet: run `python -m numvars train` first")
    if not run.reached:
        raise LookupError(f"the network {config.run} never reached the criterion (dropped); it has no DAS result")
    return run.model()


def measure(config: DasConfig, store: Store | None = None, progress: Callable | None = None) -> DasResult:
    """Compute one measurement (chapter 3): the alignment ``config.method`` fitted (or, with
    nothing to learn, only scored) on the network's pairs."""
    start = time.perf_counter()
    model = network(config, store).requires_grad_(False)
    alignment = make_alignment(config.method, model.config.state_size, config.k, seed=config.run.seed)
    train, val, test = (pair_set(config.pairs, split) for split in SPLITS)
    result = fit_alignment(model, alignment, train, val, test, max_epochs=config.max_epochs, patience=config.patience,
                           lr=config.lr, batch_size=config.batch_size, seed=config.run.seed, progress=progress)
    result.seconds = time.perf_counter() - start
    return result


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
    """Compute one DAS measurement and store it."""

    config: DasConfig
    kind: ClassVar[str] = DAS_KIND

    @property
    def configs(self) -> tuple[DasConfig]:
        return (self.config,)

    def run(self, store: Store) -> None:
        store.save(DAS_KIND, self.config, measure(self.config, store).to_payload())

    def label(self) -> str:
        return f"{self.config.label()} {self.config.method} on {describe(self.config.run)} seed {self.config.run.seed}"

    def priority(self) -> tuple:
        return (self.config.run.task.kind, self.config.label(), self.config.method)  # neighbours share pair sets


Job = Union[TrainJob, DasJob]
Config = Union[TrainConfig, DasConfig]


def kind_of(config: Config) -> str:
    """The store kind of a config's result."""
    if isinstance(config, TrainConfig):
        return RUN_KIND
    if isinstance(config, DasConfig):
        return DAS_KIND
    raise TypeError(f"no job computes a {type(config).__name__}; allowed: TrainConfig, DasConfig")


def jobs_for(configs: Sequence[Config]) -> list[Job]:
    """The jobs that compute ``configs``: one :class:`TrainJob` per training condition (its
    seeds together), one :class:`DasJob` per measurement; costliest first."""
    conditions: dict[TrainConfig, list[TrainConfig]] = defaultdict(list)
    jobs: list[Job] = []
    kinds = {config: kind_of(config) for config in configs}  # anything else: a clear error
    for config, kind in kinds.items():
        if kind == RUN_KIND:
            conditions[config.condition()].append(config)
        else:
            jobs.append(DasJob(config))
    jobs += [TrainJob(tuple(group)) for group in conditions.values()]
    return sorted(jobs, key=lambda job: (job.kind != RUN_KIND, job.priority()))  # training before measuring
