"""Batches and scores: padding a member's batches into one stacked tensor, the per-member loss,
and trial accuracy (all responses right) overall and per count.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from numvars.models import CountingModel
from numvars.models.losses import member_losses  # noqa: F401 (re-exported: numvars.training.member_losses)
from numvars.tasks import EVAL_PER_COUNT, Task


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
        out.append(model.trials_correct(part, task.response_mask(part)))
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
