"""Checkers for chapter 1's exercises (tasks, programs, interchange interventions)."""

from __future__ import annotations

from numvars.check.core import Part, attempted, not_attempted, sequence, verdict
from numvars.programs import MAX_EXTRA_DEMOS, Program, UpDown, get_program, sample_pairs
from numvars.tasks import Task


def ex_1_1(up_down=..., demo_count=..., resp_count=...):
    """Exercise 1.1: target ``B D D D D T R R R R E`` swapped after position 6, source
    ``B D D T R R E`` at position 2 — the counterfactual (a token string) of Up-Down ``count``,
    Up-Up ``demo_count`` and Up-Up ``resp_count``."""
    task = Task("single")
    target, source = task.encode("B D D D D T R R R R E"), task.encode("B D D T R R E")
    parts = []
    for name, answer, program, variable in [("up_down", up_down, "up_down", "count"),
                                            ("demo_count", demo_count, "up_up", "demo_count"),
                                            ("resp_count", resp_count, "up_up", "resp_count")]:
        program = get_program(program, task)
        before, after = program.states(target)[6][variable], program.states(source)[2][variable]
        expected = program.counterfactual(target, 6, source, 2, variable)
        parts.append(sequence(task, name, answer, expected, f"{variable} goes from {before} to {after} after position 6"))
    return verdict("1.1", *parts)


def ex_1_3(program_class=...):
    """Exercise 1.3: a Down-Up program class (a :class:`~numvars.programs.Program` subclass,
    constructed from a task) that solves the task and whose ``count`` counterfactuals are
    Up-Down's on 200 Multi-Object pairs."""
    if not attempted(program_class):
        return verdict("1.3", not_attempted("Down-Up"))
    task = Task("multi")
    if not (isinstance(program_class, type) and issubclass(program_class, Program)):
        raise TypeError(f"pass the class itself (a subclass of nv.programs.Program), got {program_class!r}")
    down_up, up_down = program_class(task), UpDown(task)
    if "count" not in down_up.variables:
        return verdict("1.3", Part("Down-Up", False, f"it carries {list(down_up.variables)}, not a `count` to swap"))
    accuracy = down_up.accuracy(task.sample(200, seed=0))
    solves = Part("solves the task", accuracy == 1.0, f"{accuracy:.0%} of 200 sequences right")
    mismatches = [(i, pair) for i, pair in enumerate(sample_pairs(task, 200, seed=0))
                  if down_up.counterfactual(*pair, "count", seed=i) != up_down.counterfactual(*pair, "count", seed=i)]
    if mismatches:
        i, pair = mismatches[0]
        why = (f"differ on {len(mismatches)} of 200 pairs; first: target {task.decode(pair.target)} at t = {pair.t}, "
               f"source {task.decode(pair.source)} at u = {pair.u}: yours gives "
               f"{task.decode(down_up.counterfactual(*pair, 'count', seed=i))}")
    else:
        why = "equal to Up-Down's on all 200 pairs: the swap sees the count's causal role, not its sign"
    return verdict("1.3", solves, Part("count counterfactuals", not mismatches, why))


def ex_1_4(a=..., b=...):
    """Exercise 1.4: (a) Up-Up ``resp_count``, target ``B D D T R R E`` at t = 4, source
    ``B D D D D D T R R R R R E`` at u = 10; (b) Up-Down ``phase``, target ``B D D D T R R R E``
    at t = 6, source ``B D D T R R E`` at u = 1 — any legal continuation is right, and the
    checker says whether it is the one seed 1 draws."""
    task = Task("single")
    up_up, up_down = get_program("up_up", task), get_program("up_down", task)
    target_a, source_a = task.encode("B D D T R R E"), task.encode("B D D D D D T R R R R R E")
    part_a = sequence(task, "a", a, up_up.counterfactual(target_a, 4, source_a, 10, "resp_count"),
                      "resp_count becomes 4 ≥ demo_count 2: an impossible request, so E at once")
    target_b, source_b = task.encode("B D D D T R R R E"), task.encode("B D D T R R E")
    seed_1 = up_down.counterfactual(target_b, 6, source_b, 1, "phase", seed=1)
    legal = {task.decode(up_down.counterfactual(target_b, 6, source_b, 1, "phase", seed=seed)) for seed in range(200)}
    assert len(legal) == MAX_EXTRA_DEMOS + 1, "every number of extra demos should appear in 200 seeds"
    if not attempted(b):
        part_b = not_attempted("b")
    else:
        if not isinstance(b, str):
            raise TypeError(f"b should be a string of tokens such as 'B D D T R R E', got {b!r}")
        answer = task.decode(task.encode(b))
        why = ("back in the demo phase with count 1: 0–3 more D, a second T, then one R more than the extra D's; "
               f"seed 1 draws {'this one' if answer == task.decode(seed_1) else task.decode(seed_1)}")
        part_b = (Part("b", True, f"{answer} — {why}") if answer in legal
                  else Part("b", False, f"you wrote {answer}, expected one of {sorted(legal)} — {why}"))
    return verdict("1.4", part_a, part_b)
