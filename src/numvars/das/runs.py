"""Running a frozen network on a pair set: its unpatched states once (:func:`run_frozen`), then
the intervened predictions from the swapped position on, and IIA (:func:`iia`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
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


#: which predictions a DAS fit's loss covers: the scored ones (the tokens the intervened program
#: determines, from t on: what IIA scores), or every prediction of the counterfactual sequence
#: (the authors' code: its loss mask is every non-pad label, the ones before the swap included)
LOSS_TOKENS = ("scored", "sequence")


@dataclass
class FrozenRuns:
    """What the frozen network computes once for a pair set; an ensemble's states carry a
    leading member dimension E."""

    pairs: PairSet
    h_o: Tensor  # (n, S) — (E, n, S) for an ensemble — each target's state after its token t, before any intervention
    h_s: Tensor  # (n, S) — (E, n, S) — each source's state after its token u
    states: Tensor | None  # (n, L, S) — (E, n, L, S) — every state of the counterfactual sequences, kept only for a
    # model that resumes from them (the transformer); None for the recurrent nets
    constants: Tensor | None = None  # (E, m, C) the model's rerun_constants, always with E: pair i's rows
    starts: Tensor | None = None  # (n + 1,) ... are constants[:, starts[i]:starts[i + 1]]
    # the loss's tokens (LOSS_TOKENS); with "sequence", the frozen network's predictions before t:
    before: Tensor | None = None  # (E, n) each pair's summed cross-entropy of them, always with E
    before_count: Tensor | None = None  # (n,) how many there are

    def __len__(self) -> int:
        return len(self.pairs)

    def select(self, keep: Sequence[int]) -> "FrozenRuns":
        """The runs of the ensemble members ``keep`` (E stays a dimension)."""
        index = torch.tensor(list(keep))
        pick = lambda x: None if x is None else x[index]  # noqa: E731
        return FrozenRuns(
            self.pairs,
            self.h_o[index],
            self.h_s[index],
            pick(self.states),
            pick(self.constants),
            self.starts,
            pick(self.before),
            self.before_count,
        )

    def constants_of(self, rows: Tensor) -> Tensor | None:
        """(E, m_rows, C) the constants of pairs ``rows`` (r,), in the order of ``rows``."""
        if self.constants is None:
            return None
        first, counts = self.starts[rows], self.starts[rows + 1] - self.starts[rows]
        begins = torch.repeat_interleave(counts.cumsum(0) - counts, counts)  # each row's first place in the result
        index = torch.repeat_interleave(first, counts) + torch.arange(int(counts.sum())) - begins
        return self.constants.index_select(1, index)


@torch.no_grad()
def run_frozen(
    model: CountingModel,
    pairs: PairSet,
    batch_size: int = 2048,
    members_per_batch: int = 12_288,
    for_losses: bool = False,
    loss_tokens: str = "scored",
) -> FrozenRuns:
    """Run ``model`` (every member of an ensemble) once over the pairs' counterfactual and
    source sequences: ``batch_size`` sequences at a time, fewer for a large ensemble (at most
    ``members_per_batch`` sequence-members). ``for_losses``: the pairs will be fitted on
    (:func:`intervened_losses` every epoch) with a loss over ``loss_tokens``
    (:data:`LOSS_TOKENS`): keep the model's :meth:`~numvars.models.CountingModel.rerun_constants`
    of those predictions too, and with ``"sequence"`` the loss of the predictions before ``t``."""
    if len(pairs) == 0:
        raise ValueError("an empty pair set")
    if loss_tokens not in LOSS_TOKENS:
        raise ValueError(f"unknown loss tokens {loss_tokens!r}; allowed: {list(LOSS_TOKENS)}")
    check_model_task(model, pairs.task)
    E = model.n_members
    h_o, h_s, states, constants, counts, before, before_count = [], [], [], [], [], [], []
    for rows in torch.arange(len(pairs)).split(max(1, min(batch_size, members_per_batch // E))):
        part, index = pairs.subset(rows), torch.arange(len(rows))
        target_states = model.intervenable_states(part.tokens.expand(E, *part.tokens.shape))
        h_o.append(target_states[:, index, part.t])
        h_s.append(model.intervenable_states(part.sources.expand(E, *part.sources.shape))[:, index, part.u])
        if model.rerun_reads_states:
            states.append(target_states)
        if for_losses:
            lossy = _loss_targets(part, loss_tokens)[1]
            constants.append(model.rerun_constants(part.tokens, part.t, target_states, lossy))
            counts.append(lossy.sum(1))
            if loss_tokens == "sequence":
                summed, count = _loss_before_t(model, part)
                before.append(summed)
                before_count.append(count)
    h_o, h_s, states = torch.cat(h_o, dim=1), torch.cat(h_s, dim=1), torch.cat(states, dim=1) if states else None
    kept = None if not constants or constants[0] is None else torch.cat(constants, dim=1)
    starts = None if kept is None else F.pad(torch.cat(counts).cumsum(0), (1, 0))
    prefix = (torch.cat(before, dim=1), torch.cat(before_count)) if before else (None, None)
    if E == 1:
        return FrozenRuns(pairs, h_o[0], h_s[0], None if states is None else states[0], kept, starts, *prefix)
    return FrozenRuns(pairs, h_o, h_s, states, kept, starts, *prefix)


def _loss_before_t(model: CountingModel, pairs: PairSet) -> tuple[Tensor, Tensor]:
    """The frozen network's predictions before ``t`` of each pair's counterfactual sequence (the
    target's own tokens up to ``t``: the predictions at positions ``0 .. t - 1``) — ``(their
    summed cross-entropy (E, n), their number (n,))``: constants of the authors' loss."""
    E = model.n_members
    tokens = pairs.tokens.expand(E, *pairs.tokens.shape)
    logits = model(tokens).logits[:, :, :-1]  # (E, n, L-1, V): position j predicts token j + 1
    before = torch.arange(pairs.tokens.shape[1] - 1) < pairs.t.unsqueeze(1)  # (n, L-1)
    losses = F.cross_entropy(logits.permute(0, 3, 1, 2), tokens[:, :, 1:], reduction="none")  # (E, n, L-1)
    return (losses * before).sum(dim=2), before.sum(dim=1)


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
    the logits themselves). Runs made for the authors' loss (``run_frozen(...,
    loss_tokens="sequence")``): the mean over every prediction of the counterfactual sequences,
    those before ``t`` (the frozen network's, constants) included."""
    pairs, swapped, states, targets, scored = _intervention(model, runs, rows, alignment)
    if runs.before is None:
        return model.rerun_losses(pairs.tokens, pairs.t, swapped, targets, scored, states, runs.constants_of(rows))
    after = _loss_targets(pairs, "sequence")[1]  # every prediction from t on
    mean_after = model.rerun_losses(pairs.tokens, pairs.t, swapped, targets, after, states, runs.constants_of(rows))
    before = runs.before.index_select(1, rows).sum(dim=1)  # (E,)
    n_after, n_before = after.sum(), runs.before_count[rows].sum()
    return (mean_after * n_after + before) / (n_after + n_before)


def _intervention(model: CountingModel, runs: FrozenRuns, rows: Tensor, alignment: nn.Module):
    """For pairs ``rows``: ``(pairs, the swapped-in states, the unpatched states if the model
    reads them, targets (r, W), scored (r, W))`` — see :func:`intervened_predictions`."""
    pairs = runs.pairs.subset(rows)
    h_o, h_s = (
        runs.h_o.index_select(-2, rows),
        runs.h_s.index_select(-2, rows),
    )  # index_select: a fast path for a middle dim
    states = runs.states[..., rows, :, :] if model.rerun_reads_states else None
    targets, scored = _scored_targets(pairs)
    return pairs, alignment(h_o, h_s), states, targets, scored


def _scored_targets(pairs: PairSet) -> tuple[Tensor, Tensor]:
    """``(targets (n, W), scored (n, W))``: the token each prediction after the swap should be,
    and whether it counts, ``W`` the most predictions any pair makes from ``t`` on (as
    :meth:`~numvars.models.CountingModel.rerun_from` makes them)."""
    width = int(((pairs.tokens != pairs.task.pad_id).sum(1) - pairs.t).max())
    targets = shift_left(pairs.tokens, pairs.t + 1, width, fill=pairs.task.pad_id)
    return targets, shift_left(pairs.score, pairs.t + 1, width, fill=False)


def _loss_targets(pairs: PairSet, loss_tokens: str) -> tuple[Tensor, Tensor]:
    """``(targets (n, W), in the loss (n, W))`` from ``t`` on: the scored predictions, or with
    ``"sequence"`` every one with a token to predict."""
    targets, scored = _scored_targets(pairs)
    return targets, scored if loss_tokens == "scored" else targets != pairs.task.pad_id


def _wrong(model: CountingModel, runs: FrozenRuns, rows: Tensor, alignment: nn.Module) -> Tensor:
    """(r, W) bool — (E, r, W): which scored predictions of pairs ``rows`` the intervened network
    gets wrong (argmax)."""
    logits, targets, scored = intervened_predictions(model, runs, rows, alignment)
    return (logits.argmax(-1) != targets) & scored


@torch.no_grad()
def rows_correct(model: CountingModel, runs: FrozenRuns, rows: Tensor, alignment: nn.Module) -> Tensor:
    """(r,) bool — (E, r) for an ensemble: does the intervened network predict every scored token
    of pairs ``rows`` (r,) (argmax)? (:func:`pair_correct` on a subset.)"""
    return ~_wrong(model, runs, rows, alignment).any(dim=-1)


@torch.no_grad()
def first_errors(model: CountingModel, runs: FrozenRuns, alignment: nn.Module, batch_size: int = 2048) -> Tensor:
    """(n,) long — (E, n) for an ensemble: for each pair, the offset after ``t`` of the first
    scored token the intervened network gets wrong (0: the prediction made at ``t`` itself), or
    -1 if it gets all right."""
    first = []
    for rows in torch.arange(len(runs)).split(batch_size):
        wrong = _wrong(model, runs, rows, alignment)
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
