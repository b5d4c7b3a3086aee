"""The interchange intervention and its alignments: swapping the first ``k`` aligned coordinates
(:func:`interchange`), the learned rotation of DAS, the controls (a random rotation, the full
swap) and the TMLR extension's linear maps, by name in :data:`ALIGNMENTS`.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import orthogonal


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
