"""Training to criterion (paper §3), many seeds of one condition at once.

A :class:`TrainConfig` describes one model: task, architecture and seed. :func:`train` trains
several configs that differ only in their seed as one stacked ensemble
(:mod:`numvars.models`): each member has its own training set, batch order, initial weights and
dropout masks, exactly as if it were trained alone, and leaves the stack when it reaches the
criterion. The loop:

* a fixed training set of 1000 sequences per seed, 8 batches of 128 per epoch (the last one
  shorter), next-token cross-entropy over every non-pad position;
* Adam; warm-up over 100 steps to lr 1e-3, then inverse-square-root decay to a floor of 1e-7;
* after every epoch, trial accuracy on a validation set drawn like the training set; a member
  that has not reached ``criterion`` (99.99 %) by ``max_epochs`` is *dropped* — reported, never
  hidden;
* ``stop="criterion"``: a member stops at the first epoch that meets the criterion, and that is
  the network analysed. ``stop="budget"`` (the authors' code, which trains for a fixed number of
  epochs): every member trains for all ``max_epochs``, and the network analysed is its last
  checkpoint that meets the criterion (the authors keep the latest checkpoint with the best
  validation accuracy); the first one that met it stays available
  (:meth:`RunResult.network_at`, ``"criterion"``);
* a checkpoint of every member every ``checkpoint_every`` epochs (for learning dynamics), and at
  the criterion epoch.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, fields, replace
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from numvars.models import CountingModel, ModelConfig, build_model, keep_adam_state
from numvars.store import OMIT_IF_DEFAULT
from numvars.tasks import EVAL_PER_COUNT, Task

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


def stack_batches(task: Task, batches: Sequence[Sequence[Sequence[int]]]) -> torch.Tensor:
    """One batch per member -> (E, B, L) ids, padded to the longest; short batches padded with
    all-PAD rows (which add nothing to the loss or the accuracy)."""
    return stack_padded([task.pad(b) for b in batches], task.pad_id)


def stack_padded(batches: Sequence[torch.Tensor], pad_id: int) -> torch.Tensor:
    """(B_e, L_e) id tensors, one per member -> (E, B, L), padded with ``pad_id`` to the most
    rows and the longest sequence."""
    rows, length = max(b.shape[0] for b in batches), max(b.shape[1] for b in batches)
    return torch.stack([F.pad(b, (0, length - b.shape[1], 0, rows - b.shape[0]), value=pad_id) for b in batches])


class PaddedSet:
    """A fixed set of sequences padded once, ``(n, L_max)``; :meth:`batch` gives rows trimmed to
    their longest sequence — the same tensor :meth:`Task.pad` would build, without Python loops."""

    def __init__(self, task: Task, seqs: Sequence[Sequence[int]]):
        self.tokens = task.pad(seqs)
        self.lengths = torch.tensor([len(s) for s in seqs])

    def batch(self, rows: np.ndarray | torch.Tensor) -> torch.Tensor:
        rows = torch.as_tensor(rows)
        return self.tokens[rows, : int(self.lengths[rows].max())]


def member_losses(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Mean next-token cross-entropy over non-pad targets, per member: (E,).

    logits (E, B, L-1, V) predict tokens[:, :, 1:] of tokens (E, B, L)."""
    targets = tokens[:, :, 1:]
    losses = []
    for member_logits, member_targets in zip(logits, targets):
        real = member_targets != pad_id
        losses.append(F.cross_entropy(member_logits[real], member_targets[real]))
    return torch.stack(losses)


def trial_correct(
    model: CountingModel, task: Task, seqs_per_member: Sequence[Sequence[Sequence[int]]], chunk: int = 512
) -> torch.Tensor:
    """(E, n) bool: is each member's trial on its own sequences fully correct? Eval mode."""
    return tokens_correct(model, task, stack_batches(task, seqs_per_member), chunk)


@torch.no_grad()
def tokens_correct(model: CountingModel, task: Task, tokens: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """(E, n) bool for padded trials ``tokens`` (E, n, L), one set per member, ``chunk`` at a time."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, tokens.shape[1], chunk):
        part = tokens[:, start : start + chunk]
        logits = model(part).logits  # (E, B, L, V)
        out.append(torch.stack([task.trial_correct(logits[e], part[e]) for e in range(len(part))]))
    model.train(was_training)
    return torch.cat(out, dim=1)


def accuracy_per_count(
    model: CountingModel,
    task: Task,
    counts: Sequence[int] | None = None,
    per_count: int = EVAL_PER_COUNT,
    seed: int = 0,
) -> torch.Tensor:
    """(E, len(counts)) trial accuracy of every member on ``per_count`` sequences of each N
    (the paper's behavioural test: 15 per N, N = 1..30 — ``counts`` defaults to
    :attr:`Task.eval_counts`)."""
    counts = task.eval_counts if counts is None else counts
    long_task = replace(task, max_count=max(max(counts), task.max_count), hold_outs=())
    seqs = long_task.sample(len(counts) * per_count, seed=seed, counts=[n for n in counts for _ in range(per_count)])
    correct = trial_correct(model, long_task, [seqs] * model.n_members)
    return correct.view(model.n_members, len(counts), per_count).float().mean(dim=2)


@dataclass
class RunResult:
    """What training one member produced; :meth:`to_payload` / :meth:`from_payload` convert it
    to and from what the store keeps."""

    config: TrainConfig
    reached: bool  # criterion reached (False: the run is dropped)
    epochs: int  # epochs trained
    state: dict[str, torch.Tensor]  # the analysed weights, as a one-member model's state_dict
    checkpoints: dict[int, dict[str, torch.Tensor]]  # epoch -> state_dict (epoch 0 = initial)
    history: list[dict]  # per epoch: epoch, loss, val_accuracy, lr
    criterion_epoch: int | None = None  # the first epoch that met the criterion
    analysed_epoch: int | None = None  # the epoch of ``state``
    accuracy_per_count: dict[int, torch.Tensor] | None = None  # epoch -> (len(task.eval_counts),) behavioural test

    def model(self) -> CountingModel:
        """The analysed network (eval mode)."""
        return load_model(self.config, self.state)

    def epoch_of(self, checkpoint: str | int) -> int:
        """The epoch of ``checkpoint``: one of :data:`CHECKPOINTS`, or a saved epoch (an int, for
        learning dynamics: every ``checkpoint_every`` epochs and 0, the initial weights)."""
        if isinstance(checkpoint, int) and not isinstance(checkpoint, bool):
            if checkpoint not in self.checkpoints:
                saved = sorted(self.checkpoints)
                raise ValueError(
                    f"no checkpoint at epoch {checkpoint} of {self.config}; saved: {saved[0]}..{saved[-1]} "
                    f"every {self.config.checkpoint_every} epochs"
                )
            return checkpoint
        if checkpoint not in CHECKPOINTS:
            raise ValueError(
                f"unknown checkpoint {checkpoint!r}; allowed: {list(CHECKPOINTS)} or a saved epoch (an int)"
            )
        if not self.reached:
            raise LookupError(f"the network {self.config} never reached the criterion (dropped)")
        return self.analysed_epoch if checkpoint == "analysed" else self.criterion_epoch

    def network_at(self, checkpoint: str | int) -> CountingModel:
        """The network at ``checkpoint`` (``"analysed"``, ``"criterion"`` or a saved epoch), eval mode."""
        return load_model(self.config, self.checkpoints[self.epoch_of(checkpoint)])

    def test(self, checkpoint: str = "analysed") -> torch.Tensor:
        """The behavioural test (accuracy per N of :attr:`Task.eval_counts`) at ``checkpoint``."""
        return self.accuracy_per_count[self.epoch_of(checkpoint)]

    def meets_standard(self, checkpoint: str = "analysed") -> bool:
        """The paper's standard for an analysed network (§3.2): more than 99.99 % of the
        behavioural test's sequences right for every N of 1..20, the 16 trained counts and the
        4 held-out ones (15 sequences each: all of them) — at ``checkpoint``. The paper drops
        seeds that fail it."""
        if not self.reached:
            return False
        accuracy = self.test(checkpoint)
        within = [i for i, n in enumerate(self.config.task.eval_counts) if n <= self.config.task.max_count]
        return bool(accuracy[within].min() > self.config.criterion)

    def to_payload(self) -> dict:
        return {name: getattr(self, name) for name in _PAYLOAD}

    @classmethod
    def from_payload(cls, config: TrainConfig, payload: dict) -> "RunResult":
        return cls(config, **{name: payload[name] for name in _PAYLOAD})


_PAYLOAD = (
    "reached",
    "epochs",
    "state",
    "checkpoints",
    "history",
    "criterion_epoch",
    "analysed_epoch",
    "accuracy_per_count",
)


def train_and_test(
    configs: Sequence[TrainConfig], progress: Callable[[int, list[float]], None] | None = None
) -> list[RunResult]:
    """:func:`train` one condition's seeds, then run the behavioural test (accuracy per N,
    :func:`accuracy_per_count`) on each trained network at its analysed and criterion epochs (a
    dropped network: at its last epoch)."""
    results = train(configs, progress=progress)
    for result in results:
        epochs = {result.analysed_epoch, result.criterion_epoch} - {None} or {
            result.epochs
        }  # dropped: its last weights
        result.accuracy_per_count = {
            epoch: accuracy_per_count(load_model(result.config, result.checkpoints[epoch]), result.config.task, seed=0)[
                0
            ]
            for epoch in sorted(epochs)
        }
    return results


def load_model(config: TrainConfig, state: dict[str, torch.Tensor]) -> CountingModel:
    model = build_model(config.model_config, seeds=(config.seed,))
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"these weights do not fit a {config.model_config}: {error}") from None
    return model.eval()


def _keep_members(model: CountingModel, optimizer: torch.optim.Adam, keep: list[int]):
    """The ensemble of members ``keep`` with their Adam state, the others removed."""
    kept = model.select(keep)
    return kept.train(), keep_adam_state(optimizer, model.parameters(), kept.parameters(), keep)


def train(
    configs: Sequence[TrainConfig], progress: Callable[[int, list[float]], None] | None = None
) -> list[RunResult]:
    """Train several seeds of one condition together; returns one result per config, in order.

    ``progress(epoch, val_accuracies)`` is called after every epoch (for progress bars).
    """
    if len(configs) == 0:
        raise ValueError("nothing to train: no configs")
    conditions = {c.condition() for c in configs}
    if len(conditions) != 1:
        raise ValueError("configs trained together must differ only in their seed")
    if len({c.seed for c in configs}) != len(configs):
        raise ValueError("configs trained together need distinct seeds")
    config = configs[0]
    task = config.task
    model = build_model(config.model_config, seeds=[c.seed for c in configs]).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr_at(config, 0))
    train_sets = [PaddedSet(task, training_set(c)) for c in configs]
    val_tokens = stack_batches(task, [validation_set(c) for c in configs])  # (E, n_val, L)
    batch_rngs = [np.random.default_rng(derive_seed(c.seed, "batches")) for c in configs]

    active = list(range(len(configs)))  # indices into configs of the members still training
    results: dict[int, RunResult] = {}
    checkpoints = {i: {0: model.member_state(k)} for k, i in enumerate(active)}
    histories: dict[int, list[dict]] = {i: [] for i in active}
    criterion_epochs: dict[int, int] = {}
    step = 0
    for epoch in range(1, config.max_epochs + 1):
        orders = [batch_rngs[i].permutation(config.n_train) for i in active]
        epoch_loss = torch.zeros(len(active))
        n_batches = math.ceil(config.n_train / config.batch_size)
        for b in range(n_batches):
            rows = [order[b * config.batch_size : (b + 1) * config.batch_size] for order in orders]
            tokens = stack_padded([train_sets[i].batch(rows[k]) for k, i in enumerate(active)], task.pad_id)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(config, step)
            inputs = tokens[:, :, :-1]
            feed_back = task.response_mask(inputs) if config.response_inputs == "free" else None
            losses = member_losses(model(inputs, feed_back=feed_back).logits, tokens, task.pad_id)
            optimizer.zero_grad(set_to_none=True)
            losses.sum().backward()  # members share no weights: each gets its own gradient
            optimizer.step()
            epoch_loss += losses.detach() / n_batches
            step += 1
        val_accuracy = tokens_correct(model, task, val_tokens[active]).float().mean(dim=1)
        for k, i in enumerate(active):
            histories[i].append(
                dict(
                    epoch=epoch,
                    loss=float(epoch_loss[k]),
                    val_accuracy=float(val_accuracy[k]),
                    lr=lr_at(config, step - 1),
                )
            )
            if epoch % config.checkpoint_every == 0:
                checkpoints[i][epoch] = model.member_state(k)
        if progress is not None:
            progress(epoch, [float(a) for a in val_accuracy])
        for k, i in enumerate(active):
            if criterion_epochs.get(i) is None and val_accuracy[k] >= config.criterion:
                criterion_epochs[i] = epoch
                checkpoints[i].setdefault(epoch, model.member_state(k))
        done = [
            k
            for k, i in enumerate(active)
            if epoch == config.max_epochs or (config.stop == "criterion" and criterion_epochs.get(i) is not None)
        ]
        for k in done:
            i = active[k]
            checkpoints[i].setdefault(epoch, model.member_state(k))
            results[i] = _result(configs[i], epoch, checkpoints[i], histories[i], criterion_epochs.get(i))
        if done:
            keep = [k for k in range(len(active)) if k not in done]
            if not keep:
                break
            model, optimizer = _keep_members(model, optimizer, keep)
            active = [active[k] for k in keep]
    return [results[i] for i in range(len(configs))]


def _result(
    config: TrainConfig, epochs: int, checkpoints: dict, history: list[dict], criterion_epoch: int | None
) -> RunResult:
    """A finished member's result. Its analysed network: with ``stop="criterion"`` the criterion
    epoch's; with ``stop="budget"`` the last checkpoint whose validation accuracy meets the
    criterion; a member that never met it keeps its last weights and is dropped."""
    met = [epoch for epoch in checkpoints if epoch > 0 and history[epoch - 1]["val_accuracy"] >= config.criterion]
    analysed = None if criterion_epoch is None else max(met) if config.stop == "budget" else criterion_epoch
    state = checkpoints[epochs if analysed is None else analysed]
    return RunResult(
        config, criterion_epoch is not None, epochs, state, checkpoints, history, criterion_epoch, analysed
    )
