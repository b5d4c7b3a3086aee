"""What a counting model is: its settings (:class:`ModelConfig`, with the architectures, kernels,
LSTM sizes and dropout sites it allows), its output, and the two ways to intervene on a forward
pass (:class:`Patch`: replace states; :class:`ExtraTerm`: add an attention term).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
from torch import Tensor

ARCHITECTURES = ("gru", "lstm", "transformer")


RECURRENT = ("gru", "lstm")  # the architectures that carry a state from token to token


PAD_ID = 0  # every task's PAD (numvars.tasks): no output is computed there


POSITIONAL = ("rope", "none")


ROPE_BASE = 10_000.0


#: how an unpatched forward pass is computed. ``"stepped"``: every row of a batch through every
#: position under autograd — the reference, and what every committed network was trained with.
#: ``"packed"``: only the real tokens' work (GRU/LSTM: rows sorted by length, only running rows
#: stepped, a hand-written backward, :mod:`numvars.recurrence`; transformer: rows bucketed by
#: length, each bucket trimmed to its longest row). The same function, rounded differently — so
#: a network trained packed is a different network (its own store key).
KERNELS = ("stepped", "packed")


#: rows per length bucket of the packed transformer
BUCKET_ROWS = 32


#: the LSTM's size (PAPER.md §3 open points): ``"d"`` — d units each for h and c, state [h; c] of
#: 2d (the book's reading); ``"half"`` — d/2 units each, so [h; c] has d coordinates like a
#: GRU's h (the authors' code)
LSTM_UNITS = ("d", "half")


#: where a transformer applies dropout (rate ``ModelConfig.dropout``, training only): ``"head"``
#: — in the output head (the paper's text); ``"all"`` — on the attention weights, after the
#: feed-forward GELU and on each block's output before it joins the residual stream, as well as
#: the head (the authors' code)
DROPOUT_SITES = ("head", "all")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one counting model (paper §3 defaults)."""

    arch: str = "gru"
    vocab_size: int = 8
    d: int = 20
    n_layers: int = 2  # transformer only
    positional: str = "rope"  # transformer only: "rope" or "none" (NoPE)
    dropout: float = 0.5
    kernel: str = "stepped"  # KERNELS
    lstm_units: str = "d"  # LSTM_UNITS
    dropout_sites: str = "head"  # DROPOUT_SITES

    def __post_init__(self):
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}; allowed: {list(KERNELS)}")
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.arch!r}; allowed: {list(ARCHITECTURES)}")
        if not isinstance(self.d, int) or self.d < 1:
            raise ValueError(f"model size d must be an integer >= 1, got {self.d!r}")
        if not isinstance(self.vocab_size, int) or self.vocab_size < 2:
            raise ValueError(f"vocab_size must be an integer >= 2, got {self.vocab_size!r}")
        if self.arch == "transformer":
            if self.n_layers not in (1, 2):
                raise ValueError(f"a transformer has 1 or 2 layers here, got {self.n_layers!r}")
            if self.positional not in POSITIONAL:
                raise ValueError(f"unknown positional encoding {self.positional!r}; allowed: {list(POSITIONAL)}")
            if self.positional == "rope" and self.d % 2:
                raise ValueError(f"RoPE rotates pairs of dimensions: d must be even, got {self.d}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.lstm_units not in LSTM_UNITS:
            raise ValueError(f"unknown LSTM size rule {self.lstm_units!r}; allowed: {list(LSTM_UNITS)}")
        if self.lstm_units == "half" and (self.arch != "lstm" or self.d % 2):
            raise ValueError(
                f"lstm_units='half' needs an LSTM of even d (d/2 units for h and c), got a {self.arch} of d = {self.d}"
            )
        if self.dropout_sites not in DROPOUT_SITES:
            raise ValueError(f"unknown dropout sites {self.dropout_sites!r}; allowed: {list(DROPOUT_SITES)}")
        if self.dropout_sites == "all" and self.arch != "transformer":
            raise ValueError(
                f"dropout_sites='all' (attention, feed-forward, residual) needs a transformer, got a {self.arch}"
            )

    @property
    def units(self) -> int:
        """Size of a recurrent cell's h (and an LSTM's c): d, or d/2 for an LSTM with
        ``lstm_units="half"``; the transformer's width d."""
        return self.d // 2 if self.lstm_units == "half" else self.d

    @property
    def state_size(self) -> int:
        """Size S of the intervenable state: d, or for the LSTM's [h; c] twice its units (2d,
        or d with ``lstm_units="half"``)."""
        return 2 * self.units if self.arch == "lstm" else self.d


class Output(NamedTuple):
    logits: Tensor  # (E, B, L, V) — or (B, L, V) for a single member fed (B, L)
    states: Tensor  # (E, B, L, S): the intervenable state after every token
    attention: list[Tensor] | None  # per layer (E, B, L, L), when asked for (transformer only)


@dataclass
class Patch:
    """Replace the state after token ``steps[p]`` of sequence ``rows[p]`` (of member
    ``members[p]``, default 0) by ``values[p]``.

    ``values`` is a ``(P, S)`` tensor, or a function ``f(original, which)`` of the original
    states ``(P', S)`` at the entries ``which`` ``(P',)`` (indices into ``rows``) that returns
    their new states ``(P', S)`` — DAS mixes the two. Gradients flow into ``values``.
    """

    rows: Tensor  # (P,) long
    steps: Tensor  # (P,) long
    values: Tensor | Callable[[Tensor, Tensor], Tensor]  # (P, S), or f(original (P', S), which (P',))
    members: Tensor | None = None  # (P,) long
    layer: int | None = None  # transformer only: patch the residual stream after this many layers (0: the
    # embedding) instead of the intervenable state (after layer 1) — App. A.5's sites

    def check(self, n_members: int, batch: int, length: int, state_size: int) -> None:
        if self.rows.shape != self.steps.shape or self.rows.dim() != 1:
            raise ValueError(
                f"patch rows {tuple(self.rows.shape)} and steps {tuple(self.steps.shape)} must be equal 1-d shapes"
            )
        if len(self.rows) == 0:
            return
        if self.steps.min() < 0 or self.steps.max() >= length:
            raise ValueError(f"patch step {int(self.steps.max())} is past the sequence end (steps 0..{length - 1})")
        if self.rows.min() < 0 or self.rows.max() >= batch:
            raise ValueError(f"patch row {int(self.rows.max())} is outside the batch (rows 0..{batch - 1})")
        if self.members is not None and (self.members.min() < 0 or self.members.max() >= n_members):
            raise ValueError(f"patch member {int(self.members.max())} is outside the ensemble (0..{n_members - 1})")
        if isinstance(self.values, Tensor) and self.values.shape != (len(self.rows), state_size):
            raise ValueError(
                f"patch values must have shape ({len(self.rows)}, {state_size}), got {tuple(self.values.shape)}"
            )

    def apply(self, states: Tensor, step: int | None = None) -> Tensor:
        """``states`` (E, B, S) at ``step``, or (E, B, L, S) for every step at once, patched
        (out of place)."""
        select = torch.ones_like(self.rows, dtype=torch.bool) if step is None else self.steps == step
        if not select.any():
            return states
        members = self.members if self.members is not None else torch.zeros_like(self.rows)
        index = (members[select], self.rows[select]) + ((self.steps[select],) if step is None else ())
        if callable(self.values):
            new = self.values(states[index], select.nonzero().squeeze(1))
        else:
            new = self.values[select]
        return states.index_put(index, new.to(states.dtype))


@dataclass
class ExtraTerm:
    """App. A.4's manipulation of a transformer without positional encoding: ``copies`` more
    key–value terms of token ``token`` in the first layer's attention sum of the queries
    ``queries`` (B, L) bool, the weights renormalised. A token's first-layer key and value
    depend on nothing but the token when there is no positional encoding, so the term is the one
    every occurrence of the token contributes: adding it is reading one more such token."""

    token: int
    queries: Tensor  # (B, L) bool
    copies: int = 1

    def check(self, batch: int, length: int, vocab_size: int) -> None:
        if self.queries.shape != (batch, length) or self.queries.dtype != torch.bool:
            raise ValueError(
                f"extra-term queries must be a bool tensor of shape ({batch}, {length}), got "
                f"{self.queries.dtype} {tuple(self.queries.shape)}"
            )
        if not 0 <= self.token < vocab_size:
            raise ValueError(f"extra-term token {self.token} is outside the vocabulary 0..{vocab_size - 1}")
        if self.copies < 1:
            raise ValueError(f"extra-term copies must be at least 1, got {self.copies}")
