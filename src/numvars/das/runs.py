"""Running a frozen network on a pair set: its unpatched states once (:func:`run_frozen`), then
the intervened predictions from the swapped position on, and IIA (:func:`iia`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from numvars.das.pairs import PairSet
from numvars.models import CountingModel, shift_left
from numvars.tasks import Task


def check_model_task(model: CountingModel, task: Task) -> None:
    if model.config.vocab_size != len(task.vocab):
        raise ValueError(
            f"the model's vocabulary ({model.config.vocab_size} tokens) does not match the task's "
            f"{list(task.vocab)}: a model trained on another task?"
        )


@dataclass
class FrozenRuns:
    """What the frozen network computes once for a pair set; an ensemble's states carry a
    leading member dimension E."""

    pairs: PairSet
    h_o: Tensor  # (n, S) — (E, n, S) for an ensemble — each target's state after its token t, before any intervention
    h_s: Tensor  # (n, S) — (E, n, S) — each source's state after its token u
    states: Tensor | None  # (n, L, S) — (E, n, L, S) — every state of the counterfactual sequences, kept only for a
    # model that resumes from them (the transformer); None for the recurrent nets

    def __len__(self) -> int:
        return len(self.pairs)

    def select(self, keep: Sequence[int]) -> "FrozenRuns":
        """The runs of the ensemble members ``keep`` (E stays a dimension)."""
        index = torch.tensor(list(keep))
        return FrozenRuns(
            self.pairs, self.h_o[index], self.h_s[index], None if self.states is None else self.states[index]
        )


@torch.no_grad()
def run_frozen(
    model: CountingModel, pairs: PairSet, batch_size: int = 2048, members_per_batch: int = 12_288
) -> FrozenRuns:
    """Run ``model`` (every member of an ensemble) once over the pairs' counterfactual and
    source sequences: ``batch_size`` sequences at a time, fewer for a large ensemble (at most
    ``members_per_batch`` sequence-members)."""
    if len(pairs) == 0:
        raise ValueError("an empty pair set")
    check_model_task(model, pairs.task)
    E = model.n_members
    h_o, h_s, states = [], [], []
    for rows in torch.arange(len(pairs)).split(max(1, min(batch_size, members_per_batch // E))):
        part, index = pairs.subset(rows), torch.arange(len(rows))
        target_states = model(part.tokens.expand(E, *part.tokens.shape)).states
        h_o.append(target_states[:, index, part.t])
        h_s.append(model(part.sources.expand(E, *part.sources.shape)).states[:, index, part.u])
        if model.rerun_reads_states:
            states.append(target_states)
    h_o, h_s, states = torch.cat(h_o, dim=1), torch.cat(h_s, dim=1), torch.cat(states, dim=1) if states else None
    if E == 1:
        return FrozenRuns(pairs, h_o[0], h_s[0], None if states is None else states[0])
    return FrozenRuns(pairs, h_o, h_s, states)


def intervened_predictions(model: CountingModel, runs: FrozenRuns, rows: Tensor, alignment: nn.Module):
    """The network run on from the aligned swap after ``t`` for pairs ``rows`` (r,).

    Returns ``(logits (r, W, V), targets (r, W), scored (r, W))``: ``logits[i, j]`` is the
    prediction after token ``t + j`` of pair ``rows[i]``, ``targets`` the counterfactual token
    it should predict, ``scored`` whether the intervened program determines that token (only the
    scored logits are computed: the others may be 0). An ensemble (each member with its own
    rotation) gives logits (E, r, W, V)."""
    pairs, swapped, states, targets, scored = _intervention(model, runs, rows, alignment)
    logits = model.rerun_from(pairs.tokens, pairs.t, swapped, states, needed=scored)  # unscored logits may be 0
    return logits, targets, scored


def intervened_losses(model: CountingModel, runs: FrozenRuns, rows: Tensor, alignment: nn.Module) -> Tensor:
    """(E,) — (1,) for one member — each member's mean cross-entropy of the intervened network's
    scored predictions on pairs ``rows``: what a DAS fit minimises
    (:meth:`~numvars.models.CountingModel.rerun_losses`; :func:`intervened_predictions` gives
    the logits themselves)."""
    pairs, swapped, states, targets, scored = _intervention(model, runs, rows, alignment)
    return model.rerun_losses(pairs.tokens, pairs.t, swapped, targets, scored, states)


def _intervention(model: CountingModel, runs: FrozenRuns, rows: Tensor, alignment: nn.Module):
    """For pairs ``rows``: ``(pairs, the swapped-in states, the unpatched states if the model
    reads them, targets (r, W), scored (r, W))`` — see :func:`intervened_predictions`."""
    pairs = runs.pairs.subset(rows)
    h_o, h_s = (
        runs.h_o.index_select(-2, rows),
        runs.h_s.index_select(-2, rows),
    )  # index_select: a fast path for a middle dim
    states = runs.states[..., rows, :, :] if model.rerun_reads_states else None
    width = int(
        ((pairs.tokens != pairs.task.pad_id).sum(1) - pairs.t).max()
    )  # predictions from t on, as rerun_from() makes them
    targets = shift_left(pairs.tokens, pairs.t + 1, width, fill=pairs.task.pad_id)
    scored = shift_left(pairs.score, pairs.t + 1, width, fill=False)
    return pairs, alignment(h_o, h_s), states, targets, scored


@torch.no_grad()
def first_errors(model: CountingModel, runs: FrozenRuns, alignment: nn.Module, batch_size: int = 2048) -> Tensor:
    """(n,) long — (E, n) for an ensemble: for each pair, the offset after ``t`` of the first
    scored token the intervened network gets wrong (0: the prediction made at ``t`` itself), or
    -1 if it gets all right."""
    first = []
    for rows in torch.arange(len(runs)).split(batch_size):
        logits, targets, scored = intervened_predictions(model, runs, rows, alignment)
        wrong = (logits.argmax(-1) != targets) & scored
        first.append(torch.where(wrong.any(dim=-1), wrong.int().argmax(dim=-1), -1))
    return torch.cat(first, dim=-1)


def pair_correct(model: CountingModel, runs: FrozenRuns, alignment: nn.Module) -> Tensor:
    """(n,) bool — (E, n) for an ensemble: does the intervened network predict every scored
    token of each pair (argmax)?"""
    return first_errors(model, runs, alignment) < 0


def iia(model: CountingModel, runs: FrozenRuns, alignment: nn.Module) -> float:
    """Interchange intervention accuracy: the share of pairs the intervened network gets right
    (one-member models; an ensemble's, member by member: ``pair_correct(...).float().mean(-1)``)."""
    return pair_correct(model, runs, alignment).float().mean().item()
