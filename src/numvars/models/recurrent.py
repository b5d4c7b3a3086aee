"""The GRU and the LSTM: one cell stepped through the sequence, so that a state can be replaced
mid-sequence (the stepped kernel), or only the running rows stepped (the packed kernel,
:mod:`numvars.recurrence`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from numvars.models.config import PAD_ID
from numvars.models.core import CountingModel
from numvars.models.free_running import free_running_losses
from numvars.models.stacked import sequence_lengths, shift_left, stacked_linear
from numvars.recurrence import pack, packed_index, run_packed, unpack


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
        states = self._stepped_states(tokens, patch)
        return self.head(states[..., : self.config.units], tokens != PAD_ID), states, None

    def _stepped_states(self, tokens: Tensor, patch) -> Tensor:
        """The stepped kernel: the cell stepped through ``tokens`` (E, B, L), ``patch`` applied
        after its step -> the states (E, B, L, S)."""
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
        return torch.stack(states, dim=2)  # (E, B, L, S)

    def _states(self, tokens):
        if self.config.kernel != "packed":
            return self._stepped_states(tokens, None)
        packed, order, running, lengths = self._packed_states(tokens)
        if not running:
            return self.w_h.new_zeros(*tokens.shape, self.config.state_size)
        return unpack(packed, order, running, lengths, tokens.shape[2])

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

    def _free_running_losses(self, inputs: Tensor, targets: Tensor, feed_back: Tensor) -> Tensor | None:
        return free_running_losses(self, inputs, targets, feed_back) if self.config.kernel == "packed" else None

    def _run_packed(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """The ``"packed"`` kernel: logits (E, B, L, V) and states (E, B, L, S) of unpatched
        sequences, 0 at PAD, from :meth:`_packed_states` and the head run on the packed states of
        every member at once (:meth:`head_stacked`)."""
        E, B, L = tokens.shape
        packed, order, running, lengths = self._packed_states(tokens)
        if not running:
            return self.w_h.new_zeros(E, B, L, self.config.vocab_size), self.w_h.new_zeros(
                E, B, L, self.config.state_size
            )
        logits = self.head_stacked(packed[..., : self.config.units])  # (E, R, V)
        return unpack(logits, order, running, lengths, L), unpack(packed, order, running, lengths, L)

    def _packed_states(self, tokens: Tensor) -> tuple[Tensor, Tensor, list[int], Tensor]:
        """The states of unpatched sequences ``tokens`` (E, B, L) from
        :func:`numvars.recurrence.run_packed` — each member's rows sorted by length and only the
        rows still running stepped: ``(packed (E, R, S), order, running, lengths)`` (see
        :func:`numvars.recurrence.pack`). The input projection is looked up per token."""
        E, B, L = tokens.shape
        lengths = sequence_lengths(tokens)
        order, running, rows, steps = pack(lengths)
        if not running:
            return self.w_h.new_zeros(E, 0, self.config.state_size), order, running, lengths
        packed_tokens = tokens.gather(1, order.unsqueeze(-1).expand(E, B, L))[:, rows, steps]  # (E, R)
        table = stacked_linear(self.embedding, self.w_x, self.b_x)  # (E, V, g*d): W_x x + b_x of every token x
        gates_x = torch.bmm(F.one_hot(packed_tokens, self.config.vocab_size).to(table.dtype), table)  # (E, R, g*d)
        state0 = self.w_h.new_zeros(E, running[0], self.config.state_size)
        packed = run_packed(self.config.arch, running, gates_x, state0, self.w_h, self.b_h)  # (E, R, S)
        return packed, order, running, lengths

    def _hidden_at(self, tokens: Tensor, where: Tensor) -> list[Tensor] | None:
        if self.config.kernel != "packed":
            return None
        packed, order, running, _ = self._packed_states(tokens)
        index = packed_index(order, running, tokens.shape[2])  # (E, B, L)
        return [packed[e, index[e][where[e]], : self.config.units] for e in range(tokens.shape[0])]

    def _rerun_from(self, tokens, steps, new_states, states, needed):
        E, B = new_states.shape[:2]
        hidden, rows, offsets, width = self._rerun_hidden(tokens, steps, new_states, needed)
        logits = torch.stack([self.head_member(e, hidden[e]) for e in range(E)])  # (E, R, V)
        members = torch.arange(E).unsqueeze(1)
        return logits.new_zeros(E, B, width, logits.shape[-1]).index_put(
            (members, rows.unsqueeze(0), offsets.unsqueeze(0)), logits
        )

    def _rerun_read(self, tokens, steps, new_states, states, needed, constants=None):
        if self.config.kernel != "packed":
            return None
        return self._rerun_hidden(tokens, steps, new_states, needed)[:3]

    def _rerun_hidden(self, tokens, steps, new_states, needed):
        """The stepping of :meth:`rerun_from`: ``(hidden (E, n, units), rows (n,), offsets (n,),
        W)`` — the units the head reads at offset ``offsets[i]`` after the replaced step of
        sequence ``rows[i]``, for every prediction ``needed`` (B, W) asks for (all if ``None``)."""
        # Packed like pack_padded_sequence: rows sorted by how many predictions they need, and
        # at offset j only the rows still running are stepped (the work is the sum of the rows'
        # lengths, not B times the longest); the head runs on the packed states that are needed.
        # The input projection is looked up per token from a (E, V, g*d) table, not computed
        # per position: a vocabulary of a dozen tokens against thousands of positions.
        n_after = (tokens != PAD_ID).sum(1) - steps  # (B,) predictions from the replaced step on
        width = int(n_after.max())
        order = n_after.argsort(descending=True, stable=True)
        running = (n_after[order].unsqueeze(0) > torch.arange(width).unsqueeze(1)).sum(1).tolist()  # (W,)
        rest = shift_left(tokens, steps + 1, width - 1, fill=PAD_ID)[order]  # (B, W-1) the tokens after each step
        projection = stacked_linear(self.embedding, self.w_x, self.b_x)  # (E, V, g*d): W_x x + b_x of every token x
        state = new_states[:, order]
        if self.config.kernel == "packed":  # the steps after the swap by run_packed, its backward by hand
            tokens_after = torch.cat([rest[:n, j - 1] for j, n in enumerate(running) if j > 0])  # (R - B,)
            after = (
                run_packed(
                    self.config.arch,
                    running[1:],
                    projection[:, tokens_after],
                    state[:, : running[1]],
                    self.w_h,
                    self.b_h,
                )
                if width > 1
                else state[:, :0]
            )
            packed = [state, after]
        else:
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
        return hidden, rows, offsets, width

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
