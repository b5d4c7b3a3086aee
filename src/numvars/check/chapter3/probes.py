"""Checkers for chapter 3's exercises 3.4–3.5: a linear probe against the intervention, and a copied
rotation told from a learned one."""

from __future__ import annotations

import torch

from numvars.check.chapter3.interventions import count_fits, frozen_test_runs
from numvars.check.core import (
    Malformed,
    Part,
    attempted,
    checker,
    choice,
    close,
    judged,
    kind_of,
    not_attempted,
    nothing_to_do,
    shown_answer,
    verdict,
)
from numvars.programs import get_program
from numvars.tasks import Task

PROBE_SEQUENCES = 300  # exercise 3.4: sequences to fit the probe on (seed 0) and to test it on (seed 1)


@torch.no_grad()
def probe_data(model, seed: int, n: int = PROBE_SEQUENCES) -> tuple[torch.Tensor, torch.Tensor]:
    """Exercise 3.4: the states (M, S) of ``model`` after every demo and response token of
    ``n`` Single-Object sequences drawn with ``seed``, and Up-Down's ``count`` there (M,),
    both float64."""
    task = Task("single")
    up_down = get_program("up_down", task)
    sequences = task.sample(n, seed=seed)
    states = model(task.pad(sequences)).states  # (n, L, S)
    rows, counts = [], []
    for i, ids in enumerate(sequences):
        for t, (token, state) in enumerate(zip(ids, up_down.states(ids))):
            if token in task.demo_ids or token == task.response_id:
                rows.append(states[i, t])
                counts.append(state["count"])
    return torch.stack(rows).double(), torch.tensor(counts, dtype=torch.float64)


def probe_r2(x_fit, y_fit, x_test, y_test) -> float:
    """R² on (``x_test``, ``y_test``) of the least-squares linear fit (with an intercept) of
    ``y_fit`` on ``x_fit``."""
    ones = lambda x: torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)  # noqa: E731
    weights = torch.linalg.lstsq(ones(x_fit), y_fit[:, None]).solution
    residual = y_test - (ones(x_test) @ weights)[:, 0]
    return float(1 - residual.pow(2).sum() / (y_test - y_test.mean()).pow(2).sum())


def probe_versus_intervention() -> dict[str, float]:
    """Exercise 3.4's measurements on the live GRU (quick profile, Single-Object, seed 0): the
    probe's test R² on the full state, on the k rotated coordinates DAS swaps and on those of
    the stored random-rotation control; and the two alignments' test IIA."""
    from numvars.jobs import load_measurement

    model, learned, random = count_fits()
    (x_fit, y_fit), (x_test, y_test) = probe_data(model, 0), probe_data(model, 1)
    out = {"r2_full": probe_r2(x_fit, y_fit, x_test, y_test)}
    for name, config in [("das", learned), ("random", random)]:
        fit = load_measurement(config)
        rows = fit.alignment().rotation.double()[: fit.k]  # the swapped subspace: the first k rows of R
        out[f"r2_{name}"] = probe_r2(x_fit @ rows.T, y_fit, x_test @ rows.T, y_test)
        out[f"iia_{name}"] = fit.test_iia
    return out


@checker(
    "3.4",
    mistakes=[
        "reading 'decodable' as 'used': expecting the random subspace to be far worse for a probe",
        "fitting and testing the probe on the same sequences",
        "probing at every token (B, T, E included) instead of the demo and response tokens",
    ],
)
def ex_3_4(random_far_worse=..., r2_full=..., r2_das=..., r2_random=...):
    """Exercise 3.4, probe versus intervention on the live GRU: ``random_far_worse`` (``"yes"`` or
    ``"no"``) — does a linear probe read the count from the random rotation's swapped subspace
    far worse (R² lower by more than 0.1) than from DAS's? Then the probe's test R² (numbers,
    ± 0.02) on the full state, DAS's subspace and the random one (fit on 300 sequences of seed
    0, tested on 300 of seed 1, at every demo and response token)."""
    answers = {"random_far_worse": random_far_worse, "r2_full": r2_full, "r2_das": r2_das, "r2_random": r2_random}
    if nothing_to_do(*answers.values()):
        return verdict("3.4", *(not_attempted(name) for name in answers))
    m = probe_versus_intervention()
    worse = "yes" if m["r2_das"] - m["r2_random"] > 0.1 else "no"
    why = (
        f"the IIA is {m['iia_das']:.3f} (DAS) against {m['iia_random']:.3f} (random), yet the count can be read from "
        "almost any subspace: only DAS's is the one the network uses — decodable is not causal"
    )
    return verdict(
        "3.4",
        choice("random_far_worse", random_far_worse, worse, ("yes", "no"), why),
        close("r2_full", r2_full, m["r2_full"], 0.02, "all S coordinates"),
        close("r2_das", r2_das, m["r2_das"], 0.02, "the k rotated coordinates DAS swaps"),
        close("r2_random", r2_random, m["r2_random"], 0.02, "the random rotation's k coordinates"),
    )


#: exercise 3.5: a rotation is right from this fraction of the way from the random rotation's
#: test IIA to the stored fit's (the chapter's loop on the quick GRU: 5 epochs reach 59 % of it,
#: 20 epochs 74 %, the prompt's 40 epochs 85 %; its subspace is then 0.18 from the stored fit's)
PASS_FRACTION = 0.75
#: exercise 3.5: a swapped subspace this close to the stored fit's (the distance of
#: :func:`subspace_distance`, 0 for the same subspace, 1 for orthogonal ones) is a copy of it
COPY_DISTANCE = 0.05


def subspace_distance(rows_a: torch.Tensor, rows_b: torch.Tensor) -> float:
    """How far apart the subspaces spanned by the orthonormal rows ``rows_a`` and ``rows_b``
    (k, S) are: ``‖P_a − P_b‖_F / √(2k)`` with ``P = rowsᵀ rows`` — 0 for the same subspace
    (whatever rotation within it), 1 for orthogonal ones."""
    k = rows_a.shape[0]
    if k == 0:
        return 0.0
    a, b = rows_a.double(), rows_b.double()
    return float((a.T @ a - b.T @ b).norm() / (2 * k) ** 0.5)


def _copied(alignment, stored_rotation: torch.Tensor, k: int) -> float | None:
    """The subspace distance of ``alignment``'s swapped rows to the stored fit's, if it has a rotation of that shape."""
    rotation = getattr(alignment, "rotation", None)
    if not isinstance(rotation, torch.Tensor) or rotation.shape != stored_rotation.shape:
        return None
    return subspace_distance(rotation.detach()[:k], stored_rotation[:k])


@checker(
    "3.5",
    mistakes=[
        "passing the stored fit (fit.alignment()), a copy of it, or it re-rotated within its subspace: refused",
        "too few epochs, or a learning rate too small to move R far from the random start",
        "training the network instead of R (the network must stay frozen)",
        "the loss on every token instead of the scored ones",
    ],
)
def ex_3_5(alignment=...):
    """Exercise 3.5: the rotation your own DAS loop trained for Up-Down's ``count`` on the live
    GRU (an ``nv.das.LearnedRotation`` or any alignment module ``(h_o, h_s) -> h_v`` on states
    of size S), scored on the test pairs of the chapter's stored fit. Right when its test IIA is
    at least :data:`PASS_FRACTION` of the way from the random rotation's (where training
    starts) to the stored fit's. A rotation whose swapped subspace is within
    :data:`COPY_DISTANCE` of the stored fit's is a copy of it, refused."""
    if nothing_to_do(alignment):
        return verdict("3.5", not_attempted("test IIA"))
    from numvars.jobs import load_measurement

    model, learned, random = count_fits()
    stored, control = load_measurement(learned), load_measurement(random)
    bar = control.test_iia + PASS_FRACTION * (stored.test_iia - control.test_iia)
    why = (
        f"the stored fit scores {stored.test_iia:.3f} ({len(stored.history)} epochs, the best kept), a random rotation "
        f"{control.test_iia:.3f}; right from {bar:.3f}, {PASS_FRACTION:.0%} of the way"
    )
    if not attempted(alignment):
        return verdict("3.5", not_attempted("test IIA", f"at least {bar:.3f}", why))
    if not isinstance(alignment, torch.nn.Module):
        raise Malformed(
            "test IIA",
            f"{kind_of(alignment)} {shown_answer(alignment)}, expected the trained alignment "
            "itself (an nv.das.LearnedRotation)",
        )
    distance = _copied(alignment, stored.alignment().rotation.detach(), stored.k)
    if distance is not None and distance < COPY_DISTANCE:
        return verdict(
            "3.5",
            Part(
                "test IIA",
                False,
                miss=(
                    f"its swapped subspace is within {distance:.2g} of the chapter's stored fit (fit.alignment()): "
                    "that is a copy of it — train your own"
                ),
            ),
        )
    return verdict("3.5", _score(model, learned, alignment, bar, why))


@judged
def _score(model, learned, alignment, bar: float, why: str) -> Part:
    from numvars import das

    size = model.config.state_size
    try:
        with torch.no_grad():
            shape = tuple(alignment(torch.zeros(2, size), torch.zeros(2, size)).shape)
    except Exception as error:  # the learner's module: say what it could not do
        raise Malformed(
            "test IIA", f"your alignment could not swap two (n, {size}) states: {type(error).__name__}: {error}"
        ) from None
    if shape != (2, size):
        raise Malformed("test IIA", f"your alignment should map (n, {size}) states to (n, {size}), it gave {shape}")
    with torch.no_grad():
        yours = das.iia(model, frozen_test_runs(model, learned), alignment)
    if yours >= bar:
        return Part("test IIA", True, f"yours {yours:.3f} — {why}", expected=f"at least {bar:.3f}")
    return Part(
        "test IIA",
        False,
        why,
        expected=f"at least {bar:.3f}",
        miss=f"yours {yours:.3f}: below the bar, {PASS_FRACTION:.0%} of the way from the random rotation's "
        "test IIA to the stored fit's — train longer, or check the loss and the learning rate",
    )
