"""Chapter 7 (groundwork): where the count lives — the geometry of a network's states (Figs 12–14).

The paper's claim: "hidden states of a GRU lie on an ordered count manifold, with a jump at T".
Each function makes one part of it measurable:

* :func:`state_table` — the intervenable state after every real token of a batch, with the
  Up-Down program's labels of that token (count, phase, the sequence's N, whether it is ``T``).
* :func:`pca` — principal components of states (:class:`PCA`: mean, orthonormal components,
  explained-variance ratios, ``project``), with a fixed sign convention so outputs reproduce.
* :func:`principal_angles` and :func:`count_subspace` — how far the subspace DAS swaps for the
  count lies from the top principal components.
* :func:`count_order` — "ordered": the Spearman correlation of the count with a component, by phase.
* :func:`jump_at_T` — "a jump at T": the step the state takes on reading ``T`` against a typical
  demo-phase step.

Reading of an index (as everywhere in the package): the state at position ``p`` is the state
*after* reading token ``p``, and its labels are the program's variables after that token.

Shapes: ``N`` labelled positions, ``S`` the state size, ``C`` components, ``k`` subspace rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from numvars.dynamics import correlations
from numvars.models import CountingModel
from numvars.programs import DEMO, RESPONSE, get_program
from numvars.tasks import Task

#: the columns of :func:`state_table`'s labels
LABEL_COLUMNS = ("sequence", "position", "token", "count", "phase", "n", "is_T")


@torch.no_grad()
def state_table(model: CountingModel, task: Task, tokens: Tensor) -> tuple[Tensor, pd.DataFrame]:
    """The states of a one-member ``model`` on ``tokens`` (B, L), one row per non-PAD position.

    Returns ``(states, labels)``: ``states`` (N, S) float, ``model(tokens).states`` at those
    positions (sequence by sequence, position by position); ``labels`` a frame of N rows with
    :data:`LABEL_COLUMNS`: ``sequence`` (row of ``tokens``), ``position``, ``token`` (its
    name), ``count`` and ``phase`` (Up-Down's, *after* reading the token: ``B`` 0, each demo
    token +1, ``T`` switches the phase and keeps the count, each response −1, ``E`` keeps the 0),
    ``n`` (the sequence's N) and ``is_T`` (the position that switches the phase: ``T``, or in the
    bare framing the first response)."""
    if model.n_members != 1:
        raise ValueError(f"state_table reads one network; this ensemble has {model.n_members} members")
    states = model(tokens).states  # (B, L, S)
    real = tokens != task.pad_id
    up_down = get_program("up_down", task)
    rows = []
    for b, row in enumerate(tokens.tolist()):
        ids = [x for x in row if x != task.pad_id]
        switch, n, names = task.switch_position(ids), task.count(ids), task.decode(ids).split()
        for pos, view in enumerate(up_down.trace(ids)):
            rows.append(
                dict(
                    sequence=b,
                    position=pos,
                    token=names[pos],
                    count=view["count"],
                    phase=view["phase"],
                    n=n,
                    is_T=pos == switch,
                )
            )
    return states[real], pd.DataFrame(rows, columns=list(LABEL_COLUMNS))


@dataclass(frozen=True)
class PCA:
    """Principal components of a set of states: ``mean`` (S,), ``components`` (C, S)
    orthonormal rows, most variance first, and ``explained`` (C,) each one's share of the total
    variance (descending; sums to 1 when every component is kept)."""

    mean: Tensor
    components: Tensor
    explained: Tensor

    def project(self, states: Tensor) -> Tensor:
        """Coordinates of ``states`` (N, S) along the components: (N, C)."""
        return (states - self.mean) @ self.components.T


def pca(states: Tensor, n_components: int | None = None) -> PCA:
    """PCA of ``states`` (N, S) by an SVD of the centred data, keeping ``n_components`` (default:
    min(N, S)). Signs are fixed: the entry of largest magnitude of every component is positive."""
    states = states.detach().double()
    mean = states.mean(dim=0)
    _, singular, vh = torch.linalg.svd(states - mean, full_matrices=False)
    c = vh.shape[0] if n_components is None else n_components
    if not 1 <= c <= vh.shape[0]:
        raise ValueError(
            f"n_components must be in 1..{vh.shape[0]} for {states.shape[0]} states of size {states.shape[1]}, got {c}"
        )
    variance = singular**2
    total = variance.sum()
    components = vh[:c]
    signs = torch.sign(components.gather(1, components.abs().argmax(dim=1, keepdim=True)))
    explained = variance[:c] / total if total > 0 else torch.zeros(c, dtype=variance.dtype)
    return PCA(mean.float(), (components * signs).float(), explained.float())


def principal_angles(a: Tensor, b: Tensor) -> Tensor:
    """The principal angles in degrees, ascending, between the row spaces of ``a`` (k1, S) and
    ``b`` (k2, S) (each of full row rank): min(k1, k2) angles, 0 for a shared direction, 90 for
    orthogonal ones. Orthonormal bases by QR, then the arccos of the singular values of
    ``Qa Qbᵀ``."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"subspaces of different spaces: rows of size {a.shape[-1]} and {b.shape[-1]}")
    qa = torch.linalg.qr(a.detach().double().T).Q.T  # (k1, S) orthonormal rows
    qb = torch.linalg.qr(b.detach().double().T).Q.T
    cosines = torch.linalg.svdvals(qa @ qb.T).clamp(-1.0, 1.0)  # descending, so the angles ascend
    return torch.rad2deg(torch.arccos(cosines))


def count_subspace(rotation: Tensor, k: int) -> Tensor:
    """The subspace a DAS intervention writes into (k, S), for an alignment matrix ``rotation``
    (S, S) swapping its first ``k`` coordinates (:attr:`numvars.das.DasResult.rotation`).

    The swap moves a state by ``A⁻¹ M A (h_s − h_o)``: along the first ``k`` columns of
    ``A⁻¹``, returned as rows. For a rotation R (``A⁻¹ = Rᵀ``) that is ``R[:k]`` — the rows
    whose dot products with ``h`` are the swapped coordinates; for a linear alignment it is not
    the span of ``A[:k]``."""
    size = rotation.shape[-1]
    if rotation.shape != (size, size) or not 1 <= k <= size:
        raise ValueError(f"count_subspace needs one (S, S) matrix and k in 1..S; got {tuple(rotation.shape)} and k={k}")
    return torch.linalg.inv(rotation.detach().double())[:, :k].T.to(rotation.dtype)


def count_order(projected: Tensor, labels: pd.DataFrame, component: int = 0) -> pd.DataFrame:
    """How ordered the count is along one component: the Spearman correlation between the
    labels' ``count`` and ``projected[:, component]`` ((N, C), e.g. :meth:`PCA.project` of
    :func:`state_table`'s states), in the demo phase, the response phase and over all positions.
    Columns: phase (``"demo"``, ``"response"``, ``"all"``), spearman (±1: the count is a
    monotone function of the coordinate), n (positions)."""
    if len(projected) != len(labels):
        raise ValueError(f"{len(projected)} projected states for {len(labels)} labels")
    x = projected[:, component].detach().cpu().numpy()
    count, phase = labels["count"].to_numpy(), labels["phase"].to_numpy()
    rows = []
    for name in (DEMO, RESPONSE, "all"):
        keep = np.ones(len(x), dtype=bool) if name == "all" else phase == name
        rows.append(dict(phase=name, spearman=correlations(count[keep], x[keep])["spearman"], n=int(keep.sum())))
    return pd.DataFrame(rows)


def jump_at_T(states: Tensor, labels: pd.DataFrame) -> pd.DataFrame:
    """The step the state takes on reading ``T``, per sequence, against the typical step of the
    demo phase: ``jump`` = ‖h(T) − h(T−1)‖ (the states after ``T`` and after the token before
    it), ``median_demo_step`` = the median of ‖h(p) − h(p−1)‖ over consecutive positions both
    in the demo phase (``B`` to the first demo token included), ``ratio`` = jump / median.
    ``states`` (N, S) and ``labels`` as :func:`state_table` returns them. Columns: sequence, n,
    jump, median_demo_step, ratio; one row per sequence that has a ``T`` after a demo step."""
    if len(states) != len(labels):
        raise ValueError(f"{len(states)} states for {len(labels)} labels")
    sequences, positions = labels["sequence"].to_numpy(), labels["position"].to_numpy()
    is_demo, is_t, ns = labels["phase"].to_numpy() == DEMO, labels["is_T"].to_numpy(dtype=bool), labels["n"].to_numpy()
    rows = []
    for sequence in np.unique(sequences):
        at = np.flatnonzero(sequences == sequence)  # row numbers of states and labels
        at = at[np.argsort(positions[at], kind="stable")]
        h = states[torch.from_numpy(at)].detach().double()
        steps = (h[1:] - h[:-1]).norm(dim=1).numpy()  # steps[i]: from the i-th to the (i + 1)-th position
        demo, switch = is_demo[at], np.flatnonzero(is_t[at])
        demo_steps = steps[demo[1:] & demo[:-1]]
        if len(switch) == 0 or switch[0] == 0 or len(demo_steps) == 0:
            continue
        jump, typical = float(steps[switch[0] - 1]), float(np.median(demo_steps))
        rows.append(
            dict(
                sequence=int(sequence),
                n=int(ns[at[0]]),
                jump=jump,
                median_demo_step=typical,
                ratio=jump / typical if typical > 0 else float("inf"),
            )
        )
    return pd.DataFrame(rows, columns=["sequence", "n", "jump", "median_demo_step", "ratio"])


def variance_share(states: Tensor, subspace: Tensor) -> float:
    """The share of the variance of ``states`` (N, S) that lies in the row space of ``subspace``
    (k, S): 1 when every state differs from the mean only within it; k/S on average for a random
    subspace of isotropic states."""
    centred = (states - states.mean(dim=0)).detach().double()
    basis = torch.linalg.qr(subspace.detach().double().T).Q  # (S, k) orthonormal columns
    total = (centred**2).sum()
    return float(((centred @ basis) ** 2).sum() / total) if total > 0 else float("nan")


def summarise(states: Tensor, labels: pd.DataFrame, subspace: Tensor | None = None, top: int = 3) -> dict:
    """The geometry of one network's states in numbers (chapter 7's table, one row per network):

    * ``explained_1`` … ``explained_{top}``: variance shares of the top principal components, and
      ``components_90``: how many components hold 90 % of the variance;
    * ``phase_1``: the share of the first component's variance that lies between the phases
      (η²: 1 when the component tells only the phase, 0 when both phases spread alike about one mean);
    * ``count_pc`` (1-based): the one of the top components along which the count is most ordered
      (largest mean |Spearman| of the demo and response phases, :func:`count_order`), and its
      ``spearman_demo`` and ``spearman_response`` (absolute: the sign of a component is a convention);
    * ``jump_ratio``: the median over sequences of :func:`jump_at_T`'s ratio;
    * with the ``subspace`` (k, S) a DAS count swap moves (:func:`count_subspace`):
      ``das_angle``, the angle in degrees between ``count_pc`` and that subspace (about 45° for a
      random half of the state), and ``das_variance``, the share of the states' variance inside it
      (:func:`variance_share`; k/S for a random one)."""
    fit = pca(states)
    projected = fit.project(states)
    top = min(top, len(fit.explained))
    orders = [count_order(projected, labels, c).set_index("phase")["spearman"].abs() for c in range(top)]
    best = max(range(top), key=lambda c: (orders[c]["demo"] + orders[c]["response"]) / 2)
    cumulative = fit.explained.cumsum(0)
    row = {f"explained_{c + 1}": float(fit.explained[c]) for c in range(top)}
    first = pd.Series(projected[:, 0].numpy()).groupby(labels["phase"].to_numpy())
    phase_1 = float((first.transform("mean") ** 2).mean() / (pd.Series(projected[:, 0].numpy()) ** 2).mean())
    row.update(
        components_90=int((cumulative < 0.9).sum()) + 1,
        phase_1=phase_1,
        count_pc=best + 1,
        spearman_demo=float(orders[best]["demo"]),
        spearman_response=float(orders[best]["response"]),
        jump_ratio=float(jump_at_T(states, labels)["ratio"].median()),
    )
    if subspace is not None:
        row.update(
            das_angle=float(principal_angles(fit.components[best][None], subspace)[0]),
            das_variance=variance_share(states, subspace),
        )
    return row
