"""A GRU or LSTM run over packed rows, with a hand-written backward pass.

Why: a d = 20 cell on a batch of a hundred rows is a few microseconds of arithmetic per step, and
autograd spends several times that on bookkeeping — recording about forty small operations per
step, then replaying their backward one at a time with the zero-filled gradients of every split,
chunk and slice. :class:`PackedRecurrence` computes the same function as stepping
:meth:`numvars.models.GRU.cell` (or ``LSTM.cell``) under autograd, with a forward pass that saves
only what the backward needs and a backward pass of a dozen fused operations per step; the
weight gradients are one matrix product over every step at the end, not one per step.

Packed rows: a batch is sorted by how many steps each row needs (longest first), and step ``t``
runs only the ``running[t]`` rows still going — rows that ended (padding) cost nothing. The rows
of step ``t`` are the block ``[offsets[t], offsets[t] + running[t])`` of a packed tensor; in each
block the first rows continue the first rows of the block before (``running`` never increases).
This is the layout of :func:`torch.nn.utils.rnn.pack_padded_sequence`.

Shapes: ``E`` members (stacked weights, :mod:`numvars.models`), ``R = sum(running)`` packed rows,
``d`` hidden size, ``g`` gates (3 for the GRU: reset, update, candidate; 4 for the LSTM: input,
forget, cell, output — PyTorch's order), ``S`` state size (d, or 2d for the LSTM's ``[h; c]``).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

#: gates per architecture
GATES = {"gru": 3, "lstm": 4}


def blocks(running: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, stop)`` of each step's rows in a packed tensor, for rows ``running`` per step."""
    out, start = [], 0
    for n in running:
        out.append((start, start + n))
        start += n
    return out


def _tanh(x: Tensor) -> Tensor:
    """tanh as 2·sigmoid(2x) − 1: on this CPU build ``torch.tanh`` costs about three times as much
    (``benchmarks/train_speed.py``'s notes); the same function, to 2e-7 absolute in float32."""
    return torch.sigmoid(x * 2).mul_(2).sub_(1)


def _gru_step(gx: Tensor, h: Tensor, w_h: Tensor, b_h: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One GRU step: gx (E, n, 3d) = W_x x + b_x, h (E, n, d) -> the next h (E, n, d) and what
    the backward needs (r, z, n, W_hn h + b_hn)."""
    d = h.shape[-1]
    gh = torch.baddbmm(b_h.unsqueeze(1), h, w_h)  # (E, n, 3d)
    reset_update = torch.sigmoid(gx[..., : 2 * d] + gh[..., : 2 * d])
    reset, update = reset_update[..., :d], reset_update[..., d:]
    h_candidate = gh[..., 2 * d :]
    candidate = _tanh(torch.addcmul(gx[..., 2 * d :], reset, h_candidate))
    new = torch.addcmul(candidate, update, h - candidate)  # (1 - z) n + z h
    return new, (reset_update, candidate, h_candidate)


def _gru_step_backward(dh: Tensor, h: Tensor, saved: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
    """The gradients of one GRU step: ``dh`` (E, n, d) into its output, ``h`` its input ->
    (the gradient of the gate pre-activations from x, (E, n, 3d); of those from h, (E, n, 3d)).
    The gradient into ``h`` is ``dgh @ W_hᵀ`` plus ``dh · z`` (the caller adds the two)."""
    reset_update, candidate, h_candidate = saved
    d = h.shape[-1]
    reset, update = reset_update[..., :d], reset_update[..., d:]
    d_candidate = dh * (1 - update) * (1 - candidate * candidate)  # through tanh
    d_reset = d_candidate * h_candidate
    d_update = dh * (h - candidate)
    d_reset_update = torch.cat([d_reset, d_update], dim=-1) * reset_update * (1 - reset_update)  # through sigmoid
    dgx = torch.cat([d_reset_update, d_candidate], dim=-1)
    dgh = torch.cat([d_reset_update, d_candidate * reset], dim=-1)
    return dgx, dgh


def _lstm_step(gx: Tensor, state: Tensor, w_h: Tensor, b_h: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One LSTM step: gx (E, n, 4d), state [h; c] (E, n, 2d) -> the next [h; c] and what the
    backward needs (the four gate activations, tanh of the new c)."""
    d = state.shape[-1] // 2
    h, c = state[..., :d], state[..., d:]
    gates = torch.baddbmm(gx + b_h.unsqueeze(1), h, w_h)  # (E, n, 4d): i f g o
    gates[..., 2 * d : 3 * d] *= 2  # the cell input's tanh as 2·sigmoid(2x) − 1 (see _tanh): one sigmoid for all four
    activations = torch.sigmoid(gates)
    activations[..., 2 * d : 3 * d].mul_(2).sub_(1)
    input_gate, forget_gate, cell_input, output = activations.split(d, dim=-1)
    new_c = torch.addcmul(forget_gate * c, input_gate, cell_input)
    tanh_c = _tanh(new_c)
    return torch.cat([output * tanh_c, new_c], dim=-1), (activations, tanh_c)


def _lstm_step_backward(d_state: Tensor, state: Tensor, saved: tuple[Tensor, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """The gradients of one LSTM step: ``d_state`` (E, n, 2d) into its output [h; c], ``state``
    its input -> (the gradient of the gate pre-activations (E, n, 4d), from x and from h alike;
    the gradient into the input c, (E, n, d)). The gradient into the input h is ``dgates @ W_hᵀ``."""
    activations, tanh_c = saved
    d = state.shape[-1] // 2
    c = state[..., d:]
    input_gate, forget_gate, cell_input, output = activations.split(d, dim=-1)
    dh, dc = d_state[..., :d], d_state[..., d:]
    dc = dc + dh * output * (1 - tanh_c * tanh_c)
    d_activations = torch.cat([dc * cell_input, dc * c, dc * input_gate, dh * tanh_c], dim=-1)
    sigmoid_slope = activations * (1 - activations)
    tanh_slope = 1 - activations * activations
    slope = torch.cat(
        [sigmoid_slope[..., : 2 * d], tanh_slope[..., 2 * d : 3 * d], sigmoid_slope[..., 3 * d :]], dim=-1
    )
    return d_activations * slope, dc * forget_gate


class PackedRecurrence(torch.autograd.Function):
    """``apply(arch, running, gx, state0, w_h, b_h)`` -> the packed states (E, R, S).

    ``gx`` (E, R, g·d): ``W_x x + b_x`` of every packed row's token; ``state0`` (E, running[0], S):
    the state each row starts from; ``w_h`` (E, d, g·d), ``b_h`` (E, g·d) the recurrent weights.
    Row ``i`` of block ``t`` is the state after step ``t`` of the ``i``-th longest row.
    Gradients flow into ``gx``, ``state0``, ``w_h`` and ``b_h``."""

    @staticmethod
    def forward(ctx, arch: str, running: list[int], gx: Tensor, state0: Tensor, w_h: Tensor, b_h: Tensor) -> Tensor:
        step = _gru_step if arch == "gru" else _lstm_step
        spans = blocks(running)
        out = gx.new_empty(gx.shape[0], spans[-1][1], state0.shape[-1])
        state, saved = state0, []
        for (start, stop), n in zip(spans, running):
            state, keep = step(gx[:, start:stop], state[:, :n], w_h, b_h)
            out[:, start:stop] = state
            saved.append(keep)
        ctx.arch, ctx.running, ctx.saved = arch, running, saved
        ctx.save_for_backward(state0, w_h, out)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        state0, w_h, out = ctx.saved_tensors
        running, spans = ctx.running, blocks(ctx.running)
        E, R, d = state0.shape[0], spans[-1][1], w_h.shape[1]
        want_gx, want_weights = ctx.needs_input_grad[2], ctx.needs_input_grad[4] or ctx.needs_input_grad[5]
        # the gate pre-activations' gradients, from x and from h (the LSTM adds x and h before any gate:
        # one tensor serves both); the h each step read, the weight gradient's left factor
        d_gx = w_h.new_empty(E, R, w_h.shape[-1]) if want_gx or want_weights else None
        d_gh = d_gx if ctx.arch == "lstm" or d_gx is None else torch.empty_like(d_gx)
        inputs = w_h.new_empty(E, R, d) if want_weights else None
        carry = None  # the gradient into the state before the step just processed, (E, n_next, S)
        w_h_t = w_h.transpose(1, 2)
        for t in range(len(running) - 1, -1, -1):
            (start, stop), n = spans[t], running[t]
            d_state = grad_out[:, start:stop]
            if carry is not None:
                d_state = torch.cat([d_state[:, : carry.shape[1]] + carry, d_state[:, carry.shape[1] :]], dim=1)
            state = state0 if t == 0 else out[:, spans[t - 1][0] : spans[t - 1][0] + n]
            if inputs is not None:
                inputs[:, start:stop] = state[..., :d]
            if ctx.arch == "gru":
                dgx, dgh = _gru_step_backward(d_state, state, ctx.saved[t])
                carry = torch.baddbmm(d_state * ctx.saved[t][0][..., d:], dgh, w_h_t)  # dh · z + dgh W_hᵀ
            else:
                dgx, dc = _lstm_step_backward(d_state, state, ctx.saved[t])
                dgh = dgx
                carry = torch.cat([torch.bmm(dgx, w_h_t), dc], dim=-1)
            if d_gx is not None:
                d_gx[:, start:stop] = dgx
                if d_gh is not d_gx:
                    d_gh[:, start:stop] = dgh
        d_w_h = torch.bmm(inputs.transpose(1, 2), d_gh) if want_weights else None
        d_b_h = d_gh.sum(dim=1) if want_weights else None
        return None, None, d_gx if want_gx else None, carry, d_w_h, d_b_h


def run_packed(arch: str, running: list[int], gx: Tensor, state0: Tensor, w_h: Tensor, b_h: Tensor) -> Tensor:
    """:class:`PackedRecurrence` — the packed states (E, R, S) of rows starting from ``state0``."""
    if arch not in GATES:
        raise ValueError(f"no packed recurrence for {arch!r}; allowed: {list(GATES)}")
    if not running or any(b > a for a, b in zip(running, running[1:])) or running[0] != state0.shape[1]:
        raise ValueError(
            f"running must be non-increasing and start at the {state0.shape[1]} rows of state0, got {running}"
        )
    return PackedRecurrence.apply(arch, list(running), gx, state0, w_h, b_h)


def pack(lengths: Tensor) -> tuple[Tensor, list[int], Tensor, Tensor]:
    """How to pack a stack of batches whose rows need ``lengths`` (E, B) steps.

    Returns ``(order, running, rows, steps)``: ``order`` (E, B) each member's rows longest
    first; ``running`` the rows stepped at each step (the most any member still needs, so every
    member steps the same number); ``rows``/``steps`` (R,) the sorted row and step of each
    packed position, for gathering a member's per-position inputs ``x[e, order[e, rows], steps]``."""
    E, B = lengths.shape
    order = lengths.argsort(dim=1, descending=True, stable=True)
    longest = int(lengths.max()) if lengths.numel() else 0
    sorted_lengths = lengths.gather(1, order)  # (E, B)
    running = (sorted_lengths.unsqueeze(-1) > torch.arange(longest)).sum(1).amax(0).tolist() if longest else []
    rows = torch.cat([torch.arange(n) for n in running]) if running else torch.zeros(0, dtype=torch.long)
    steps = (
        torch.cat([torch.full((n,), t) for t, n in enumerate(running)]) if running else torch.zeros(0, dtype=torch.long)
    )
    return order, running, rows, steps


def packed_index(order: Tensor, running: list[int], length: int) -> Tensor:
    """(E, B, L) the packed row of every member's row ``b`` at step ``t`` (the offset of step
    ``t``'s block plus where ``b`` went when the rows were sorted by ``order`` (E, B)); meaningful
    only while the row still runs (``t`` below its length; elsewhere an index past ``R``)."""
    n = torch.tensor(running + [0] * (length - len(running)), dtype=torch.long)  # (L,)
    offsets = n.cumsum(0) - n  # steps no row reaches: R, past the end
    rank = order.argsort(dim=1)  # (E, B): where each original row went
    return offsets.view(1, 1, length) + rank.unsqueeze(-1)


def unpack(packed: Tensor, order: Tensor, running: list[int], lengths: Tensor, length: int) -> Tensor:
    """Packed states (E, R, S) -> the (E, B, L) layout in the original row order, ``length`` L,
    0 past each row's own ``lengths`` (E, B) (a row may be stepped past its end when another
    member still runs that many rows). One gather (its backward one scatter)."""
    E, _, S = packed.shape
    B = order.shape[1]
    inside = torch.arange(length).view(1, 1, length) < lengths.unsqueeze(-1)
    index = torch.where(inside, packed_index(order, running, length), packed.shape[1])  # past the end: a zero row
    padded = torch.cat([packed, packed.new_zeros(E, 1, S)], dim=1)
    return padded.gather(1, index.view(E, B * length, 1).expand(E, B * length, S)).view(E, B, length, S)
