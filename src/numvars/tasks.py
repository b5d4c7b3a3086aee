"""The numeric-equivalence tasks (paper §1): vocabulary, seeded sampling, batches, accuracy.

Every sequence is ``B  <demo phase>  T  <response phase>  E``: the demo phase shows N objects,
the trigger ``T`` asks for N responses, then ``E`` (EOS) ends the trial.

====================  ===========================  ================  ==================
task (``kind``)       demo tokens                  response token    example, N = 2
====================  ===========================  ================  ==================
``"multi"``           ``D0 D1 D2`` (uniform)       ``R``             ``B D2 D0 T R R E``
``"single"``          ``D``                        ``R``             ``B D D T R R E``
``"same"``            ``D``                        ``D``             ``B D D T D D E``
====================  ===========================  ================  ==================

With ``void_p > 0`` every demo-phase position is, with probability ``void_p``, a void token
``V`` that does not count (``B V D V V D T R R E`` has N = 2); the demo phase ends with its
N-th counted token.

With ``framing="bare"`` (App. A.4's simplified task) there is no ``B`` and no ``T``: the first
response token ends the demo phase and is itself the first of the N responses (``D2 D0 R R E``,
N = 2). It is read, not predicted, as ``T`` is; the rest of the responses and ``E`` are the
trial. The demo and response tokens must differ (not Same-Object). The vocabulary keeps ``B``
and ``T``, unused, so token ids are those of the full task.

Token ids are plain ``int``; a sequence is a ``list[int]``. Batches are ``torch.long`` tensors
of shape ``(B, L)`` padded on the right with ``PAD``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Sequence

import numpy as np
import torch

from numvars.store import OMIT_IF_DEFAULT

PAD, BOS, EOS, TRIGGER, VOID = "PAD", "B", "E", "T", "V"
SPECIAL_TOKENS = (PAD, BOS, EOS, TRIGGER)
DEFAULT_HOLD_OUTS = (4, 9, 14, 17)  # never drawn for training (paper §1: the interpolation test)
TRAINED_MAX_COUNT = 20  # training draws N from 1..20
EVAL_MAX_COUNT = 30  # the behavioural test goes on to N = 30 (21..30: extrapolation)
EVAL_PER_COUNT = 15  # sequences per N in the behavioural test
#: which states an intervention may replace (:meth:`Task.intervention_positions`)
POSITION_RULES = ("paper_index", "after_token", "nonterminal")
#: ``"full"``: ``B <demo> T <responses> E``; ``"bare"`` (App. A.4): ``<demo> <responses> E``
FRAMINGS = ("full", "bare")

# kind -> (demo tokens, response token)
TASK_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "multi": (("D0", "D1", "D2"), "R"),
    "single": (("D",), "R"),
    "same": (("D",), "D"),
}


class _Vocabulary(NamedTuple):
    tokens: tuple[str, ...]  # a token's id is its index here
    ids: dict[str, int]  # each token's id
    demo_ids: tuple[int, ...]  # the ids of the demo tokens


@functools.lru_cache(maxsize=None)
def _build_vocabulary(kind: str, with_void: bool) -> _Vocabulary:
    """A task kind's vocabulary, built once: the programs look ids up millions of times when
    they make a fit's pairs."""
    demo_tokens, response_token = TASK_KINDS[kind]
    content = dict.fromkeys((response_token, *demo_tokens))  # ordered, unique
    tokens = (*SPECIAL_TOKENS, *content, *((VOID,) if with_void else ()))
    ids = {token: i for i, token in enumerate(tokens)}  # the tokens are distinct
    return _Vocabulary(tokens, ids, tuple(ids[t] for t in demo_tokens))


@dataclass(frozen=True)
class Task:
    """One task variant. Frozen and hashable, so it can be part of an experiment's config.

    Args:
        kind: ``"multi"``, ``"single"`` or ``"same"`` (Multi-, Single-, Same-Object).
        max_count: the largest N a sequence may have; training draws N from ``1..max_count``.
        hold_outs: counts that :meth:`sample` never draws unless asked for explicitly
            (the paper's interpolation test holds out 4, 9, 14, 17).
        void_p: probability that a demo-phase position is a void token ``V``; in ``[0, 1)``.
        framing: ``"full"`` or ``"bare"`` (no ``B``, no ``T``: App. A.4; see the module notes).
    """

    kind: str
    max_count: int = TRAINED_MAX_COUNT
    hold_outs: tuple[int, ...] = DEFAULT_HOLD_OUTS
    void_p: float = 0.0
    framing: str = field(default="full", metadata={OMIT_IF_DEFAULT: True})  # keys of full-framed tasks unchanged

    def __post_init__(self):
        if self.kind not in TASK_KINDS:
            raise ValueError(f"unknown task kind {self.kind!r}; allowed: {sorted(TASK_KINDS)}")
        if not isinstance(self.max_count, int) or self.max_count < 1:
            raise ValueError(f"max_count must be an integer >= 1, got {self.max_count!r}")
        object.__setattr__(self, "hold_outs", tuple(sorted(set(int(n) for n in self.hold_outs))))
        outside = [n for n in self.hold_outs if not 1 <= n <= self.max_count]
        if outside:
            raise ValueError(f"hold-outs {outside} are outside the counts 1..{self.max_count} of this task")
        if not self.train_counts:
            raise ValueError(f"hold-outs {list(self.hold_outs)} leave no count to sample")
        if not 0.0 <= self.void_p < 1.0:
            raise ValueError(f"void_p must be in [0, 1), got {self.void_p!r}")
        if self.framing not in FRAMINGS:
            raise ValueError(f"unknown framing {self.framing!r}; allowed: {list(FRAMINGS)}")
        if self.framing == "bare" and self.response_token in self.demo_tokens:
            raise ValueError(
                f"the bare framing needs response tokens that differ from the demo tokens; {self.kind!r} "
                f"responds with a demo token ({self.response_token}): use 'multi' or 'single'"
            )

    # ----------------------------------------------------------------------------- vocabulary
    @property
    def demo_tokens(self) -> tuple[str, ...]:
        return TASK_KINDS[self.kind][0]

    @property
    def response_token(self) -> str:
        return TASK_KINDS[self.kind][1]

    @property
    def vocab(self) -> tuple[str, ...]:
        """All token strings; a token's id is its index here. ``PAD`` is always id 0."""
        return self._vocabulary.tokens

    @property
    def _vocabulary(self) -> _Vocabulary:
        return _build_vocabulary(self.kind, self.void_p > 0)

    @property
    def pad_id(self) -> int:
        return self.token_id(PAD)

    @property
    def bos_id(self) -> int:
        return self.token_id(BOS)

    @property
    def eos_id(self) -> int:
        return self.token_id(EOS)

    @property
    def trigger_id(self) -> int:
        return self.token_id(TRIGGER)

    @property
    def response_id(self) -> int:
        return self.token_id(self.response_token)

    @property
    def switch_id(self) -> int:
        """The token whose first occurrence ends the demo phase: ``T``, or in the bare framing
        the response token (the first response is also the switch)."""
        return self.trigger_id if self.framing == "full" else self.response_id

    def switch_position(self, ids: Sequence[int]) -> int | None:
        """Where the demo phase of ``ids`` ends (its first :attr:`switch_id`), or ``None``."""
        ids = [int(i) for i in ids]
        return ids.index(self.switch_id) if self.switch_id in ids else None

    @property
    def demo_ids(self) -> tuple[int, ...]:
        return self._vocabulary.demo_ids

    @property
    def void_id(self) -> int | None:
        """Id of ``V``, or ``None`` when the task has no void tokens."""
        return self.token_id(VOID) if self.void_p > 0 else None

    @property
    def train_counts(self) -> tuple[int, ...]:
        """The counts :meth:`sample` draws from: ``1..max_count`` without the hold-outs."""
        return tuple(n for n in range(1, self.max_count + 1) if n not in self.hold_outs)

    @property
    def eval_counts(self) -> tuple[int, ...]:
        """The counts of the behavioural test: ``1..EVAL_MAX_COUNT`` (past ``max_count``: extrapolation)."""
        return tuple(range(1, max(EVAL_MAX_COUNT, self.max_count) + 1))

    def count_range(self, n: int) -> str:
        """Where a count lies for a network trained on this task: ``"trained"``, ``"held-out"``
        or ``"extrapolation"`` (past ``max_count``)."""
        if n > self.max_count:
            return "extrapolation"
        return "held-out" if n in self.hold_outs else "trained"

    def token_id(self, token: str) -> int:
        ids = self._vocabulary.ids
        if token not in ids:
            raise ValueError(f"token {token!r} is not in the {self.kind!r} vocabulary {list(self.vocab)}")
        return ids[token]

    def encode(self, tokens: str | Sequence[str]) -> list[int]:
        """``"B D0 T R E"`` (or a list of token strings) -> list of ids."""
        if isinstance(tokens, str):
            tokens = tokens.split()
        return [self.token_id(t) for t in tokens]

    def decode(self, ids: Iterable[int]) -> str:
        """List of ids -> ``"B D0 T R E"``; inverse of :meth:`encode`."""
        vocab = self.vocab
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(vocab):
                raise ValueError(f"token id {i} is outside this task's vocabulary 0..{len(vocab) - 1}")
            out.append(vocab[i])
        return " ".join(out)

    # ------------------------------------------------------------------------------- sampling
    def check_count(self, n: int) -> int:
        if not (isinstance(n, (int, np.integer)) and 1 <= n <= self.max_count):
            raise ValueError(f"count {n!r} is outside 1..{self.max_count} (max_count of this task)")
        return int(n)

    def demo_phase(self, n: int, rng: np.random.Generator) -> list[int]:
        """Ids of a demo phase holding ``n`` counted tokens (voids interleaved, none after the last)."""
        out: list[int] = []
        demo_ids, void_id = self.demo_ids, self.void_id
        counted = 0
        while counted < n:
            if void_id is not None and rng.random() < self.void_p:
                out.append(void_id)
            else:
                out.append(demo_ids[rng.integers(len(demo_ids))])
                counted += 1
        return out

    def make(self, n: int, rng: np.random.Generator) -> list[int]:
        """One sequence with count ``n``: ``B <demo phase> T R*n E`` (bare: ``<demo phase> R*n E``)."""
        n = self.check_count(n)
        if self.framing == "bare":
            return [*self.demo_phase(n, rng), *[self.response_id] * n, self.eos_id]
        return [self.bos_id, *self.demo_phase(n, rng), self.trigger_id, *[self.response_id] * n, self.eos_id]

    def sample(self, n_seqs: int, seed: int, counts: int | Sequence[int] | None = None) -> list[list[int]]:
        """``n_seqs`` seeded sequences.

        Args:
            n_seqs: how many sequences.
            seed: seed of the random generator; the same seed gives the same sequences.
            counts: ``None`` draws each N uniformly from :attr:`train_counts` (hold-outs never
                appear); an ``int`` fixes N for all; a sequence of length ``n_seqs`` gives each N
                (hold-outs allowed — that is how interpolation is tested).
        """
        if n_seqs < 0:
            raise ValueError(f"n_seqs must be >= 0, got {n_seqs}")
        rng = np.random.default_rng(seed)
        if counts is None:
            ns = rng.choice(self.train_counts, size=n_seqs).tolist()
        elif isinstance(counts, (int, np.integer)):
            ns = [counts] * n_seqs
        else:
            ns = list(counts)
            if len(ns) != n_seqs:
                raise ValueError(f"got {len(ns)} counts for {n_seqs} sequences")
        return [self.make(n, rng) for n in ns]

    def count(self, ids: Sequence[int]) -> int:
        """N of a well-formed sequence: the number of counted demo tokens before the demo phase
        ends (``T``; bare framing: the first response)."""
        end = self.switch_position(ids)
        if end is None:
            raise ValueError(
                f"sequence has no {self.vocab[self.switch_id]} to end its demo phase: {self.decode(ids)!r}"
            )
        demo_ids = set(self.demo_ids)
        return sum(int(i) in demo_ids for i in ids[:end])

    def intervention_positions(self, ids: Sequence[int], rule: str = "paper_index") -> list[int]:
        """Positions ``pos`` whose state (after reading ``ids[pos]``) an intervention may replace,
        by ``rule`` (one of :data:`POSITION_RULES`):

        * ``"paper_index"`` (default): the paper's convention, ``h_t`` reads ``x_{t-1}`` and
          predicts ``x_t``, with the indices of ``B`` and ``E`` excluded (A.3.1) — the states after
          ``B``, demo, void, ``T`` and response tokens, except the state that predicts ``E``;
        * ``"after_token"``: the index read as the token just read — after a demo, void or response
          token, never at ``B``, ``T``, ``E`` or ``PAD`` (the state predicting ``E`` included);
        * ``"nonterminal"``: ``"after_token"`` without the state that predicts ``E`` (§3.5's
          "non-terminal step" read on top of it).
        """
        if rule not in POSITION_RULES:
            raise ValueError(f"unknown position rule {rule!r}; allowed: {list(POSITION_RULES)}")
        ids = [int(i) for i in ids]
        structural = {self.bos_id, self.trigger_id, self.eos_id, self.pad_id}
        predicts_eos = {pos for pos in range(len(ids) - 1) if ids[pos + 1] == self.eos_id}
        if rule == "paper_index":
            ended = (self.eos_id, self.pad_id)
            return [pos for pos, i in enumerate(ids) if i not in ended and pos not in predicts_eos]
        allowed = [pos for pos, i in enumerate(ids) if i not in structural]
        return allowed if rule == "after_token" else [pos for pos in allowed if pos not in predicts_eos]

    # -------------------------------------------------------------------------------- batches
    def pad(self, seqs: Sequence[Sequence[int]]) -> torch.Tensor:
        """Right-pad sequences with ``PAD`` into a ``(B, L)`` long tensor, L the longest length."""
        if len(seqs) == 0:
            raise ValueError("cannot pad an empty list of sequences")
        length = max(len(s) for s in seqs)
        out = torch.full((len(seqs), length), self.pad_id, dtype=torch.long)
        for row, s in enumerate(seqs):
            out[row, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
        return out

    def response_mask(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(..., L)`` bool: True at the tokens a trial must produce — every token after the
        first ``T`` (bare framing: after the first response) that is not ``PAD``."""
        seen = (tokens == self.switch_id).long().cumsum(dim=-1)
        after_switch = (seen > 1) | ((seen == 1) & (tokens != self.switch_id))
        return after_switch & (tokens != self.pad_id)

    def trial_correct(
        self, logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``(B,)`` bool: is every masked token predicted (argmax) correctly?

        Args:
            logits: ``(B, L, V)`` or ``(B, L-1, V)``; ``logits[:, j]`` is the prediction made
                after reading ``tokens[:, j]``, i.e. of ``tokens[:, j + 1]``.
            tokens: ``(B, L)`` the full sequences.
            mask: ``(B, L)`` bool, the tokens to be predicted; default :meth:`response_mask`.
        """
        if mask is None:
            mask = self.response_mask(tokens)
        if logits.shape[0] != tokens.shape[0] or logits.shape[1] not in (tokens.shape[1], tokens.shape[1] - 1):
            raise ValueError(f"logits of shape {tuple(logits.shape)} do not fit tokens of shape {tuple(tokens.shape)}")
        predicted = logits[:, : tokens.shape[1] - 1].argmax(dim=-1)  # (B, L-1): guesses of tokens[:, 1:]
        wrong = (predicted != tokens[:, 1:]) & mask[:, 1:]
        return ~wrong.any(dim=1)

    def trial_accuracy(self, logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> float:
        """Fraction of trials whose every response token and ``E`` is predicted correctly."""
        return self.trial_correct(logits, tokens, mask).float().mean().item()
