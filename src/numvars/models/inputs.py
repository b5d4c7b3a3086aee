"""What :meth:`numvars.models.CountingModel.forward` accepts: each check raises a ValueError that
says what was wrong and what is allowed, before anything deep inside torch can fail.

Shapes: ``E`` members, ``B`` sequences, ``L`` positions.
"""

from __future__ import annotations

import torch
from torch import Tensor

from numvars.models.config import ExtraTerm, ModelConfig, Patch


def check_inputs(
    config: ModelConfig,
    members: int,
    tokens: Tensor,
    patch: Patch | None,
    return_attention: bool,
    extra_term: ExtraTerm | None,
) -> None:
    """``tokens`` (E, B, L) ids of the model's vocabulary, and a patch, attention weights and an
    extra attention term only where this model has them."""
    if tokens.dim() != 3 or tokens.shape[0] != members:
        raise ValueError(f"tokens must have shape ({members}, B, L), got {tuple(tokens.shape)}")
    if tokens.min() < 0 or tokens.max() >= config.vocab_size:
        raise ValueError(
            f"token id {int(tokens.max())} is outside the model's vocabulary 0..{config.vocab_size - 1}: "
            "a model and a task that do not match?"
        )
    if patch is not None:
        patch.check(members, tokens.shape[1], tokens.shape[2], config.state_size)
        if patch.layer is not None and (config.arch != "transformer" or not 0 <= patch.layer <= config.n_layers):
            raise ValueError(
                f"a patch at layer {patch.layer} needs a transformer with at least that many layers "
                f"(0: the embedding); this model is a {config.n_layers}-layer {config.arch}"
                if config.arch == "transformer"
                else f"a patch at a layer needs a transformer; a {config.arch} has one state (layer=None)"
            )
    if return_attention and config.arch != "transformer":
        raise ValueError("attention weights exist only for the transformer")
    if extra_term is not None:
        if config.arch != "transformer" or config.positional != "none":
            raise ValueError(
                "an extra attention term (App. A.4) needs a transformer without positional encoding "
                f"(positional='none'); this model is a {config.arch} "
                f"{'' if config.arch != 'transformer' else 'with ' + config.positional}".rstrip()
            )
        extra_term.check(tokens.shape[1], tokens.shape[2], config.vocab_size)


def check_feed_back(config: ModelConfig, tokens: Tensor, feed_back: Tensor, patch: Patch | None) -> None:
    """Free-running inputs: ``feed_back`` a bool mask of ``tokens``' shape (E, B, L), False at
    position 0, for an unpatched GRU or LSTM."""
    if config.arch == "transformer" or patch is not None:
        raise ValueError(
            "free-running inputs (feed_back) are for an unpatched GRU or LSTM; "
            f"this is a {config.arch}{' with a patch' if patch is not None else ''}"
        )
    if feed_back.shape != tokens.shape or feed_back.dtype != torch.bool or bool(feed_back[..., 0].any()):
        raise ValueError(
            f"feed_back must be a bool mask of the tokens' shape {tuple(tokens.shape)}, False at "
            f"position 0 (nothing precedes it); got {feed_back.dtype} {tuple(feed_back.shape)}"
        )
