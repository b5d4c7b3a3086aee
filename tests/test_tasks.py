"""numvars.tasks: vocabulary, sampling, batches and trial accuracy."""

from collections import Counter

import numpy as np
import pytest
import torch

from numvars.tasks import Task


@pytest.mark.parametrize(
    "kind, text",
    [("multi", "B D2 D0 T R R E"), ("single", "B D D T R R E"), ("same", "B D D T D D E")],
)
def test_encode_decode_round_trip(kind, text):
    task = Task(kind)
    ids = task.encode(text)
    assert task.decode(ids) == text
    assert task.encode(text.split()) == ids


def test_vocabularies_differ_by_task_and_void():
    assert Task("multi").vocab == ("PAD", "B", "E", "T", "R", "D0", "D1", "D2")
    assert Task("single").vocab == ("PAD", "B", "E", "T", "R", "D")
    assert Task("same").vocab == ("PAD", "B", "E", "T", "D")
    assert Task("single", void_p=0.2).vocab[-1] == "V"
    assert Task("same").response_id == Task("same").demo_ids[0]  # Same-Object answers with D


@pytest.mark.parametrize("kind", ["multi", "single", "same"])
def test_sampled_sequences_are_well_formed(kind):
    task = Task(kind)
    for ids in task.sample(300, seed=3):
        n = task.count(ids)
        text = task.decode(ids).split()
        assert text[0] == "B" and text[-1] == "E"
        assert text[n + 1] == "T" and len(text) == 2 * n + 3
        assert set(text[1 : n + 1]) <= set(task.demo_tokens)
        assert text[n + 2 : -1] == [task.response_token] * n


def test_sampling_is_seeded():
    task = Task("multi", void_p=0.2)
    assert task.sample(50, seed=7) == task.sample(50, seed=7)
    assert task.sample(50, seed=7) != task.sample(50, seed=8)


def test_hold_outs_never_drawn_but_can_be_asked_for():
    task = Task("multi")
    drawn = Counter(task.count(s) for s in task.sample(4000, seed=0))
    assert set(drawn) == set(range(1, 21)) - {4, 9, 14, 17}
    assert min(drawn.values()) > 4000 / 16 * 0.7  # roughly uniform over the 16 training counts
    assert [task.count(s) for s in task.sample(3, seed=0, counts=[4, 9, 17])] == [4, 9, 17]
    assert all(task.count(s) == 14 for s in task.sample(5, seed=0, counts=14))


def test_multi_object_draws_every_demo_type():
    task = Task("multi")
    tokens = Counter(t for s in task.sample(300, seed=1) for t in task.decode(s).split())
    assert min(tokens["D0"], tokens["D1"], tokens["D2"]) > 0.28 * (tokens["D0"] + tokens["D1"] + tokens["D2"])


def test_void_tokens_do_not_count_and_appear_at_rate_void_p():
    task = Task("single", void_p=0.2)
    voids = demos = 0
    for n, ids in zip([5] * 400, task.sample(400, seed=2, counts=5)):
        text = task.decode(ids).split()
        demo_phase = text[1 : text.index("T")]
        assert demo_phase.count("D") == n == task.count(ids)
        assert demo_phase[-1] == "D"  # the demo phase ends with its N-th counted token
        voids += demo_phase.count("V")
        demos += len(demo_phase)
    assert 0.17 < voids / demos < 0.23


def test_pad_and_response_mask_by_hand():
    task = Task("single")
    batch = task.pad([task.encode("B D T R E"), task.encode("B D D T R R E")])
    assert batch.tolist() == [[1, 5, 3, 4, 2, 0, 0], [1, 5, 5, 3, 4, 4, 2]]
    assert task.response_mask(batch).tolist() == [
        [False, False, False, True, True, False, False],
        [False, False, False, False, True, True, True],
    ]


def one_hot_logits(task, predicted_rows):
    """(B, L, V) logits whose argmax is the given predicted token ids."""
    return torch.nn.functional.one_hot(task.pad(predicted_rows), len(task.vocab)).float()


def test_trial_accuracy_needs_every_response_token_and_eos():
    task = Task("single")
    tokens = task.pad([task.encode("B D D T R R E")] * 3)
    perfect = task.encode("D D T R R E E")  # prediction after each token = the next token
    wrong_demo = task.encode("T T T R R E E")  # demo guesses do not count
    early_eos = task.encode("D D T R E E E")  # stops one response too early
    logits = one_hot_logits(task, [perfect, wrong_demo, early_eos])
    assert task.trial_correct(logits, tokens).tolist() == [True, True, False]
    assert task.trial_accuracy(logits, tokens) == pytest.approx(2 / 3)
    assert task.trial_accuracy(logits[:, :-1], tokens) == pytest.approx(2 / 3)  # (B, L-1, V) works too


def test_trial_accuracy_ignores_padding():
    task = Task("single")
    tokens = task.pad([task.encode("B D T R E"), task.encode("B D D T R R E")])
    logits = one_hot_logits(task, [task.encode("D T R E D D D"), task.encode("D D T R R E E")])
    assert task.trial_correct(logits, tokens).tolist() == [True, True]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(kind="double"), "unknown task kind 'double'"),
        (dict(kind="multi", hold_outs=(0, 4)), r"hold-outs \[0\] are outside the counts 1..20"),
        (dict(kind="multi", hold_outs=(21,)), "outside the counts"),
        (dict(kind="multi", max_count=2, hold_outs=(1, 2)), "leave no count"),
        (dict(kind="multi", void_p=1.0), r"void_p must be in \[0, 1\)"),
        (dict(kind="multi", void_p=-0.1), r"void_p must be in \[0, 1\)"),
        (dict(kind="multi", max_count=0), "max_count must be an integer >= 1"),
    ],
)
def test_bad_task_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Task(**kwargs)


def test_bad_counts_tokens_and_shapes_are_refused():
    task = Task("multi")
    with pytest.raises(ValueError, match=r"count 21 is outside 1..20"):
        task.sample(2, seed=0, counts=21)
    with pytest.raises(ValueError, match=r"count 0 is outside 1..20"):
        task.sample(2, seed=0, counts=[3, 0])
    with pytest.raises(ValueError, match="got 1 counts for 2 sequences"):
        task.sample(2, seed=0, counts=[3])
    with pytest.raises(ValueError, match=r"token 'D' is not in the 'multi' vocabulary"):
        task.encode("B D T R E")
    with pytest.raises(ValueError, match=r"token 'V' is not in the 'single' vocabulary"):
        Task("single").encode("B V D T R E")
    with pytest.raises(ValueError, match="outside this task's vocabulary"):
        task.decode([1, 99])
    with pytest.raises(ValueError, match="do not fit tokens"):
        task.trial_accuracy(torch.zeros(2, 3, 8), task.pad([task.encode("B D0 T R E")] * 2))


def test_longer_counts_need_a_larger_max_count():
    long_task = Task("multi", max_count=30)  # same vocabulary: for extrapolation tests past 20
    assert long_task.vocab == Task("multi").vocab
    assert long_task.count(long_task.sample(1, seed=0, counts=27)[0]) == 27


def test_intervention_positions_by_rule_by_hand():
    task = Task("single")
    ids = task.encode("B D D T R R E")  # positions 0..6
    assert task.intervention_positions(ids) == [0, 1, 2, 3, 4]  # paper_index: h_t for x_t not B or E
    assert task.intervention_positions(ids, "after_token") == [1, 2, 4, 5]  # after D or R
    assert task.intervention_positions(ids, "nonterminal") == [1, 2, 4]  # ... but not the state that predicts E
    with pytest.raises(
        ValueError, match=r"unknown position rule 'last'; allowed: \['paper_index', 'after_token', 'nonterminal'\]"
    ):
        task.intervention_positions(ids, "last")


def test_the_bare_framing_has_no_b_and_no_t_and_its_first_response_ends_the_demo():
    from numvars.store import config_hash

    bare = Task("multi", framing="bare")
    seq = bare.make(3, np.random.default_rng(0))
    words = bare.decode(seq).split()
    assert "B" not in words and "T" not in words
    assert words[3:] == ["R", "R", "R", "E"] and all(w.startswith("D") for w in words[:3])
    assert bare.count(seq) == 3 and bare.switch_position(seq) == 3
    mask = bare.response_mask(bare.pad([seq, bare.encode("D1 R E")]))
    assert mask[0].tolist() == [False] * 4 + [True] * 3  # the first R is given, as T is; the rest and E are the trial
    assert mask[1].tolist() == [False, False, True] + [False] * 4
    assert bare.vocab == Task("multi").vocab  # B and T stay in the vocabulary, unused: the same ids
    assert config_hash(bare) != config_hash(Task("multi"))
    with pytest.raises(ValueError, match="differ from the demo tokens"):
        Task("same", framing="bare")
    with pytest.raises(ValueError, match="unknown framing"):
        Task("multi", framing="none")
    with pytest.raises(ValueError, match="to end its demo phase"):
        bare.count(bare.encode("D0 D1"))
