"""Fitting alignments (:func:`fit_alignment`, :func:`fit_alignments`: a condition's seeds stacked
into one fit) under one of two stopping rules (:data:`DAS_STOPS`), and the result of a
measurement (:class:`DasResult`).

* ``"best_val_iia"`` (the book's reading of the paper): an epoch at a time, until the validation
  IIA has not improved for ``patience`` epochs (at most ``max_epochs``); the best one is kept.
* ``"val_loss_plateau"`` (the authors' code, PAPER.md §6): validated every
  :data:`AUTHORS_FIT` ``["eval_every"]`` steps; stops when the validation loss has not fallen by
  more than ``threshold`` for ``patience`` validations (:func:`plateaued`), when the validation
  IIA and the step's batch IIA both reach ``done_at``, when the validation IIA is still below
  ``poor_below`` after ``poor_after`` steps, or at ``max_steps``; the last validated alignment
  is kept.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor

from numvars.das.alignments import FIXED_ALIGNMENTS, Alignment
from numvars.das.pairs import PairSet
from numvars.das.runs import intervened_losses, pair_correct, rows_correct, run_frozen
from numvars.models import CountingModel, keep_adam_state
from numvars.models.losses import scored_losses as alignment_losses  # noqa: F401 (numvars.das.alignment_losses: the loss a fit minimises)

#: how a fit stops and which alignment it keeps (module docstring)
DAS_STOPS = ("best_val_iia", "val_loss_plateau")
#: the authors' code's rule (grantsrb/mas: main.py's defaults and its DAS configs, PlateauTracker
#: with measure "loss"): validation after every ``eval_every``-th step (the first after step 1)
AUTHORS_FIT = dict(
    max_steps=20_000, eval_every=100, patience=10, threshold=1e-3, done_at=0.995, poor_below=0.1, poor_after=1_500
)


@dataclass
class DasResult:
    """One DAS measurement: the alignment found (its matrix, kind and swap size), each test
    pair's outcome under it, and the fit's history. :meth:`to_payload` / :meth:`from_payload`
    convert it to and from what the store keeps."""

    rotation: Tensor  # (S, S) the kept alignment's matrix: R (kind "orthogonal"), or A (kind "linear")
    k: int  # swapped coordinates
    test_correct: Tensor  # (n_test,) bool: each test pair's outcome
    history: list[dict]  # per validation: epoch, loss, val_iia (+ step, val_loss); empty when nothing is learned
    seconds: float = 0.0  # wall-clock of the measurement
    kind: str = "orthogonal"  # a key of FIXED_ALIGNMENTS: how the matrix maps states
    kept: str = "best"  # which validated alignment was kept: "best" (its validation IIA) or "last"

    def __post_init__(self):
        if self.kind not in FIXED_ALIGNMENTS:
            raise ValueError(f"unknown alignment kind {self.kind!r}; allowed: {list(FIXED_ALIGNMENTS)}")
        if self.kept not in ("best", "last"):
            raise ValueError(f"unknown kept alignment {self.kept!r}; allowed: ['best', 'last']")

    @property
    def test_iia(self) -> float:
        return self.test_correct.float().mean().item()

    @property
    def best_val_iia(self) -> float | None:
        """The best validation IIA of the fit (None when nothing was learned)."""
        return max((h["val_iia"] for h in self.history), default=None)

    @property
    def kept_val_iia(self) -> float | None:
        """The validation IIA of the kept alignment: the best one, or the last (the authors' rule)."""
        if self.kept == "best" or not self.history:
            return self.best_val_iia
        return self.history[-1]["val_iia"]

    @property
    def epochs(self) -> int:
        """How many epochs over the training pairs the fit ran (a started one counts)."""
        return math.ceil(self.history[-1]["epoch"] - 1e-9) if self.history else 0

    def alignment(self) -> Alignment:
        """The kept alignment as a fixed module (to intervene with it again)."""
        return FIXED_ALIGNMENTS[self.kind](self.rotation, self.k)

    def to_payload(self) -> dict:
        """The stored form; ``"kind"`` only when not orthogonal and ``"kept"`` only when not the best,
        so a rotation's payload is what it was before there were other kinds and rules (and older
        payloads load as the best-kept rotations they are)."""
        payload = {
            "test_correct": self.test_correct,
            "history": self.history,
            "rotation": self.rotation,
            "k": self.k,
            "seconds": self.seconds,
        }
        if self.kind != "orthogonal":
            payload["kind"] = self.kind
        return payload if self.kept == "best" else {**payload, "kept": self.kept}

    @classmethod
    def from_payload(cls, payload: dict) -> "DasResult":
        return cls(
            payload["rotation"],
            payload["k"],
            payload["test_correct"],
            payload["history"],
            payload["seconds"],
            payload.get("kind", "orthogonal"),
            payload.get("kept", "best"),
        )


def fit_alignment(
    model: CountingModel,
    alignment: Alignment,
    train_pairs: PairSet,
    val_pairs: PairSet,
    test_pairs: PairSet,
    progress: Callable[[int, float], None] | None = None,
    **settings,
) -> DasResult:
    """Chapter 3 §3.3. Train a :attr:`~Alignment.trainable` alignment with Adam on cross-entropy of the scored
    counterfactual tokens (the network frozen) until the validation IIA has not improved for
    ``patience`` epochs, or for ``max_epochs``; keep the parameters with the best validation
    IIA; score them on the test pairs. An alignment with nothing to learn is only scored — so is
    one that swaps every coordinate (``k = S``: the source's state replaces the target's whatever
    the map; its gradient is rounding noise, which Adam would turn into a random walk of the map).
    ``settings``: ``max_epochs``, ``patience``, ``lr``, ``batch_size`` and ``seed`` (the batch
    order), as :func:`fit_alignments` takes them. ``progress(epoch, val_iia)`` is called after
    each epoch. A one-member model; :func:`fit_alignments` fits an ensemble's members together."""
    if model.n_members != 1:
        raise ValueError(
            f"fit_alignment fits one network; this ensemble has {model.n_members} members (use fit_alignments)"
        )
    report = None if progress is None else (lambda epoch, val: progress(epoch, float(val[0])))
    return fit_alignments(model, alignment, train_pairs, val_pairs, test_pairs, progress=report, **settings)[0]


def fit_alignments(
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
    progress: Callable[[int, list[float]], None] | None = None,
    stop: str = "best_val_iia",
    loss_tokens: str = "scored",
) -> list[DasResult]:
    """:func:`fit_alignment` for every member of an ensemble at once, each with its own
    alignment (``alignment`` built with one seed per member), on the same pairs in the same
    batch order. The members share no parameter and the loss is the sum of their own losses,
    so each member's fit — its history, its stopping epoch, the matrix kept — is the one it
    would have alone, to float rounding (a stacked matrix product may round differently; over a
    complete fit of a hundred epochs that can tip a pair or an epoch); fitting them together only shares the per-operation overhead of the
    small recurrent steps, and a member whose patience has run out leaves the stack —
    measured with nothing else running (``benchmarks/das_speed.py --fits``, d = 20 GRUs, Up-Down
    count, 10 000 pairs): 18.1 s per fit for six seeds stacked against 35.8 s one at a time, 1.98x. ``progress(epoch, val_iia)`` gets the validation IIA of the
    members still fitting. ``stop``: a rule of :data:`DAS_STOPS` (``"val_loss_plateau"``
    ignores ``max_epochs`` and ``patience``: :data:`AUTHORS_FIT` sets its own);
    ``loss_tokens``: which predictions the loss covers (:data:`numvars.das.runs.LOSS_TOKENS`).
    Returns one :class:`DasResult` per member."""
    if stop not in DAS_STOPS:
        raise ValueError(f"unknown DAS stopping rule {stop!r}; allowed: {list(DAS_STOPS)}")
    start = time.perf_counter()
    model = model.eval().requires_grad_(False)
    E = model.n_members
    histories: list[list[dict]] = [[] for _ in range(E)]
    if alignment.trainable and alignment.k < alignment.matrix.shape[-1]:
        fits = dict(lr=lr, batch_size=batch_size, seed=seed, progress=progress, loss_tokens=loss_tokens)
        if stop == "best_val_iia":
            kept = _fit_stack(
                model, alignment, train_pairs, val_pairs, histories, max_epochs=max_epochs, patience=patience, **fits
            )
        else:
            kept = _fit_stack_plateau(model, alignment, train_pairs, val_pairs, histories, **fits)
        with torch.no_grad():  # every member's kept parameters, back into the whole stack
            for name, tensor in alignment.state_dict().items():
                for e in range(E):
                    (tensor[e] if tensor.dim() == 3 else tensor).copy_(kept[e][name])
    correct = pair_correct(model, run_frozen(model, test_pairs), alignment).reshape(E, -1)
    matrix = alignment.matrix.detach().clone()
    seconds = (time.perf_counter() - start) / E
    return [
        DasResult(
            matrix if matrix.dim() == 2 else matrix[e],
            alignment.k,
            correct[e],
            histories[e],
            seconds,
            alignment.kind,
            "best" if stop == "best_val_iia" else "last",
        )
        for e in range(E)
    ]


def _fit_stack(
    model,
    alignment,
    train_pairs,
    val_pairs,
    histories,
    *,
    max_epochs,
    patience,
    lr,
    batch_size,
    seed,
    progress,
    loss_tokens,
) -> list[dict]:
    """The training loop of :func:`fit_alignments`: fills ``histories`` (one list per member) and
    returns each member's best parameters ({state name: tensor without the member dimension}).
    A member whose patience has run out leaves the stack (its network, runs, rotation and Adam
    state), so the others go on at the cost of the members still fitting."""
    E = model.n_members
    fitting = list(range(E))  # members whose validation IIA may still improve, in stack order
    best = [_member_state(alignment, e) for e in range(E)]
    best_iia, best_epoch = [-1.0] * E, [0] * E
    optimizer = torch.optim.Adam(alignment.parameters(), lr=lr)
    train, val = run_frozen(model, train_pairs, for_losses=True, loss_tokens=loss_tokens), run_frozen(model, val_pairs)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(1, max_epochs + 1):
        total = torch.zeros(len(fitting))
        for rows in torch.randperm(len(train), generator=generator).split(batch_size):
            losses = intervened_losses(model, train, rows, alignment)
            optimizer.zero_grad()
            losses.sum().backward()  # members share no parameters: each gets its own gradient
            optimizer.step()
            total += losses.detach() * len(rows) / len(train)
        val_iia = pair_correct(model, val, alignment).float().reshape(len(fitting), -1).mean(dim=1).tolist()
        for k, e in enumerate(fitting):
            histories[e].append(dict(epoch=epoch, loss=float(total[k]), val_iia=val_iia[k]))
            if val_iia[k] > best_iia[e]:
                best_iia[e], best_epoch[e] = val_iia[k], epoch
                best[e] = _member_state(alignment, k)
        if progress is not None:
            progress(epoch, val_iia)
        keep = [k for k, e in enumerate(fitting) if epoch - best_epoch[e] < patience]
        if not keep:
            break
        if len(keep) < len(fitting):
            model, train, val, alignment, optimizer = _leave(keep, model, train, val, alignment, optimizer)
            fitting = [fitting[k] for k in keep]
    return best


def _fit_stack_plateau(
    model, alignment, train_pairs, val_pairs, histories, *, lr, batch_size, seed, progress, loss_tokens
) -> list[dict]:
    """The authors' rule (``"val_loss_plateau"``, :data:`AUTHORS_FIT`) in place of
    :func:`_fit_stack`: returns each member's last validated parameters. A history entry per
    validation: ``step``, ``epoch`` (steps over the steps of an epoch), ``loss`` (the step's
    batch), ``val_loss``, ``val_iia``."""
    rule = AUTHORS_FIT
    E = model.n_members
    fitting = list(range(E))
    kept: list[dict | None] = [None] * E
    optimizer = torch.optim.Adam(alignment.parameters(), lr=lr)
    train, val = (
        run_frozen(model, pairs, for_losses=True, loss_tokens=loss_tokens) for pairs in (train_pairs, val_pairs)
    )
    every_val = torch.arange(len(val))
    steps_per_epoch = math.ceil(len(train) / batch_size)
    generator = torch.Generator().manual_seed(seed)
    step = 0
    while fitting:
        for rows in torch.randperm(len(train), generator=generator).split(batch_size):
            losses = intervened_losses(model, train, rows, alignment)
            optimizer.zero_grad()
            losses.sum().backward()
            optimizer.step()
            step += 1
            if (step - 1) % rule["eval_every"]:
                continue
            with torch.no_grad():
                val_loss = intervened_losses(model, val, every_val, alignment).tolist()
                val_iia = pair_correct(model, val, alignment).float().reshape(len(fitting), -1).mean(dim=1).tolist()
                batch_iia = rows_correct(model, train, rows, alignment).float().reshape(len(fitting), -1).mean(dim=1)
            last = step + rule["eval_every"] > rule["max_steps"]  # no validation left within the budget
            keep = []
            for k, e in enumerate(fitting):
                histories[e].append(
                    dict(
                        step=step,
                        epoch=round(step / steps_per_epoch, 4),
                        loss=float(losses[k].detach()),
                        val_loss=val_loss[k],
                        val_iia=val_iia[k],
                    )
                )
                done = val_iia[k] >= rule["done_at"] and batch_iia[k] >= rule["done_at"]
                poor = val_iia[k] < rule["poor_below"] and step > rule["poor_after"]
                flat = plateaued([h["val_loss"] for h in histories[e]], rule["patience"], rule["threshold"])
                if last or done or poor or flat:
                    kept[e] = _member_state(alignment, k)
                else:
                    keep.append(k)
            if progress is not None:
                progress(math.ceil(step / steps_per_epoch), val_iia)
            if not keep:
                return kept
            if len(keep) < len(fitting):
                model, train, val, alignment, optimizer = _leave(keep, model, train, val, alignment, optimizer)
                fitting = [fitting[k] for k in keep]
    return kept


def plateaued(
    val_losses: Sequence[float], patience: int = AUTHORS_FIT["patience"], threshold: float = AUTHORS_FIT["threshold"]
) -> bool:
    """The authors' code's plateau (``PlateauTracker``, measure ``"loss"``): has the validation
    loss, over the validations ``val_losses`` so far, gone ``patience`` validations in a row
    without falling more than ``threshold`` below the best loss then recorded?"""
    best, without = math.inf, 0
    for loss in val_losses:
        if loss < best - threshold:
            best, without = loss, 0
        else:
            without += 1
    return without >= patience


def _leave(keep: list[int], model, train, val, alignment, optimizer):
    """Only the stack members ``keep`` go on: their network, runs, alignment and Adam state."""
    model, train, val = model.select(keep).requires_grad_(False), train.select(keep), val.select(keep)
    old_parameters, alignment = list(alignment.parameters()), alignment.select(keep)
    return model, train, val, alignment, keep_adam_state(optimizer, old_parameters, alignment.parameters(), keep)


def _member_state(alignment: Alignment, k: int) -> dict[str, Tensor]:
    """A copy of member ``k``'s parameters of a stacked alignment (the whole state of one that is
    not stacked: its tensors are (S, S), not (E, S, S))."""
    return {name: (t[k] if t.dim() == 3 else t).detach().clone() for name, t in alignment.state_dict().items()}
