"""The training loop (:func:`train`) and what it returns (:class:`RunResult`): many seeds of one
condition as one stack, each member leaving it at the criterion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from numvars.models import CountingModel, build_model, keep_adam_state
from numvars.training.config import CHECKPOINTS, TrainConfig, derive_seed, lr_at, training_set, validation_set
from numvars.training.evaluation import (
    PaddedSet,
    accuracy_per_count,
    stack_batches,
    stack_padded,
    tokens_correct,
)


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

    def holds(self, checkpoints: Iterable[str | int]) -> bool:
        """Whether every checkpoint of ``checkpoints`` (saved epochs, ``"analysed"``, ``"criterion"``)
        is kept in :attr:`checkpoints` (a dropped network's named checkpoints are not asked for:
        nothing is measured on it)."""
        named = [c for c in checkpoints if isinstance(c, str)]
        epochs = {c for c in checkpoints if not isinstance(c, str)}
        if self.reached:
            epochs |= {self.epoch_of(c) for c in named}
        return epochs <= set(self.checkpoints)

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
            feed_back = task.response_mask(tokens[:, :, :-1]) if config.response_inputs == "free" else None
            losses = model.next_token_losses(tokens, feed_back)
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
