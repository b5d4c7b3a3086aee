"""Checkers for chapter 2's exercises (networks, patches, training, accuracy per count)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from numvars.check.core import (
    Malformed,
    Part,
    attempted,
    checker,
    close,
    equal,
    judged,
    kind_of,
    live_network,
    not_attempted,
    nothing_to_do,
    revealing,
    shown_answer,
    verdict,
    whole,
)
from numvars.models import Patch, generate
from numvars.tasks import Task

GATE_SEQUENCE = "B D D D D T R R R R E"  # exercise 2.1's sequence (Single-Object, N = 4)
HELD = 0.9  # exercise 2.1: a unit "holds" its value at a step when its update gate z is above this


@torch.no_grad()
def update_gates(model, ids) -> torch.Tensor:
    """(L, d) the update gate z of a one-member GRU at every step of the sequence ``ids`` —
    the arithmetic of chapter 2 §2.1 (gate blocks r, z, n of ``w_x``, ``w_h``)."""
    if model.config.arch != "gru":
        raise ValueError(f"an update gate belongs to a GRU, not a {model.config.arch}")
    d = model.config.d
    seq = torch.as_tensor([list(ids)])
    states = model(seq).states[0]  # (L, d)
    gx = model.embed(seq.unsqueeze(0))[0, 0] @ model.w_x[0] + model.b_x[0]  # (L, 3d)
    gh = torch.cat([torch.zeros(1, d), states[:-1]]) @ model.w_h[0] + model.b_h[0]  # from the state before each token
    return torch.sigmoid(gx[:, d : 2 * d] + gh[:, d : 2 * d])


@checker(
    "2.1",
    mistakes=[
        "z_copy = 0: reading the GRU update the other way round (h_t = (1 − z) n + z h_{t−1})",
        "taking the mean gate over the steps after E too, or over one unit only",
        "counting units held at some response step rather than at every one (T and each R)",
    ],
)
def ex_2_1(z_copy=..., largest_mean=..., units_held=...):
    """Exercise 2.1, the update gate of the live GRU (quick profile, seed 0) on
    ``B D D D D T R R R R E``: ``z_copy`` (a number) the value of z that copies the state
    unchanged; ``largest_mean`` (a number, ± 0.02) the largest mean of z over the d units at the
    steps of the trial (``B`` to the last ``R``: after ``E`` there is nothing to hold);
    ``units_held`` (an int) how many units have z > 0.9 at every step of the response phase
    (``T`` and each ``R``)."""
    task = Task("single")
    ids = task.encode(GATE_SEQUENCE)
    z = update_gates(live_network("gru", 0), ids)
    trial = z[: ids.index(task.eos_id)]  # B .. the last R
    means = trial.mean(dim=1)
    step = int(means.argmax())
    responses = z[ids.index(task.trigger_id) : ids.index(task.eos_id)]  # T and every R
    held = int((responses > HELD).all(dim=0).sum())
    return verdict(
        "2.1",
        close("z_copy", z_copy, 1.0, 0.0, "h_t = (1 − z) n + z h_{t−1} is h_{t−1} when z = 1", digits=1),
        close(
            "largest_mean",
            largest_mean,
            float(means.max()),
            0.02,
            f"at step {step} ({task.decode([ids[step]])}); the mean gate stays between "
            f"{float(means.min()):.2f} and {float(means.max()):.2f}: far from 1 at every step",
            digits=2,
        ),
        _units_held(units_held, held, z.shape[1]),
    )


@judged
def _units_held(answer, held: int, units: int) -> Part:
    if attempted(answer):
        answer = whole(answer, "units_held", "a whole number of units")
    return equal(
        "units_held",
        answer,
        held,
        f"of {units} units, {held} keep z > {HELD} through T and every R: the count goes down by one "
        "at every response, so a unit that copied its value could not carry it",
    )


@torch.no_grad()
def whole_state_swap(arch: str, seed: int = 0, target_n: int = 5, source_n: int = 8) -> int:
    """Exercise 2.3's experiment: the live ``arch`` network reads ``B``, ``target_n`` demos and
    ``T``, its state after the last demo replaced by its state after the last demo of a
    ``source_n`` sequence; the number of ``R`` it then generates greedily before ``E`` (-1 if it
    never says ``E`` or says something else)."""
    task = Task("single")
    model = live_network(arch, seed).eval()
    prefix = task.encode(" ".join(["B", *["D"] * target_n, "T"]))
    source = task.encode(" ".join(["B", *["D"] * source_n, "T"]))
    h_s = model(torch.tensor([source])).states[0, source_n]
    patch = Patch(torch.tensor([0]), torch.tensor([target_n]), h_s[None])
    new = task.decode(
        generate(model, prefix, patch=patch, max_new=3 * source_n, stop=task.eos_id)[len(prefix) :]
    ).split()
    if "E" not in new or set(new[: new.index("E")]) - {"R"}:
        return -1
    return new.index("E")


@checker(
    "2.3",
    mistakes=[
        "expecting the transformer to follow the swapped state like the RNNs (it re-reads the demo tokens)",
        "expecting an RNN to keep the target's N: after the swap, everything it carries is the source's",
    ],
)
def ex_2_3(gru=..., lstm=..., transformer=...):
    """Exercise 2.3: target ``B D D D D D T`` (N = 5), its state after the last ``D`` replaced by
    the state after the last ``D`` of ``B D D D D D D D D T`` (N = 8); how many ``R`` does each
    live network (quick profile, seed 0) generate greedily before ``E``? Three ints. A network
    the store lacks is trained first (about 30 s)."""
    answers = {"gru": gru, "lstm": lstm, "transformer": transformer}
    if nothing_to_do(*answers.values()):
        return verdict("2.3", *(not_attempted(name) for name in answers))
    return verdict("2.3", *(_swap_part(name, answer) for name, answer in answers.items()))


@judged
def _swap_part(name: str, answer) -> Part:
    if attempted(answer):
        answer = whole(answer, name, "a number of responses")
    produced = whole_state_swap(name)
    if produced == 5:
        why = (
            "the target's own N: the swapped state does not decide the count — a transformer's later "
            "positions re-read the demo tokens themselves (attention), not a state passed along"
        )
    elif produced == 8:
        why = "the source's N: everything after the swap carries on from the swapped state, count included"
    else:
        why = "what it generated (-1: no clean run of R then E)"
    return equal(name, answer, produced, why)


def held_out_failures(table=None) -> dict[int, list[int]]:
    """Exercise 2.4: ``{seed: [N, …]}`` — the held-out counts on which each Same-Object
    transformer of the main paper grid (its analysed checkpoint) is below accuracy 1; seeds
    that get every held-out count right are left out."""
    from numvars.results import read_table

    table = read_table("paper", "accuracy_per_count.csv") if table is None else table
    task = Task("same")
    rows = table[(table["experiment"] == "main") & (table["arch"] == "transformer") & (table["task"] == "same")]
    rows = rows[rows["N"].map(lambda n: task.count_range(n) == "held-out")]
    if rows.duplicated(["seed", "N"]).any():
        raise ValueError("more than one main-grid Same-Object transformer per seed and N in the table")
    failing = rows[rows["accuracy"] < 1]
    return {int(seed): sorted(int(n) for n in group["N"]) for seed, group in failing.groupby("seed")}


@checker(
    "2.4",
    mistakes=[
        "listing in-range counts, or every count below accuracy 1 rather than the held-out ones",
        "keeping seeds that fail on no held-out count (leave them out)",
        "reading another grid's or another task's transformers",
    ],
)
def ex_2_4(failures=...):
    """Exercise 2.4: from ``results/paper/accuracy_per_count.csv``, the Same-Object transformer
    seeds (main grid) that fail on held-out counts — a dict ``{seed: [N, …]}`` (ints; seeds
    with no failure left out)."""
    task = Task("same")
    held_out = [n for n in task.eval_counts if task.count_range(n) == "held-out"]
    why = (
        f"held-out counts are {held_out}; a Same-Object sequence of one N is unique, so each accuracy is 0 or 1; "
        "the other seeds are right on all of them"
    )
    if not attempted(failures):
        return verdict("2.4", not_attempted("failures", str(held_out_failures()) if revealing() else "", why))
    return verdict("2.4", _failures_part(failures, held_out_failures(), why))


def _failure_dict(failures) -> dict[int, list[int]]:
    """The learner's ``{seed: [N, …]}`` with ints and sorted lists; :class:`Malformed` otherwise."""
    if not isinstance(failures, Mapping):
        raise Malformed("failures", f"{kind_of(failures)} {shown_answer(failures)}, expected a dict {{seed: [N, …]}}")
    answer = {}
    for seed, counts in failures.items():
        seed = whole(seed, "failures", "seeds as keys")
        if isinstance(counts, (str, bytes)) or not hasattr(counts, "__iter__"):
            raise Malformed("failures", f"failures[{seed}] is {kind_of(counts)}, expected a list of counts N (ints)")
        answer[seed] = sorted(whole(n, "failures", f"counts N of seed {seed}") for n in counts)
    return {seed: counts for seed, counts in answer.items() if counts}


@judged
def _failures_part(failures, expected: dict[int, list[int]], why: str) -> Part:
    answer = _failure_dict(failures)
    if answer == expected:
        return Part("failures", True, f"{expected} — {why}", expected=str(expected))
    first = next(seed for seed in sorted({*answer, *expected}) if answer.get(seed) != expected.get(seed))
    what = (
        "a seed that fails on no held-out count"
        if first not in expected
        else "a failing seed is missing"
        if first not in answer
        else "its list of counts is not right"
    )
    return Part(
        "failures",
        False,
        why,
        miss=f"you wrote {answer}: first difference at seed {first} ({what})",
        expected=str(expected),
    )
