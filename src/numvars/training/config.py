"""What a network is trained with: :class:`TrainConfig` (task, architecture, seed and the rules of the
loop), its learning-rate schedule (:func:`lr_at`) and its training and validation sets.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, fields, replace

from numvars.models import ModelConfig
from numvars.store import OMIT_IF_DEFAULT
from numvars.tasks import Task

STOPS = ("criterion", "budget")


#: a GRU's or LSTM's inputs in the response phase while training: ``"teacher"`` — the true
#: tokens (teacher forcing, the book's reading); ``"free"`` — its own argmax prediction of the
#: previous token (free-running, the authors' code). Evaluation always reads the true tokens: a
#: trial all of whose responses are right is the same trial either way.
RESPONSE_INPUTS = ("teacher", "free")


#: which checkpoint of a run is measured: the analysed one (``RunResult.state``), or the first
#: that met the criterion
CHECKPOINTS = ("analysed", "criterion")


@dataclass(frozen=True)
class TrainConfig:
    """One model to train: what it learns, its architecture, its seed, and the paper's loop."""

    task: Task = field(default_factory=lambda: Task("multi"))
    arch: str = "gru"
    d: int = 20
    n_layers: int = 2  # transformer only
    positional: str = "rope"  # transformer only
    seed: int = 0
    n_train: int = 1000
    n_val: int = 500
    batch_size: int = 128
    lr: float = 1e-3
    warmup_steps: int = 100
    lr_floor: float = 1e-7
    criterion: float = 0.9999
    max_epochs: int = 2000
    checkpoint_every: int = 5
    stop: str = "criterion"  # "criterion": stop when it is met; "budget": train all max_epochs
    #: numvars.models.KERNELS: "packed" computes only the real tokens' work (faster; rounds
    #: differently, so its networks are others); the default keeps every existing key
    kernel: str = field(default="stepped", metadata={OMIT_IF_DEFAULT: True})
    # The rules of the authors' code (PAPER.md §6, numvars.protocols); the defaults are the book's
    # reading of the paper's text and keep every existing key.
    #: numvars.models.LSTM_UNITS: "d" units for h and c, or "half" (d/2 each: [h; c] has d)
    lstm_units: str = field(default="d", metadata={OMIT_IF_DEFAULT: True})
    #: numvars.models.DROPOUT_SITES: a transformer's dropout in the head only, or in every layer too
    dropout_sites: str = field(default="head", metadata={OMIT_IF_DEFAULT: True})
    #: RESPONSE_INPUTS: a GRU's or LSTM's inputs in the response phase while training
    response_inputs: str = field(default="teacher", metadata={OMIT_IF_DEFAULT: True})
    #: the exponent of the learning rate's decay after warm-up: lr * (warmup / step)^lr_decay
    lr_decay: float = field(default=0.5, metadata={OMIT_IF_DEFAULT: True})

    def __post_init__(self):
        self.model_config  # validates the architecture fields
        if self.stop not in STOPS:
            raise ValueError(f"unknown stop rule {self.stop!r}; allowed: {list(STOPS)}")
        if self.response_inputs not in RESPONSE_INPUTS:
            raise ValueError(
                f"unknown response-phase inputs {self.response_inputs!r}; allowed: {list(RESPONSE_INPUTS)}"
            )
        if self.response_inputs == "free" and self.arch == "transformer":
            raise ValueError(
                "response_inputs='free' (the model's own argmax fed back) is a rule for GRUs and LSTMs; "
                "a transformer trains on the whole sequence at once"
            )
        if not (isinstance(self.lr_decay, (int, float)) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must be a number in (0, 1], got {self.lr_decay!r}")
        for name in ("n_train", "n_val", "batch_size", "max_epochs", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig(
            self.arch,
            len(self.task.vocab),
            self.d,
            self.n_layers,
            self.positional,
            kernel=self.kernel,
            lstm_units=self.lstm_units,
            dropout_sites=self.dropout_sites,
        )

    def rule_changes(self) -> dict:
        """The training rules (:data:`RULE_FIELDS`) where this network departs from the book's
        defaults, e.g. ``{"lstm_units": "half"}``."""
        return {name: getattr(self, name) for name in RULE_FIELDS if getattr(self, name) != _DEFAULT_RULES[name]}

    def condition(self) -> "TrainConfig":
        """This config with seed 0: what all seeds of one condition share."""
        return replace(self, seed=0)


#: the training rules a protocol may change (numvars.protocols; PAPER.md §6)
RULE_FIELDS = ("lr", "lr_decay", "lstm_units", "dropout_sites", "response_inputs")


_DEFAULT_D = next(f.default for f in fields(TrainConfig) if f.name == "d")
_DEFAULT_RULES = {f.name: f.default for f in fields(TrainConfig) if f.name in RULE_FIELDS}


def config_columns(config: TrainConfig) -> dict:
    """Flat, readable description of a network's config for tables (``task``: the kind, with
    ``-bare`` for the bare framing)."""
    return dict(
        arch=config.arch,
        task=config.task.kind if config.task.framing == "full" else f"{config.task.kind}-bare",
        void_p=config.task.void_p,
        d=config.d,
        n_layers=config.n_layers if config.arch == "transformer" else None,
        positional=config.positional if config.arch == "transformer" else None,
        seed=config.seed,
    )


def describe(network) -> str:
    """The one short name of a training condition, for progress lines, tables and plots: the
    architecture, what sets the network apart from the defaults, and the task — e.g. ``"gru multi"``,
    ``"gru d=8 multi"``, ``"transformer 1L NoPE multi-bare"``, ``"transformer 2L RoPE single +void"``,
    ``"lstm single lstm_units=half"``.

    ``network``: a :class:`TrainConfig` (its training rules that differ from the paper text's are
    named too), or a table row / mapping with :func:`config_columns`' fields (``arch``, ``task``,
    ``d``, ``void_p``, ``n_layers``, ``positional``)."""
    rules = network.rule_changes() if isinstance(network, TrainConfig) else {}
    columns = config_columns(network) if isinstance(network, TrainConfig) else network
    parts = [columns["arch"]]
    if columns["arch"] == "transformer":
        positional = "NoPE" if columns["positional"] == "none" else "RoPE"
        parts.append(f"{int(columns['n_layers'])}L {positional}")
    if int(columns["d"]) != _DEFAULT_D:
        parts.append(f"d={int(columns['d'])}")
    parts.append(columns["task"] + (" +void" if columns["void_p"] > 0 else ""))
    parts += [f"{name}={value}" for name, value in rules.items()]
    return " ".join(parts)


def derive_seed(seed: int, purpose: str) -> int:
    """An independent seed for one use (``"data"``, ``"batches"``, …) of a run's seed."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{purpose}".encode()).digest()[:4], "little")


def lr_at(config: TrainConfig, step: int) -> float:
    """Learning rate at optimiser step ``step`` (0-based): linear warm-up, then decay
    ∝ step^-``lr_decay`` (0.5: 1/sqrt, computed with ``math.sqrt`` as every stored network was)."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    ratio = config.warmup_steps / (step + 1)
    return max(config.lr_floor, config.lr * (math.sqrt(ratio) if config.lr_decay == 0.5 else ratio**config.lr_decay))


def training_set(config: TrainConfig) -> list[list[int]]:
    return config.task.sample(config.n_train, seed=derive_seed(config.seed, "train"))


def validation_set(config: TrainConfig) -> list[list[int]]:
    return config.task.sample(config.n_val, seed=derive_seed(config.seed, "validation"))
