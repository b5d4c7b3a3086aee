"""GRU, LSTM and Transformer counting models with one face: ``forward(tokens, patch=None)``.

Every model is an **ensemble** of ``E`` independent members (one per seed) with stacked
weights: each parameter has a leading member dimension, and every member sees its own batch.
With ``E = 1`` the member dimension may be left out of inputs and is left out of outputs.
Stacking is how many seeds train at once on a CPU, where a small network's time goes to
per-operation overhead, not arithmetic: measured on two cores (``benchmarks/train_speed.py``,
d = 20 GRU, six seeds), two stacked ensembles in two processes train 1.62x as many sequences
per second as plain one-model loops in two processes, and torch.func's ``vmap`` recipe 1.22x.
Members are initialised from their own seed and draw their own dropout masks, so a member does
not depend on which others share its stack. The ensemble machinery is here: stacked layers,
:meth:`CountingModel.member`, :meth:`~CountingModel.member_state`, :meth:`~CountingModel.select`
and :meth:`~CountingModel.stack`; :mod:`numvars.training` only batches per member.

Shapes: ``E`` members, ``B`` sequences, ``L`` tokens, ``d`` model size, ``S`` state size
(``d`` for the GRU and the transformer, ``2d`` for the LSTM's ``[h; c]``), ``V`` vocabulary.

* **GRU / LSTM**: one cell stepped through the sequence, so a state can be replaced
  mid-sequence; the replaced state feeds the prediction at that step and the next step.
* **Transformer**: causal, one head, pre-LayerNorm, RoPE or no positional encoding, 1 or 2
  layers, FFN 4d with GELU, a final LayerNorm. Its intervenable state is the residual stream
  after layer 1, the only place a running count could pass between positions.
* Every model: token embedding of size d, then a head ``Linear(d, 4d) → GELU → Dropout(0.5) →
  Linear(4d, V)`` applied at every position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from numvars.recurrence import pack, run_packed, unpack

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


# --------------------------------------------------------------------------- stacked layers
def _uniform(generator: torch.Generator, shape: Sequence[int], bound: float) -> Tensor:
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def stacked_linear(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``x`` (E, ..., in) @ ``weight`` (E, in, out) + ``bias`` (E, out) -> (E, ..., out)."""
    flat = x.reshape(x.shape[0], -1, x.shape[-1])
    out = torch.bmm(flat, weight) if bias is None else torch.baddbmm(bias.unsqueeze(1), flat, weight)
    return out.reshape(*x.shape[:-1], weight.shape[-1])


def stacked_layer_norm(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """LayerNorm over the last dim with per-member affine ``weight``/``bias`` (E, d)."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    return F.layer_norm(x, x.shape[-1:]) * weight.reshape(shape) + bias.reshape(shape)


class CountingModel(nn.Module):
    """Base class: embedding, output head, dropout streams, members; see the module doc."""

    rerun_reads_states = True  # whether rerun_from() needs the unpatched states of every position

    def __init__(self, config: ModelConfig, seeds: Sequence[int] = (0,)):
        super().__init__()
        if len(seeds) == 0:
            raise ValueError("an ensemble needs at least one seed")
        self.config = config
        self.seeds = tuple(int(s) for s in seeds)
        d, V = config.d, config.vocab_size
        self._shapes: dict[str, tuple[tuple[int, ...], str]] = {}
        self._declare("embedding", (V, d), "normal")
        self._declare_params()
        u = config.units  # what the head reads: h (a recurrent net's), or the final residual
        self._declare("head_w1", (u, 4 * d), f"uniform:{u}")
        self._declare("head_b1", (4 * d,), f"uniform:{u}")
        self._declare("head_w2", (4 * d, V), f"uniform:{4 * d}")
        self._declare("head_b2", (V,), f"uniform:{4 * d}")
        self._initialise()
        self.dropout_generators = [torch.Generator().manual_seed(10_007 * s + 1) for s in self.seeds]

    # parameters ------------------------------------------------------------------------
    def _declare(self, name: str, shape: tuple[int, ...], init: str) -> None:
        """Register a stacked parameter (E, *shape) initialised by ``init``: ``"normal"``,
        ``"ones"``, ``"zeros"`` or ``"uniform:<fan_in>"`` (±1/sqrt(fan_in), PyTorch's default)."""
        self._shapes[name] = (shape, init)
        self.register_parameter(name, nn.Parameter(torch.empty(len(self.seeds), *shape)))

    def _declare_params(self) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def _initialise(self) -> None:
        for member, seed in enumerate(self.seeds):
            generator = torch.Generator().manual_seed(seed)
            for name, (shape, init) in self._shapes.items():  # fixed order: declaration order
                if init == "normal":
                    value = torch.randn(shape, generator=generator)
                elif init in ("ones", "zeros"):
                    value = torch.ones(shape) if init == "ones" else torch.zeros(shape)
                else:
                    value = _uniform(generator, shape, 1 / math.sqrt(int(init.split(":")[1])))
                getattr(self, name)[member] = value

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def member(self, index: int) -> "CountingModel":
        """A one-member model holding a copy of member ``index``'s weights."""
        single = type(self)(self.config, seeds=(self.seeds[index],))
        with torch.no_grad():
            for name, param in self.named_parameters():
                getattr(single, name).copy_(param[index : index + 1])
        single.dropout_generators = [self.dropout_generators[index]]
        return single.train(self.training)

    def member_state(self, index: int) -> dict[str, Tensor]:
        """A copy of member ``index``'s weights, as a one-member model's ``state_dict``."""
        return {name: param[index : index + 1].detach().clone() for name, param in self.named_parameters()}

    def select(self, indices: Sequence[int]) -> "CountingModel":
        """A new ensemble of the members ``indices`` (copies), e.g. those still training."""
        return CountingModel.stack([self.member(i) for i in indices])

    @classmethod
    def stack(cls, models: Sequence["CountingModel"]) -> "CountingModel":
        """One ensemble from models of the same config (the inverse of :meth:`member`)."""
        configs = {m.config for m in models}
        if len(configs) != 1:
            raise ValueError(f"cannot stack models of different configs: {configs}")
        stacked = build_model(models[0].config, seeds=[s for m in models for s in m.seeds])
        with torch.no_grad():
            for name, param in stacked.named_parameters():
                param.copy_(torch.cat([getattr(m, name) for m in models]))
        stacked.dropout_generators = [g for m in models for g in m.dropout_generators]
        return stacked.train(models[0].training)

    # forward ---------------------------------------------------------------------------
    def embed(self, tokens: Tensor) -> Tensor:
        """(E, B, L) ids -> (E, B, L, d). A one-hot product rather than indexing: indexing's
        backward accumulates in an order that varies with threads, one-hot's does not."""
        one_hot = F.one_hot(tokens, self.config.vocab_size).to(self.embedding.dtype)
        return stacked_linear(one_hot, self.embedding, None)

    def head(self, hidden: Tensor, real: Tensor) -> Tensor:
        """(E, B, L, d) -> logits (E, B, L, V), computed only where ``real`` (E, B, L) is True
        (not PAD); logits at PAD positions are 0. One member at a time: each member's
        activations then fit in cache, and padding (about half of a batch) costs nothing."""
        E, B, L, _ = hidden.shape
        logits = []
        for e in range(E):
            mask = real[e]
            out = self.head_member(e, hidden[e][mask])  # (n_e, V)
            logits.append(out.new_zeros(B, L, out.shape[-1]).masked_scatter(mask.unsqueeze(-1), out))
        return torch.stack(logits)

    def head_member(self, e: int, hidden: Tensor) -> Tensor:
        """Member ``e``'s output head on rows ``hidden`` (n, d) -> logits (n, V); each row's
        logits do not depend on the other rows."""
        x = F.gelu(torch.addmm(self.head_b1[e], hidden, self.head_w1[e]))  # (n, 4d)
        p = self.config.dropout
        if self.training and p > 0:
            keep = torch.rand(x.shape, generator=self.dropout_generators[e]) >= p
            x = x * keep * (1 / (1 - p))
        return torch.addmm(self.head_b2[e], x, self.head_w2[e])

    def head_stacked(self, hidden: Tensor) -> Tensor:
        """Every member's output head at once on its rows ``hidden`` (E, n, d) -> logits
        (E, n, V); member ``e``'s dropout masks from its own generator."""
        x = self.dropout_stacked(F.gelu(torch.baddbmm(self.head_b1.unsqueeze(1), hidden, self.head_w1)))  # (E, n, 4d)
        return torch.baddbmm(self.head_b2.unsqueeze(1), x, self.head_w2)

    def dropout_stacked(self, x: Tensor) -> Tensor:
        """Dropout (rate ``config.dropout``, training mode only) on ``x`` (E, ...), member ``e``'s
        mask drawn from its own generator; the identity in eval mode."""
        p = self.config.dropout
        if not self.training or p == 0:
            return x
        keep = torch.stack([torch.rand(x.shape[1:], generator=g) >= p for g in self.dropout_generators])
        return x * keep * (1 / (1 - p))

    def forward(
        self,
        tokens: Tensor,
        patch: Patch | None = None,
        return_attention: bool = False,
        extra_term: ExtraTerm | None = None,
        feed_back: Tensor | None = None,
    ) -> Output:
        """Logits and intervenable states for every token.

        Args:
            tokens: (E, B, L) long, or (B, L) for a one-member model.
            patch: states to replace (see :class:`Patch`); later steps carry on from them.
            return_attention: also return attention weights (transformer only).
            extra_term: one more term in the first layer's attention (:class:`ExtraTerm`;
                transformer without positional encoding only).
            feed_back: (E, B, L) bool, GRU/LSTM only: free-running — where True (never at
                position 0) the input is not ``tokens`` but the model's own argmax prediction
                at the previous position (the authors' training in the response phase).
        """
        squeeze = tokens.dim() == 2
        if squeeze:
            if self.n_members != 1:
                raise ValueError(f"an ensemble of {self.n_members} members needs tokens of shape (E, B, L)")
            tokens = tokens.unsqueeze(0)
        if tokens.dim() != 3 or tokens.shape[0] != self.n_members:
            raise ValueError(f"tokens must have shape ({self.n_members}, B, L), got {tuple(tokens.shape)}")
        if tokens.min() < 0 or tokens.max() >= self.config.vocab_size:
            raise ValueError(
                f"token id {int(tokens.max())} is outside the model's vocabulary 0..{self.config.vocab_size - 1}: "
                "a model and a task that do not match?"
            )
        if patch is not None:
            patch.check(self.n_members, tokens.shape[1], tokens.shape[2], self.config.state_size)
            if patch.layer is not None and (
                self.config.arch != "transformer" or not 0 <= patch.layer <= self.config.n_layers
            ):
                raise ValueError(
                    f"a patch at layer {patch.layer} needs a transformer with at least that many layers "
                    f"(0: the embedding); this model is a {self.config.n_layers}-layer {self.config.arch}"
                    if self.config.arch == "transformer"
                    else f"a patch at a layer needs a transformer; a {self.config.arch} has one state (layer=None)"
                )
        if return_attention and self.config.arch != "transformer":
            raise ValueError("attention weights exist only for the transformer")
        if extra_term is not None:
            if self.config.arch != "transformer" or self.config.positional != "none":
                raise ValueError(
                    "an extra attention term (App. A.4) needs a transformer without positional encoding "
                    f"(positional='none'); this model is a {self.config.arch} "
                    f"{'' if self.config.arch != 'transformer' else 'with ' + self.config.positional}".rstrip()
                )
            extra_term.check(tokens.shape[1], tokens.shape[2], self.config.vocab_size)
        if feed_back is not None:
            if self.config.arch == "transformer" or patch is not None:
                raise ValueError(
                    "free-running inputs (feed_back) are for an unpatched GRU or LSTM; "
                    f"this is a {self.config.arch}{' with a patch' if patch is not None else ''}"
                )
            feed_back = feed_back.unsqueeze(0) if squeeze else feed_back
            if feed_back.shape != tokens.shape or feed_back.dtype != torch.bool or bool(feed_back[..., 0].any()):
                raise ValueError(
                    f"feed_back must be a bool mask of the tokens' shape {tuple(tokens.shape)}, False at "
                    f"position 0 (nothing precedes it); got {feed_back.dtype} {tuple(feed_back.shape)}"
                )
            logits, states, attention = (*self._run_free(tokens, feed_back), None)
        else:
            logits, states, attention = self._run(tokens, patch, return_attention, extra_term)
        if squeeze:
            return Output(logits[0], states[0], None if attention is None else [a[0] for a in attention])
        return Output(logits, states, attention)

    def _run(self, tokens: Tensor, patch: Patch | None, return_attention: bool, extra_term: ExtraTerm | None):
        raise NotImplementedError

    def rerun_from(
        self,
        tokens: Tensor,
        steps: Tensor,
        new_states: Tensor,
        states: Tensor | None = None,
        needed: Tensor | None = None,
    ) -> Tensor:
        """Replace one state per sequence and recompute only what it affects.

        Interchange interventions replace the state after token ``steps[b]`` of every sequence
        ``b`` and need the predictions from there on; everything before is unchanged and not
        recomputed. The result equals ``forward(tokens, patch=Patch(arange(B), steps,
        new_states)).logits`` at positions ``steps[b] + j``, shifted left. Every member of an
        ensemble runs on the same sequences from its own replacement states (DAS fits a
        condition's seeds together this way).

        Args:
            tokens: (B, L) sequences, shared by every member.
            steps: (B,) the step whose state is replaced in each sequence.
            new_states: (E, B, S) the replacement states (gradients flow into them); (B, S) for
                a one-member model.
            states: (E, B, L, S) — or (B, L, S) — the sequences' unpatched states from
                :meth:`forward`, if known (the transformer reuses them; the recurrent nets need
                only ``new_states``).
            needed: (B, W) bool, the predictions that will be read (e.g. the scored ones of an
                intervention); the recurrent nets compute the output head only there and leave
                0 elsewhere. ``None``: every prediction.
        Returns:
            (E, B, W, V) logits — (B, W, V) for a one-member model given (B, S) states:
            ``[e, b, j]`` is member ``e``'s prediction after token ``steps[b] + j``; 0 past a
            sequence's last token. ``W`` is the most predictions any sequence needs,
            ``max_b(length_b - steps[b])`` (sequences are right-padded with PAD).
        """
        squeeze = new_states.dim() == 2
        if squeeze:
            if self.n_members != 1:
                raise ValueError(
                    f"an ensemble of {self.n_members} members needs new_states of shape (E, B, S), one member "
                    f"per row of E"
                )
            new_states = new_states.unsqueeze(0)
            states = None if states is None else states.unsqueeze(0)
        B, L = tokens.shape
        E, S = self.n_members, self.config.state_size
        if steps.shape != (B,) or new_states.shape != (E, B, S):
            raise ValueError(
                f"for tokens of shape {(B, L)} and {E} member(s), steps must have shape ({B},) and new_states ({E}, {B}, {S}); "
                f"got {tuple(steps.shape)} and {tuple(new_states.shape)}"
            )
        if B and (steps.min() < 0 or steps.max() >= L):
            raise ValueError(f"steps must lie in 0..{L - 1}")
        logits = self._rerun_from(tokens, steps, new_states, states, needed)
        return logits[0] if squeeze else logits

    def _rerun_from(
        self, tokens: Tensor, steps: Tensor, new_states: Tensor, states: Tensor | None, needed: Tensor | None
    ) -> Tensor:
        raise NotImplementedError


class _Recurrent(CountingModel):
    """A cell stepped one token at a time; input projections precomputed for all steps."""

    rerun_reads_states = False  # the replaced state is all a recurrent net needs

    n_gates = 0

    def _declare_params(self) -> None:
        d, u, g = self.config.d, self.config.units, self.n_gates
        self._declare("w_x", (d, g * u), f"uniform:{u}")
        self._declare("b_x", (g * u,), f"uniform:{u}")
        self._declare("w_h", (u, g * u), f"uniform:{u}")
        self._declare("b_h", (g * u,), f"uniform:{u}")

    def _run(self, tokens, patch, return_attention, extra_term):
        if patch is None and self.config.kernel == "packed":
            return (*self._run_packed(tokens), None)
        E, B, L = tokens.shape
        gates_x = stacked_linear(self.embed(tokens), self.w_x, self.b_x)  # (E, B, L, g*d)
        state = self.w_h.new_zeros(E, B, self.config.state_size)  # the weights' dtype (float64 in tests)
        states = []
        # unbind, not gates_x[:, :, t]: a slice's backward would write a full-size gradient per step
        for t, gates_x_t in enumerate(gates_x.unbind(dim=2)):
            state = self.cell(gates_x_t, state)
            if patch is not None:
                state = patch.apply(state, t)
            states.append(state)
        states = torch.stack(states, dim=2)  # (E, B, L, S)
        return self.head(states[..., : self.config.units], tokens != PAD_ID), states, None

    def _run_free(self, tokens: Tensor, feed_back: Tensor) -> tuple[Tensor, Tensor]:
        """Logits (E, B, L, V) and states (E, B, L, S), stepping and reading out one position at
        a time: where ``feed_back`` (E, B, L) is True the input is the argmax of the previous
        position's logits (no gradient flows through the choice)."""
        real = tokens != PAD_ID
        state = self.w_h.new_zeros(*tokens.shape[:2], self.config.state_size)
        inputs, logits, states = tokens[:, :, 0], [], []
        for t in range(tokens.shape[2]):
            if t > 0:
                inputs = torch.where(feed_back[:, :, t], logits[-1].argmax(dim=-1), tokens[:, :, t])
            gates_x = stacked_linear(self.embed(inputs.unsqueeze(2)), self.w_x, self.b_x).squeeze(2)  # (E, B, g*u)
            state = self.cell(gates_x, state)
            states.append(state)
            logits.append(self.head(state[..., : self.config.units].unsqueeze(2), real[:, :, t : t + 1]).squeeze(2))
        return torch.stack(logits, dim=2), torch.stack(states, dim=2)

    def _run_packed(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """The ``"packed"`` kernel: logits (E, B, L, V) and states (E, B, L, S) of unpatched
        sequences, 0 at PAD, from :func:`numvars.recurrence.run_packed` — each member's rows sorted
        by length and only the rows still running stepped — and the head run on the packed
        states of every member at once (:meth:`head_stacked`). The input projection is looked
        up per token."""
        E, B, L = tokens.shape
        lengths = sequence_lengths(tokens)
        order, running, rows, steps = pack(lengths)
        if not running:
            return self.w_h.new_zeros(E, B, L, self.config.vocab_size), self.w_h.new_zeros(
                E, B, L, self.config.state_size
            )
        packed_tokens = tokens.gather(1, order.unsqueeze(-1).expand(E, B, L))[:, rows, steps]  # (E, R)
        table = stacked_linear(self.embedding, self.w_x, self.b_x)  # (E, V, g*d): W_x x + b_x of every token x
        gates_x = torch.bmm(F.one_hot(packed_tokens, self.config.vocab_size).to(table.dtype), table)  # (E, R, g*d)
        state0 = self.w_h.new_zeros(E, running[0], self.config.state_size)
        packed = run_packed(self.config.arch, running, gates_x, state0, self.w_h, self.b_h)  # (E, R, S)
        logits = self.head_stacked(packed[..., : self.config.units])  # (E, R, V)
        return unpack(logits, order, running, lengths, L), unpack(packed, order, running, lengths, L)

    def _rerun_from(self, tokens, steps, new_states, states, needed):
        # Packed like pack_padded_sequence: rows sorted by how many predictions they need, and
        # at offset j only the rows still running are stepped (the work is the sum of the rows'
        # lengths, not B times the longest); the head runs on the packed states that are needed.
        # The input projection is looked up per token from a (E, V, g*d) table, not computed
        # per position: a vocabulary of a dozen tokens against thousands of positions.
        E, B = new_states.shape[:2]
        n_after = (tokens != PAD_ID).sum(1) - steps  # (B,) predictions from the replaced step on
        width = int(n_after.max())
        order = n_after.argsort(descending=True, stable=True)
        running = (n_after[order].unsqueeze(0) > torch.arange(width).unsqueeze(1)).sum(1).tolist()  # (W,)
        rest = shift_left(tokens, steps + 1, width - 1, fill=PAD_ID)[order]  # (B, W-1) the tokens after each step
        projection = stacked_linear(self.embedding, self.w_x, self.b_x)  # (E, V, g*d): W_x x + b_x of every token x
        state = new_states[:, order]
        packed = [state]
        for j in range(1, width):
            n = running[j]
            state = self.cell(projection[:, rest[:n, j - 1]], state[:, :n])
            packed.append(state)
        rows = torch.cat([order[:n] for n in running])  # (R,) the packed states' sequence and offset
        offsets = torch.cat([torch.full((n,), j) for j, n in enumerate(running)])
        hidden = torch.cat(packed, dim=1)[..., : self.config.units]  # (E, R, units)
        if needed is not None:
            keep = needed[rows, offsets]
            rows, offsets, hidden = rows[keep], offsets[keep], hidden[:, keep]
        logits = torch.stack([self.head_member(e, hidden[e]) for e in range(E)])  # (E, R, V)
        members = torch.arange(E).unsqueeze(1)
        return logits.new_zeros(E, B, width, logits.shape[-1]).index_put(
            (members, rows.unsqueeze(0), offsets.unsqueeze(0)), logits
        )

    def cell(self, gates_x: Tensor, state: Tensor) -> Tensor:
        raise NotImplementedError


class GRU(_Recurrent):
    """GRU (PyTorch's gate convention); the state is h."""

    n_gates = 3

    def cell(self, gates_x: Tensor, h: Tensor) -> Tensor:
        """gates_x (E, B, 3d) = W_x x + b_x, h (E, B, d) -> the next h (E, B, d) (d: the units)."""
        # split, not slices: a slice's backward writes a zero-filled full-size gradient, split's one concatenation
        d = self.config.units
        x_reset_update, x_candidate = gates_x.split((2 * d, d), dim=-1)
        h_reset_update, h_candidate = torch.baddbmm(self.b_h.unsqueeze(1), h, self.w_h).split((2 * d, d), dim=-1)
        reset, update = torch.sigmoid(x_reset_update + h_reset_update).chunk(2, dim=-1)
        candidate = torch.tanh(x_candidate + reset * h_candidate)
        return candidate + update * (h - candidate)  # = (1 - z) n + z h


class LSTM(_Recurrent):
    """LSTM; the state is the concatenation [h; c] of size 2 x units (2d, or d for d/2 units)."""

    n_gates = 4

    def cell(self, gates_x: Tensor, state: Tensor) -> Tensor:
        """gates_x (E, B, 4u), state [h; c] (E, B, 2u) -> the next [h; c] (u: the units)."""
        h, c = state.chunk(2, dim=-1)  # chunks, not slices (see GRU.cell)
        gates = gates_x + torch.baddbmm(self.b_h.unsqueeze(1), h, self.w_h)  # (E, B, 4d): i f g o
        input_forget, cell_input, output = gates.split(
            (2 * self.config.units, self.config.units, self.config.units), dim=-1
        )
        input_gate, forget_gate = torch.sigmoid(input_forget).chunk(2, dim=-1)
        c = forget_gate * c + input_gate * torch.tanh(cell_input)
        h = torch.sigmoid(output) * torch.tanh(c)
        return torch.cat([h, c], dim=-1)


class Transformer(CountingModel):
    """Causal pre-LayerNorm transformer, one head; the state is the residual after layer 1."""

    rerun_reads_states = True

    def _declare_params(self) -> None:
        d = self.config.d
        for i in range(self.config.n_layers):
            self._declare(f"l{i}_ln1_w", (d,), "ones")
            self._declare(f"l{i}_ln1_b", (d,), "zeros")
            self._declare(f"l{i}_qkv_w", (d, 3 * d), f"uniform:{d}")
            self._declare(f"l{i}_qkv_b", (3 * d,), f"uniform:{d}")
            self._declare(f"l{i}_out_w", (d, d), f"uniform:{d}")
            self._declare(f"l{i}_out_b", (d,), f"uniform:{d}")
            self._declare(f"l{i}_ln2_w", (d,), "ones")
            self._declare(f"l{i}_ln2_b", (d,), "zeros")
            self._declare(f"l{i}_ff1_w", (d, 4 * d), f"uniform:{d}")
            self._declare(f"l{i}_ff1_b", (4 * d,), f"uniform:{d}")
            self._declare(f"l{i}_ff2_w", (4 * d, d), f"uniform:{4 * d}")
            self._declare(f"l{i}_ff2_b", (d,), f"uniform:{4 * d}")
        self._declare("lnf_w", (d,), "ones")
        self._declare("lnf_b", (d,), "zeros")

    def _layer(self, i: int, x: Tensor, return_attention: bool, extra_term: ExtraTerm | None = None):
        p = lambda name: getattr(self, f"l{i}_{name}")  # noqa: E731
        L, d = x.shape[2], self.config.d
        q, k, v = self._qkv(i, x)
        inner = self.training and self.config.dropout_sites == "all"  # dropout inside the layer (DROPOUT_SITES)
        drop = self.dropout_stacked if inner else (lambda t: t)
        if return_attention or extra_term is not None or inner:
            scores = q @ k.transpose(-1, -2) / math.sqrt(d)  # (E, B, L, L)
            causal = torch.ones(L, L, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(causal, float("-inf"))
            if extra_term is not None:  # one more column: the extra key, for the chosen queries only
                extra_k, extra_v = self._qkv(i, self.embedding[:, extra_term.token].unsqueeze(1).unsqueeze(1))[
                    1:
                ]  # (E, 1, 1, d)
                extra = (q @ extra_k.transpose(-1, -2)) / math.sqrt(d) + math.log(extra_term.copies)  # (E, B, L, 1)
                scores = torch.cat(
                    [scores, extra.masked_fill(~extra_term.queries.unsqueeze(-1), float("-inf"))], dim=-1
                )
                v = torch.cat([v, extra_v.expand(-1, v.shape[1], 1, -1)], dim=2)
            weights = scores.softmax(dim=-1)
            mixed = drop(weights) @ v
            weights = weights[..., :L]  # the sequence's own keys (with an extra term they sum to less than 1)
        else:  # the same computation, fused (several times faster on a CPU)
            weights, mixed = None, F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + drop(stacked_linear(mixed, p("out_w"), p("out_b")))
        ff = drop(F.gelu(stacked_linear(stacked_layer_norm(x, p("ln2_w"), p("ln2_b")), p("ff1_w"), p("ff1_b"))))
        x = x + drop(stacked_linear(ff, p("ff2_w"), p("ff2_b")))
        return x, weights

    def _qkv(self, i: int, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Layer ``i``'s queries, keys and values of the residual stream x (E, B, L, d): three
        (E, B, L, d) tensors, RoPE applied to q and k if the model uses it."""
        q, k, v = stacked_linear(
            stacked_layer_norm(x, getattr(self, f"l{i}_ln1_w"), getattr(self, f"l{i}_ln1_b")),
            getattr(self, f"l{i}_qkv_w"),
            getattr(self, f"l{i}_qkv_b"),
        ).split(self.config.d, dim=-1)
        if self.config.positional == "rope":
            q, k = rope(q), rope(k)
        return q, k, v

    def _run(self, tokens, patch, return_attention, extra_term):
        if self.config.kernel == "packed" and patch is None and not return_attention and extra_term is None:
            return (*self._run_bucketed(tokens), None)
        logits, residuals, attention = self._residuals(tokens, patch, return_attention, extra_term)
        return logits, residuals[1], (attention if return_attention else None)

    def _run_bucketed(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """The ``"packed"`` kernel: logits (E, B, L, V) and states (E, B, L, d) of unpatched
        sequences, each member's rows sorted by length and run in buckets of
        :data:`BUCKET_ROWS`, each trimmed to its longest row (a causal model's outputs at a
        position do not depend on later ones); 0 past a bucket's end."""
        E, B, L = tokens.shape
        lengths = sequence_lengths(tokens)
        order = lengths.argsort(dim=1, descending=True, stable=True)  # (E, B)
        ordered = tokens.gather(1, order.unsqueeze(-1).expand(E, B, L))
        longest = lengths.gather(1, order).amax(dim=0)  # (B,): the longest row of any member at each rank
        logits, states = [], []
        for start in range(0, B, BUCKET_ROWS):
            width = max(1, int(longest[start]))
            part_logits, residuals, _ = self._residuals(
                ordered[:, start : start + BUCKET_ROWS, :width], None, False, None
            )
            logits.append(F.pad(part_logits, (0, 0, 0, L - width)))
            states.append(F.pad(residuals[1], (0, 0, 0, L - width)))
        rank = order.argsort(dim=1).unsqueeze(-1).unsqueeze(-1)  # (E, B, 1, 1): where each original row went
        unsort = lambda x: x.gather(1, rank.expand(E, B, L, x.shape[-1]))  # noqa: E731
        return unsort(torch.cat(logits, dim=1)), unsort(torch.cat(states, dim=1))

    def residuals(self, tokens: Tensor, patch: Patch | None = None) -> list[Tensor]:
        """The residual stream after each layer, (E, B, L, d) each: entry 0 is the embedding,
        entry 1 the intervenable state, the last what the final LayerNorm and head read."""
        return self._residuals(
            tokens.expand(self.n_members, *tokens.shape[-2:]) if tokens.dim() == 2 else tokens, patch, False, None
        )[1]

    def _residuals(self, tokens, patch, return_attention, extra_term):
        """Logits, the residual after every layer (see :meth:`residuals`; the patch applied at
        its :attr:`~Patch.layer`, after layer 1 by default) and the attention weights per layer."""
        at = 1 if patch is None or patch.layer is None else patch.layer
        x = self.embed(tokens)
        if patch is not None and at == 0:
            x = patch.apply(x)
        residuals, attention = [x], []
        for i in range(self.config.n_layers):
            x, weights = self._layer(i, x, return_attention, extra_term if i == 0 else None)
            if patch is not None and at == i + 1:
                x = patch.apply(x)
            residuals.append(x)
            attention.append(weights)
        return self.head(stacked_layer_norm(x, self.lnf_w, self.lnf_b), tokens != PAD_ID), residuals, attention

    def _rerun_from(self, tokens, steps, new_states, states, needed):  # computes every prediction: `needed` is a hint
        E, B = new_states.shape[:2]
        L = tokens.shape[1]
        if states is None:
            states = self(tokens.expand(E, B, L)).states
        x = states.index_put(
            (torch.arange(E).unsqueeze(1), torch.arange(B).unsqueeze(0), steps.unsqueeze(0)),
            new_states.to(states.dtype),
        )
        n_after = (tokens != PAD_ID).sum(1) - steps  # (B,) predictions from the replaced step on
        width = int(n_after.max())
        real = torch.arange(width).unsqueeze(0) < n_after.unsqueeze(1)  # (B, W)
        for i in range(1, self.config.n_layers - 1):  # middle layers (none at 1 or 2 layers) see every position
            x, _ = self._layer(i, x, False)
        if self.config.n_layers > 1:
            x = self._last_layer_from(self.config.n_layers - 1, x, steps, real)
        else:
            x = _shift_members(x, steps, width)
        return self.head(stacked_layer_norm(x, self.lnf_w, self.lnf_b), real.expand(E, B, width))

    def _last_layer_from(self, i: int, x: Tensor, steps: Tensor, real: Tensor) -> Tensor:
        """Layer ``i`` (the last) only where predictions are needed: queries at positions
        ``steps[b] + j`` for ``real[b, j]`` (B, W), keys and values at every position.
        x (E, B, L, d) -> (E, B, W, d), 0 where not ``real``. The same as :meth:`_layer`
        followed by a shift, without computing the positions nobody reads."""
        p = lambda name: getattr(self, f"l{i}_{name}")  # noqa: E731
        E, B, L, d = x.shape
        width = real.shape[1]
        q, k, v = self._qkv(i, x)
        query_at = steps.unsqueeze(1) + torch.arange(width)  # (B, W) positions of the queries
        pick = lambda t: _shift_members(t, steps, width)  # noqa: E731  (E, B, W, d)
        visible = torch.arange(L).view(1, 1, L) <= query_at.unsqueeze(2)  # (B, W, L) causal
        mixed = F.scaled_dot_product_attention(pick(q), k, v, attn_mask=visible.unsqueeze(0))
        h = pick(x) + stacked_linear(mixed, p("out_w"), p("out_b"))
        h = h[:, real]  # (E, n_real, d): the feed-forward block only where a prediction is read
        ff = F.gelu(stacked_linear(stacked_layer_norm(h, p("ln2_w"), p("ln2_b")), p("ff1_w"), p("ff1_b")))
        h = h + stacked_linear(ff, p("ff2_w"), p("ff2_b"))
        return torch.zeros(B, width, E, d).index_put(tuple(real.nonzero().T), h.transpose(0, 1)).permute(2, 0, 1, 3)


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


def _shift_members(x: Tensor, start: Tensor, width: int) -> Tensor:
    """:func:`shift_left` of every member: (E, B, L, ...) -> (E, B, width, ...)."""
    return shift_left(x.movedim(0, 2), start, width).movedim(2, 0)


def rope(x: Tensor) -> Tensor:
    """Rotary position embedding of (..., L, d): rotate dimension pairs (2i, 2i+1) of position
    ``pos`` by ``pos * ROPE_BASE**(-2i/d)``."""
    L, d = x.shape[-2], x.shape[-1]
    freqs = ROPE_BASE ** (-torch.arange(0, d, 2, dtype=x.dtype) / d)  # (d/2,)
    angles = torch.arange(L, dtype=x.dtype)[:, None] * freqs  # (L, d/2)
    cos, sin = angles.cos(), angles.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


MODELS = {"gru": GRU, "lstm": LSTM, "transformer": Transformer}


def build_model(config: ModelConfig, seeds: Sequence[int] = (0,)) -> CountingModel:
    """A model of ``config`` with one member per seed."""
    return MODELS[config.arch](config, seeds)


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
