"""The operations numvars' models are built of, on stacked ensembles (every tensor with a leading
member dimension E): linear layers and LayerNorm with per-member weights, and the helpers that
measure and shift right-padded sequences for the intervened runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from numvars.models.config import PAD_ID


def stacked_linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``x`` (E, ..., in) @ ``weight`` (E, in, out) + ``bias`` (E, out) -> (E, ..., out)."""
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    out = torch.bmm(flat, weight) if bias is None else torch.baddbmm(bias.unsqueeze(1), flat, weight)
    return out.reshape(*x.shape[:-1], weight.shape[-1])


def stacked_layer_norm(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """LayerNorm over the last dim with per-member affine ``weight``/``bias`` (E, d)."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    return F.layer_norm(x, x.shape[-1:]) * weight.reshape(shape) + bias.reshape(shape)


def sequence_lengths(tokens: Tensor) -> Tensor:
    """(..., L) right-padded ids -> (...,) the tokens before the padding (the last non-PAD
    position + 1)."""
    position = torch.arange(1, tokens.shape[-1] + 1)
    return ((tokens != PAD_ID) * position).amax(dim=-1) if tokens.shape[-1] else tokens.new_zeros(tokens.shape[:-1])


def shift_left(x: Tensor, start: Tensor, width: int, fill=0) -> Tensor:
    """``x`` (B, L, ...) -> (B, width, ...) with ``out[b, j] = x[b, start[b] + j]``, and ``fill``
    where ``start[b] + j`` is past the end."""
    B, L = x.shape[:2]
    index = start.unsqueeze(1) + torch.arange(width)  # (B, width)
    inside = index < L
    index = index.clamp(max=L - 1).reshape(B, width, *([1] * (x.dim() - 2))).expand(B, width, *x.shape[2:])
    out = x.gather(1, index)
    return out.masked_fill(~inside.reshape(B, width, *([1] * (x.dim() - 2))), fill)


def shift_left_members(x: Tensor, start: Tensor, width: int) -> Tensor:
    """:func:`shift_left` of every member: (E, B, L, ...) -> (E, B, width, ...)."""
    return shift_left(x.movedim(0, 2), start, width).movedim(2, 0)
