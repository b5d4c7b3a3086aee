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

import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import orthogonal

from numvars.models import CountingModel, shift_left
from numvars.programs import RESPONSE, Program, sample_pairs
from numvars.tasks import Task


def interchange(h_o: Tensor, h_s: Tensor, rotation: Tensor, k: int) -> Tensor:
    """Chapter 3 §3.2. ``Rᵀ(M R h_s + (1 − M) R h_o)`` for rows ``h_o``, ``h_s`` (n, S) and ``rotation`` R (S, S);
    ``k`` in 0..S coordinates are swapped (0: nothing changes; S: the full state is swapped)."""
    size = rotation.shape[0]
    if not 0 <= k <= size:
        raise ValueError(f"k must be in 0..{size}, got {k}")
    rotated_o, rotated_s = h_o @ rotation.T, h_s @ rotation.T
    mixed = torch.cat([rotated_s[:, :k], rotated_o[:, k:]], dim=1)
    return mixed @ rotation


def half_state(size: int) -> int:
    """The swap size DAS uses unless told otherwise: half the intervenable state (``k = S/2``;
    10 of a d = 20 GRU's h, 20 of an LSTM's 40-dimensional [h; c])."""
    return size // 2


def swap_size(size: int, k: int | None) -> int:
    """``k`` checked against a state of ``size`` (1..size); ``None``: :func:`half_state`."""
    k = half_state(size) if k is None else k
    if not 1 <= k <= size:
        raise ValueError(f"k (the swapped dimensions) must be in 1..{size} for a state of size {size}, got {k}")
    return k


class Alignment(nn.Module):
    """An alignment method: ``forward(h_o, h_s)`` (n, S), (n, S) -> the intervened states (n, S).

    The base class swaps the first ``k`` coordinates of a fixed rotation ``R`` (S, S) —
    :func:`interchange` — which also rebuilds any stored alignment (:meth:`DasResult.alignment`).
    Subclasses say how ``R`` is chosen and whether it is trained (:attr:`trainable`); a new
    method (e.g. a linear invertible map) overrides :meth:`forward` and :attr:`rotation`.
    """

    trainable = False

    def __init__(self, rotation: Tensor, k: int):
        super().__init__()
        self.k = swap_size(rotation.shape[0], k)
        self.register_buffer("_rotation", rotation.detach().clone())

    @property
    def rotation(self) -> Tensor:
        """R (S, S), orthogonal."""
        return self._rotation

    def forward(self, h_o: Tensor, h_s: Tensor) -> Tensor:
        return interchange(h_o, h_s, self.rotation, self.k)


def _seeded_orthogonal(size: int, seed: int) -> nn.Module:
    """``nn.Linear(size, size)`` whose weight is kept orthogonal, started from a seeded Gaussian."""
    linear = nn.Linear(size, size, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(size, size, generator=torch.Generator().manual_seed(seed)))
    return orthogonal(linear)


class LearnedRotation(Alignment):
    """DAS: a learnable orthogonal R (``torch.nn.utils.parametrizations.orthogonal``), trained on
    the counterfactuals by :func:`fit_alignment`."""

    trainable = True

    def __init__(self, size: int, k: int | None = None, seed: int = 0):
        nn.Module.__init__(self)  # R is a parameter here, not the base class's buffer
        self.k = swap_size(size, k)
        self.linear = _seeded_orthogonal(size, seed)

    @property
    def rotation(self) -> Tensor:
        return self.linear.weight


class RandomRotation(Alignment):
    """A fixed random rotation (the one :class:`LearnedRotation` starts from): the control for
    "any subspace would do"."""

    def __init__(self, size: int, k: int | None = None, seed: int = 0):
        with torch.no_grad():
            rotation = _seeded_orthogonal(size, seed).weight
        super().__init__(rotation, swap_size(size, k))


class FullSwap(Alignment):
    """The whole state swapped (``R = I``, ``k = S``): nothing to learn. Ctx-Distr's test."""

    def __init__(self, size: int, k: int | None = None, seed: int = 0):
        if k is not None:
            raise ValueError("a full swap swaps the whole state: leave k as None")
        super().__init__(torch.eye(size), size)


#: the alignment methods a measurement can name (``DasConfig.method``)
ALIGNMENTS: dict[str, type[Alignment]] = {"learned": LearnedRotation, "random": RandomRotation, "full_swap": FullSwap}


def make_alignment(method: str, size: int, k: int | None = None, seed: int = 0) -> Alignment:
    """The alignment ``method`` (a key of :data:`ALIGNMENTS`) for a state of ``size``; ``k``
    swapped coordinates (None: half the state)."""
    if method not in ALIGNMENTS:
        raise ValueError(f"unknown DAS method {method!r}; allowed: {list(ALIGNMENTS)}")
    return ALIGNMENTS[method](size, k, seed=seed)


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


def make_pairs(program: Program, variables, n_pairs: int, seed: int, demo_continuation: str = "paper") -> PairSet:
    """``n_pairs`` seeded pairs (:func:`numvars.programs.sample_pairs`) with ``program``'s
    counterfactuals for swapping ``variables`` (``None``: the full state). A token is scored
    when the intervened program predicts it: after ``t``, in the response phase. Pairs are
    drawn within one phase when the program defines its intervention only there
    (:attr:`~numvars.programs.Program.same_phase_only`)."""
    if n_pairs < 1:
        raise ValueError(f"a pair set needs at least one pair, got {n_pairs}")
    task = program.task
    rows = []
    for i, pair in enumerate(sample_pairs(task, n_pairs, seed=seed, same_phase=program.same_phase_only)):
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


@dataclass
class FrozenRuns:
    """What the frozen network computes once for a pair set."""

    pairs: PairSet
    states: Tensor  # (n, L, S) the states of the counterfactual sequences, before any intervention
    h_s: Tensor  # (n, S) each source's state after its token u

    def __len__(self) -> int:
        return len(self.pairs)


@torch.no_grad()
def run_frozen(model: CountingModel, pairs: PairSet, batch_size: int = 2048) -> FrozenRuns:
    """Run ``model`` once over the pairs' counterfactual and source sequences."""
    if len(pairs) == 0:
        raise ValueError("an empty pair set")
    check_model_task(model, pairs.task)
    states, h_s = [], []
    for rows in torch.arange(len(pairs)).split(batch_size):
        part = pairs.subset(rows)
        states.append(model(part.tokens).states)
        h_s.append(model(part.sources).states[torch.arange(len(rows)), part.u])
    return FrozenRuns(pairs, torch.cat(states), torch.cat(h_s))


def intervened_predictions(model: CountingModel, runs: FrozenRuns, rows: Tensor, alignment: nn.Module):
    """The network run on from the aligned swap after ``t`` for pairs ``rows`` (r,).

    Returns ``(logits (r, W, V), targets (r, W), scored (r, W))``: ``logits[i, j]`` is the
    prediction after token ``t + j`` of pair ``rows[i]``, ``targets`` the counterfactual token
    it should predict, ``scored`` whether the intervened program determines that token."""
    pairs = runs.pairs.subset(rows)
    states = runs.states[rows]
    h_o = states[torch.arange(len(rows)), pairs.t]
    logits = model.resume(pairs.tokens, pairs.t, alignment(h_o, runs.h_s[rows]), states)
    width = logits.shape[1]
    targets = shift_left(pairs.tokens, pairs.t + 1, width, fill=pairs.task.pad_id)
    scored = shift_left(pairs.score, pairs.t + 1, width, fill=False)
    return logits, targets, scored


@torch.no_grad()
def first_errors(model: CountingModel, runs: FrozenRuns, alignment: nn.Module, batch_size: int = 2048) -> Tensor:
    """(n,) long: for each pair, the offset after ``t`` of the first scored token the intervened
    network gets wrong (0: the prediction made at ``t`` itself), or -1 if it gets all right."""
    first = []
    for rows in torch.arange(len(runs)).split(batch_size):
        logits, targets, scored = intervened_predictions(model, runs, rows, alignment)
        wrong = (logits.argmax(-1) != targets) & scored
        first.append(torch.where(wrong.any(dim=1), wrong.int().argmax(dim=1), -1))
    return torch.cat(first)


def pair_correct(model: CountingModel, runs: FrozenRuns, alignment: nn.Module) -> Tensor:
    """(n,) bool: does the intervened network predict every scored token of each pair (argmax)?"""
    return first_errors(model, runs, alignment) < 0


def iia(model: CountingModel, runs: FrozenRuns, alignment: nn.Module) -> float:
    """Interchange intervention accuracy: the share of pairs the intervened network gets right."""
    return pair_correct(model, runs, alignment).float().mean().item()


@dataclass
class DasResult:
    """One DAS measurement: the alignment found (its rotation and swap size), each test pair's
    outcome under it, and the fit's history. :meth:`to_payload` / :meth:`from_payload` convert
    it to and from what the store keeps."""

    rotation: Tensor  # (S, S) R of the kept alignment
    k: int  # swapped coordinates
    test_correct: Tensor  # (n_test,) bool: each test pair's outcome
    history: list[dict]  # per epoch: epoch, loss, val_iia (empty when nothing is learned)
    seconds: float = 0.0  # wall-clock of the measurement

    @property
    def test_iia(self) -> float:
        return self.test_correct.float().mean().item()

    @property
    def best_val_iia(self) -> float | None:
        """The best validation IIA of the fit (None when nothing was learned)."""
        return max((h["val_iia"] for h in self.history), default=None)

    def alignment(self) -> Alignment:
        """The kept alignment as a fixed module (to intervene with it again)."""
        return Alignment(self.rotation, self.k)

    def to_payload(self) -> dict:
        return {"test_correct": self.test_correct, "history": self.history, "rotation": self.rotation, "k": self.k, "seconds": self.seconds}

    @classmethod
    def from_payload(cls, payload: dict) -> "DasResult":
        return cls(payload["rotation"], payload["k"], payload["test_correct"], payload["history"], payload["seconds"])


def fit_alignment(
    model: CountingModel,
    alignment: Alignment,
    train_pairs: PairSet,
    val_pairs: PairSet,
    test_pairs: PairSet,
    max_epochs: int = 100,
    patience: int = 20,
    lr: float = 3e-3,
    batch_size: int = 512,
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> DasResult:
    """Chapter 3 §3.3. Train a :attr:`~Alignment.trainable` alignment with Adam on cross-entropy of the scored
    counterfactual tokens (the network frozen) until the validation IIA has not improved for
    ``patience`` epochs, or for ``max_epochs``; keep the parameters with the best validation
    IIA; score them on the test pairs. An alignment with nothing to learn is only scored.
    ``progress(epoch, val_iia)`` is called after each epoch."""
    start = time.perf_counter()
    model = model.eval().requires_grad_(False)
    history = []
    if alignment.trainable:
        optimizer = torch.optim.Adam(alignment.parameters(), lr=lr)
        train, val = run_frozen(model, train_pairs), run_frozen(model, val_pairs)
        generator = torch.Generator().manual_seed(seed)
        best_iia, best_state, best_epoch = -1.0, None, 0
        for epoch in range(1, max_epochs + 1):
            total = 0.0
            for rows in torch.randperm(len(train), generator=generator).split(batch_size):
                logits, targets, scored = intervened_predictions(model, train, rows, alignment)
                loss = nn.functional.cross_entropy(logits[scored], targets[scored])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(rows) / len(train)
            val_iia = iia(model, val, alignment)
            history.append(dict(epoch=epoch, loss=total, val_iia=val_iia))
            if progress is not None:
                progress(epoch, val_iia)
            if val_iia > best_iia:
                best_iia, best_epoch = val_iia, epoch
                best_state = {name: p.detach().clone() for name, p in alignment.state_dict().items()}
            if epoch - best_epoch >= patience:
                break
        alignment.load_state_dict(best_state)
    correct = pair_correct(model, run_frozen(model, test_pairs), alignment)
    return DasResult(alignment.rotation.detach().clone(), alignment.k, correct, history, time.perf_counter() - start)
