"""numvars.attention and the transformer's extra attention term (App. A.4): roles by hand,
attention weights against a hand computation, the ±1 manipulation against inserted tokens."""

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from numvars.attention import (
    DEFAULT_SELF,
    KEY_ROLES,
    SELF_READINGS,
    attention_shares,
    key_roles,
    query_phases,
    response_shift,
    responses_before_eos,
    self_queries,
)
from numvars.models import ExtraTerm, ModelConfig, Output, build_model
from numvars.tasks import Task

MULTI = Task("multi")
VOID = Task("multi", void_p=0.2)


def nope(n_layers=1, seeds=(0,)):
    return build_model(
        ModelConfig(arch="transformer", vocab_size=len(MULTI.vocab), n_layers=n_layers, positional="none"), seeds=seeds
    ).eval()


def test_key_roles_and_query_phases_by_hand():
    ids = VOID.encode("B D0 V D1 T R R E PAD")
    assert key_roles(VOID, ids) == ["B", "demo", "void", "demo", "T", "response", "response", None, None]
    assert query_phases(VOID, ids) == ["demo"] * 4 + ["response"] * 3 + [None, None]
    bare = Task("multi", framing="bare")
    ids = bare.encode("D0 D1 R R E")
    assert key_roles(bare, ids) == ["demo", "demo", "response", "response", None]
    assert query_phases(bare, ids) == ["demo", "demo", "response", "response", None]


def test_attention_weights_match_a_hand_computation_and_shares_sum_to_one():
    model = build_model(ModelConfig(arch="transformer", vocab_size=len(MULTI.vocab), n_layers=2), seeds=(3,)).eval()
    tokens = MULTI.pad([MULTI.encode("B D0 D2 T R R E"), MULTI.encode("B D1 T R E")])
    with torch.no_grad():
        weights = model(tokens, return_attention=True).attention
    # layer 1 by hand: LayerNorm of the embeddings, q and k, RoPE, causal softmax
    x = model.embedding[0][tokens]
    h = F.layer_norm(x, (20,)) * model.l0_ln1_w[0] + model.l0_ln1_b[0]
    q, k, _ = (h @ model.l0_qkv_w[0] + model.l0_qkv_b[0]).split(20, dim=-1)

    def rotate(t):  # RoPE by hand, pair (2i, 2i+1) of position p turned by p * 10000^(-2i/d)
        out = t.clone()
        for p in range(t.shape[1]):
            for i in range(10):
                angle = p * 10_000 ** (-2 * i / 20)
                a, b = t[:, p, 2 * i], t[:, p, 2 * i + 1]
                out[:, p, 2 * i], out[:, p, 2 * i + 1] = (
                    a * math.cos(angle) - b * math.sin(angle),
                    a * math.sin(angle) + b * math.cos(angle),
                )
        return out

    scores = rotate(q) @ rotate(k).transpose(-1, -2) / math.sqrt(20)
    by_hand = scores.masked_fill(torch.ones(7, 7, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
    assert torch.allclose(weights[0], by_hand, atol=1e-5)
    assert torch.allclose(weights[1].sum(-1), torch.ones(2, 7))
    shares = attention_shares(model, MULTI, tokens)
    totals = shares.groupby(["self_keys", "member", "layer", "query_phase"])["share"].sum()
    assert len(totals) == 8 and totals.to_numpy() == pytest.approx(1.0)
    # by hand: response-phase queries of layer 1 (positions 3-5 of row 0, 2-3 of row 1), mass on T
    # (the default reading: the first response query's own T is T)
    on_t = [float(weights[0][0, q, 3]) for q in (3, 4, 5)] + [float(weights[0][1, q, 2]) for q in (2, 3)]
    shares = shares[shares["self_keys"] == DEFAULT_SELF]
    row = shares[(shares["layer"] == 1) & (shares["query_phase"] == "response") & (shares["role"] == "T")]
    assert row["share"].item() == pytest.approx(sum(on_t) / 5) and row["queries"].item() == 5
    assert set(shares["role"]) == set(KEY_ROLES)


def test_the_query_s_own_token_is_self_and_not_earlier_r():
    """A hand-built attention pattern on ``B D0 D1 T R R E`` with known weight on each query's
    own position: it lands in "self" (a response token's own key under the default reading,
    every own key under "every"), never in the earlier responses."""
    ids = MULTI.encode("B D0 D1 T R R E")
    w = torch.zeros(7, 7)
    for q, keys in {
        0: {0: 1.0},  # B: itself
        1: {0: 0.3, 1: 0.7},  # D0: B, itself
        2: {0: 0.5, 1: 0.25, 2: 0.25},  # D1: B, D0, itself
        3: {1: 0.5, 3: 0.5},  # T (the first response query): D0, itself
        4: {3: 0.4, 4: 0.6},  # R: T, itself
        5: {0: 0.1, 4: 0.2, 5: 0.7},  # R: B, the earlier R, itself
        6: {k: 1 / 7 for k in range(7)},  # E: no prediction read
    }.items():
        for k, value in keys.items():
            w[q, k] = value

    class Hand:  # a one-member, one-layer transformer with this attention
        config, n_members = SimpleNamespace(arch="transformer"), 1

        def __call__(self, tokens, return_attention=False):
            return SimpleNamespace(attention=[w.expand(1, 1, 7, 7)])

    shares = attention_shares(Hand(), MULTI, torch.tensor([ids])).set_index(["self_keys", "query_phase", "role"])[
        "share"
    ]
    expected = {  # (reading, phase): role -> mean over the phase's three queries
        ("response", "response"): dict(B=0.1, demo=0.5, void=0, T=0.9, response=0.2, self=1.3),
        ("response", "demo"): dict(B=1.8, demo=1.2, void=0, T=0, response=0, self=0),
        ("every", "response"): dict(B=0.1, demo=0.5, void=0, T=0.4, response=0.2, self=1.8),
        ("every", "demo"): dict(B=0.8, demo=0.25, void=0, T=0, response=0, self=1.95),
    }
    for (reading, phase), by_role in expected.items():
        for role, total in by_role.items():
            assert shares[reading, phase, role] == pytest.approx(total / 3, abs=1e-6), (reading, phase, role)
    # the old count, the own R inside "response", would have been (0.6 + 0.7 + 0.2) / 3
    assert shares["response", "response", "response"] < 0.5 / 3
    assert shares.groupby(level=["self_keys", "query_phase"]).sum().to_numpy() == pytest.approx(1.0)
    assert DEFAULT_SELF == "response" and set(SELF_READINGS) == {"response", "every"}


def test_self_queries_by_hand():
    roles = key_roles(VOID, VOID.encode("B D0 V T R R E PAD"))
    assert self_queries(roles) == [False] * 4 + [True, True, False, False]
    assert self_queries(roles, "every") == [True] * 6 + [False, False]
    with pytest.raises(ValueError, match="self_keys must be one of"):
        self_queries(roles, "all")


def test_one_more_demo_term_is_one_more_demo_token_for_a_one_layer_nope_transformer():
    model = nope()
    plain = MULTI.encode("B D0 D2 D1 T R R R E")
    longer = MULTI.encode("B D0 D0 D2 D1 T R R R E")  # one more D0 in the demo phase
    queries = torch.tensor([[i >= 4 for i in range(len(plain))]])  # T and after
    patched = model(torch.tensor([plain]), extra_term=ExtraTerm(MULTI.token_id("D0"), queries)).logits[0]
    assert torch.allclose(patched[4:], model(torch.tensor([longer])).logits[0, 5:], atol=1e-5)
    assert not torch.allclose(patched[4:], model(torch.tensor([plain])).logits[0, 4:], atol=1e-3)
    twice = model(torch.tensor([plain]), extra_term=ExtraTerm(MULTI.token_id("D0"), queries, copies=2)).logits[0]
    assert torch.allclose(
        twice[4:], model(torch.tensor([MULTI.encode("B D0 D0 D0 D2 D1 T R R R E")])).logits[0, 6:], atol=1e-5
    )
    # one more response term: as if one more R had been read (compared at the R queries)
    with_r = model(torch.tensor([plain]), extra_term=ExtraTerm(MULTI.response_id, queries)).logits[0]
    assert torch.allclose(
        with_r[5:8], model(torch.tensor([MULTI.encode("B D0 D2 D1 T R R R R E")])).logits[0, 6:9], atol=1e-5
    )
    # queries left out are not touched (bit for bit against the unfused attention the term needs)
    none = model(torch.tensor([plain]), extra_term=ExtraTerm(MULTI.response_id, torch.zeros_like(queries))).logits[0]
    assert torch.equal(none, model(torch.tensor([plain]), return_attention=True).logits[0])


def test_an_extra_term_needs_a_nope_transformer_and_sound_queries():
    tokens = torch.tensor([MULTI.encode("B D0 T R E")])
    with pytest.raises(ValueError, match="without positional encoding"):
        build_model(ModelConfig(arch="transformer", vocab_size=len(MULTI.vocab))).eval()(
            tokens, extra_term=ExtraTerm(4, tokens > 0)
        )
    with pytest.raises(ValueError, match="without positional encoding"):
        build_model(ModelConfig(arch="gru", vocab_size=len(MULTI.vocab)))(tokens, extra_term=ExtraTerm(4, tokens > 0))
    with pytest.raises(ValueError, match="bool tensor of shape"):
        nope()(tokens, extra_term=ExtraTerm(4, torch.ones(1, 3, dtype=torch.bool)))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        nope()(tokens, extra_term=ExtraTerm(99, tokens > 0))


class ReReader(torch.nn.Module):
    """A perfect A.4 counter: +1 per demo token and per extra demo term, -1 per response token
    and extra response term, read at every step; predicts R while the sum is positive, then E."""

    n_members = 1

    def __init__(self, task):
        super().__init__()
        self.task = task

    def forward(self, ids, patch=None, extra_term=None):  # CountingModel's signature; no state to patch
        assert patch is None
        task = self.task
        logits = torch.zeros(*ids.shape, len(task.vocab))
        for b, row in enumerate(ids.tolist()):
            total = 0
            for j, x in enumerate(row):
                total += (x in task.demo_ids) - (x == task.response_id)
                extra = 0
                if extra_term is not None and extra_term.queries[b, j]:
                    extra = extra_term.copies * (1 if extra_term.token in task.demo_ids else -1)
                responding = task.switch_id in row[: j + 1]
                guess = task.demo_ids[0] if not responding else (task.response_id if total + extra > 0 else task.eos_id)
                logits[b, j, guess] = 1
        return Output(logits, None, None)


@pytest.mark.parametrize("task", [MULTI, Task("single", framing="bare")], ids=["full", "bare"])
def test_response_shift_counts_the_responses_a_manipulated_network_makes(task):
    counter = ReReader(task)
    for extra, shift in ((None, 0), ("demo", 1), ("response", -1)):
        table = response_shift(counter, task, counts=(2, 5, 11), per_count=3, extra=extra)
        assert len(table) == 9 and (table["shift"] == shift).all(), extra
    assert (response_shift(counter, task, counts=(4,), per_count=2, extra="demo", copies=3)["shift"] == 3).all()
    assert responses_before_eos(
        MULTI, torch.tensor([MULTI.encode("B D0 T R R E"), MULTI.encode("B D0 T R D1 E"), MULTI.encode("B D0 T R R R")])
    ).tolist() == [2, -1, -1]


def test_a_full_swap_after_the_last_layer_moves_only_the_prediction_at_t():
    from dataclasses import replace

    from numvars.attention import full_swap_by_layer
    from numvars.das import make_pairs
    from numvars.programs import get_program

    model = build_model(ModelConfig(arch="transformer", vocab_size=len(MULTI.vocab), n_layers=2), seeds=(1,)).eval()
    pairs = make_pairs(get_program("ctx_distr", MULTI), None, 60, seed=0)
    last = full_swap_by_layer(model, pairs, layer=2)
    assert not last["moved_later"].any() and last["moved_at_t"].any()  # nothing after t reads the last residual
    # the logits: after the last layer only position t's change; after layer 0 or 1 later ones do too
    from numvars.models import Patch

    for layer, later_change in ((0, True), (1, True), (2, False)):
        source = model.residuals(pairs.sources[:1])[layer][0, 0, pairs.u[0]].unsqueeze(0)
        patch = Patch(torch.tensor([0]), pairs.t[:1], source, layer=layer)
        with torch.no_grad():
            moved = model(pairs.tokens[:1], patch=patch).logits[0] - model(pairs.tokens[:1]).logits[0]
        t = int(pairs.t[0])
        assert moved[t].abs().max() > 1e-4 and bool(moved[t + 1 :].abs().max() > 1e-6) == later_change, layer
        assert moved[:t].abs().max() == 0
    itself = replace(pairs, sources=pairs.tokens, u=pairs.t)  # swapping a state for itself moves nothing
    for layer in (0, 1, 2):
        same = full_swap_by_layer(model, itself, layer)
        assert not same["moved_at_t"].any() and not same["moved_later"].any()
    with pytest.raises(ValueError, match="at least that many layers"):
        full_swap_by_layer(model, pairs, layer=3)


class StubRun:
    """What the table builders read of a stored run: a network at its analysed checkpoint."""

    reached = True

    def __init__(self, config):
        from numvars.models import build_model

        self.network = build_model(config.model_config, seeds=(config.seed,)).eval()

    def model(self):
        return self.network

    def meets_standard(self, checkpoint="analysed"):
        return True


def test_chapter_6_tables_have_one_row_set_per_network_and_keep_their_invariants(monkeypatch):
    from numvars import results
    from numvars.training import TrainConfig

    single = Task("single", max_count=6, hold_outs=())
    rope = TrainConfig(task=single, arch="transformer", seed=0)
    nope_1 = TrainConfig(task=single, arch="transformer", positional="none", n_layers=1, seed=1)
    missing = TrainConfig(task=single, arch="transformer", seed=2)
    runs = {rope: StubRun(rope), nope_1: StubRun(nope_1)}
    monkeypatch.setattr(results.transformer_tables, "load_run", lambda config, store=None: runs.get(config))

    attention = results.attention_table([rope, nope_1, missing], n_sequences=20)
    assert set(attention["seed"]) == {0, 1}  # the untrained network is left out
    assert attention.groupby(["self_keys", "seed", "layer", "query_phase"])["share"].sum().to_numpy() == pytest.approx(
        1.0
    )
    assert set(attention[attention["seed"] == 0]["layer"]) == {1, 2} and set(
        attention[attention["seed"] == 1]["layer"]
    ) == {1}

    shifts = results.plus_minus_table([rope, nope_1], per_count=4)
    assert set(shifts["seed"]) == {1}  # only the network without positional encoding
    assert (shifts.groupby(["manipulation", "n"])["trials"].sum() == 4).all() and len(
        shifts.groupby(["manipulation", "n"])
    ) == 3 * 6
    assert (shifts["expected"] == (shifts["shift"] == shifts["manipulation"].map(results.EXPECTED_SHIFT))).all()

    swaps = results.layer_swap_table([rope, nope_1], n_pairs=(16, 16, 40))
    last = swaps[(swaps["layer"] == swaps["n_layers"]) & (swaps["t_phase"] == "all")]
    assert len(last) == 2 and (last["moved_later"] == 0).all()  # nothing after t reads the last layer's residual
    assert (swaps[swaps["t_phase"] == "all"]["pairs"] == 40).all()
    with pytest.raises(ValueError, match="about transformers"):
        results.attention_table([TrainConfig(task=single)])


def test_a_patch_at_a_layer_needs_a_transformer_with_that_many_layers():
    from numvars.models import Patch

    tokens = torch.tensor([MULTI.encode("B D0 T R E")])
    patch = lambda layer: Patch(torch.tensor([0]), torch.tensor([1]), torch.zeros(1, 20), layer=layer)  # noqa: E731
    with pytest.raises(ValueError, match="needs a transformer; a gru has one state"):
        build_model(ModelConfig(arch="gru", vocab_size=len(MULTI.vocab)))(tokens, patch=patch(1))
    with pytest.raises(ValueError, match="at least that many layers"):
        nope(n_layers=1)(tokens, patch=patch(2))
    nope(n_layers=1)(tokens, patch=patch(1))  # after the only layer: allowed
