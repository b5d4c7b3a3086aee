"""numvars.models.Transformer against a hand-written reference (like minGPT's check that its
logits match a reference implementation).

The reference below runs one sequence through one member in the most obvious style: plain
matrix products, a loop over positions for attention, an explicit causal mask, LayerNorm,
GELU and softmax written out, and RoPE as a per-position block-diagonal rotation matrix. It
uses no numvars helper (not ``rope``, ``stacked_linear``, ``stacked_layer_norm`` nor ``head``)
and no ``F.scaled_dot_product_attention``; it reads only the model's weights (member 0 of each
stacked parameter) and runs in float64, so any disagreement beyond float32 rounding is a bug.

Architecture of the reference (model size d, vocabulary V):

    x_0 = Embedding[token]
    per layer:  x = x + Attn(LN1(x));  x = x + FFN(LN2(x))
    Attn(h):    q, k, v = split(h @ W_qkv + b_qkv) in that order;  q_p, k_p rotated by RoPE
                a[p, j] = softmax_j(q_p · k_j / sqrt(d)) over j <= p;  out = (a @ v) @ W_out + b_out
    FFN(h):     GELU(h @ W_1 + b_1) @ W_2 + b_2  (4d hidden, exact erf GELU)
    logits:     GELU(LNf(x) @ H_1 + c_1) @ H_2 + c_2  (eval mode: no dropout)

The model's intervenable state is the residual stream after layer 1.
"""

import math

import pytest
import torch

from numvars.models import ModelConfig, build_model
from numvars.tasks import Task

TASK = Task("multi")
LN_EPS = 1e-5  # torch.nn.functional.layer_norm's default
ATOL = 1e-5


# ---------------------------------------------------------------------------- the reference
def layer_norm(x, weight, bias):
    """Each row of x (L, d) to mean 0 and (biased) variance 1, then scaled and shifted."""
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + LN_EPS) * weight + bias


def gelu(x):
    """Exact GELU: x Φ(x) with the standard normal CDF Φ(x) = (1 + erf(x / √2)) / 2."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def rope_matrices(length, d, base=10_000.0):
    """(length, d, d): for position p, the block-diagonal matrix that rotates dimension pair
    (2i, 2i+1) by the angle p · base^(−2i/d); applied to a column vector as ``R_p @ q``."""
    mats = torch.zeros(length, d, d, dtype=torch.float64)
    for p in range(length):
        for i in range(d // 2):
            angle = p * base ** (-2 * i / d)
            c, s = math.cos(angle), math.sin(angle)
            mats[p, 2 * i, 2 * i], mats[p, 2 * i, 2 * i + 1] = c, -s
            mats[p, 2 * i + 1, 2 * i], mats[p, 2 * i + 1, 2 * i + 1] = s, c
    return mats


def attention(h, w_qkv, b_qkv, w_out, b_out, rotations):
    """One causal head over h (L, d); ``rotations`` (L, d, d) or None. -> (output, weights (L, L))."""
    L, d = h.shape
    qkv = h @ w_qkv + b_qkv
    q, k, v = qkv[:, :d], qkv[:, d : 2 * d], qkv[:, 2 * d :]
    if rotations is not None:
        q = torch.stack([rotations[p] @ q[p] for p in range(L)])
        k = torch.stack([rotations[p] @ k[p] for p in range(L)])
    weights = torch.zeros(L, L, dtype=h.dtype)
    for p in range(L):
        scores = torch.tensor([float(q[p] @ k[j]) / math.sqrt(d) for j in range(L)], dtype=h.dtype)
        allowed = torch.tensor([j <= p for j in range(L)])  # explicit causal mask
        scores = torch.where(allowed, scores, torch.tensor(float("-inf"), dtype=h.dtype))
        exp = torch.exp(scores - scores.max())  # exp(-inf) = 0 at masked positions
        weights[p] = exp / exp.sum()
    mixed = weights @ v
    return mixed @ w_out + b_out, weights


def reference_forward(params, ids, n_layers, rotations):
    """One sequence ``ids`` (L,) through the weights ``params`` (name -> unstacked float64 tensor).
    Returns logits (L, V), the residual stream after layer 1 (L, d) and per-layer attention weights."""
    x = params["embedding"][ids]  # (L, d)
    after_layer_1, all_weights = None, []
    for i in range(n_layers):
        p = lambda name: params[f"l{i}_{name}"]  # noqa: E731
        h = layer_norm(x, p("ln1_w"), p("ln1_b"))
        attended, weights = attention(h, p("qkv_w"), p("qkv_b"), p("out_w"), p("out_b"), rotations)
        x = x + attended
        x = x + gelu(layer_norm(x, p("ln2_w"), p("ln2_b")) @ p("ff1_w") + p("ff1_b")) @ p("ff2_w") + p("ff2_b")
        all_weights.append(weights)
        if i == 0:
            after_layer_1 = x
    h = layer_norm(x, params["lnf_w"], params["lnf_b"])
    logits = gelu(h @ params["head_w1"] + params["head_b1"]) @ params["head_w2"] + params["head_b2"]
    return logits, after_layer_1, all_weights


# ---------------------------------------------------------------------------- helpers
CASES = [  # (n_layers, positional, d, seed)
    (1, "rope", 8, 3),
    (1, "none", 8, 4),
    (2, "rope", 12, 5),
    (2, "none", 12, 6),
]


def make_model(n_layers, positional, d, seed):
    """A one-member transformer with its LayerNorm affine weights perturbed (they start at 1
    and 0, which would hide a swapped or ignored weight/bias)."""
    model = build_model(
        ModelConfig("transformer", vocab_size=len(TASK.vocab), d=d, n_layers=n_layers, positional=positional),
        seeds=(seed,),
    )
    generator = torch.Generator().manual_seed(100 + seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "ln" in name:
                param.add_(0.3 * torch.randn(param.shape, generator=generator))
    return model.eval()


def member_params(model):
    return {name: param.detach()[0].double() for name, param in model.named_parameters()}


def batch(seed):
    return TASK.pad(TASK.sample(5, seed=seed))  # (B, L), right-padded with PAD


def run_reference(model, tokens, rotations_for):
    """Reference outputs for every row of ``tokens``: logits (B, L, V), states (B, L, d), attention [(B, L, L)]."""
    params = member_params(model)
    rows = [reference_forward(params, row, model.config.n_layers, rotations_for(len(row))) for row in tokens]
    logits = torch.stack([r[0] for r in rows])
    states = torch.stack([r[1] for r in rows])
    weights = [torch.stack([r[2][i] for r in rows]) for i in range(model.config.n_layers)]
    return logits, states, weights


def rotations_of(model):
    d = model.config.d
    return (lambda L: rope_matrices(L, d)) if model.config.positional == "rope" else (lambda L: None)


def close(ours, reference, where=None):
    diff = (ours.double() - reference).abs()
    if where is not None:
        diff = diff[where]
    return bool((diff <= ATOL).all())


# ---------------------------------------------------------------------------- tests
@pytest.mark.parametrize("n_layers, positional, d, seed", CASES, ids=[f"{n}layer-{p}" for n, p, _, _ in CASES])
def test_transformer_matches_the_hand_written_reference(n_layers, positional, d, seed):
    model = make_model(n_layers, positional, d, seed)
    tokens = batch(seed)
    real = tokens != TASK.pad_id
    assert (~real).any()  # the batch has padding, whose logits must be ignored
    ref_logits, ref_states, ref_weights = run_reference(model, tokens, rotations_of(model))
    with torch.no_grad():
        fused = model(tokens)  # F.scaled_dot_product_attention path
        explicit = model(tokens, return_attention=True)  # explicit softmax path
    for out in (fused, explicit):
        # (a) logits at every real position; PAD positions get no head output (zeros)
        assert close(out.logits, ref_logits, real), (out.logits.double() - ref_logits)[real].abs().max()
        assert (out.logits[~real] == 0).all()
        # (b) the intervenable state: the residual stream after layer 1, at every position
        assert close(out.states, ref_states), (out.states.double() - ref_states).abs().max()
    # (c) attention weights of every layer
    assert len(explicit.attention) == n_layers
    for ours, reference in zip(explicit.attention, ref_weights):
        assert ours.shape == reference.shape
        assert close(ours, reference), (ours.double() - reference).abs().max()


def test_reference_rope_itself_is_a_rotation_by_position_times_frequency():
    """Sanity of the reference's RoPE: position 0 is the identity, matrices are orthogonal, and
    rotating q by p and k by j makes their product depend on p − j only."""
    d = 8
    mats = rope_matrices(6, d)
    assert torch.allclose(mats[0], torch.eye(d, dtype=torch.float64))
    for m in mats:
        assert torch.allclose(m @ m.T, torch.eye(d, dtype=torch.float64), atol=1e-12)
    q, k = torch.randn(d, dtype=torch.float64), torch.randn(d, dtype=torch.float64)
    assert math.isclose(float((mats[5] @ q) @ (mats[3] @ k)), float((mats[2] @ q) @ (mats[0] @ k)), abs_tol=1e-12)
    assert math.isclose(float(mats[1][0, 0]), math.cos(1.0)) and math.isclose(float(mats[1][1, 0]), math.sin(1.0))


def _negated(L, d):
    return rope_matrices(L, d).transpose(-1, -2)  # rotation by −angle


def _halves(L, d):
    """GPT-NeoX-style pairing: dimension i with i + d/2 (instead of 2i with 2i + 1)."""
    mats = torch.zeros(L, d, d, dtype=torch.float64)
    for p in range(L):
        for i in range(d // 2):
            angle = p * 10_000.0 ** (-2 * i / d)
            c, s = math.cos(angle), math.sin(angle)
            a, b = i, i + d // 2
            mats[p, a, a], mats[p, a, b], mats[p, b, a], mats[p, b, b] = c, -s, s, c
    return mats


@pytest.mark.parametrize(
    "wrong",
    [lambda L, d: None, _negated, _halves, lambda L, d: rope_matrices(L, d, base=100.0)],
    ids=["no-rope", "negated-angle", "half-split-pairs", "base-100"],
)
def test_a_wrong_rope_in_the_reference_does_not_match_the_rope_model(wrong):
    """The comparison is sensitive to RoPE: the rope model agrees with the correct reference
    (test above) but not with references that leave RoPE out or get its sign, pairing or base wrong."""
    model = make_model(2, "rope", 12, 5)
    tokens = batch(5)
    real = tokens != TASK.pad_id
    d = model.config.d
    ref_logits, ref_states, ref_weights = run_reference(model, tokens, lambda L: wrong(L, d))
    with torch.no_grad():
        out = model(tokens, return_attention=True)
    assert not close(out.logits, ref_logits, real)
    assert not close(out.states, ref_states)
    assert not close(out.attention[0], ref_weights[0])
