"""The transformer: causal, one head, pre-LayerNorm, RoPE (:func:`rope`) or no positional
encoding, 1 or 2 layers; its intervenable state is the residual stream after layer 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from numvars.models.config import BUCKET_ROWS, PAD_ID, ROPE_BASE, ExtraTerm, Patch
from numvars.models.core import CountingModel, _shift_members, sequence_lengths, stacked_layer_norm, stacked_linear


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


def rope(x: Tensor) -> Tensor:
    """Rotary position embedding of (..., L, d): rotate dimension pairs (2i, 2i+1) of position
    ``pos`` by ``pos * ROPE_BASE**(-2i/d)``."""
    L, d = x.shape[-2], x.shape[-1]
    freqs = ROPE_BASE ** (-torch.arange(0, d, 2, dtype=x.dtype) / d)  # (d/2,)
    angles = torch.arange(L, dtype=x.dtype)[:, None] * freqs  # (L, d/2)
    cos, sin = angles.cos(), angles.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)
