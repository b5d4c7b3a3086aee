"""Free-running training (the authors' rule for GRUs and LSTMs) by the packed kernel.

Free-running feeds the network's own argmax prediction back as the next input in the response
phase. The stepped kernel (:meth:`numvars.models.recurrent._Recurrent._run_free`) steps every
row and runs the head at every step. But wherever the network predicts the true token, the token
fed back *is* the true one, so a row's free-running run equals its teacher-forced run up to its
first wrong prediction — and a trained network makes almost none (about 0.2 % of the rows of a
batch carry one, with the head's dropout on). :func:`free_running_losses` therefore

1. runs the teacher-forced packed kernel on every row (:meth:`_packed_states`), and the head at
   every real position with the masks the stepped kernel draws (member by member, the positions
   in time-major order: step by step, rows in batch order within a step);
2. finds each row's first fed-back position whose input would differ (the prediction before it
   is not the true token);
3. steps only those rows on from there, feeding back their own predictions (the head with the
   same position's masks), and uses their logits from there on.

The same function as the stepped kernel, with the same dropout masks, rounded differently
(a test: float64 losses and gradients to 1e-12).

Shapes: ``E`` members, ``B`` rows, ``L`` steps, ``V`` vocabulary, ``S`` state size, ``u`` units
(what the head reads), ``K`` the most rows of one member that need stepping on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from numvars.models.config import PAD_ID
from numvars.models.losses import mean_cross_entropy
from numvars.models.stacked import stacked_linear
from numvars.recurrence import packed_index


def free_running_losses(model, inputs: Tensor, targets: Tensor, feed_back: Tensor) -> Tensor:
    """(E,) each member's mean cross-entropy of its free-running predictions of ``targets``
    (E, B, L) from ``inputs`` (E, B, L), fed back where ``feed_back`` (E, B, L) is True
    (:meth:`numvars.models.CountingModel.next_token_losses` with the packed kernel)."""
    E, B, L = inputs.shape
    real = inputs != PAD_ID
    packed, order, running, lengths = model._packed_states(inputs)  # teacher-forced (E, R, S)
    row_of = packed_index(order, running, L)  # (E, B, L)
    units = model.config.units
    positions, logits, keeps, predicted = [], [], [], torch.zeros(E, B, L, dtype=torch.long)
    for e in range(E):
        steps, rows = real[e].t().nonzero(as_tuple=True)  # (n_e,) time-major, as the stepped kernel reads
        keep = model.head_masks(e, len(steps))
        member_logits = model.head_member(e, packed[e, row_of[e, rows, steps], :units], keep)  # (n_e, V)
        predicted[e, rows, steps] = member_logits.detach().argmax(dim=-1)
        positions.append((rows, steps))
        logits.append(member_logits)
        keeps.append(keep)
    # a row departs from teacher forcing at its first fed-back input that is not the true token
    differs = feed_back[:, :, 1:] & (predicted[:, :, :-1] != inputs[:, :, 1:])  # (E, B, L-1): input t+1
    starts = torch.where(differs.any(dim=-1), differs.float().argmax(dim=-1) + 1, L)  # (E, B)
    if bool((starts < L).any()):
        logits = _step_on(
            model, inputs, feed_back, packed, row_of, lengths, starts, predicted, positions, logits, keeps
        )
    losses = []
    for e, (rows, steps) in enumerate(positions):
        wanted = targets[e, rows, steps]
        scored = wanted != PAD_ID
        losses.append(mean_cross_entropy(logits[e][scored], wanted[scored]))
    return torch.stack(losses)


def _step_on(model, inputs, feed_back, packed, row_of, lengths, starts, predicted, positions, logits, keeps):
    """Step the rows that depart (``starts`` (E, B) < L) free-running from their start, every
    member's together (K rows each, padded with rows that never start), and put their logits
    from the start on in place of the teacher-forced ones; returns the members' logits."""
    E, B, L = inputs.shape
    departing = [torch.nonzero(starts[e] < L).squeeze(1) for e in range(E)]
    K = max(len(rows) for rows in departing)
    rows = torch.stack([F.pad(r, (0, K - len(r))) for r in departing])  # (E, K); padding: row 0 ...
    start = torch.stack(
        [F.pad(starts[e, r], (0, K - len(r)), value=L) for e, r in enumerate(departing)]
    )  # ... never starts
    length = lengths.gather(1, rows)  # (E, K)
    members = torch.arange(E).unsqueeze(1)
    # the teacher-forced state of each stepped row at every step (past its end: a zero row)
    padded = torch.cat([packed, packed.new_zeros(E, 1, packed.shape[-1])], dim=1)
    inside = torch.arange(L) < length.unsqueeze(-1)  # (E, K, L)
    teacher = padded[members.unsqueeze(-1), torch.where(inside, row_of[members, rows], packed.shape[1])]  # (E, K, L, S)
    # each stepped position's place among its member's time-major positions (for its mask and logits)
    place = torch.full((E, B, L), -1, dtype=torch.long)
    for e, (member_rows, member_steps) in enumerate(positions):
        place[e, member_rows, member_steps] = torch.arange(len(member_rows))
    place = place[members, rows]  # (E, K, L)
    keep = None
    if keeps[0] is not None:  # dropout on: each position's own masks, as drawn for the teacher-forced pass
        keep = torch.stack([keeps[e][place[e].clamp(min=0)] for e in range(E)])  # (E, K, L, 4d)
    first, last = int(start.min()), int(length[start < L].max())
    state = teacher[:, :, first - 1]
    previous = predicted[members, rows, first - 1]  # (E, K) the prediction before each step
    new_logits = {}
    for t in range(first, last):
        stepping = (t >= start) & (t < length)  # (E, K)
        fed = torch.where(feed_back[members, rows, t], previous, inputs[members, rows, t])
        gates_x = stacked_linear(model.embed(fed.unsqueeze(2)), model.w_x, model.b_x).squeeze(2)  # (E, K, g*u)
        state = torch.where((t >= start).unsqueeze(-1), model.cell(gates_x, state), teacher[:, :, t])
        hidden = F.gelu(torch.baddbmm(model.head_b1.unsqueeze(1), state[..., : model.config.units], model.head_w1))
        if keep is not None:
            hidden = hidden * keep[:, :, t] * (1 / (1 - model.config.dropout))
        step_logits = torch.baddbmm(model.head_b2.unsqueeze(1), hidden, model.head_w2)  # (E, K, V)
        previous = torch.where(t >= start, step_logits.detach().argmax(dim=-1), predicted[members, rows, t])
        new_logits[t] = (stepping, step_logits)
    out = []
    for e in range(E):
        at = [(t, stepping[e].nonzero().squeeze(1)) for t, (stepping, _) in new_logits.items()]
        where = torch.cat([place[e, k, t] for t, k in at])
        values = torch.cat([new_logits[t][1][e, k] for t, k in at])
        out.append(logits[e].index_put((where,), values))
    return out
