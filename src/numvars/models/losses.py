"""The losses models are trained and fitted on, per member of an ensemble: training's
next-token loss (:func:`member_losses`), a DAS fit's loss on the scored predictions
(:func:`scored_losses`), and the cross-entropy the packed kernel scores with
(:func:`mean_cross_entropy`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from numvars.models.config import PAD_ID


def scored_losses(logits: Tensor, targets: Tensor, scored: Tensor) -> Tensor:
    """(E,) mean cross-entropy of each member's scored predictions: logits (E, r, W, V) — or
    (r, W, V) for one member — against targets (r, W) where scored (r, W)."""
    logits = logits.reshape(-1, *logits.shape[-3:])
    return torch.stack([F.cross_entropy(member[scored], targets[scored]) for member in logits])


def mean_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """``F.cross_entropy(logits (n, V), targets (n,))``, computed on the (1, V, n) view: PyTorch's
    CPU log-softmax over a short last dimension (V of about a dozen) is several times slower than
    over a middle one (``benchmarks/das_speed.py``). The same mean, rounded differently."""
    return F.cross_entropy(logits.t().unsqueeze(0), targets.unsqueeze(0))


def member_losses(logits: Tensor, tokens: Tensor, pad_id: int = PAD_ID) -> Tensor:
    """Mean next-token cross-entropy over non-pad targets, per member: (E,).

    logits (E, B, L-1, V) predict tokens[:, :, 1:] of tokens (E, B, L)."""
    targets = tokens[:, :, 1:]
    losses = []
    for member_logits, member_targets in zip(logits, targets):
        real = member_targets != pad_id
        losses.append(F.cross_entropy(member_logits[real], member_targets[real]))
    return torch.stack(losses)
