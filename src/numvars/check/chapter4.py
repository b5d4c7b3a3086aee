"""Checkers for chapter 4's exercises (which program does each network run?)."""

from __future__ import annotations

import functools

import numpy as np

from numvars.check.core import (
    Malformed,
    Part,
    attempted,
    checker,
    close,
    judged,
    kind_of,
    not_attempted,
    nothing_to_do,
    out_of_reach,
    shown_answer,
    verdict,
)
from numvars.das import make_pairs, program_completes
from numvars.programs import CtxDistr, Pair, Program, get_program, sample_pairs
from numvars.tasks import Task

#: the Single-Object pairs exercises 4.1 and 4.3 tell the learner to draw (the live networks' task)
N_PAIRS, PAIR_SEED = 1_000, 0
#: chance levels per measure (exercise 4.3): measure -> (program, variable)
MEASURES = {
    "count": ("up_down", "count"),
    "phase": ("up_down", "phase"),
    "demo_count": ("up_up", "demo_count"),
    "resp_count": ("up_up", "resp_count"),
}


def _paper_means(task: str, arch: str | None = None):
    """Mean test IIA of the committed paper grid's analysed networks on ``task``, per arch and variable."""
    from numvars.results import analysed, read_table

    rows = analysed(read_table("paper", "das.csv"))
    rows = rows[(rows["task"] == task) & rows["method"].isin(["learned", "full_swap"])]
    if arch is not None:
        rows = rows[rows["arch"] == arch]
    return rows.groupby(["arch", "variable"])["test_iia"].mean()


@functools.lru_cache(maxsize=8)
def full_swap_levels(task: Task, n_pairs: int = N_PAIRS, seed: int = PAIR_SEED) -> tuple[float, float]:
    """On the full-swap pairs ``make_pairs(ctx_distr, None, n_pairs, seed)``: the IIA of a
    context re-reader and of an Up-Down network that carries its whole state."""
    pairs, up_down = make_pairs(get_program("ctx_distr", task), None, n_pairs, seed=seed), get_program("up_down", task)
    carried = []
    for i in range(len(pairs)):  # the carrier's state after t is the source's after u; it reads the unchanged target on
        ids, u = [x for x in pairs.tokens[i].tolist() if x != task.pad_id], int(pairs.u[i])
        source_state = up_down.states(pairs.sources[i, : u + 1].tolist())[u]
        carried.append(program_completes(up_down, source_state, ids, int(pairs.t[i]) + 1, pairs.score[i].tolist()))
    return float(pairs.rereader_correct.float().mean()), sum(carried) / len(carried)


@checker(
    "4.1",
    mistakes=[
        "a carrier at 0: forgetting that a swap between same-phase positions holding the same count writes back what the target had",
        "a re-reader below 1: it ignores the swap, and a full swap scores the unchanged target's continuation",
        "a percentage instead of a share",
    ],
)
def ex_4_1(rereader=..., carrier=...):
    """Exercise 4.1: on 1 000 Single-Object full-swap pairs
    (``nv.das.make_pairs(nv.get_program("ctx_distr", task), None, 1000, seed=0)``), the full-swap
    IIA (a number in [0, 1]) of a network that re-reads its context (``rereader``) and of one that
    runs Up-Down and carries everything in its state (``carrier``)."""
    if nothing_to_do(rereader, carrier):
        return verdict("4.1", not_attempted("rereader"), not_attempted("carrier"))
    expected_rereader, expected_carrier = full_swap_levels(Task("single"))
    measured = _paper_means("single")
    rnn = ", ".join(f"{arch.upper()} {measured[(arch, 'full_swap')]:.2f}" for arch in ("gru", "lstm"))
    return verdict(
        "4.1",
        close(
            "rereader",
            rereader,
            expected_rereader,
            0.02,
            "it ignores the swap and re-reads the unchanged target, whose continuation is what a full swap scores",
            share=True,
        ),
        close(
            "carrier",
            carrier,
            expected_carrier,
            0.03,
            "not 0: a swap between same-phase positions that hold the same count writes back the state the target "
            f"already had; the paper grid's Single-Object RNNs measure {rnn} (results/paper/das.csv)",
            share=True,
        ),
    )


def _coincide_truth(task: Task, pairs) -> list[bool]:
    up_down, up_up = get_program("up_down", task), get_program("up_up", task)
    return [
        up_down.counterfactual(*pair, "count", seed=i) == up_up.counterfactual(*pair, "demo_count", seed=i)
        for i, pair in enumerate(pairs)
    ]


#: what exercise 4.2's rule may not call while it runs: the programs' counterfactuals
COUNTERFACTUALS = (
    (Program, "counterfactual"),
    (Program, "counterfactual_trace"),
    (Program, "_intervene_and_continue"),
    (CtxDistr, "_intervene_and_continue"),
    (Program, "intervene"),
)


@checker(
    "4.2",
    mistakes=[
        "computing both counterfactuals and comparing them (the prompt forbids it; the programs' counterfactuals are out of reach)",
        "comparing the counts at t and u instead of the responses already made",
        "forgetting the impossible requests, where both programs say E at once",
    ],
)
def ex_4_2(coincide=...):
    """Exercise 4.2: a rule ``coincide(task, pair) -> bool`` (``pair`` an
    :class:`~numvars.programs.Pair`: target, t, source, u) that says, without computing any
    counterfactual, whether Up-Down's ``count`` counterfactual equals Up-Up's ``demo_count``
    counterfactual. Checked on ``nv.sample_pairs(nv.Task("multi"), 1000, seed=0)`` (pair i with
    seed i, as :func:`numvars.analysis.counterfactual_agreement`); right when it agrees on every
    pair — the coincidence is a deterministic function of the pair, so an exact rule exists and
    no disagreement is noise. While the rule runs the programs' counterfactuals
    (:meth:`~numvars.programs.Program.counterfactual` and what it calls) are out of reach."""
    key = (
        "the same number of responses already made at t and at u, or both programs say E at once "
        "(agrees on all 1000 pairs)"
    )
    if not attempted(coincide):
        return verdict("4.2", not_attempted("coincide", why=key))
    if not callable(coincide) or isinstance(coincide, type):
        raise Malformed(
            "coincide",
            f"{kind_of(coincide)} {shown_answer(coincide)}, expected a function coincide(task, pair) -> bool",
        )
    task = Task("multi")
    pairs = sample_pairs(task, N_PAIRS, seed=PAIR_SEED)
    truth = _coincide_truth(task, pairs)
    return verdict("4.2", _rule_part(coincide, task, pairs, truth))


def _answers(coincide, task: Task, pairs) -> list[bool]:
    """The rule's answer on every pair, run with the programs' counterfactuals out of reach."""
    answers = []
    with out_of_reach(
        *COUNTERFACTUALS,
        exercise="4.2",
        reason="computes a counterfactual: exercise 4.2 asks for a rule that decides without one",
    ):
        for pair in pairs:
            answer = coincide(task, Pair(list(pair.target), pair.t, list(pair.source), pair.u))
            if not isinstance(answer, (bool, np.bool_)):
                raise Malformed(
                    "coincide",
                    f"it returned {kind_of(answer)} {shown_answer(answer)} for target "
                    f"{task.decode(pair.target)} at t = {pair.t}, source {task.decode(pair.source)} "
                    f"at u = {pair.u}; it should return True or False",
                )
            answers.append(bool(answer))
    return answers


@judged
def _rule_part(coincide, task: Task, pairs, truth: list[bool]) -> Part:
    try:
        answers = _answers(coincide, task, pairs)
    except Malformed:
        raise
    except Exception as error:  # the learner's rule: say what it raised
        return Part("coincide", False, miss=f"it raised {type(error).__name__}: {error}")
    wrong = [i for i, (a, b) in enumerate(zip(answers, truth)) if a != b]
    share = sum(truth) / len(truth)
    if not wrong:
        why = (
            f"agrees on all {len(pairs)} pairs (the counterfactuals coincide on {share:.0%} of them): the same number "
            "of responses already made at t and at u, or both programs say E at once"
        )
        return Part("coincide", True, why)
    i = wrong[0]
    pair = pairs[i]
    miss = (
        f"agrees on {len(pairs) - len(wrong)} of {len(pairs)} pairs; first counterexample: target "
        f"{task.decode(pair.target)} at t = {pair.t}, source {task.decode(pair.source)} at u = {pair.u} — you say "
        f"{answers[i]}, but Up-Down gives {task.decode(get_program('up_down', task).counterfactual(*pair, 'count', seed=i))}"
        f" and Up-Up {task.decode(get_program('up_up', task).counterfactual(*pair, 'demo_count', seed=i))}"
    )
    return Part("coincide", False, miss=miss)


@functools.lru_cache(maxsize=8)
def chance_levels(task: Task, n_pairs: int = N_PAIRS, seed: int = PAIR_SEED) -> dict[str, float]:
    """Per measure of :data:`MEASURES`: the share of ``make_pairs(program, variable, n_pairs,
    seed)`` that a network ignoring the swap gets right (:func:`numvars.das.rereader_correct`).
    Cached: do not modify the returned dict."""
    return {
        measure: float(
            make_pairs(get_program(program, task), variable, n_pairs, seed=seed).rereader_correct.float().mean()
        )
        for measure, (program, variable) in MEASURES.items()
    }


@checker(
    "4.3",
    mistakes=[
        "0 for every measure: a network that ignores the swap is still right where the swap changes nothing",
        "the same level for every measure (phase and resp_count swaps often change nothing)",
        "counting whole sequences rather than the scored tokens of the continuation",
    ],
)
def ex_4_3(count=..., phase=..., demo_count=..., resp_count=...):
    """Exercise 4.3: the chance level (a number in [0, 1]) of each measure — the IIA of a network
    that ignores the swap and re-reads its context — on 1 000 Single-Object pairs
    ``nv.das.make_pairs(program, variable, 1000, seed=0)``: Up-Down ``count`` and ``phase``,
    Up-Up ``demo_count`` and ``resp_count``. Tolerance 0.03."""
    answers = {"count": count, "phase": phase, "demo_count": demo_count, "resp_count": resp_count}
    if nothing_to_do(*answers.values()):
        return verdict("4.3", *(not_attempted(name) for name in answers))
    levels = chance_levels(Task("single"))
    measured = _paper_means("single", "transformer")
    reasons = {
        "count": "a re-reader is right only where the swap writes back its own count",
        "phase": "half the swaps move a phase the target already has",
        "demo_count": "as rare as for count: a changed demo_count changes the responses",
        "resp_count": "often right: a swap between responses made leaves many continuations unchanged",
    }
    parts = [
        close(
            name,
            answer,
            levels[name],
            0.03,
            f"{reasons[name]}; the paper grid's Single-Object transformers measure {measured[('transformer', name)]:.2f}",
            share=True,
        )
        for name, answer in answers.items()
    ]
    return verdict("4.3", *parts)
