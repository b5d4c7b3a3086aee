"""numvars.programs: traces, task accuracy, hand-computed counterfactuals and bad input."""

import pytest

from numvars.programs import DEMO, RESPONSE, UpDown, get_program, sample_pairs
from numvars.tasks import Task

SINGLE = Task("single")


def cf(program, task, target, t, source, u, variables, **kwargs):
    """Counterfactual on token strings, for hand-written expectations."""
    out = get_program(program, task).counterfactual(task.encode(target), t, task.encode(source), u, variables, **kwargs)
    return task.decode(out)


# ------------------------------------------------------------------------------------ traces
def test_up_down_trace_by_hand():
    task = Task("multi", void_p=0.2)
    trace = get_program("up_down", task).trace(task.encode("B D0 V D2 T R R E"))
    assert [s["count"] for s in trace] == [0, 1, 1, 2, 2, 1, 0, 0]
    assert [s["phase"] for s in trace] == [DEMO] * 4 + [RESPONSE] * 4


def test_up_up_trace_by_hand():
    trace = get_program("up_up", SINGLE).trace(SINGLE.encode("B D D T R R E"))
    assert [(s["demo_count"], s["resp_count"]) for s in trace] == [
        (0, 0),
        (1, 0),
        (2, 0),
        (2, 0),
        (2, 1),
        (2, 2),
        (2, 2),
    ]


def test_ctx_distr_trace_recomputes_the_tally():
    same = Task("same")
    trace = get_program("ctx_distr", same).trace(same.encode("B D D T D D E"))
    assert [s["tally"] for s in trace] == [0, 1, 2, 2, 1, 0, 0]
    assert get_program("ctx_distr", same).variables == ()  # nothing carried


def test_trace_of_a_prefix_and_of_padding():
    prog = get_program("up_down", SINGLE)
    assert len(prog.trace(SINGLE.encode("B D D"))) == 3
    assert prog.trace(SINGLE.encode("B D T R E PAD PAD"))[-1] == {"count": 0, "phase": RESPONSE}


@pytest.mark.parametrize("kind", ["multi", "single", "same"])
@pytest.mark.parametrize("void_p", [0.0, 0.2])
@pytest.mark.parametrize("name", ["up_down", "up_up", "ctx_distr"])
def test_every_program_solves_every_task(kind, void_p, name):
    task = Task(kind, max_count=30, void_p=void_p)
    seqs = task.sample(150, seed=0, counts=[n % 30 + 1 for n in range(150)])  # every N in 1..30
    assert get_program(name, task).accuracy(seqs) == 1.0


@pytest.mark.parametrize("text", ["B D D T R E", "B D D T R R R E", "B D T E"])
def test_programs_fail_wrong_trials(text):
    for name in ["up_down", "up_up", "ctx_distr"]:
        assert not get_program(name, SINGLE).solves(SINGLE.encode(text))


# -------------------------------------------------------------------- counterfactuals by hand
# Positions:          0 1 2 3 4 5 6 7 8
TARGET_3 = "B D D D T R R R E"  # count after each token: 0 1 2 3 3 2 1 0 0


def test_target_response_source_demo():
    # count after target[5] is 2 -> 5 (source after its 5th D): five more responses
    assert cf("up_down", SINGLE, TARGET_3, 5, "B D D D D D D T R R R R R R E", 5, "count") == "B D D D T R R R R R R E"


def test_target_response_source_response_reaches_zero():
    # source after its last R holds count 0: the target stops at once
    assert cf("up_down", SINGLE, TARGET_3, 5, "B D T R E", 3, "count") == "B D D D T R E"


def test_target_demo_source_demo_authors_rule():
    # count 2 -> 6 after target[2] (N = 3): 6 >= N, so T at once, then 6 responses = max(s, N)
    out = cf("up_down", SINGLE, TARGET_3, 2, "B D D D D D D T R E", 6, "count", demo_continuation="authors")
    assert out == "B D D T " + "R " * 6 + "E"


def test_target_demo_source_response_count_zero_authors_rule():
    # count 2 -> 0 after target[2]; demos until the count reaches the target's N = 3, then 3 responses
    out = cf("up_down", SINGLE, TARGET_3, 2, "B D D T R R E", 5, "count", demo_continuation="authors")
    assert out == "B D D D D D T R R R E"


@pytest.mark.parametrize("s", range(1, 9))
def test_authors_rule_gives_max_of_swapped_count_and_target_n(s):
    # target N = 5, swap after its second demo; the source holds s (count, demo_count) after its s-th demo
    target, source, u = "B D D D D D T R R R R R E", "B " + "D " * 8 + "T " + "R " * 8 + "E", s
    for program, variable in (("up_down", "count"), ("up_up", "demo_count")):
        for seed in range(3):
            out = cf(program, SINGLE, target, 2, source, u, variable, seed=seed, demo_continuation="authors").split()
            assert out.count("R") == max(s, 5), (program, s, out)  # never above the trained 20
            assert out.index("T") == 3 + max(0, 5 - s)  # B, the target's two demos, then demos up to N


def test_authors_rule_draws_random_demo_types_on_multi_object():
    multi = Task("multi")
    prog = get_program("up_down", multi)
    target, source = multi.encode("B D0 D0 D0 D0 T R R R R E"), multi.encode("B D1 T R E")
    outs = {
        tuple(prog.counterfactual(target, 1, source, 1, "count", seed=s, demo_continuation="authors"))
        for s in range(20)
    }
    assert all(multi.decode(o).count("R") == 4 for o in outs) and len(outs) > 1  # 3 more demos, random types


@pytest.mark.parametrize("seed", range(40))
def test_target_demo_paper_rule_adds_zero_to_three_demos(seed):
    # count 2 -> 4 after target[2]; then k in 0..3 random demos, T, and 4 + k responses
    out = cf("up_down", SINGLE, TARGET_3, 2, "B D D D D T R R R R E", 4, "count", seed=seed).split()
    k = out.index("T") - 3
    assert 0 <= k <= 3
    assert out == ["B", "D", "D"] + ["D"] * k + ["T"] + ["R"] * (4 + k) + ["E"]


def test_paper_rule_draws_every_number_of_extra_demos():
    prog = get_program("up_down", SINGLE)
    target, source = SINGLE.encode(TARGET_3), SINGLE.encode("B D D T R R E")
    extras = {
        prog.counterfactual(target, 1, source, 1, "count", seed=s).index(SINGLE.trigger_id) - 2 for s in range(60)
    }
    assert extras == {0, 1, 2, 3}


def test_up_up_demo_count():
    # demo_count 2 -> 3 with resp_count 1 after target[4]: two more responses
    assert cf("up_up", SINGLE, "B D D T R R E", 4, "B D D D T R R R E", 3, "demo_count") == "B D D T R R R E"


def test_up_up_resp_count():
    # resp_count 1 -> 3 with demo_count 5 after target[7]: two more responses
    out = cf("up_up", SINGLE, "B D D D D D T R R R R R E", 7, "B D D D T R R R E", 7, "resp_count")
    assert out == "B D D D D D T R R R E"


def test_up_up_impossible_request_stops_at_once():
    # resp_count 1 -> 3 > demo_count 2: no continuation can match, so E at once
    assert cf("up_up", SINGLE, "B D D T R R E", 4, "B D D D T R R R E", 7, "resp_count") == "B D D T R E"


def test_phase_swap_demo_to_response_skips_the_trigger():
    # after target[2] (count 2, demo) the phase becomes response: R R E with no T
    assert cf("up_down", SINGLE, TARGET_3, 2, "B D T R E", 3, "phase") == "B D D R R E"


def test_phase_swap_response_to_demo_needs_a_new_trigger():
    # after target[4] (count 1, response) the phase becomes demo; authors: demos until count = N = 2, T, R R
    out = cf("up_down", SINGLE, "B D D T R R E", 4, "B D D T R R E", 1, "phase", demo_continuation="authors")
    assert out == "B D D T R D T R R E"


def test_full_swap_moves_count_and_phase():
    # after target[5] (count 2, response) <- source after its 1st D (count 1, demo); authors: 2 demos to N = 3
    out = cf("up_down", SINGLE, TARGET_3, 5, "B D D T R R E", 1, None, demo_continuation="authors")
    assert out == "B D D D T R D D T R R R E"


def test_intervention_after_a_void_token():
    task = Task("multi", void_p=0.2)
    # count 0 -> 3 after target[1] (V); 3 >= the target's N = 2 (authors): T at once, 3 responses
    out = cf("up_down", task, "B V D0 V D1 T R R E", 1, "B D2 D2 D1 T R R R E", 3, "count", demo_continuation="authors")
    assert out == "B V T R R R E"
    # count 0 -> 1: one more counted demo (voids may come before it), then T and 2 responses
    out = cf(
        "up_down", task, "B V D0 V D1 T R R E", 1, "B D2 D2 D1 T R R R E", 1, "count", demo_continuation="authors"
    ).split()
    assert out[-4:] == ["T", "R", "R", "E"] and sum(tok.startswith("D") for tok in out) == 1


def test_same_object_responds_with_d():
    same = Task("same")
    assert cf("up_down", same, "B D D T D D E", 4, "B D D D T D D D E", 3, "count") == "B D D T D D D D E"


def test_multi_object_keeps_the_target_prefix():
    task = Task("multi")
    assert cf("up_down", task, "B D2 D0 D1 T R R R E", 6, "B D1 T R E", 1, "count") == "B D2 D0 D1 T R R R E"


def test_ctx_distr_full_swap_changes_nothing():
    assert cf("ctx_distr", SINGLE, TARGET_3, 2, "B D D D D D T R E", 4, None) == TARGET_3
    assert cf("ctx_distr", SINGLE, TARGET_3 + " PAD", 6, "B D D T R R E", 4, None) == TARGET_3


def test_counterfactual_is_seeded():
    prog = get_program("up_down", Task("multi"))
    target, source = prog.task.sample(1, seed=0, counts=6)[0], prog.task.sample(1, seed=1, counts=9)[0]
    assert prog.counterfactual(target, 3, source, 5, "count", seed=4) == prog.counterfactual(
        target, 3, source, 5, "count", seed=4
    )


# ----------------------------------------------------------------- a program that forgets
class ForgetsToDecrement(UpDown):
    """Up-Down with a bug: response tokens leave the count alone."""

    def update(self, state, kind):
        return state if kind == RESPONSE else super().update(state, kind)


def test_a_program_that_forgets_to_decrement_is_caught():
    buggy = ForgetsToDecrement(SINGLE)
    assert buggy.accuracy(SINGLE.sample(20, seed=0)) == 0.0
    # the hand-computed counterfactual of test_target_response_source_demo is never reached:
    # the count stays at 5 and the program never says E
    with pytest.raises(RuntimeError, match="never said E"):
        buggy.counterfactual(SINGLE.encode(TARGET_3), 5, SINGLE.encode("B D D D D D D T R R R R R R E"), 5, "count")


# ------------------------------------------------------------------------------ bad input
def test_the_joint_count_and_phase_swap_by_hand():
    source = "B D D D D T R R R R E"  # after position 6 (the first R): count 3, response phase
    # across phases, the joint swap moves the target's demo state (count 2) into the response phase with count 3
    assert cf("up_down", SINGLE, TARGET_3, 2, source, 6, ("count", "phase")) == "B D D R R R E"
    assert cf("up_down", SINGLE, TARGET_3, 2, source, 6, "phase") == "B D D R R E"  # the phase alone: count 2 stays
    # within a phase it is the count swap
    for t, u in ((6, 7), (5, 8)):
        assert cf("up_down", SINGLE, TARGET_3, t, source, u, ("count", "phase")) == cf(
            "up_down", SINGLE, TARGET_3, t, source, u, "count"
        )


def test_interventions_after_b_and_t_follow_the_program():
    # the paper's index convention also swaps the states after B and after T (chapter 4 §4.7)
    assert cf("up_down", SINGLE, TARGET_3, 4, "B D T R E", 1, "count") == "B D D D T R E"  # after T: count 3 -> 1
    # after B: count 0 -> 2, then the target's three demos (the authors' rule) make it 5
    assert cf("up_down", SINGLE, TARGET_3, 0, "B D D T R R E", 2, "count") == "B D D D T R R R R R E"


@pytest.mark.parametrize(
    "target, t, source, u, variables, message",
    [
        (TARGET_3, 8, "B D T R E", 1, "count", "target position 8.*holds E"),
        (TARGET_3 + " PAD", 9, "B D T R E", 1, "count", "target position 9.*holds PAD"),
        (TARGET_3, 5, "B D T R E", 4, "count", "source position 4.*holds E"),
        (TARGET_3, 12, "B D T R E", 1, "count", r"target position 12 is outside the sequence \(0..8\)"),
        (TARGET_3, 5, "B D T R E", 1, "cnt", r"unknown variable\(s\) \['cnt'\] for program 'up_down'"),
    ],
)
def test_bad_interventions_are_refused(target, t, source, u, variables, message):
    with pytest.raises(ValueError, match=message):
        cf("up_down", SINGLE, target, t, source, u, variables)


def test_bad_program_requests_are_refused():
    with pytest.raises(
        ValueError, match=r"unknown program 'up_sideways'; allowed: \['ctx_distr', 'up_down', 'up_up'\]"
    ):
        get_program("up_sideways", SINGLE)
    with pytest.raises(ValueError, match=r"unknown variable\(s\) \['count'\] for program 'up_up'"):
        cf("up_up", SINGLE, TARGET_3, 5, "B D T R E", 1, "count")
    with pytest.raises(ValueError, match="ctx_distr.*carries: none"):
        cf("ctx_distr", SINGLE, TARGET_3, 5, "B D T R E", 3, "count")
    with pytest.raises(ValueError, match="same-phase positions"):
        cf("ctx_distr", SINGLE, TARGET_3, 5, "B D T R E", 1, None)
    with pytest.raises(ValueError, match="unknown demo_continuation"):
        cf("up_down", SINGLE, TARGET_3, 5, "B D T R E", 1, "count", demo_continuation="forever")


@pytest.mark.parametrize(
    "text, message",
    [
        ("D D T R E", "must start with B"),
        ("B D E", "E at position 2 comes before the response phase"),
        ("B D T R E R", "only PAD may follow E"),
        ("B D PAD T R E", "PAD at position 2 comes before E"),
        ("B D T D E", "token 'D' cannot be read in the response phase; expected R or E"),
        ("B D R T R E", "token 'R' cannot be read in the demo phase"),
    ],
)
def test_malformed_sequences_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        get_program("up_down", SINGLE).trace(SINGLE.encode(text))


def test_counterfactual_trace_shows_the_swapped_state_and_the_run_on():
    prog = get_program("up_down", SINGLE)
    ids, trace = prog.counterfactual_trace(SINGLE.encode(TARGET_3), 5, SINGLE.encode("B D D D D D D T R E"), 5, "count")
    assert SINGLE.decode(ids) == "B D D D T R R R R R R E"
    assert [s["count"] for s in trace] == [0, 1, 2, 3, 3, 5, 4, 3, 2, 1, 0, 0]


def test_sampled_pairs_are_seeded_allowed_and_cover_both_phases():
    from numvars.programs import phase_at

    task = Task("multi")
    pairs = sample_pairs(task, 400, seed=0)
    assert pairs == sample_pairs(task, 400, seed=0)
    assert all(
        p.t in task.intervention_positions(p.target) and p.u in task.intervention_positions(p.source) for p in pairs
    )
    assert {task.count(p.target) for p in pairs} == set(range(1, 21))  # hold-outs included
    phases = {(phase_at(task, p.target, p.t), phase_at(task, p.source, p.u)) for p in pairs}
    assert phases == {(DEMO, DEMO), (DEMO, RESPONSE), (RESPONSE, DEMO), (RESPONSE, RESPONSE)}
    same = sample_pairs(task, 200, seed=1, same_phase=True)
    assert all(phase_at(task, p.target, p.t) == phase_at(task, p.source, p.u) for p in same)


def test_pair_facts_read_each_states_count_from_the_tokens_before_it():
    from numvars.analysis import pair_facts
    from numvars.das import make_pairs

    task = Task("multi")
    pairs = make_pairs(get_program("up_down", task), "count", 40, seed=2)
    facts = pair_facts(pairs)

    def count_after(ids, pos):  # by hand: demo tokens so far, then that many minus the R tokens so far
        ids = [task.decode([x]) for x in ids[: pos + 1]]
        demos = sum(x.startswith("D") for x in ids)
        return demos - ids.count("R")

    for i, row in facts.iterrows():
        assert row["t_count"] == count_after(pairs.tokens[i].tolist(), row["t"])
        assert row["u_count"] == count_after(pairs.sources[i].tolist(), row["u"])


def test_pair_facts_give_each_sequences_n_and_a_response_phase_target_keeps_it():
    from numvars.analysis import pair_facts
    from numvars.das import make_pairs

    task = Task("multi")
    facts = pair_facts(make_pairs(get_program("up_down", task), "count", 40, seed=2))
    drawn = sample_pairs(task, 40, seed=2)  # the same draw make_pairs makes

    def n_by_hand(ids):  # demo tokens before T
        ids = [task.decode([x]) for x in ids]
        return sum(x.startswith("D") for x in ids[: ids.index("T")])

    assert facts["target_n"].tolist() == [n_by_hand(p.target) for p in drawn]
    assert facts["source_n"].tolist() == [n_by_hand(p.source) for p in drawn]
    response = facts[facts["t_phase"] == "response"]
    assert len(response) > 0 and (response["t_count"] <= response["target_n"]).all()


def test_programs_read_the_bare_framing_by_hand():
    bare = Task("multi", framing="bare")
    up_down = get_program("up_down", bare)
    target, source = bare.encode("D0 D1 D2 R R R E"), bare.encode("D2 D0 R R E")
    assert [s["count"] for s in up_down.trace(target)] == [
        1,
        2,
        3,
        2,
        1,
        0,
        0,
    ]  # the first R ends the demo and counts down
    assert [s["phase"] for s in up_down.trace(target)][2:4] == [DEMO, RESPONSE]
    assert all(get_program(name, bare).solves(target) for name in ("up_down", "up_up", "ctx_distr"))
    # count after the first R of the target (2) set to the source's after its first R (1): one more R, then E
    assert bare.decode(up_down.counterfactual(target, 3, source, 2, "count")) == "D0 D1 D2 R R E"
    # in the demo phase: count 5 after D1, then 0..3 more demo tokens, the first R, and R until the count is spent
    long_source = bare.encode("D2 D0 D0 D1 D1 R R R R R E")
    out = bare.decode(up_down.counterfactual(target, 1, long_source, 4, "count", seed=3)).split()
    extra = out.index("R") - 2
    assert out[:2] == ["D0", "D1"] and 0 <= extra <= 3 and out[2 + extra :] == ["R"] * (5 + extra) + ["E"]
    with pytest.raises(ValueError, match="must start with a demo token"):
        up_down.states(bare.encode("R D0 R E"))
    voids = Task("multi", void_p=0.5, framing="bare")  # a demo phase may open with a void token
    sequences = voids.sample(50, seed=0)
    assert any(voids.decode(s).startswith("V") for s in sequences)
    assert get_program("up_down", voids).accuracy(sequences) == 1.0
