"""Chapter 6: how a transformer counts by re-reading its context.

* :func:`attention_shares` — Fig. 8 in numbers: the share of each query's attention on ``B``,
  the demo tokens, void tokens, ``T``, the earlier response tokens and the query's own token
  (``"self"``, in either of :data:`SELF_READINGS`), by layer and by the query's phase (demo or
  response).
* :func:`generate` and :func:`response_shift` — App. A.4's ±1 manipulation measured: greedy
  generation from the prompt ``B <demo> T`` with one more demo (or response) term in the first
  layer's attention sum of every response-phase query (:class:`numvars.models.ExtraTerm`); how
  many responses the network then produces, against N.
* :func:`full_swap_by_layer` — App. A.5: a full swap of the residual stream after 0, 1 or 2
  layers, and which predictions it moves.

Shapes: ``E`` members, ``B`` sequences, ``L`` tokens.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from numvars.analysis import pair_facts
from numvars.models import CountingModel, ExtraTerm, Patch, generate as greedy
from numvars.programs import DEMO, RESPONSE, phase_at
from numvars.tasks import Task

#: what a key position holds, for :func:`attention_shares`: its token's role (:func:`key_roles`),
#: or ``"self"`` — the query's own position, where :data:`SELF_READINGS` splits it off
KEY_ROLES = ("B", "demo", "void", "T", "response", "self")

#: Fig. 8's two readings of which own positions are ``"self"``. The paper's text names the keys of
#: a response query "demo tokens", "T" and "earlier R" (and "B" for a demo query): only R is
#: qualified by position. ``"response"`` (the default, :data:`DEFAULT_SELF`) follows the text: a
#: query reading a response token has its own key as ``"self"``, so ``"response"`` holds the
#: strictly earlier responses, and every other own key keeps its token's role (the first response
#: query's own ``T`` is ``"T"``, a demo query's own token ``"B"``, ``"demo"`` or ``"void"``).
#: ``"every"``: every query's own key is ``"self"``, every other role strictly other positions
#: (a query "attends over" what it is not). The share on earlier R is the same under both; ``T``
#: (response queries) and ``B``, ``demo``, ``void`` (demo queries) differ.
SELF_READINGS = ("response", "every")
DEFAULT_SELF = "response"


def key_roles(task: Task, ids: Sequence[int]) -> list[str | None]:
    """The role of every position of a task sequence as an attention key, by its token: ``"B"``,
    ``"demo"`` (a counted demo token), ``"void"``, ``"T"``, ``"response"`` (a response-phase token
    other than ``E``; in the bare framing from the first response on), or ``None`` (``E`` and
    ``PAD``, which no prediction reads). Whether a query's own position is ``"self"`` instead
    depends on the query: :func:`self_queries`."""
    ids = [int(x) for x in ids]
    switch = task.switch_position(ids)
    roles: list[str | None] = []
    for pos, x in enumerate(ids):
        if x in (task.eos_id, task.pad_id):
            roles.append(None)
        elif switch is not None and pos >= switch:
            roles.append("T" if x == task.trigger_id else "response")
        elif x == task.bos_id:
            roles.append("B")
        else:
            roles.append("void" if x == task.void_id else "demo")
    return roles


def self_queries(roles: Sequence[str | None], self_keys: str = DEFAULT_SELF) -> list[bool]:
    """For every position as a query, whether its own key counts as ``"self"`` (and not as its
    token's role, ``roles`` from :func:`key_roles`) under the reading ``self_keys`` of
    :data:`SELF_READINGS`: ``"response"`` — where the query reads a response token;
    ``"every"`` — at every position a prediction reads (not ``E``, ``PAD``)."""
    if self_keys not in SELF_READINGS:
        raise ValueError(f"self_keys must be one of {SELF_READINGS}, got {self_keys!r}")
    return [r is not None and (self_keys == "every" or r == "response") for r in roles]


def query_phases(task: Task, ids: Sequence[int]) -> list[str | None]:
    """The phase of every position as a query (the program's phase after reading its token):
    ``"demo"`` before the demo phase ends, ``"response"`` from ``T`` (bare framing: the first
    response) on, ``None`` at ``E`` and ``PAD`` (their predictions are not part of the task)."""
    ids = [int(x) for x in ids]
    return [None if x in (task.eos_id, task.pad_id) else phase_at(task, ids, pos) for pos, x in enumerate(ids)]


@torch.no_grad()
def attention_shares(
    model: CountingModel, task: Task, tokens: Tensor, self_keys: str | Sequence[str] = SELF_READINGS
) -> pd.DataFrame:
    """Where the attention of ``model`` (a transformer; every member) goes on ``tokens`` (B, L):
    for each reading of :data:`SELF_READINGS` in ``self_keys``, member, layer and query phase, the
    mean over that phase's queries (all sequences pooled, each query weighted equally) of the
    attention mass on keys of each of :data:`KEY_ROLES` — ``"self"`` the query's own key where the
    reading splits it off (:func:`self_queries`), every other role the keys of that token role
    but the split-off own key. Columns: self_keys, member, layer (1-based), query_phase, role,
    share, queries. A query's shares sum to 1 (it attends to itself and what came before)."""
    if model.config.arch != "transformer":
        raise ValueError(f"attention shares need a transformer, got a {model.config.arch}")
    readings = [self_keys] if isinstance(self_keys, str) else list(self_keys)
    E = model.n_members
    weights = model(tokens.expand(E, *tokens.shape), return_attention=True).attention  # per layer (E, B, L, L)
    roles = [key_roles(task, row) for row in tokens.tolist()]
    phases = [query_phases(task, row) for row in tokens.tolist()]
    token_roles = torch.tensor([[[r == role for r in row] for row in roles] for role in KEY_ROLES])  # (R, B, L)
    rows = []
    for reading in readings:
        own = torch.tensor([self_queries(row, reading) for row in roles])  # (B, L): queries whose own key is "self"
        self_index = KEY_ROLES.index("self")
        for phase in (DEMO, RESPONSE):
            queries = torch.tensor([[p == phase for p in row] for row in phases])  # (B, L)
            n = int(queries.sum())
            if n == 0:
                continue
            for layer, w in enumerate(weights, start=1):
                masks = token_roles.to(w.dtype)
                mass = torch.einsum("ebqk,rbk->erbq", w, masks)  # (E, R, B, L): mass per token role and query
                on_own = w.diagonal(dim1=-2, dim2=-1) * own.to(w.dtype)  # (E, B, L): a query's weight on itself
                mass = mass - on_own.unsqueeze(1) * masks.unsqueeze(0)  # the own key out of its token's role
                mass[:, self_index] = on_own  # ... and into "self"
                share = mass[:, :, queries].mean(dim=-1)  # (E, R)
                rows.extend(
                    dict(
                        self_keys=reading,
                        member=e,
                        layer=layer,
                        query_phase=phase,
                        role=role,
                        share=float(share[e, r]),
                        queries=n,
                    )
                    for e in range(E)
                    for r, role in enumerate(KEY_ROLES)
                )
    return pd.DataFrame(rows)


@torch.no_grad()
def generate(
    model: CountingModel, task: Task, prompts: Tensor, max_new: int, extra: str | None = None, copies: int = 1
) -> Tensor:
    """Greedy continuation of ``prompts`` (B, P) — sequences of one length, e.g. :func:`prompt`
    of one N — for up to ``max_new`` tokens (a one-member model). ``extra``: ``"demo"`` or
    ``"response"`` adds ``copies`` terms of that token (the first demo token, or the response
    token) to the first layer's attention of every response-phase query (``T`` — bare framing:
    the first response — and after), as App. A.4 does. Returns (B, P + max_new) ids; a sequence's tokens after its ``E`` are PAD."""
    if extra not in (None, "demo", "response"):
        raise ValueError(f"extra must be None, 'demo' or 'response', got {extra!r}")
    token = {None: None, "demo": task.demo_ids[0], "response": task.response_id}[extra]

    def term(ids: Tensor) -> ExtraTerm | None:  # the response phase grows with every generated token
        if token is None:
            return None
        return ExtraTerm(token, (ids == task.switch_id).long().cumsum(dim=1) > 0, copies)  # T (or the first R) on

    return greedy(model, prompts, max_new=max_new, stop=task.eos_id, extra_term=term)


def responses_before_eos(task: Task, ids: Tensor) -> Tensor:
    """(B,) long: the response tokens of each sequence before its first ``E`` — those after ``T``,
    or in the bare framing from the first response on; -1 where it never produced ``E`` or
    produced something other than the response token."""
    out = []
    for row in ids.tolist():
        switch = task.switch_position(row)
        after = row[switch + (task.framing == "full") :]
        if task.eos_id not in after:
            out.append(-1)
            continue
        produced = after[: after.index(task.eos_id)]
        out.append(len(produced) if all(x == task.response_id for x in produced) else -1)
    return torch.tensor(out)


def prompt(task: Task, demo: Sequence[int]) -> list[int]:
    """What a network is given before it responds: ``B <demo> T``, or in the bare framing
    ``<demo> R`` (the first response ends the demo phase and is given, as ``T`` is)."""
    if task.framing == "bare":
        return [*demo, task.response_id]
    return [task.bos_id, *demo, task.trigger_id]


def response_shift(
    model: CountingModel,
    task: Task,
    counts: Sequence[int],
    per_count: int,
    extra: str | None,
    seed: int = 0,
    copies: int = 1,
) -> pd.DataFrame:
    """App. A.4 on one network: for each N of ``counts``, ``per_count`` seeded prompts
    (:func:`prompt`), generated greedily with the manipulation ``extra`` (:func:`generate`).
    Columns: n, responses (-1: no clean run of responses ended by ``E``), shift (responses − N;
    NaN where responses is -1)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in counts:
        prompts = [prompt(task, task.demo_phase(n, rng)) for _ in range(per_count)]
        by_length: dict[int, list[int]] = {}  # void tokens make prompts of one N differ in length
        for i, given in enumerate(prompts):
            by_length.setdefault(len(given), []).append(i)
        responses = torch.empty(per_count, dtype=torch.long)
        for rows_of_length in by_length.values():
            batch = torch.tensor([prompts[i] for i in rows_of_length])
            responses[rows_of_length] = responses_before_eos(
                task, generate(model, task, batch, n + copies + 10, extra, copies)
            )
        rows.extend(dict(n=n, responses=int(r), shift=float(r - n) if r >= 0 else float("nan")) for r in responses)
    return pd.DataFrame(rows)


@torch.no_grad()
def full_swap_by_layer(model: CountingModel, pairs, layer: int) -> pd.DataFrame:
    """App. A.5 made visible, on one network (a transformer; one member): for every pair of a
    full-swap :class:`~numvars.das.PairSet` (Ctx-Distr's: same-phase positions, the
    counterfactual is the target unchanged), replace the target's residual stream after ``layer``
    layers (0: the embedding) at ``t`` with the source's at ``u`` and run on. Only predictions the
    task determines (the scored ones: responses and ``E``) count as moved — which demo token comes
    next is free. Columns: t_phase, ``moved_at_t`` (the prediction made at ``t`` changed),
    ``moved_later`` (a prediction after ``t`` changed), ``correct`` (every scored prediction still
    the counterfactual's: the full swap's IIA)."""
    if model.n_members != 1 or model.config.arch != "transformer":
        raise ValueError("full_swap_by_layer needs a one-member transformer")
    if not 0 <= layer <= model.config.n_layers:
        raise ValueError(
            f"a swap after {layer} layers needs a transformer with at least that many layers; "
            f"this one has {model.config.n_layers} (layers 0..{model.config.n_layers}, 0: the embedding)"
        )
    task, n = pairs.task, len(pairs)
    rows = torch.arange(n)
    source = model.residuals(pairs.sources)[layer][0, rows, pairs.u]  # (n, d)
    patched = model(pairs.tokens, patch=Patch(rows, pairs.t, source, layer=layer)).logits.argmax(-1)  # (n, L)
    plain = model(pairs.tokens).logits.argmax(-1)
    position = torch.arange(pairs.tokens.shape[1]).unsqueeze(0)
    predicts = torch.cat(
        [pairs.tokens[:, 1:], torch.full((n, 1), task.pad_id)], dim=1
    )  # what each position should predict
    scored = torch.cat(
        [pairs.score[:, 1:], torch.zeros(n, 1, dtype=torch.bool)], dim=1
    )  # score[j + 1]: the prediction at j
    changed = (patched != plain) & scored
    at_t = changed[rows, pairs.t]
    later = (changed & (position > pairs.t.unsqueeze(1))).any(dim=1)
    correct = ~((patched != predicts) & scored).any(dim=1)
    return pd.DataFrame(
        dict(
            t_phase=pair_facts(pairs)["t_phase"],
            moved_at_t=at_t.numpy(),
            moved_later=later.numpy(),
            correct=correct.numpy(),
        )
    )
