""":class:`CountingModel`, the one face of every model (an ensemble of stacked members:
``forward``, ``rerun_from``, member selection and stacking); the stacked layers it is built of
are in :mod:`numvars.models.stacked`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from numvars.models.config import PAD_ID, ExtraTerm, ModelConfig, Output, Patch
from numvars.models.inputs import check_feed_back, check_inputs
from numvars.models.losses import mean_cross_entropy, member_losses, scored_losses
from numvars.models.stacked import stacked_linear


def _uniform(generator: torch.Generator, shape: Sequence[int], bound: float) -> Tensor:
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


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
        stacked = type(models[0])(models[0].config, seeds=[s for m in models for s in m.seeds])
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

    def head_member(self, e: int, hidden: Tensor, keep: Tensor | None = None) -> Tensor:
        """Member ``e``'s output head on rows ``hidden`` (n, d) -> logits (n, V); each row's
        logits do not depend on the other rows. Dropout (training mode) keeps the units ``keep``
        (n, 4d) bool marks, by default a mask drawn now (:meth:`head_masks`)."""
        x = F.gelu(torch.addmm(self.head_b1[e], hidden, self.head_w1[e]))  # (n, 4d)
        if keep is None:
            keep = self.head_masks(e, len(hidden))
        if keep is not None:
            x = x * keep * (1 / (1 - self.config.dropout))
        return torch.addmm(self.head_b2[e], x, self.head_w2[e])

    def head_masks(self, e: int, n: int) -> Tensor | None:
        """Member ``e``'s next dropout masks for ``n`` rows of the head, (n, 4d) bool (True: kept),
        drawn from its own generator; ``None`` when the head drops nothing (eval mode, rate 0).
        One draw of n rows is the draws of its consecutive blocks of rows one after another."""
        p = self.config.dropout
        if not self.training or p == 0:
            return None
        return torch.rand((n, self.head_w1.shape[-1]), generator=self.dropout_generators[e]) >= p

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

    def next_token_losses(self, tokens: Tensor, feed_back: Tensor | None = None) -> Tensor:
        """(E,) each member's mean next-token cross-entropy on its sequences ``tokens`` (E, B, L)
        — it reads ``tokens[..., :-1]`` and is scored on every non-PAD target (training's loss).
        ``feed_back``: see :meth:`forward`.

        The packed kernel (:meth:`_hidden_at`) runs the head only at the inputs' real positions,
        member by member with :meth:`head_member` — the stepped kernel's dropout masks and loss
        terms in the same order: the same function, rounded differently — and never lays the
        logits out as (E, B, L, V). Free-running (GRU/LSTM): the packed kernel steps on only the
        rows whose fed-back input departs from the true token (:mod:`numvars.models.free_running`)."""
        inputs, targets = tokens[:, :, :-1], tokens[:, :, 1:]
        if feed_back is not None:
            check_feed_back(self.config, inputs, feed_back, None)
            losses = self._free_running_losses(inputs, targets, feed_back)
            if losses is not None:
                return losses
        real = inputs != PAD_ID
        hidden = self._hidden_at(inputs, real) if feed_back is None else None
        if hidden is None:
            return member_losses(self(inputs, feed_back=feed_back).logits, tokens)
        losses = []
        for e, member_hidden in enumerate(hidden):
            member_targets = targets[e][real[e]]  # (n_e,)
            scored = member_targets != PAD_ID
            losses.append(mean_cross_entropy(self.head_member(e, member_hidden)[scored], member_targets[scored]))
        return torch.stack(losses)

    @torch.no_grad()
    def trials_correct(self, tokens: Tensor, targets: Tensor) -> Tensor:
        """(E, B) bool: is every token ``targets`` (E, B, L) marks predicted right (argmax) in
        each member's sequences ``tokens`` (E, B, L)? (:meth:`numvars.tasks.Task.trial_correct`
        with the task's response mask as ``targets``.) The packed kernel runs the head only
        where a target is predicted."""
        predicting = F.pad(targets[:, :, 1:], (0, 1))  # (E, B, L): the positions that predict a target
        hidden = self._hidden_at(tokens, predicting)
        if hidden is None:
            predicted = self(tokens).logits[:, :, :-1].argmax(dim=-1)  # (E, B, L-1): guesses of tokens[..., 1:]
            return ~((predicted != tokens[:, :, 1:]) & targets[:, :, 1:]).any(dim=-1)
        correct = []
        for e, member_hidden in enumerate(hidden):
            wrong = self.head_member(e, member_hidden).argmax(dim=-1) != tokens[e][:, 1:][targets[e][:, 1:]]
            trial = predicting[e].nonzero()[:, 0]  # (n_e,) the sequence of each scored position
            correct.append(torch.zeros(tokens.shape[1]).index_add_(0, trial, wrong.float()) == 0)
        return torch.stack(correct)

    def _hidden_at(self, tokens: Tensor, where: Tensor) -> list[Tensor] | None:
        """With the ``"packed"`` kernel: per member ``e``, what the head reads at the positions
        ``where[e]`` (B, L) marks of unpatched sequences ``tokens`` (E, B, L), (n_e, units) in
        row-major order (the rows the stepped kernel's :meth:`head` runs on); ``where`` lies
        inside the sequences. ``None``: this kernel computes the full forward instead."""
        return None

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
        check_inputs(self.config, self.n_members, tokens, patch, return_attention, extra_term)
        if feed_back is not None:
            feed_back = feed_back.unsqueeze(0) if squeeze else feed_back
            check_feed_back(self.config, tokens, feed_back, patch)
            logits, states, attention = (*self._run_free(tokens, feed_back), None)
        else:
            logits, states, attention = self._run(tokens, patch, return_attention, extra_term)
        if squeeze:
            return Output(logits[0], states[0], None if attention is None else [a[0] for a in attention])
        return Output(logits, states, attention)

    def _free_running_losses(self, inputs: Tensor, targets: Tensor, feed_back: Tensor) -> Tensor | None:
        """With the ``"packed"`` kernel: :meth:`next_token_losses` of free-running inputs
        (:mod:`numvars.models.free_running`). ``None``: this kernel runs :meth:`forward` instead."""
        return None

    def _run(self, tokens: Tensor, patch: Patch | None, return_attention: bool, extra_term: ExtraTerm | None):
        raise NotImplementedError

    def intervenable_states(self, tokens: Tensor) -> Tensor:
        """The states (E, B, L, S) of unpatched sequences ``tokens`` (E, B, L): ``forward(tokens).states``
        without what only the logits need (the head; a transformer's layers after the first)."""
        check_inputs(self.config, self.n_members, tokens, None, False, None)
        return self._states(tokens)

    def _states(self, tokens: Tensor) -> Tensor:
        return self._run(tokens, None, False, None)[1]

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

    def rerun_losses(
        self,
        tokens: Tensor,
        steps: Tensor,
        new_states: Tensor,
        targets: Tensor,
        scored: Tensor,
        states: Tensor | None = None,
        constants: Tensor | None = None,
    ) -> Tensor:
        """(E,) each member's mean cross-entropy of :meth:`rerun_from`'s predictions against
        ``targets`` (B, W) where ``scored`` (B, W) — what a DAS fit minimises (:func:`scored_losses`).
        ``scored`` lies inside the sequences' predictions.

        The packed kernel (:meth:`_rerun_read`) runs the head only on the scored states and
        scores them where they are (:func:`~numvars.models.losses.mean_cross_entropy`), never laying the logits out as
        (E, B, W, V): the same losses, rounded differently. ``constants``: what
        :meth:`rerun_constants` gave for these sequences and ``scored`` (computed here if not given)."""
        one = new_states.dim() == 2  # a one-member model's (B, S), its states (B, L, S)
        batched = new_states.unsqueeze(0) if one else new_states
        read = self._rerun_read(
            tokens, steps, batched, states.unsqueeze(0) if one and states is not None else states, scored, constants
        )
        if read is None:
            return scored_losses(self.rerun_from(tokens, steps, new_states, states, needed=scored), targets, scored)
        hidden, rows, offsets = read
        wanted = targets[rows, offsets]  # (n,) in the order of hidden's rows
        return torch.stack([mean_cross_entropy(self.head_member(e, h), wanted) for e, h in enumerate(hidden)])

    def _rerun_read(
        self,
        tokens: Tensor,
        steps: Tensor,
        new_states: Tensor,
        states: Tensor | None,
        needed: Tensor,
        constants: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor] | None:
        """With the ``"packed"`` kernel: what the head reads at the predictions ``needed`` (B, W)
        of :meth:`rerun_from` (``new_states`` (E, B, S)) — ``(hidden (E, n, units), rows (n,),
        offsets (n,))``, row ``i`` the prediction at offset ``offsets[i]`` of sequence ``rows[i]``,
        in any order. ``None``: this kernel scores the full :meth:`rerun_from` instead.
        ``constants``: see :meth:`rerun_losses`."""
        return None

    def rerun_constants(self, tokens: Tensor, steps: Tensor, states: Tensor, needed: Tensor) -> Tensor | None:
        """What :meth:`rerun_losses` would compute for these sequences (B, L), swaps ``steps`` (B,)
        and predictions ``needed`` (B, W) whatever states are swapped in — (E, n, C), one row
        per needed prediction in row-major order — so that a DAS fit, which swaps new states into
        the same pairs every epoch, computes it once (``states``: the unswapped states (E, B, L, S)
        of :meth:`forward`). ``None``: nothing to keep (the default; the packed 2-layer transformer
        keeps its last layer's attention over the unswapped positions)."""
        return None
