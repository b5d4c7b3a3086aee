"""Distributed Alignment Search (paper §4): interchange interventions on a learned rotation.

Freeze a trained network. For a target state ``h_o`` (after target token ``t``) and a source
state ``h_s`` (after source token ``u``), the intervened state is

    h_v = Rᵀ (M · R h_s + (1 − M) · R h_o)

with ``R`` orthogonal (``torch.nn.utils.parametrizations.orthogonal``) and ``M`` selecting the
first ``k`` rotated coordinates. The network runs on from ``h_v``; **IIA** (interchange
intervention accuracy) is the share of pairs whose every scored prediction matches the
program's counterfactual (:mod:`numvars.programs`). The TMLR extension replaces ``R`` by an
invertible, non-orthogonal ``A`` (:class:`LinearAlignment`): ``h_v = A⁻¹ (M A h_s + (1 − M) A h_o)``.

Shapes: ``n`` pairs, ``L`` tokens, ``S`` state size. States are row vectors, so ``R h`` is
``h @ R.T``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import orthogonal

from numvars.models import CountingModel, keep_adam_state, shift_left
from numvars.programs import RESPONSE, Program, get_program, sample_pairs
from numvars.tasks import Task


def swap_first(z_o: Tensor, z_s: Tensor, k: int) -> Tensor:
    """``M z_s + (1 − M) z_o`` for aligned rows ``z_o``, ``z_s`` (..., S): the first ``k`` in 0..S
    coordinates of ``z_s``, the others of ``z_o``."""
    size = z_o.shape[-1]
    if not 0 <= k <= size:
        raise ValueError(f"k must be in 0..{size}, got {k}")
    return torch.cat([z_s[..., :k], z_o[..., k:]], dim=-1)


def interchange(h_o: Tensor, h_s: Tensor, rotation: Tensor, k: int) -> Tensor:
    """Chapter 3 §3.2. ``Rᵀ(M R h_s + (1 − M) R h_o)`` for rows ``h_o``, ``h_s`` (n, S) and ``rotation`` R (S, S);
    ``k`` in 0..S coordinates are swapped (0: nothing changes; S: the full state is swapped).
    A stack of rotations (E, S, S) acts on stacked rows (E, n, S), one rotation per member."""
    rotated_o, rotated_s = h_o @ rotation.transpose(-1, -2), h_s @ rotation.transpose(-1, -2)
    return swap_first(rotated_o, rotated_s, k) @ rotation


def half_state(size: int) -> int:
    """The swap size DAS uses unless told otherwise: half the intervenable state (``k = S/2``;
    10 of a d = 20 GRU's h, 20 of an LSTM's 40-dimensional [h; c])."""
    return size // 2


def swap_size(size: int, k: int | None) -> int:
    """``k`` checked against a state of ``size`` (1..size); ``None``: :func:`half_state`."""
    k = half_state(size) if k is None else k
    if not 1 <= k <= size:
        raise ValueError(f"k (the swapped dimensions) must be in 1..{size} for a state of size {size}, got {k}")
    return k


class Alignment(nn.Module):
    """An alignment method: ``forward(h_o, h_s)`` (n, S), (n, S) -> the intervened states (n, S).

    The base class swaps the first ``k`` coordinates of a fixed rotation ``R`` (S, S) —
    :func:`interchange` — which also rebuilds any stored orthogonal alignment
    (:meth:`DasResult.alignment`). Subclasses say how ``R`` is chosen and whether it is trained
    (:attr:`trainable`). A method of another :attr:`kind` (:class:`FixedLinear`: an invertible
    map) overrides :meth:`forward` and :attr:`matrix`.
    """

    trainable = False
    kind = "orthogonal"  # what DasResult records: its matrix is R, and R⁻¹ = Rᵀ

    def __init__(self, rotation: Tensor, k: int):
        super().__init__()
        self.k = swap_size(rotation.shape[-1], k)
        self.register_buffer("_rotation", rotation.detach().clone())

    @property
    def rotation(self) -> Tensor:
        """R (S, S), orthogonal — or one per member (E, S, S) for a stack of seeds."""
        return self._rotation

    @property
    def matrix(self) -> Tensor:
        """The map to the aligned coordinates (S, S) — (E, S, S) for a stack: here R."""
        return self.rotation

    def forward(self, h_o: Tensor, h_s: Tensor) -> Tensor:
        return interchange(h_o, h_s, self.rotation, self.k)

    def select(self, keep: Sequence[int]) -> "Alignment":
        """A copy holding only the members ``keep`` of a stacked alignment (every tensor of its
        state is (E, S, S): one matrix per member) — for members still being fitted."""
        kept = copy.deepcopy(self)
        index = torch.tensor(list(keep))
        with torch.no_grad():
            for tensor in [*kept.parameters(), *kept.buffers()]:
                tensor.data = tensor.data[index].clone()
        return kept


class _Weight(nn.Module):
    def __init__(self, weight: Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight)


def _seeded_orthogonal(size: int, seed: int | Sequence[int]) -> nn.Module:
    """A module whose ``weight`` is kept orthogonal, started from a seeded Gaussian: (S, S) for
    one seed, (E, S, S) for a sequence of seeds (each member's start is its own seed's)."""
    seeds = [seed] if isinstance(seed, int) else list(seed)
    start = torch.stack([torch.randn(size, size, generator=torch.Generator().manual_seed(s)) for s in seeds])
    return orthogonal(_Weight(start[0] if isinstance(seed, int) else start))


def seeded_rotation(size: int, seed: int | Sequence[int]) -> Tensor:
    """The rotation :class:`LearnedRotation` starts from for ``seed``: (S, S), or (E, S, S) for a
    sequence of seeds."""
    with torch.no_grad():
        return _seeded_orthogonal(size, seed).weight


class LearnedRotation(Alignment):
    """DAS: a learnable orthogonal R (``torch.nn.utils.parametrizations.orthogonal``), trained on
    the counterfactuals by :func:`fit_alignment`. ``seed`` a sequence: one rotation per seed
    (E, S, S), for the members of an ensemble (:func:`fit_alignments`)."""

    trainable = True

    def __init__(self, size: int, k: int | None = None, seed: int | Sequence[int] = 0):
        nn.Module.__init__(self)  # R is a parameter here, not the base class's buffer
        self.k = swap_size(size, k)
        self.linear = _seeded_orthogonal(size, seed)

    @property
    def rotation(self) -> Tensor:
        return self.linear.weight


class RandomRotation(Alignment):
    """A fixed random rotation (the one :class:`LearnedRotation` starts from): the control for
    "any subspace would do"."""

    def __init__(self, size: int, k: int | None = None, seed: int | Sequence[int] = 0):
        super().__init__(seeded_rotation(size, seed), swap_size(size, k))


class FullSwap(Alignment):
    """The whole state swapped (``R = I``, ``k = S``): nothing to learn. Ctx-Distr's test."""

    def __init__(self, size: int, k: int | None = None, seed: int | Sequence[int] = 0):
        if k is not None:
            raise ValueError("a full swap swaps the whole state: leave k as None")
        super().__init__(torch.eye(size), size)


class FixedLinear(Alignment):
    """A fixed invertible, not necessarily orthogonal, map ``A`` (S, S) — (E, S, S) for a stack:
    ``h_v = A⁻¹ (M A h_s + (1 − M) A h_o)``. What :meth:`DasResult.alignment` rebuilds from a
    stored :class:`LinearAlignment` (A⁻¹ by ``torch.linalg.solve``, never an explicit inverse).

    The paper's map ``h ↦ A h + b`` has an offset ``b``, but a swap of coordinates cancels it
    exactly — ``M (A h_s + b) + (1 − M)(A h_o + b) − b = M A h_s + (1 − M) A h_o`` — so there is
    no ``b`` to store or learn."""

    kind = "linear"

    def __init__(self, matrix: Tensor, k: int):
        nn.Module.__init__(self)  # A, not the base class's rotation
        self.k = swap_size(matrix.shape[-1], k)
        self.register_buffer("_matrix", matrix.detach().clone())

    @property
    def matrix(self) -> Tensor:
        """A (S, S) — (E, S, S) for a stack."""
        return self._matrix

    def align(self, h: Tensor) -> Tensor:
        """``A h`` for rows ``h`` (n, S) — (E, n, S) for a stack."""
        return h @ self.matrix.transpose(-1, -2)

    def unalign(self, z: Tensor) -> Tensor:
        """``A⁻¹ z`` for rows ``z`` (n, S) — (E, n, S): the rows ``x`` with ``x Aᵀ = z``."""
        return torch.linalg.solve(self.matrix.transpose(-1, -2), z, left=False)

    def forward(self, h_o: Tensor, h_s: Tensor) -> Tensor:
        return self.unalign(swap_first(self.align(h_o), self.align(h_s), self.k))

    def condition_number(self) -> Tensor:
        """cond(A) (2-norm): () — (E,) for a stack; 1 for an orthogonal A."""
        return torch.linalg.cond(self.matrix.detach())


class LinearAlignment(FixedLinear):
    """DAS with an invertible linear map in place of the rotation (the TMLR extension), trained
    like :class:`LearnedRotation` and started from the same rotation ``W0`` (its seed's):

        A = W0 · L · U

    ``W0`` orthogonal and fixed; ``L`` unit lower-triangular; ``U`` upper-triangular with
    diagonal ``exp(s)``. Every such ``A`` is invertible (``det A = det W0 · exp(Σ s) ≠ 0``
    whatever the parameters); together they are the ``A`` whose ``W0ᵀ A`` has positive leading
    principal minors (an LU factorisation without pivoting): an open set around ``W0`` — every
    invertible matrix near it — though not every invertible matrix. The free entries of ``L``,
    ``U`` and ``s`` live in one packed matrix :attr:`factors` (S, S) — (E, S, S) for a sequence
    of seeds — as LAPACK packs an LU: ``L``'s strictly below the diagonal, ``s`` on it, ``U``'s
    above it; all 0 at the start (``A = W0``). ``A⁻¹ = U⁻¹ L⁻¹ W0ᵀ``: two triangular solves and
    a transpose."""

    trainable = True

    def __init__(self, size: int, k: int | None = None, seed: int | Sequence[int] = 0):
        nn.Module.__init__(self)  # A is built from parameters here, not the fixed buffer
        self.k = swap_size(size, k)
        self.register_buffer("start", seeded_rotation(size, seed))  # W0
        self.factors = nn.Parameter(torch.zeros_like(self.start))

    @property
    def lower(self) -> Tensor:
        """L: unit lower-triangular (S, S) — (E, S, S)."""
        return self.factors.tril(-1) + torch.eye(self.factors.shape[-1], dtype=self.factors.dtype)

    @property
    def upper(self) -> Tensor:
        """U: upper-triangular with diagonal exp(s) (S, S) — (E, S, S)."""
        return self.factors.triu(1) + torch.diag_embed(self.factors.diagonal(dim1=-2, dim2=-1).exp())

    @property
    def matrix(self) -> Tensor:
        """A = W0 · L · U (S, S) — (E, S, S)."""
        return self.start @ self.lower @ self.upper

    def unalign(self, z: Tensor) -> Tensor:
        """``A⁻¹ z = U⁻¹ L⁻¹ W0ᵀ z`` for rows ``z`` (n, S) — (E, n, S), by triangular solves:
        ``x Lᵀ = z W0``, then ``h Uᵀ = x``."""
        x = torch.linalg.solve_triangular(
            self.lower.transpose(-1, -2), z @ self.start, upper=True, left=False, unitriangular=True
        )
        return torch.linalg.solve_triangular(self.upper.transpose(-1, -2), x, upper=False, left=False)


class RandomLinear(FixedLinear):
    """A fixed random invertible map: the control for "a more expressive map can fit anything",
    as :class:`RandomRotation` is the rotation's. ``A`` has independent N(0, 1/S) entries — the
    Gaussian drawn after the one its seed's ``W0`` is made from, so it is not ``W0``'s
    orthogonalisation — invertible with probability 1; its condition number is reported with it
    (typically tens for S = 20)."""

    def __init__(self, size: int, k: int | None = None, seed: int | Sequence[int] = 0):
        seeds = [seed] if isinstance(seed, int) else list(seed)
        matrices = torch.stack([self._draw(size, s) for s in seeds]) / size**0.5
        super().__init__(matrices[0] if isinstance(seed, int) else matrices, swap_size(size, k))

    @staticmethod
    def _draw(size: int, seed: int) -> Tensor:
        """The second standard Gaussian (S, S) of ``seed``'s generator (the first is W0's)."""
        generator = torch.Generator().manual_seed(seed)
        torch.randn(size, size, generator=generator)  # the draw W0 is made from
        return torch.randn(size, size, generator=generator)


#: the alignment methods a measurement can name (``DasConfig.method``)
ALIGNMENTS: dict[str, type[Alignment]] = {
    "learned": LearnedRotation,
    "random": RandomRotation,
    "full_swap": FullSwap,
    "linear": LinearAlignment,
    "random_linear": RandomLinear,
}
#: what a stored alignment of each kind is rebuilt as (:meth:`DasResult.alignment`)
FIXED_ALIGNMENTS: dict[str, type[Alignment]] = {"orthogonal": Alignment, "linear": FixedLinear}


def make_alignment(method: str, size: int, k: int | None = None, seed: int | Sequence[int] = 0) -> Alignment:
    """The alignment ``method`` (a key of :data:`ALIGNMENTS`) for a state of ``size``; ``k``
    swapped coordinates (None: half the state); a sequence of seeds: one per ensemble member."""
    if method not in ALIGNMENTS:
        raise ValueError(f"unknown DAS method {method!r}; allowed: {list(ALIGNMENTS)}")
    return ALIGNMENTS[method](size, k, seed=seed)


@dataclass
class PairSet:
    """Intervention pairs as tensors: run ``tokens`` (the counterfactual sequences, whose first
    ``t + 1`` tokens are the target's) with the state after ``t`` swapped with the source's
    after ``u``; score the predictions of the tokens where ``score`` is True."""

    tokens: Tensor  # (n, L) counterfactual sequences, padded
    t: Tensor  # (n,)
    sources: Tensor  # (n, L_s) source sequences, padded
    u: Tensor  # (n,)
    score: Tensor  # (n, L) bool: tokens the intervened program determines
    task: Task  # whose vocabulary the sequences use
    rereader_correct: Tensor  # (n,) bool: does a network that ignores the intervention get the pair right?
    target_n: Tensor  # (n,) N of each target sequence (``tokens`` keeps only its first t + 1 tokens)

    def __len__(self) -> int:
        return len(self.t)

    def subset(self, rows: Tensor) -> "PairSet":
        return PairSet(
            self.tokens[rows],
            self.t[rows],
            self.sources[rows],
            self.u[rows],
            self.score[rows],
            self.task,
            self.rereader_correct[rows],
            self.target_n[rows],
        )


def program_completes(program: Program, state: dict, ids: Sequence[int], first: int, score: Sequence[bool]) -> bool:
    """Does ``program``, in ``state`` before reading ``ids[first]``, predict every scored token
    of ``ids`` from ``first`` on, reading ``ids`` as it goes (teacher forcing)? Where ``ids``
    stops being a task sequence the program can read (e.g. ``R`` without ``T`` after a phase
    swap), it is right only if nothing later is scored."""
    for j in range(first, len(ids)):
        if score[j] and program.predict(state) != ids[j]:
            return False
        try:
            state = program.step(state, ids[j])
        except ValueError:
            return not any(score[j + 1 :])
    return True


def rereader_correct(task: Task, ids: Sequence[int], score: Sequence[bool]) -> bool:
    """Would a network that ignores the intervention predict every scored token of the
    counterfactual ``ids``? Such a network solves the task from the tokens it has read (it
    re-reads the context, as a transformer does): its predictions are the un-intervened
    program's on ``ids`` itself. The share of pairs it gets right is an IIA's chance level."""
    program = get_program("up_down", task)  # every program solves the task: any of them predicts it
    return program_completes(program, program.states(ids[:1])[0], ids, 1, score)


def make_pairs(
    program: Program,
    variables,
    n_pairs: int,
    seed: int,
    demo_continuation: str = "paper",
    positions: str = "paper_index",
    score_at_t: bool = True,
) -> PairSet:
    """``n_pairs`` seeded pairs (:func:`numvars.programs.sample_pairs`, ``t`` and ``u`` by the
    rule ``positions``) with ``program``'s counterfactuals for swapping ``variables`` (a name,
    names joined by ``+`` such as ``"count+phase"``, or ``None``: the full state). A token is
    scored when the intervened program predicts it in the response phase, from the prediction
    made at ``t`` itself on (``score_at_t=False``: from ``t + 1`` on, the step A.5's argument
    concerns). Pairs are drawn within one phase when the program defines its intervention only
    there (:attr:`~numvars.programs.Program.same_phase_only`)."""
    if n_pairs < 1:
        raise ValueError(f"a pair set needs at least one pair, got {n_pairs}")
    if isinstance(variables, str):
        variables = tuple(variables.split("+"))
    task = program.task
    first_scored = 0 if score_at_t else 1
    rows = []
    pairs = sample_pairs(task, n_pairs, seed=seed, same_phase=program.same_phase_only, positions=positions)
    for i, pair in enumerate(pairs):
        ids, views = program.counterfactual_trace(
            *pair, variables, seed=seed * 1_000_003 + i, demo_continuation=demo_continuation
        )
        score = [False] * len(ids)
        for j in range(pair.t + first_scored, len(ids) - 1):
            score[j + 1] = views[j]["phase"] == RESPONSE
        rows.append((ids, pair.t, pair.source, pair.u, score, task.count(pair.target)))
    tokens = task.pad([r[0] for r in rows])
    score = torch.zeros_like(tokens, dtype=torch.bool)
    for i, r in enumerate(rows):
        score[i, : len(r[4])] = torch.tensor(r[4])
    rereader = torch.tensor([rereader_correct(task, r[0], r[4]) for r in rows])
    return PairSet(
        tokens,
        torch.tensor([r[1] for r in rows]),
        task.pad([r[2] for r in rows]),
        torch.tensor([r[3] for r in rows]),
        score,
        task,
        rereader,
        torch.tensor([r[5] for r in rows]),
    )


def check_model_task(model: CountingModel, task: Task) -> None:
    if model.config.vocab_size != len(task.vocab):
        raise ValueError(
            f"the model's vocabulary ({model.config.vocab_size} tokens) does not match the task's "
            f"{list(task.vocab)}: a model trained on another task?"
        )


@dataclass
class FrozenRuns:
    """What the frozen network computes once for a pair set; an ensemble's states carry a
    leading member dimension E."""

    pairs: PairSet
    h_o: Tensor  # (n, S) — (E, n, S) for an ensemble — each target's state after its token t, before any intervention
    h_s: Tensor  # (n, S) — (E, n, S) — each source's state after its token u
    states: Tensor | None  # (n, L, S) — (E, n, L, S) — every state of the counterfactual sequences, kept only for a
    # model that resumes from them (the transformer); None for the recurrent nets

    def __len__(self) -> int:
        return len(self.pairs)

    def select(self, keep: Sequence[int]) -> "FrozenRuns":
        """The runs of the ensemble members ``keep`` (E stays a dimension)."""
        index = torch.tensor(list(keep))
        return FrozenRuns(
            self.pairs, self.h_o[index], self.h_s[index], None if self.states is None else self.states[index]
        )


@torch.no_grad()
def run_frozen(
    model: CountingModel, pairs: PairSet, batch_size: int = 2048, members_per_batch: int = 12_288
) -> FrozenRuns:
    """Run ``model`` (every member of an ensemble) once over the pairs' counterfactual and
    source sequences: ``batch_size`` sequences at a time, fewer for a large ensemble (at most
    ``members_per_batch`` sequence-members)."""
    if len(pairs) == 0:
        raise ValueError("an empty pair set")
    check_model_task(model, pairs.task)
    E = model.n_members
    h_o, h_s, states = [], [], []
    for rows in torch.arange(len(pairs)).split(max(1, min(batch_size, members_per_batch // E))):
        part, index = pairs.subset(rows), torch.arange(len(rows))
        target_states = model(part.tokens.expand(E, *part.tokens.shape)).states
        h_o.append(target_states[:, index, part.t])
        h_s.append(model(part.sources.expand(E, *part.sources.shape)).states[:, index, part.u])
        if model.rerun_reads_states:
            states.append(target_states)
    h_o, h_s, states = torch.cat(h_o, dim=1), torch.cat(h_s, dim=1), torch.cat(states, dim=1) if states else None
    if E == 1:
        return FrozenRuns(pairs, h_o[0], h_s[0], None if states is None else states[0])
    return FrozenRuns(pairs, h_o, h_s, states)


def intervened_predictions(model: CountingModel, runs: FrozenRuns, rows: Tensor, alignment: nn.Module):
    """The network run on from the aligned swap after ``t`` for pairs ``rows`` (r,).

    Returns ``(logits (r, W, V), targets (r, W), scored (r, W))``: ``logits[i, j]`` is the
    prediction after token ``t + j`` of pair ``rows[i]``, ``targets`` the counterfactual token
    it should predict, ``scored`` whether the intervened program determines that token (only the
    scored logits are computed: the others may be 0). An ensemble (each member with its own
    rotation) gives logits (E, r, W, V)."""
    pairs = runs.pairs.subset(rows)
    h_o, h_s = (
        runs.h_o.index_select(-2, rows),
        runs.h_s.index_select(-2, rows),
    )  # index_select: a fast path for a middle dim
    states = runs.states[..., rows, :, :] if model.rerun_reads_states else None
    width = int(
        ((pairs.tokens != pairs.task.pad_id).sum(1) - pairs.t).max()
    )  # predictions from t on, as rerun_from() makes them
    targets = shift_left(pairs.tokens, pairs.t + 1, width, fill=pairs.task.pad_id)
    scored = shift_left(pairs.score, pairs.t + 1, width, fill=False)
    # unscored logits may be 0
    logits = model.rerun_from(pairs.tokens, pairs.t, alignment(h_o, h_s), states, needed=scored)
    return logits, targets, scored


@torch.no_grad()
def first_errors(model: CountingModel, runs: FrozenRuns, alignment: nn.Module, batch_size: int = 2048) -> Tensor:
    """(n,) long — (E, n) for an ensemble: for each pair, the offset after ``t`` of the first
    scored token the intervened network gets wrong (0: the prediction made at ``t`` itself), or
    -1 if it gets all right."""
    first = []
    for rows in torch.arange(len(runs)).split(batch_size):
        logits, targets, scored = intervened_predictions(model, runs, rows, alignment)
        wrong = (logits.argmax(-1) != targets) & scored
        first.append(torch.where(wrong.any(dim=-1), wrong.int().argmax(dim=-1), -1))
    return torch.cat(first, dim=-1)


def pair_correct(model: CountingModel, runs: FrozenRuns, alignment: nn.Module) -> Tensor:
    """(n,) bool — (E, n) for an ensemble: does the intervened network predict every scored
    token of each pair (argmax)?"""
    return first_errors(model, runs, alignment) < 0


def iia(model: CountingModel, runs: FrozenRuns, alignment: nn.Module) -> float:
    """Interchange intervention accuracy: the share of pairs the intervened network gets right
    (one-member models; an ensemble's, member by member: ``pair_correct(...).float().mean(-1)``)."""
    return pair_correct(model, runs, alignment).float().mean().item()


@dataclass
class DasResult:
    """One DAS measurement: the alignment found (its matrix, kind and swap size), each test
    pair's outcome under it, and the fit's history. :meth:`to_payload` / :meth:`from_payload`
    convert it to and from what the store keeps."""

    rotation: Tensor  # (S, S) the kept alignment's matrix: R (kind "orthogonal"), or A (kind "linear")
    k: int  # swapped coordinates
    test_correct: Tensor  # (n_test,) bool: each test pair's outcome
    history: list[dict]  # per epoch: epoch, loss, val_iia (empty when nothing is learned)
    seconds: float = 0.0  # wall-clock of the measurement
    kind: str = "orthogonal"  # a key of FIXED_ALIGNMENTS: how the matrix maps states

    def __post_init__(self):
        if self.kind not in FIXED_ALIGNMENTS:
            raise ValueError(f"unknown alignment kind {self.kind!r}; allowed: {list(FIXED_ALIGNMENTS)}")

    @property
    def test_iia(self) -> float:
        return self.test_correct.float().mean().item()

    @property
    def best_val_iia(self) -> float | None:
        """The best validation IIA of the fit (None when nothing was learned)."""
        return max((h["val_iia"] for h in self.history), default=None)

    def alignment(self) -> Alignment:
        """The kept alignment as a fixed module (to intervene with it again)."""
        return FIXED_ALIGNMENTS[self.kind](self.rotation, self.k)

    def to_payload(self) -> dict:
        """The stored form; ``"kind"`` only when not orthogonal, so a rotation's payload is what it
        was before there were other kinds (and older payloads load as orthogonal)."""
        payload = {
            "test_correct": self.test_correct,
            "history": self.history,
            "rotation": self.rotation,
            "k": self.k,
            "seconds": self.seconds,
        }
        return payload if self.kind == "orthogonal" else {**payload, "kind": self.kind}

    @classmethod
    def from_payload(cls, payload: dict) -> "DasResult":
        return cls(
            payload["rotation"],
            payload["k"],
            payload["test_correct"],
            payload["history"],
            payload["seconds"],
            payload.get("kind", "orthogonal"),
        )


def fit_alignment(
    model: CountingModel,
    alignment: Alignment,
    train_pairs: PairSet,
    val_pairs: PairSet,
    test_pairs: PairSet,
    progress: Callable[[int, float], None] | None = None,
    **settings,
) -> DasResult:
    """Chapter 3 §3.3. Train a :attr:`~Alignment.trainable` alignment with Adam on cross-entropy of the scored
    counterfactual tokens (the network frozen) until the validation IIA has not improved for
    ``patience`` epochs, or for ``max_epochs``; keep the parameters with the best validation
    IIA; score them on the test pairs. An alignment with nothing to learn is only scored — so is
    one that swaps every coordinate (``k = S``: the source's state replaces the target's whatever
    the map; its gradient is rounding noise, which Adam would turn into a random walk of the map).
    ``settings``: ``max_epochs``, ``patience``, ``lr``, ``batch_size`` and ``seed`` (the batch
    order), as :func:`fit_alignments` takes them. ``progress(epoch, val_iia)`` is called after
    each epoch. A one-member model; :func:`fit_alignments` fits an ensemble's members together."""
    if model.n_members != 1:
        raise ValueError(
            f"fit_alignment fits one network; this ensemble has {model.n_members} members (use fit_alignments)"
        )
    report = None if progress is None else (lambda epoch, val: progress(epoch, float(val[0])))
    return fit_alignments(model, alignment, train_pairs, val_pairs, test_pairs, progress=report, **settings)[0]


def fit_alignments(
    model: CountingModel,
    alignment: Alignment,
    train_pairs: PairSet,
    val_pairs: PairSet,
    test_pairs: PairSet,
    max_epochs: int = 100,
    patience: int = 20,
    lr: float = 3e-3,
    batch_size: int = 512,
    seed: int = 0,
    progress: Callable[[int, list[float]], None] | None = None,
) -> list[DasResult]:
    """:func:`fit_alignment` for every member of an ensemble at once, each with its own
    alignment (``alignment`` built with one seed per member), on the same pairs in the same
    batch order. The members share no parameter and the loss is the sum of their own losses,
    so each member's fit — its history, its stopping epoch, the matrix kept — is the one it
    would have alone, to float rounding (a stacked matrix product may round differently; over a
    complete fit of a hundred epochs that can tip a pair or an epoch); fitting them together only shares the per-operation overhead of the
    small recurrent steps, and a member whose patience has run out leaves the stack —
    measured with nothing else running (``benchmarks/das_speed.py --fits``, d = 20 GRUs, Up-Down
    count, 10 000 pairs): 18.1 s per fit for six seeds stacked against 35.8 s one at a time, 1.98x. ``progress(epoch, val_iia)`` gets the validation IIA of the
    members still fitting. Returns one :class:`DasResult` per member."""
    start = time.perf_counter()
    model = model.eval().requires_grad_(False)
    E = model.n_members
    histories: list[list[dict]] = [[] for _ in range(E)]
    if alignment.trainable and alignment.k < alignment.matrix.shape[-1]:
        best = _fit_stack(
            model, alignment, train_pairs, val_pairs, histories, max_epochs, patience, lr, batch_size, seed, progress
        )
        with torch.no_grad():  # every member's best parameters, back into the whole stack
            for name, tensor in alignment.state_dict().items():
                for e in range(E):
                    (tensor[e] if tensor.dim() == 3 else tensor).copy_(best[e][name])
    correct = pair_correct(model, run_frozen(model, test_pairs), alignment).reshape(E, -1)
    matrix = alignment.matrix.detach().clone()
    seconds = (time.perf_counter() - start) / E
    return [
        DasResult(
            matrix if matrix.dim() == 2 else matrix[e], alignment.k, correct[e], histories[e], seconds, alignment.kind
        )
        for e in range(E)
    ]


def _fit_stack(
    model, alignment, train_pairs, val_pairs, histories, max_epochs, patience, lr, batch_size, seed, progress
) -> list[dict]:
    """The training loop of :func:`fit_alignments`: fills ``histories`` (one list per member) and
    returns each member's best parameters ({state name: tensor without the member dimension}).
    A member whose patience has run out leaves the stack (its network, runs, rotation and Adam
    state), so the others go on at the cost of the members still fitting."""
    E = model.n_members
    fitting = list(range(E))  # members whose validation IIA may still improve, in stack order
    best = [_member_state(alignment, e) for e in range(E)]
    best_iia, best_epoch = [-1.0] * E, [0] * E
    optimizer = torch.optim.Adam(alignment.parameters(), lr=lr)
    train, val = run_frozen(model, train_pairs), run_frozen(model, val_pairs)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(1, max_epochs + 1):
        total = torch.zeros(len(fitting))
        for rows in torch.randperm(len(train), generator=generator).split(batch_size):
            logits, targets, scored = intervened_predictions(model, train, rows, alignment)
            losses = alignment_losses(logits, targets, scored)
            optimizer.zero_grad()
            losses.sum().backward()  # members share no parameters: each gets its own gradient
            optimizer.step()
            total += losses.detach() * len(rows) / len(train)
        val_iia = pair_correct(model, val, alignment).float().reshape(len(fitting), -1).mean(dim=1).tolist()
        for k, e in enumerate(fitting):
            histories[e].append(dict(epoch=epoch, loss=float(total[k]), val_iia=val_iia[k]))
            if val_iia[k] > best_iia[e]:
                best_iia[e], best_epoch[e] = val_iia[k], epoch
                best[e] = _member_state(alignment, k)
        if progress is not None:
            progress(epoch, val_iia)
        keep = [k for k, e in enumerate(fitting) if epoch - best_epoch[e] < patience]
        if not keep:
            break
        if len(keep) < len(fitting):
            model, train, val = model.select(keep).requires_grad_(False), train.select(keep), val.select(keep)
            old_parameters, alignment = list(alignment.parameters()), alignment.select(keep)
            optimizer = keep_adam_state(optimizer, old_parameters, alignment.parameters(), keep)
            fitting = [fitting[k] for k in keep]
    return best


def _member_state(alignment: Alignment, k: int) -> dict[str, Tensor]:
    """A copy of member ``k``'s parameters of a stacked alignment (the whole state of one that is
    not stacked: its tensors are (S, S), not (E, S, S))."""
    return {name: (t[k] if t.dim() == 3 else t).detach().clone() for name, t in alignment.state_dict().items()}


def alignment_losses(logits: Tensor, targets: Tensor, scored: Tensor) -> Tensor:
    """(E,) mean cross-entropy of each member's scored predictions: logits (E, r, W, V) — or
    (r, W, V) for one member — against targets (r, W) where scored (r, W)."""
    logits = logits.reshape(-1, *logits.shape[-3:])
    return torch.stack([nn.functional.cross_entropy(member[scored], targets[scored]) for member in logits])
