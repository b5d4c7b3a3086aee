"""Checkers for chapter 1's exercises (tasks, programs, interchange interventions)."""

from __future__ import annotations

from numvars.check.core import (
    Malformed,
    Part,
    attempted,
    checker,
    judged,
    kind_of,
    not_attempted,
    sequence,
    shown_answer,
    tokens,
    verdict,
)
from numvars.programs import MAX_EXTRA_DEMOS, CtxDistr, Program, UpDown, UpUp, get_program, sample_pairs
from numvars.tasks import Task

#: the package's own programs: exercise 1.3 asks for a class of the learner's own
LIBRARY_PROGRAMS = (Program, UpDown, UpUp, CtxDistr)


@checker(
    "1.1",
    mistakes=[
        "counting the swapped position's own token twice, or not at all (off by one response)",
        "swapping Up-Up's demo_count but continuing from the source's responses made",
        "copying the source's continuation instead of the target's prefix up to t",
    ],
)
def ex_1_1(up_down=..., demo_count=..., resp_count=...):
    """Exercise 1.1: target ``B D D D D T R R R R E`` swapped after position 6, source
    ``B D D T R R E`` at position 2 — the counterfactual (a token string) of Up-Down ``count``,
    Up-Up ``demo_count`` and Up-Up ``resp_count``."""
    task = Task("single")
    target, source = task.encode("B D D D D T R R R R E"), task.encode("B D D T R R E")
    parts = []
    for name, answer, program, variable in [
        ("up_down", up_down, "up_down", "count"),
        ("demo_count", demo_count, "up_up", "demo_count"),
        ("resp_count", resp_count, "up_up", "resp_count"),
    ]:
        program = get_program(program, task)
        before, after = program.states(target)[6][variable], program.states(source)[2][variable]
        expected = program.counterfactual(target, 6, source, 2, variable)
        parts.append(
            sequence(task, name, answer, expected, f"{variable} goes from {before} to {after} after position 6")
        )
    return verdict("1.1", *parts)


def counts_down(program: Program, task: Task, n: int = 20) -> bool:
    """Does ``program``'s ``count`` go down at every demo token of ``n`` seeded sequences?"""
    for ids in task.sample(n, seed=0):
        states = program.states(ids)
        for t in range(1, len(ids)):
            if ids[t] in task.demo_ids and not states[t]["count"] < states[t - 1]["count"]:
                return False
    return True


DOWN_UP_PARTS = ("counts down", "solves the task", "count counterfactuals")


@checker(
    "1.3",
    mistakes=[
        "passing the package's UpDown (or an empty subclass of it): its count goes up in the demo phase",
        "a counter that goes down but never says E, or says it one response early (the task is not solved)",
        "a class without a `count` variable to swap",
        "an instance instead of the class",
    ],
)
def ex_1_3(program_class=...):
    """Exercise 1.3: a Down-Up program class (a :class:`~numvars.programs.Program` subclass of your
    own, constructed from a task) whose ``count`` goes down at every demo token, that solves the
    task, and whose ``count`` counterfactuals are Up-Down's on 200 Multi-Object pairs. The
    package's own program classes are refused."""
    keys = (
        "a Program subclass of your own whose count goes down by one at every demo token",
        "up by one per response, saying E when it is back at 0: right on every sequence",
        "equal to Up-Down's on all 200 pairs: the swap sees the count's causal role, not its sign",
    )
    if not attempted(program_class):
        return verdict("1.3", *(not_attempted(name, why=key) for name, key in zip(DOWN_UP_PARTS, keys)))
    if program_class in LIBRARY_PROGRAMS:
        return verdict(
            "1.3",
            Part(
                "Down-Up",
                False,
                miss=f"that is the package's own {program_class.__name__}: "
                "write a class of your own whose count goes down in the demo phase",
            ),
        )
    if not (isinstance(program_class, type) and issubclass(program_class, Program)):
        raise Malformed(
            "Down-Up",
            f"{kind_of(program_class)} {shown_answer(program_class)}, expected the class itself "
            "(a subclass of nv.programs.Program), not an instance",
        )
    task = Task("multi")
    down_up, up_down = program_class(task), UpDown(task)
    if "count" not in down_up.variables:
        return verdict(
            "1.3", Part("Down-Up", False, miss=f"it carries {list(down_up.variables)}, not a `count` to swap")
        )
    down = counts_down(down_up, task)
    going_down = Part(
        "counts down",
        down,
        "its count goes down at every demo token of 20 sequences",
        miss="its count does not go down at every demo token: that is an Up-Down, not a Down-Up",
    )
    accuracy = down_up.accuracy(task.sample(200, seed=0))
    solves = Part(
        "solves the task",
        accuracy == 1.0,
        f"{accuracy:.0%} of 200 sequences right",
        miss=f"{accuracy:.0%} of 200 sequences right",
    )
    return verdict("1.3", going_down, solves, _same_counterfactuals(task, down_up, up_down))


@judged
def _same_counterfactuals(task: Task, down_up: Program, up_down: Program) -> Part:
    mismatches = [
        (i, pair)
        for i, pair in enumerate(sample_pairs(task, 200, seed=0))
        if down_up.counterfactual(*pair, "count", seed=i) != up_down.counterfactual(*pair, "count", seed=i)
    ]
    if not mismatches:
        return Part(
            "count counterfactuals",
            True,
            "equal to Up-Down's on all 200 pairs: the swap sees the count's causal role, not its sign",
        )
    i, pair = mismatches[0]
    return Part(
        "count counterfactuals",
        False,
        miss=(
            f"differ from Up-Down's on {len(mismatches)} of 200 pairs; first: target {task.decode(pair.target)} at "
            f"t = {pair.t}, source {task.decode(pair.source)} at u = {pair.u}: yours gives "
            f"{task.decode(down_up.counterfactual(*pair, 'count', seed=i))}"
        ),
    )


def departure(answer: list[str], legal: set[str]) -> str:
    """How far ``answer`` follows some legal continuation before leaving all of them."""
    longest = max(
        next((i for i, (a, b) in enumerate(zip(answer, seq.split())) if a != b), min(len(answer), len(seq.split())))
        for seq in legal
    )
    if longest == len(answer):
        return f"it stops after {len(answer)} tokens, before any legal continuation ends"
    return f"no legal continuation has {answer[longest]} at token {longest + 1}"


@judged
def _phase_swap(task: Task, b, legal: set[str], seed_1: str, why: str) -> Part:
    if not attempted(b):
        return not_attempted("b", f"any of {sorted(legal)}", why)
    answer = tokens(task, "b", b)
    if answer in legal:
        return Part("b", True, f"{answer} — {why}; seed 1 draws {'this one' if answer == seed_1 else seed_1}")
    return Part(
        "b",
        False,
        why,
        miss=f"you wrote {answer}: {departure(answer.split(), legal)}",
        expected=f"any of {sorted(legal)}",
    )


@checker(
    "1.4",
    mistakes=[
        "(a) continuing with responses although resp_count ≥ demo_count is an impossible request (E at once)",
        "(a) swapping at the wrong position (off by one: position 4 is the first R)",
        "(b) staying in the response phase after a phase swap to the demo phase",
        "(b) adding a second T or none, or the wrong number of R after the extra D's",
    ],
)
def ex_1_4(a=..., b=...):
    """Exercise 1.4: (a) Up-Up ``resp_count``, target ``B D D T R R E`` at t = 4, source
    ``B D D D D D T R R R R R E`` at u = 10; (b) Up-Down ``phase``, target ``B D D D T R R R E``
    at t = 6, source ``B D D T R R E`` at u = 1 — any legal continuation is right, and the
    checker says whether it is the one seed 1 draws."""
    task = Task("single")
    up_up, up_down = get_program("up_up", task), get_program("up_down", task)
    target_a, source_a = task.encode("B D D T R R E"), task.encode("B D D D D D T R R R R R E")
    part_a = sequence(
        task,
        "a",
        a,
        up_up.counterfactual(target_a, 4, source_a, 10, "resp_count"),
        "resp_count becomes 4 ≥ demo_count 2: an impossible request, so E at once",
    )
    target_b, source_b = task.encode("B D D D T R R R E"), task.encode("B D D T R R E")
    seed_1 = task.decode(up_down.counterfactual(target_b, 6, source_b, 1, "phase", seed=1))
    legal = {task.decode(up_down.counterfactual(target_b, 6, source_b, 1, "phase", seed=seed)) for seed in range(200)}
    assert len(legal) == MAX_EXTRA_DEMOS + 1, "every number of extra demos should appear in 200 seeds"
    why = "back in the demo phase with count 1: 0–3 more D, a second T, then one R more than the extra D's"
    return verdict("1.4", part_a, _phase_swap(task, b, legal, seed_1, why))
