"""Distributed Alignment Search (paper §4): interchange interventions on a learned rotation.

Freeze a trained network. For a target state ``h_o`` (after target token ``t``) and a source
state ``h_s`` (after source token ``u``), the intervened state is

    h_v = Rᵀ (M · R h_s + (1 − M) · R h_o)

with ``R`` orthogonal (``torch.nn.utils.parametrizations.orthogonal``) and ``M`` selecting the
first ``k`` rotated coordinates. The network runs on from ``h_v``; **IIA** (interchange
intervention accuracy) is the share of pairs whose every scored prediction matches the
program's counterfactual (:mod:`numvars.programs`).

Shapes: ``n`` pairs, ``L`` tokens, ``S`` state size. States are row vectors, so ``R h`` is
``h @ R.T``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import orthogonal

from numvars.models import CountingModel, Patch
from numvars.programs import RESPONSE, Program, sample_pairs
from numvars.tasks import Task


def interchange(h_o: Tensor, h_s: Tensor, rotation: Tensor, k: int) -> Tensor:
    """``Rᵀ(M R h_s + (1 − M) R h_o)`` for rows ``h_o``, ``h_s`` (n, S) and ``rotation`` R (S, S);
    ``k`` in 0..S coordinates are swapped (0: nothing changes; S: the full state is swapped)."""
    size = rotation.shape[0]
    if not 0 <= k <= size:
        raise ValueError(f"k must be in 0..{size}, got {k}")
    rotated_o, rotated_s = h_o @ rotation.T, h_s @ rotation.T
    mixed = torch.cat([rotated_s[:, :k], rotated_o[:, k:]], dim=1)
    return mixed @ rotation


class RotationAlignment(nn.Module):
    """A learnable orthogonal rotation R (S, S) and a k-dimensional swap (k in 1..S)."""

    def __init__(self, size: int, k: int, seed: int = 0):
        super().__init__()
        if not 1 <= k <= size:
            raise ValueError(f"k (the swapped dimensions) must be in 1..{size} for a state of size {size}, got {k}")
        self.k = k
        linear = nn.Linear(size, size, bias=False)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(size, size, generator=torch.Generator().manual_seed(seed)))
        self.linear = orthogonal(linear)

    @property
    def rotation(self) -> Tensor:
        """R (S, S), orthogonal."""
        return self.linear.weight

    def forward(self, h_o: Tensor, h_s: Tensor) -> Tensor:
        """(n, S), (n, S) -> the intervened states (n, S)."""
        return interchange(h_o, h_s, self.rotation, self.k)


@dataclass
class PairSet:
    """Intervention pairs as tensors: run ``tokens`` (the counterfactual sequences, whose first
    ``t + 1`` tokens are the target's) with the state after ``t`` swapped with the source's
    after ``u``; score the predictions of the tokens where ``score`` is True."""

    tokens: Tensor  # (n, L) counterfactual sequences, padded
    t: Tensor  # (n,)
    sources: Tensor  # (n, L_s) source sequences, padded
    u: Tensor  # (n,)
    score: Tensor  # (n, L) bool: tokens the intervened program determines
    task: Task  # whose vocabulary the sequences use

    def __len__(self) -> int:
        return len(self.t)

    def subset(self, rows: Tensor) -> "PairSet":
        return PairSet(self.tokens[rows], self.t[rows], self.sources[rows], self.u[rows], self.score[rows], self.task)


def make_pairs(program: Program, variables, n_pairs: int, seed: int, same_phase: bool = False, demo_continuation: str = "paper") -> PairSet:
    """``n_pairs`` seeded pairs (:func:`numvars.programs.sample_pairs`) with ``program``'s
    counterfactuals for swapping ``variables`` (``None``: the full state). A token is scored
    when the intervened program predicts it: after ``t``, in the response phase."""
    if n_pairs < 1:
        raise ValueError(f"a pair set needs at least one pair, got {n_pairs}")
    task = program.task
    rows = []
    for i, pair in enumerate(sample_pairs(task, n_pairs, seed=seed, same_phase=same_phase)):
        ids, views = program.counterfactual_trace(*pair, variables, seed=seed * 1_000_003 + i, demo_continuation=demo_continuation)
        score = [False] * len(ids)
        for j in range(pair.t, len(ids) - 1):
            score[j + 1] = views[j]["phase"] == RESPONSE
        rows.append((ids, pair.t, pair.source, pair.u, score))
    tokens = task.pad([r[0] for r in rows])
    score = torch.zeros_like(tokens, dtype=torch.bool)
    for i, r in enumerate(rows):
        score[i, : len(r[4])] = torch.tensor(r[4])
    return PairSet(tokens, torch.tensor([r[1] for r in rows]), task.pad([r[2] for r in rows]), torch.tensor([r[3] for r in rows]), score, task)


def check_model_task(model: CountingModel, task: Task) -> None:
    if model.config.vocab_size != len(task.vocab):
        raise ValueError(
            f"the model's vocabulary ({model.config.vocab_size} tokens) does not match the task's "
            f"{list(task.vocab)}: a model trained on another task?"
        )


@torch.no_grad()
def source_states(model: CountingModel, pairs: PairSet) -> Tensor:
    """(n, S) the states after each source's token ``u``, computed once."""
    check_model_task(model, pairs.task)
    states = model(pairs.sources).states
    return states[torch.arange(len(pairs)), pairs.u]


def intervened_logits(model: CountingModel, pairs: PairSet, h_s: Tensor, alignment: nn.Module) -> Tensor:
    """(n, L, V) logits of the counterfactual sequences with the aligned swap after ``t``."""
    rows = torch.arange(len(pairs))
    patch = Patch(rows, pairs.t, lambda h_o, which: alignment(h_o, h_s[which]))
    return model(pairs.tokens, patch=patch).logits


@torch.no_grad()
def iia(model: CountingModel, pairs: PairSet, alignment: nn.Module, h_s: Tensor | None = None, batch_size: int = 1024) -> float:
    """Interchange intervention accuracy of ``alignment`` on ``pairs``."""
    if len(pairs) == 0:
        raise ValueError("IIA of an empty pair set")
    check_model_task(model, pairs.task)
    h_s = source_states(model, pairs) if h_s is None else h_s
    hits = 0
    for start in range(0, len(pairs), batch_size):
        rows = torch.arange(start, min(start + batch_size, len(pairs)))
        part = pairs.subset(rows)
        logits = intervened_logits(model, part, h_s[rows], alignment)
        hits += int(pairs.task.trial_correct(logits, part.tokens, part.score).sum())
    return hits / len(pairs)


@dataclass
class FitResult:
    alignment: RotationAlignment  # the rotation with the best validation IIA
    best_val_iia: float
    test_iia: float
    history: list[dict]  # per epoch: epoch, loss, val_iia


def fit_alignment(
    model: CountingModel,
    train_pairs: PairSet,
    val_pairs: PairSet,
    test_pairs: PairSet,
    k: int | None = None,
    epochs: int = 10,
    lr: float = 3e-3,
    batch_size: int = 512,
    seed: int = 0,
) -> FitResult:
    """Train R with Adam on cross-entropy of the scored counterfactual tokens (the network
    frozen); keep the rotation with the best validation IIA; report its test IIA."""
    model = model.eval().requires_grad_(False)
    size = model.config.state_size
    alignment = RotationAlignment(size, size // 2 if k is None else k, seed=seed)
    optimizer = torch.optim.Adam(alignment.parameters(), lr=lr)
    h_train, h_val = source_states(model, train_pairs), source_states(model, val_pairs)
    generator = torch.Generator().manual_seed(seed)
    best = (-1.0, None)
    history = []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for rows in torch.randperm(len(train_pairs), generator=generator).split(batch_size):
            part = train_pairs.subset(rows)
            logits = intervened_logits(model, part, h_train[rows], alignment)
            scored = part.score[:, 1:]
            loss = nn.functional.cross_entropy(logits[:, :-1][scored], part.tokens[:, 1:][scored])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows) / len(train_pairs)
        val = iia(model, val_pairs, alignment, h_val)
        history.append(dict(epoch=epoch, loss=total, val_iia=val))
        if val > best[0]:
            best = (val, {name: p.detach().clone() for name, p in alignment.state_dict().items()})
    alignment.load_state_dict(best[1])
    return FitResult(alignment, best[0], iia(model, test_pairs, alignment), history)
