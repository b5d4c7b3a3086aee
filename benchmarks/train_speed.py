"""Training speed: are numvars' stacked ensembles worth it on a 2-core machine? (issue: "Stacked
ensembles, measured again")

    python benchmarks/train_speed.py [--arch gru] [--kind multi] [--d 20] [--seeds 6]
                                     [--epochs 30] [--repeats 3] [--variants ...]
                                     [--vmap-grad func|autograd] [--vmap-cells explicit|torch]
                                     [--json PATH]

Run it on a QUIET machine (nothing else running): every number is wall-clock, and the
two-process variants need both cores to themselves. With the defaults (d = 20 GRU, Multi-Object,
6 seeds, 30 epochs, 3 repeats) it takes roughly 15-30 minutes.

Every variant trains the same condition (``--arch``, ``--d``, ``--kind``) on the same data — each
seed's own numvars training set, batch order, validation set and learning-rate schedule
(``numvars.training``: 8 batches of at most 128 of 1000 sequences per epoch, Adam, warm-up then
1/sqrt decay) — for a FIXED number of epochs (no early stop), and validates on the 500 validation
sequences after every epoch, as ``numvars.training.train`` does. They differ only in how the work
is executed; every process uses ONE torch thread:

* ``plain x1`` — the baseline anyone would write: a plain ``nn.Module`` per seed (``nn.Embedding``,
  ``nn.GRUCell``/``nn.LSTMCell`` stepped in Python, or ``nn.Linear``/``nn.LayerNorm`` pre-LN
  transformer blocks with numvars' RoPE and ``F.scaled_dot_product_attention``; the numvars head
  ``Linear(d, 4d) → GELU → Dropout(0.5) → Linear(4d, V)``), trained one model at a time in one
  process. Not a one-member numvars model (that is ``stacked x1`` with ``--seeds 1``).
* ``plain x2`` — the same, the seeds split over two single-thread worker processes (seeds 0, 2, 4
  in one, 1, 3, 5 in the other), each training its models one at a time: the FAIR baseline for
  two cores. Every ratio in the table is relative to it.
* ``stacked x1`` — ``numvars.training.train`` on all seeds at once (one stacked ensemble: every
  parameter has a leading member dimension, ``torch.bmm``), one process; ``criterion`` is set to
  infinity so that no member stops early, everything else (checkpoints every 5 epochs included)
  is what a real run does.
* ``stacked x2`` — two such ensembles at once in two single-thread processes, as
  ``python -m numvars train --workers 2`` runs two conditions of the grid (here: the same seeds
  twice, so that both processes carry the same load; it trains 2 x seeds models).
* ``packed x1`` / ``packed x2`` — ``stacked`` with ``TrainConfig(kernel="packed")``: the GRU/LSTM
  step only the rows still running, with a hand-written backward (:mod:`numvars.recurrence`);
  the transformer runs in length buckets; the head runs only where a loss term or a validation
  score is read, and the loss is scored where the states are (no (E, B, L, V) logits). The same
  function as ``stacked`` with the same dropout masks, rounded differently (a test trains both
  to 1e-5 apart after five epochs).
* ``vmap x1`` — PyTorch's own ensembling recipe: the ``plain x1`` module of every seed,
  ``torch.func.stack_module_state`` -> ``torch.func.vmap`` over the members of
  ``torch.func.grad_and_value`` of (``torch.func.functional_call`` of the forward + the loss),
  the per-member gradients written to the stacked parameters' ``.grad`` and ONE Adam over the
  stacked parameters (Adam is elementwise, so that is each member's own Adam). With
  ``--vmap-grad autograd`` the members' losses are instead computed under vmap, summed and
  back-propagated by ordinary autograd into the stacked parameters. Validation: a vmapped
  ``functional_call`` in eval mode under ``no_grad``. The stepped recurrent loop runs under vmap
  as it is (vmap is not a compiler: every op of the Python loop is batched as it executes).
  Batches are padded to a common shape across members, as for ``stacked``.
  The recurrent cells are, by default, ``nn.GRUCell``/``nn.LSTMCell`` with their forward written
  out in ``F.linear`` and pointwise ops (same parameters, initialisation and function as the
  ``plain`` models' cells), because ``aten::gru_cell`` and ``aten::lstm_cell`` have no vmap
  batching rule (torch 2.13). ``--vmap-cells torch`` keeps the modules as they are, i.e. the
  recipe applied literally: under ``torch.func.grad`` both cells are decomposed into batchable
  ops, but elsewhere they reach vmap undecomposed — the GRU's validation forward (and, with
  ``--vmap-grad autograd``, its training step) then runs through vmap's slow per-member
  fallback, and the LSTM fails outright ("Batching rule not implemented for aten::lstm_cell. We
  could not generate a fallback.": an op returning a tuple has no fallback).
  A one-member numvars model cannot be vmapped at all: its forward checks the token ids with a
  Python ``if`` on tensor values (vmap: "data-dependent control flow") and its head selects the
  non-PAD positions by boolean indexing (a data-dependent shape).
  Before the timed runs, one untimed vmap step checks that vmap runs and lists the ops that hit
  the per-member fallback; a vmap variant that cannot run is reported with its error.
* ``vmap x2`` — two such vmap ensembles at once in two single-thread processes (2 x seeds models).

Dropout under vmap: random ops inside ``vmap`` raise unless ``randomness="different"`` (or
``"same"``) is given; ``vmap x*`` uses ``randomness="different"``, so every member draws its own
masks, from the process's global torch RNG (``nn.Dropout``). numvars' per-member
``torch.Generator`` streams cannot be carried into vmap: a generator is not a tensor, so it
cannot be batched along the member dimension (one single generator shared by all members is
accepted in ``"different"`` mode by the torch this was written against, 2.13). Consequently a
vmap member's dropout masks depend on which other members share its stack — irrelevant to speed,
but not numvars' reproducibility guarantee.

The loss of ``plain`` and ``vmap`` is the mean next-token cross-entropy over non-PAD targets,
written with ``log_softmax``/``gather``/a mask (boolean indexing, as in
``numvars.training.member_losses``, has a data-dependent shape and cannot run under vmap); it
equals ``member_losses``. Timing: the workers of a run are spawned and import torch first, then
meet at a barrier; a run's wall time is from the barrier to the end of the last worker, so it
includes building the models and the data but not process start-up. Throughput = models x
epochs x 1000 training sequences / wall seconds, median over ``--repeats`` runs (variants
interleaved, their order rotated every repeat). The ``loss`` and ``val acc`` columns (mean over
models of the last epoch's training loss and validation trial accuracy, last repeat) are a
sanity check that every variant really trains, not a quality comparison.

Time to criterion is not measured: it mixes speed with convergence (plain and vmap do not
reproduce numvars' initialisation or dropout streams), and the vmap ensemble cannot drop
members that reached it without being rebuilt. Fixed epochs give every variant the same
optimiser steps on the same batches (``stacked`` and ``vmap`` pad each step's batches to the
longest of all members; ``stacked`` computes its head only at non-PAD positions).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import multiprocessing
import os
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from numvars.models import rope
from numvars.tasks import Task
from numvars.training import (
    PaddedSet,
    TrainConfig,
    derive_seed,
    lr_at,
    stack_batches,
    stack_padded,
    train,
    training_set,
    validation_set,
)

VARIANTS = {  # name -> (job, processes)
    "plain x1": ("plain", 1),
    "plain x2": ("plain", 2),
    "stacked x1": ("stacked", 1),
    "stacked x2": ("stacked", 2),
    "packed x1": ("packed", 1),
    "packed x2": ("packed", 2),
    "vmap x1": ("vmap", 1),
    "vmap x2": ("vmap", 2),
}
BASELINE = "plain x2"


# ------------------------------------------------------------------------------ plain modules
def _head(d: int, vocab_size: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Dropout(0.5), nn.Linear(4 * d, vocab_size))


class ExplicitGRUCell(nn.GRUCell):
    """``nn.GRUCell`` (same parameters, same initialisation, same result) with its forward
    written out in ``F.linear`` and pointwise ops, which all have vmap batching rules —
    ``aten::gru_cell`` has none."""

    def forward(self, x, h):
        r_x, z_x, n_x = F.linear(x, self.weight_ih, self.bias_ih).chunk(3, dim=-1)
        r_h, z_h, n_h = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=-1)
        reset, update = torch.sigmoid(r_x + r_h), torch.sigmoid(z_x + z_h)
        candidate = torch.tanh(n_x + reset * n_h)
        return candidate + update * (h - candidate)


class ExplicitLSTMCell(nn.LSTMCell):
    """``nn.LSTMCell`` written out, as :class:`ExplicitGRUCell` (``aten::lstm_cell`` has no
    batching rule and, returning a tuple, no vmap fallback either)."""

    def forward(self, x, state):
        h, c = state
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class PlainGRU(nn.Module):
    """Embedding, ``nn.GRUCell`` stepped in Python, the numvars head."""

    def __init__(self, vocab_size: int, d: int, cell: type[nn.GRUCell] = nn.GRUCell):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d)
        self.cell = cell(d, d)
        self.head = _head(d, vocab_size)

    def forward(self, tokens):  # (B, L) -> (B, L, V)
        x = self.embedding(tokens)
        h = x.new_zeros(tokens.shape[0], self.cell.hidden_size)
        states = []
        for x_t in x.unbind(1):
            h = self.cell(x_t, h)
            states.append(h)
        return self.head(torch.stack(states, dim=1))


class PlainLSTM(nn.Module):
    """Embedding, ``nn.LSTMCell`` stepped in Python, the numvars head on h."""

    def __init__(self, vocab_size: int, d: int, cell: type[nn.LSTMCell] = nn.LSTMCell):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d)
        self.cell = cell(d, d)
        self.head = _head(d, vocab_size)

    def forward(self, tokens):
        x = self.embedding(tokens)
        h = c = x.new_zeros(tokens.shape[0], self.cell.hidden_size)
        states = []
        for x_t in x.unbind(1):
            h, c = self.cell(x_t, (h, c))
            states.append(h)
        return self.head(torch.stack(states, dim=1))


class PlainBlock(nn.Module):
    """Pre-LayerNorm causal one-head block, as numvars' transformer layer."""

    def __init__(self, d: int, positional: str):
        super().__init__()
        self.positional = positional
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        q, k, v = self.qkv(self.ln1(x)).split(x.shape[-1], dim=-1)
        if self.positional == "rope":
            q, k = rope(q), rope(k)
        x = x + self.out(F.scaled_dot_product_attention(q, k, v, is_causal=True))
        return x + self.ff2(F.gelu(self.ff1(self.ln2(x))))


class PlainTransformer(nn.Module):
    def __init__(self, vocab_size: int, d: int, n_layers: int, positional: str):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d)
        self.blocks = nn.ModuleList(PlainBlock(d, positional) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = _head(d, vocab_size)

    def forward(self, tokens):
        x = self.embedding(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def build_plain(config: TrainConfig, explicit_cells: bool = False) -> nn.Module:
    """The plain module of ``config``, PyTorch's default initialisation from its seed; with
    ``explicit_cells`` the recurrent cell is written out (same weights, same function)."""
    torch.manual_seed(config.seed)
    V = len(config.task.vocab)
    if config.arch == "gru":
        return PlainGRU(V, config.d, ExplicitGRUCell if explicit_cells else nn.GRUCell)
    if config.arch == "lstm":
        return PlainLSTM(V, config.d, ExplicitLSTMCell if explicit_cells else nn.LSTMCell)
    return PlainTransformer(V, config.d, config.n_layers, config.positional)


def masked_loss(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Mean next-token cross-entropy over non-PAD targets; logits (B, L-1, V), tokens (B, L).
    Equal to ``member_losses``, but without a data-dependent shape, so that vmap can run it."""
    targets = tokens[:, 1:]
    real = (targets != pad_id).to(logits.dtype)
    nll = -logits.log_softmax(dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (nll * real).sum() / real.sum()


# ------------------------------------------------------------------------------ the three jobs
# Each trains ``configs`` (seeds of one condition) for config.max_epochs epochs and returns
# (last-epoch training loss, last validation trial accuracy) per model.
def plain_job(configs: list[TrainConfig]) -> list[tuple[float, float]]:
    """One plain model after the other."""
    out = []
    for config in configs:
        task = config.task
        model = build_plain(config)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr_at(config, 0))
        train_set = PaddedSet(task, training_set(config))
        val_tokens = task.pad(validation_set(config))
        rng = np.random.default_rng(derive_seed(config.seed, "batches"))
        n_batches = math.ceil(config.n_train / config.batch_size)
        step = 0
        for _ in range(config.max_epochs):
            model.train()
            order = rng.permutation(config.n_train)
            epoch_loss = torch.zeros(())
            for b in range(n_batches):
                tokens = train_set.batch(order[b * config.batch_size : (b + 1) * config.batch_size])
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(config, step)
                loss = masked_loss(model(tokens[:, :-1]), tokens, task.pad_id)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                epoch_loss += loss.detach() / n_batches
                step += 1
            model.eval()
            with torch.no_grad():
                accuracy = task.trial_accuracy(model(val_tokens), val_tokens)
        out.append((float(epoch_loss), accuracy))
    return out


def stacked_job(configs: list[TrainConfig]) -> list[tuple[float, float]]:
    """numvars.training.train: all seeds as one stacked ensemble."""
    results = train(configs)
    assert all(r.epochs == configs[0].max_epochs for r in results), "a member stopped early"
    return [(r.history[-1]["loss"], r.history[-1]["val_accuracy"]) for r in results]


def packed_job(configs: list[TrainConfig]) -> list[tuple[float, float]]:
    """numvars.training.train with ``kernel="packed"`` (numvars.models.KERNELS): the stacked
    ensemble computing only the real tokens' work."""
    return stacked_job([replace(c, kernel="packed") for c in configs])


def vmap_setup(configs: list[TrainConfig], grad: str = "func", cells: str = "explicit"):
    """The vmap ensemble of the plain modules of ``configs``: (stacked params, buffers, step, logits).

    ``step(tokens (E, B, L)) -> losses (E,)`` leaves each member's gradient in ``.grad`` of the
    stacked parameters; ``logits(tokens (E, B, L)) -> (E, B, L, V)`` runs the members in eval mode.
    ``grad``: "func" (torch.func.grad_and_value under vmap) or "autograd"; ``cells``:
    "explicit" (written-out GRU/LSTM cells) or "torch" (nn.GRUCell / nn.LSTMCell as they are)."""
    models = [build_plain(c, explicit_cells=cells == "explicit") for c in configs]
    params, buffers = torch.func.stack_module_state(models)  # leaves with a leading member dim
    base = copy.deepcopy(models[0]).to("meta")  # the code; its weights come from `params`
    pad_id = configs[0].task.pad_id

    def loss_fn(p, b, tokens):  # one member: tokens (B, L)
        return masked_loss(torch.func.functional_call(base, (p, b), (tokens[:, :-1],)), tokens, pad_id)

    if grad == "func":
        for p in params.values():
            p.requires_grad_(False)  # torch.func.grad differentiates; no outer autograd graph
        grad_step = torch.func.vmap(torch.func.grad_and_value(loss_fn), randomness="different")

        def step(tokens):
            grads, losses = grad_step(params, buffers, tokens)
            for name, p in params.items():
                p.grad = grads[name]
            return losses

    else:
        loss_step = torch.func.vmap(loss_fn, randomness="different")

        def step(tokens):
            for p in params.values():
                p.grad = None
            losses = loss_step(params, buffers, tokens)
            losses.sum().backward()  # members share no weights: each gets its own gradient
            return losses.detach()

    forward = torch.func.vmap(lambda p, b, tokens: torch.func.functional_call(base, (p, b), (tokens,)))

    def logits(tokens):
        base.eval()
        try:
            with torch.no_grad():
                return forward(params, buffers, tokens)
        finally:
            base.train()

    return params, buffers, step, logits


def vmap_job(configs: list[TrainConfig], grad: str = "func", cells: str = "explicit") -> list[tuple[float, float]]:
    """torch.func: stack_module_state + vmap(grad(functional_call)) + one Adam."""
    config, task = configs[0], configs[0].task
    params, _, step_fn, logits_fn = vmap_setup(configs, grad, cells)
    optimizer = torch.optim.Adam(params.values(), lr=lr_at(config, 0))
    train_sets = [PaddedSet(task, training_set(c)) for c in configs]
    val_tokens = stack_batches(task, [validation_set(c) for c in configs])  # (E, n_val, L)
    rngs = [np.random.default_rng(derive_seed(c.seed, "batches")) for c in configs]
    n_batches = math.ceil(config.n_train / config.batch_size)
    step = 0
    for _ in range(config.max_epochs):
        orders = [rng.permutation(config.n_train) for rng in rngs]
        epoch_loss = torch.zeros(len(configs))
        for b in range(n_batches):
            rows = [order[b * config.batch_size : (b + 1) * config.batch_size] for order in orders]
            tokens = stack_padded([s.batch(r) for s, r in zip(train_sets, rows)], task.pad_id)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(config, step)
            losses = step_fn(tokens)
            optimizer.step()
            epoch_loss += losses.detach() / n_batches
            step += 1
        val_logits = logits_fn(val_tokens)
        accuracy = [task.trial_accuracy(val_logits[e], val_tokens[e]) for e in range(len(configs))]
    return list(zip(epoch_loss.tolist(), accuracy))


JOBS = {"plain": plain_job, "stacked": stacked_job, "packed": packed_job, "vmap": vmap_job}


def vmap_check(config: TrainConfig, vmap_options: dict) -> tuple[str | None, dict[str, list[str]]]:
    """One vmap training step and one validation forward of a 2-member ensemble on a tiny batch
    (untimed): (the error that stops vmap, or None; per phase, the ops vmap ran through its slow
    per-member fallback because they have no batching rule)."""
    configs = [replace(config, seed=s) for s in range(2)]
    set_warning = getattr(torch._C._functorch, "_set_vmap_fallback_warning_enabled", None)  # private; a diagnostic
    if set_warning is not None:
        set_warning(True)
    fallbacks: dict[str, list[str]] = {}
    phase = "setting up"
    try:
        _, _, step, logits = vmap_setup(configs, **vmap_options)
        tokens = stack_batches(config.task, [training_set(c)[:4] for c in configs])
        for phase, run in (("training step", lambda: step(tokens)), ("validation forward", lambda: logits(tokens))):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                run()
            ops = sorted(
                {
                    str(w.message).split("batching rule for ")[-1].split(".")[0]
                    for w in caught
                    if "batching rule for" in str(w.message)
                }
            )
            if ops:
                fallbacks[phase] = ops
    except Exception as error:  # reported in the table; the other variants still run
        return f"{phase}: {type(error).__name__}: {error}", fallbacks
    finally:
        if set_warning is not None:
            set_warning(False)
    return None, fallbacks


# ------------------------------------------------------------------------------ running a variant
_barrier = None


def _init_worker(barrier) -> None:
    global _barrier
    _barrier = barrier
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)


def _timed(job: str, configs: list[TrainConfig], vmap_options: dict) -> tuple[float, float, list[tuple[float, float]]]:
    """In a worker: wait for the others, run the job; (start, end, per-model loss/accuracy).
    perf_counter is CLOCK_MONOTONIC on Linux, comparable across processes."""
    _barrier.wait(timeout=600)
    start = time.perf_counter()
    out = vmap_job(configs, **vmap_options) if job == "vmap" else JOBS[job](configs)
    return start, time.perf_counter(), out


def run_variant(name: str, configs: list[TrainConfig], vmap_options: dict) -> dict:
    """One timed run of variant ``name`` in fresh spawned single-thread worker process(es)."""
    job, processes = VARIANTS[name]
    if processes == 1:
        parts = [configs]
    elif job == "plain":  # the seeds split over the workers
        parts = [configs[i::processes] for i in range(processes) if configs[i::processes]]
    else:  # one whole ensemble per worker, as two conditions of the grid
        parts = [configs] * processes
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(parts))
    with ProcessPoolExecutor(len(parts), mp_context=context, initializer=_init_worker, initargs=(barrier,)) as pool:
        outcomes = [f.result() for f in [pool.submit(_timed, job, part, vmap_options) for part in parts]]
    wall = max(end for _, end, _ in outcomes) - min(start for start, _, _ in outcomes)
    per_model = [pair for _, _, out in outcomes for pair in out]
    models = len(per_model)
    return dict(
        wall=wall,
        models=models,
        processes=len(parts),
        throughput=models * configs[0].max_epochs * configs[0].n_train / wall,
        loss=statistics.fmean(loss for loss, _ in per_model),
        val_accuracy=statistics.fmean(acc for _, acc in per_model),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="gru", choices=("gru", "lstm", "transformer"))
    parser.add_argument("--d", type=int, default=20, help="model size (default 20)")
    parser.add_argument("--kind", default="multi", help="task kind: multi, single or same (default multi)")
    parser.add_argument("--seeds", type=int, default=6, help="seeds of the condition (default 6, as in the paper)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs every model trains, no early stop (default 30)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per variant; the median is reported (default 3)"
    )
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated subset of: {', '.join(VARIANTS)}"
    )
    parser.add_argument(
        "--vmap-grad",
        choices=("func", "autograd"),
        default="func",
        help="vmap gradients: torch.func.grad_and_value under vmap (default) or autograd through the vmapped loss",
    )
    parser.add_argument(
        "--vmap-cells",
        choices=("explicit", "torch"),
        default="explicit",
        help="vmap GRU/LSTM cells: written out in F.linear ops (default) or nn.GRUCell/nn.LSTMCell as they are "
        "(aten::gru_cell / lstm_cell have no batching rule)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every run and the summary as JSON")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; allowed: {list(VARIANTS)}")
    if args.seeds < 1 or args.epochs < 1 or args.repeats < 1:
        parser.error("--seeds, --epochs and --repeats must be >= 1")

    base = TrainConfig(task=Task(args.kind), arch=args.arch, d=args.d, max_epochs=args.epochs, criterion=math.inf)
    configs = [replace(base, seed=s) for s in range(args.seeds)]
    torch.set_num_threads(1)
    vmap_options = dict(grad=args.vmap_grad, cells=args.vmap_cells)

    failed: dict[str, str] = {}
    fallbacks: dict[str, list[str]] = {}
    if any(VARIANTS[v][0] == "vmap" for v in variants):
        error, fallbacks = vmap_check(base, vmap_options)
        if error is not None:
            for v in variants:
                if VARIANTS[v][0] == "vmap":
                    failed[v] = error

    runs: dict[str, list[dict]] = {v: [] for v in variants}
    started = time.perf_counter()
    for repeat in range(args.repeats):
        shift = repeat % len(variants)
        for name in variants[shift:] + variants[:shift]:  # interleaved, order rotated per repeat
            if name in failed:
                continue
            try:
                run = run_variant(name, configs, vmap_options)
            except Exception as error:  # noqa: BLE001 — a broken variant must not hide the others
                failed[name] = f"{type(error).__name__}: {error}"
                continue
            runs[name].append(run)
            print(
                f"[{time.perf_counter() - started:7.0f} s] repeat {repeat + 1}/{args.repeats} {name:<11} "
                f"{run['wall']:7.1f} s  {run['throughput']:8.0f} seq/s",
                file=sys.stderr,
                flush=True,
            )

    summary = {}
    for name in variants:
        if runs[name]:
            summary[name] = dict(
                processes=runs[name][-1]["processes"],
                models=runs[name][-1]["models"],
                wall=statistics.median(r["wall"] for r in runs[name]),
                throughput=statistics.median(r["throughput"] for r in runs[name]),
                loss=runs[name][-1]["loss"],
                val_accuracy=runs[name][-1]["val_accuracy"],
            )
    reference = summary.get(BASELINE, {}).get("throughput")

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"d = {args.d} {args.arch}, {args.kind}-object, seeds 0..{args.seeds - 1}, {args.epochs} epochs x {base.n_train} "
        f"sequences, no early stop; median of {args.repeats} run(s); 1 torch thread per process; torch {torch.__version__}, "
        f"{cores} cores; vmap: {args.vmap_grad} gradients, {args.vmap_cells} cells"
    )
    print(
        f"{'variant':<12}{'procs':>6}{'models':>7}{'wall s':>9}{'sequences/s':>13}{'vs plain x2':>13}{'loss':>8}{'val acc':>9}"
    )
    for name in variants:
        if name in summary:
            row = summary[name]
            ratio = f"{row['throughput'] / reference:.2f}x" if reference else "-"
            print(
                f"{name:<12}{row['processes']:>6}{row['models']:>7}{row['wall']:>9.1f}{row['throughput']:>13.0f}{ratio:>13}"
                f"{row['loss']:>8.3f}{row['val_accuracy']:>9.3f}"
            )
        else:
            print(f"{name:<12}  could not run: {failed.get(name, 'no run')}")
    print("sequences/s = models x epochs x training sequences / wall s; loss, val acc: last epoch, mean over models")
    for processes in ("x1", "x2"):  # the new code against today's, side by side
        fast, today = summary.get(f"packed {processes}"), summary.get(f"stacked {processes}")
        if fast and today:
            print(
                f"packed {processes} / stacked {processes} (the packed kernel against today's default, the same "
                f"networks to rounding): {fast['throughput'] / today['throughput']:.2f}x"
            )
    for phase, ops in fallbacks.items():
        print(
            f"vmap {phase}: these ops ran through vmap's slow per-member fallback (no batching rule): {', '.join(ops)}"
        )
    if not fallbacks and any(VARIANTS[v][0] == "vmap" and v in summary for v in variants):
        print(
            "vmap: every op of the training step and the validation forward had a batching rule (no per-member fallback)"
        )

    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(
                    args=vars(args),
                    torch=torch.__version__,
                    cores=cores,
                    runs=runs,
                    summary=summary,
                    failed=failed,
                    vmap_fallbacks=fallbacks,
                    baseline=BASELINE,
                ),
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
