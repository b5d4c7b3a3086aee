"""Building a model from its config (:func:`build_model`) or another kernel's model
(:func:`with_kernel`), greedy generation (:func:`generate`) and keeping Adam's state when
members are regrouped (:func:`keep_adam_state`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable, Sequence

import torch
from torch import Tensor

from numvars.models.config import PAD_ID, ExtraTerm, ModelConfig, Patch
from numvars.models.core import CountingModel
from numvars.models.recurrent import GRU, LSTM
from numvars.models.transformer import Transformer

MODELS = {"gru": GRU, "lstm": LSTM, "transformer": Transformer}


def build_model(config: ModelConfig, seeds: Sequence[int] = (0,)) -> CountingModel:
    """A model of ``config`` with one member per seed."""
    return MODELS[config.arch](config, seeds)


def with_kernel(model: CountingModel, kernel: str) -> CountingModel:
    """``model`` run by ``kernel`` (:data:`~numvars.models.config.KERNELS`): the same weights, dropout
    streams and mode, so the same function rounded differently; ``model`` itself if it already
    runs by ``kernel``."""
    if model.config.kernel == kernel:
        return model
    other = build_model(replace(model.config, kernel=kernel), model.seeds)  # checks the kernel
    other.load_state_dict(model.state_dict())
    other.dropout_generators = model.dropout_generators
    return other.train(model.training)


@torch.no_grad()
def generate(
    model: CountingModel,
    prefix: Tensor | Sequence[int],
    patch: Patch | None = None,
    max_new: int = 40,
    stop: int | None = None,
    extra_term: Callable[[Tensor], ExtraTerm | None] | None = None,
) -> Tensor:
    """Greedy continuation of ``prefix`` — ids (P,), or (B, P) sequences of one length — by a
    one-member model, for up to ``max_new`` tokens. ``patch`` replaces states inside the prefix
    (its steps < P) and is applied again at every step: the model is causal, so the whole
    sequence is re-run each time and the replaced state drives every later prediction. A row
    stops after the token ``stop`` (e.g. the task's ``E``; later tokens are PAD); generation ends
    when every row has stopped. ``extra_term(ids)`` gives the :class:`ExtraTerm` for the ids so
    far at every step (App. A.4's manipulation, :func:`numvars.attention.generate`). Returns
    (B, P + n) ids — (P + n,) for a 1-d prefix."""
    if model.n_members != 1:
        raise ValueError(f"generate runs one network; this ensemble has {model.n_members} members")
    ids = torch.as_tensor(prefix, dtype=torch.long)
    squeeze = ids.dim() == 1
    ids = ids.unsqueeze(0) if squeeze else ids
    if ids.dim() != 2 or ids.shape[1] == 0:
        raise ValueError(f"prefix must be ids (P,) or (B, P) with P >= 1, got shape {tuple(ids.shape)}")
    if patch is not None and len(patch.steps) and int(patch.steps.max()) >= ids.shape[1]:
        raise ValueError(f"patch step {int(patch.steps.max())} is past the prefix (steps 0..{ids.shape[1] - 1})")
    done = torch.zeros(len(ids), dtype=torch.bool)
    was_training = model.training
    model.eval()
    try:
        for _ in range(max_new):
            term = None if extra_term is None else extra_term(ids)
            next_ids = model(ids, patch=patch, extra_term=term).logits[:, -1].argmax(dim=-1)
            next_ids = torch.where(done, torch.full_like(next_ids, PAD_ID), next_ids)
            ids = torch.cat([ids, next_ids.unsqueeze(1)], dim=1)
            if stop is not None:
                done |= next_ids == stop
                if done.all():
                    break
    finally:
        model.train(was_training)
    return ids[0] if squeeze else ids


def keep_adam_state(
    optimizer: torch.optim.Adam, old: Iterable[Tensor], new: Iterable[Tensor], keep: Sequence[int]
) -> torch.optim.Adam:
    """A new Adam over the parameters ``new`` — the members ``keep`` of the stacked parameters
    ``old``, in the same order (leading dimension E) — carrying those members' optimiser
    state. Adam's update is elementwise, so each kept member goes on exactly as it would alone."""
    new = list(new)
    kept = torch.optim.Adam(new, lr=optimizer.param_groups[0]["lr"])
    index = torch.tensor(list(keep))
    for old_param, new_param in zip(old, new):
        state = optimizer.state.get(old_param)
        if state:
            kept.state[new_param] = {
                key: value if key == "step" else value[index].clone() for key, value in state.items()
            }
    return kept
