"""The transformer: causal, one head, pre-LayerNorm, RoPE (:func:`rope`) or no positional
encoding, 1 or 2 layers; its intervenable state is the residual stream after layer 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from numvars.models.config import BUCKET_ROWS, PAD_ID, ROPE_BASE, ExtraTerm, Patch
from numvars.models.core import CountingModel
from numvars.models.stacked import sequence_lengths, shift_left_members, stacked_layer_norm, stacked_linear


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

    def _qkv(self, i: int, x: Tensor, positions: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Layer ``i``'s queries, keys and values of the residual stream x (E, B, L, d): three
        (E, B, L, d) tensors, RoPE applied to q and k if the model uses it (at ``positions``
        (B, L), default 0..L-1)."""
        q, k, v = stacked_linear(
            stacked_layer_norm(x, getattr(self, f"l{i}_ln1_w"), getattr(self, f"l{i}_ln1_b")),
            getattr(self, f"l{i}_qkv_w"),
            getattr(self, f"l{i}_qkv_b"),
        ).split(self.config.d, dim=-1)
        if self.config.positional == "rope":
            q, k = rope(q, positions), rope(k, positions)
        return q, k, v

    def _run(self, tokens, patch, return_attention, extra_term):
        if self._buckets_apply() and patch is None and not return_attention and extra_term is None:
            read, states = self._run_bucketed(tokens)
            return self.head(read, tokens != PAD_ID), states, None
        logits, residuals, attention = self._residuals(tokens, patch, return_attention, extra_term)
        return logits, residuals[1], (attention if return_attention else None)

    def _states(self, tokens):
        if self._buckets_apply():
            return self._run_bucketed(tokens, states_only=True)[1]
        return self._layer(0, self.embed(tokens), False)[0]  # the state is layer 1's output

    def _buckets_apply(self) -> bool:
        """Whether the ``"packed"`` kernel's length buckets run this forward: not while dropout
        inside the layers is on (its masks are drawn for the whole batch's shape)."""
        return self.config.kernel == "packed" and not (self.training and self.config.dropout_sites == "all")

    def _hidden_at(self, tokens: Tensor, where: Tensor) -> list[Tensor] | None:
        if not self._buckets_apply():
            return None
        read = self._run_bucketed(tokens)[0]
        return [read[e][where[e]] for e in range(tokens.shape[0])]

    def _run_bucketed(self, tokens: Tensor, states_only: bool = False) -> tuple[Tensor | None, Tensor]:
        """The ``"packed"`` kernel: what the head reads (the final LayerNorm's output) and the
        states, (E, B, L, d) each, of unpatched sequences, each member's rows sorted by length
        and run in buckets of :data:`BUCKET_ROWS`, each trimmed to its longest row (a causal
        model's outputs at a position do not depend on later ones); 0 past a bucket's end.
        ``states_only``: only the first layer runs, and what the head reads is None."""
        E, B, L = tokens.shape
        lengths = sequence_lengths(tokens)
        order = lengths.argsort(dim=1, descending=True, stable=True)  # (E, B)
        ordered = tokens.gather(1, order.unsqueeze(-1).expand(E, B, L))
        longest = lengths.gather(1, order).amax(dim=0)  # (B,): the longest row of any member at each rank
        read, states = [], []
        for start in range(0, B, BUCKET_ROWS):
            width = max(1, int(longest[start]))
            part = ordered[:, start : start + BUCKET_ROWS, :width]
            if states_only:
                states.append(F.pad(self._layer(0, self.embed(part), False)[0], (0, 0, 0, L - width)))
                continue
            part_read, residuals, _ = self._stream(part, None, False, None)
            read.append(F.pad(part_read, (0, 0, 0, L - width)))
            states.append(F.pad(residuals[1], (0, 0, 0, L - width)))
        rank = order.argsort(dim=1).unsqueeze(-1).unsqueeze(-1)  # (E, B, 1, 1): where each original row went
        unsort = lambda x: x.gather(1, rank.expand(E, B, L, x.shape[-1]))  # noqa: E731
        return None if states_only else unsort(torch.cat(read, dim=1)), unsort(torch.cat(states, dim=1))

    def residuals(self, tokens: Tensor, patch: Patch | None = None) -> list[Tensor]:
        """The residual stream after each layer, (E, B, L, d) each: entry 0 is the embedding,
        entry 1 the intervenable state, the last what the final LayerNorm and head read."""
        return self._residuals(
            tokens.expand(self.n_members, *tokens.shape[-2:]) if tokens.dim() == 2 else tokens, patch, False, None
        )[1]

    def _residuals(self, tokens, patch, return_attention, extra_term):
        """Logits, the residual after every layer (see :meth:`residuals`; the patch applied at
        its :attr:`~Patch.layer`, after layer 1 by default) and the attention weights per layer."""
        read, residuals, attention = self._stream(tokens, patch, return_attention, extra_term)
        return self.head(read, tokens != PAD_ID), residuals, attention

    def _stream(self, tokens, patch, return_attention, extra_term):
        """:meth:`_residuals` without the head: what the head reads (E, B, L, d) instead of logits."""
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
        return stacked_layer_norm(x, self.lnf_w, self.lnf_b), residuals, attention

    def _rerun_from(self, tokens, steps, new_states, states, needed):  # computes every prediction: `needed` is a hint
        read, real = self._rerun_stream(tokens, steps, new_states, states, None)
        return self.head(read, real.expand(*read.shape[:3]))

    def _rerun_read(self, tokens, steps, new_states, states, needed, constants=None):
        if self.config.kernel != "packed":
            return None
        rows, offsets = needed.nonzero().T
        if self.config.n_layers != 2:
            read, _ = self._rerun_stream(tokens, steps, new_states, states, needed)
            return read[:, rows, offsets], rows, offsets
        E, B = new_states.shape[:2]
        if states is None:
            states = self.intervenable_states(tokens.expand(E, B, tokens.shape[1]))
        if constants is None:
            constants = self._unswapped_attention(states, steps, rows, offsets)
        x = self._swapped_last_layer(states, steps, new_states.to(states.dtype), rows, offsets, constants)  # (E, n, d)
        return stacked_layer_norm(x, self.lnf_w, self.lnf_b), rows, offsets

    def rerun_constants(self, tokens, steps, states, needed):
        if self.config.kernel != "packed" or self.config.n_layers != 2:
            return None
        rows, offsets = needed.nonzero().T
        return self._unswapped_attention(states, steps, rows, offsets)

    @torch.no_grad()
    def _unswapped_attention(self, states: Tensor, steps: Tensor, rows: Tensor, offsets: Tensor) -> Tensor:
        """Layer 2's attention at the predictions ``offsets`` (n,) of sequences ``rows`` (n,) over
        every unswapped position: ``states`` (E, B, L, d) is layer 1's output, the swapped
        positions ``steps`` (B,) left out. Returns (E, n, 2d + 2), per prediction ``[m, A, U, q]``:
        the query's largest score ``m``, the sum ``A`` of its scores' exponentials ``e^(s - m)``,
        their weighted sum of values ``U`` (d) and the query ``q`` (d) — what
        :meth:`_swapped_last_layer` adds the swapped key and value to. Constants of a DAS fit (the
        same pairs every epoch): :meth:`rerun_constants` computes them once. The queries are
        laid out (E, B, K, d), K the most predictions any sequence needs (not every position
        after the swap); ``rows`` ascending, as ``needed.nonzero()`` gives them."""
        E, B, L, d = states.shape
        counts = torch.bincount(rows, minlength=B)  # (B,) predictions per sequence
        rank = torch.arange(len(rows)) - (counts.cumsum(0) - counts)[rows]  # (n,) each one's place in its sequence
        slots = int(counts.max()) if len(rows) else 1
        at = torch.zeros(B, slots, dtype=torch.long).index_put((rows, rank), steps[rows] + offsets)  # (B, K) positions
        visible = torch.arange(L) <= at.unsqueeze(-1)  # (B, K, L) causal ...
        visible &= torch.arange(L) != steps.view(B, 1, 1)  # ... without the swapped position
        q, k, v = self._qkv(1, states)  # (E, B, L, d)
        queries = q.gather(2, at.view(1, B, slots, 1).expand(E, B, slots, d))  # (E, B, K, d)
        scores = (queries @ k.transpose(-1, -2) / math.sqrt(d)).masked_fill(~visible, float("-inf"))  # (E, B, K, L)
        top = scores.amax(dim=-1, keepdim=True)  # -inf for the query at t of a swap at 0 (nothing visible)
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        weights = (scores - top).exp()  # 0 where not visible
        picked = lambda x: x[:, rows, rank]  # noqa: E731  (E, n, ...)
        return torch.cat([picked(top), picked(weights.sum(-1, keepdim=True)), picked(weights @ v), picked(queries)], -1)

    def _swapped_last_layer(
        self, states: Tensor, steps: Tensor, new: Tensor, rows: Tensor, offsets: Tensor, unswapped: Tensor
    ) -> Tensor:
        """Layer 2 of a 2-layer transformer at the predictions ``offsets`` (n,) after the swap of
        sequences ``rows`` (n,), with layer 1's output at position ``steps[b]`` replaced by ``new``
        (E, B, d) and ``states`` (E, B, L, d) elsewhere -> the residual (E, n, d).

        Only position ``t = steps[b]`` of the layer's input changes, so every other key and value
        is the unswapped one: each query's attention over them, ``unswapped`` (E, n, 2d + 2) from
        :meth:`_unswapped_attention` (its largest score ``m``, the sum of its exponentials ``A``
        and of the values they weigh, ``U``, and the query), has no gradient, and the swapped key
        and value are added to it — ``(U e^(m-M) + e^(s-M) v) / (A e^(m-M) + e^(s-M))`` with ``s``
        the swapped key's score and ``M = max(m, s)``; the query at ``t`` itself is new and
        attends in full. The same function as :meth:`_last_layer_from` (rounded differently),
        whose backward runs through the attention over every position."""
        E, B, L, d = states.shape
        layer = lambda name: getattr(self, f"l1_{name}")  # noqa: E731
        scale = 1 / math.sqrt(d)
        at_swap = (offsets == 0).unsqueeze(-1)  # (n, 1)
        swap_rows = rows[offsets == 0]  # (s,) the sequences whose prediction at t itself is read
        q_new, k_new, v_new = self._qkv(1, new.unsqueeze(2), steps.unsqueeze(1))  # (E, B, 1, d) each
        # the query at t is the swapped state's own: it attends to the unswapped keys before t anew
        with torch.no_grad():
            k, v = self._qkv(1, states[:, swap_rows])[1:]  # (E, s, L, d)
        earlier = torch.arange(L) < steps[swap_rows].unsqueeze(-1)  # (s, L)
        before = (q_new[:, swap_rows] @ k.transpose(-1, -2) * scale).masked_fill(~earlier.unsqueeze(1), float("-inf"))
        top_new = before.detach().amax(dim=-1, keepdim=True)  # (E, s, 1, 1)
        top_new = torch.where(torch.isfinite(top_new), top_new, torch.zeros_like(top_new))
        w_new = (before - top_new).exp()  # (E, s, 1, L)
        at_t = torch.cat([top_new[:, :, 0], w_new.sum(-1), (w_new @ v)[:, :, 0], q_new[:, swap_rows, 0]], -1)
        where = at_swap.nonzero()[:, 0]  # (s,) the predictions at t, in the order of swap_rows
        at_t = unswapped.new_zeros(unswapped.shape).index_copy(1, where, at_t)  # (E, n, 2d + 2)
        m, total, weighted, query = torch.where(at_swap, at_t, unswapped).split([1, 1, d, d], dim=-1)
        m, total = m.squeeze(-1), total.squeeze(-1)  # (E, n)
        k_new, v_new = k_new[:, rows, 0], v_new[:, rows, 0]  # (E, n, d)
        swapped = (query * k_new).sum(dim=-1) * scale  # (E, n): the score of the swapped key
        top = torch.maximum(m, swapped).detach()
        old_share, new_share = (m - top).exp(), (swapped - top).exp()
        mixed = (weighted * old_share.unsqueeze(-1) + new_share.unsqueeze(-1) * v_new) / (
            total * old_share + new_share
        ).unsqueeze(-1)
        residual = torch.where(at_swap, new[:, rows], states[:, rows, steps[rows] + offsets])  # (E, n, d)
        h = residual + stacked_linear(mixed, layer("out_w"), layer("out_b"))
        ff = F.gelu(
            stacked_linear(stacked_layer_norm(h, layer("ln2_w"), layer("ln2_b")), layer("ff1_w"), layer("ff1_b"))
        )
        return h + stacked_linear(ff, layer("ff2_w"), layer("ff2_b"))

    def _rerun_stream(self, tokens, steps, new_states, states, needed):
        """What the head reads after the swap, (E, B, W, d), and which predictions the sequences
        make, ``real`` (B, W); with ``needed`` (B, W) the last layer's feed-forward block runs
        only there (0 elsewhere)."""
        E, B = new_states.shape[:2]
        L = tokens.shape[1]
        if states is None:
            states = self.intervenable_states(tokens.expand(E, B, L))
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
            x = self._last_layer_from(self.config.n_layers - 1, x, steps, real if needed is None else needed)
        else:
            x = shift_left_members(x, steps, width)
        return stacked_layer_norm(x, self.lnf_w, self.lnf_b), real

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
        pick = lambda t: shift_left_members(t, steps, width)  # noqa: E731  (E, B, W, d)
        visible = torch.arange(L).view(1, 1, L) <= query_at.unsqueeze(2)  # (B, W, L) causal
        mixed = F.scaled_dot_product_attention(pick(q), k, v, attn_mask=visible.unsqueeze(0))
        h = pick(x) + stacked_linear(mixed, p("out_w"), p("out_b"))
        h = h[:, real]  # (E, n_real, d): the feed-forward block only where a prediction is read
        ff = F.gelu(stacked_linear(stacked_layer_norm(h, p("ln2_w"), p("ln2_b")), p("ff1_w"), p("ff1_b")))
        h = h + stacked_linear(ff, p("ff2_w"), p("ff2_b"))
        return h.new_zeros(B, width, E, d).index_put(tuple(real.nonzero().T), h.transpose(0, 1)).permute(2, 0, 1, 3)


def rope(x: Tensor, positions: Tensor | None = None) -> Tensor:
    """Rotary position embedding of (..., L, d): rotate dimension pairs (2i, 2i+1) of position
    ``pos`` by ``pos * ROPE_BASE**(-2i/d)``; ``pos`` is 0..L-1, or ``positions`` (broadcastable
    to x's (..., L))."""
    L, d = x.shape[-2], x.shape[-1]
    freqs = ROPE_BASE ** (-torch.arange(0, d, 2, dtype=x.dtype) / d)  # (d/2,)
    at = torch.arange(L, dtype=x.dtype) if positions is None else positions.to(x.dtype)
    angles = at[..., None] * freqs  # (..., L, d/2)
    cos, sin = angles.cos(), angles.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)
