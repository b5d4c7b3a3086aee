"""DAS speed: a full patched run versus numvars' resumed run, side by side in one process.

    python benchmarks/das_speed.py [--arch gru] [--repeats 3]

Fits the Up-Down ``count`` rotation of the paper-profile d = 20 network (Multi-Object, seed 0;
trained first if the store lacks it) on 10 000 training pairs, with the same pairs, rotation
initialisation and batch order; the two differ only in how the intervened network is run:

* full    — ``model(tokens, patch=Patch(...))``: the whole sequence again for every batch,
            the rotation applied by the patch hook at step ``t``;
* resumed — :func:`numvars.das.intervened_predictions`: ``CountingModel.resume`` starts from
            the swapped state (recurrent nets step only the rows still running, packed;
            the transformer reuses layer 1) — what the grid uses.

Prints the median seconds per training epoch of each over ``--repeats`` epochs and their ratio.
Then one seed at a time against ``--members`` seeds fitted as one stack
(:func:`numvars.das.fit_alignments`, as the grid fits a condition's seeds): seconds per
member-epoch of each and their ratio (networks at their initial weights: the time does not
depend on them). Then one complete fit as the grid runs it.

``--fits``: complete fits of trained networks, one at a time against the stacks the grid fits
(``numvars.jobs.jobs_for``: up to six networks; members leave a stack when their patience runs
out), with the same results (checked): the six seeds of the d = 20 GRU on the grid's 10 000
pairs. ``--curves``: the same for learning curves — the six seeds at three saved epochs on the
curves' pairs (``numvars.grids.CURVE_PAIRS``). Prints seconds per fit of each and the speed-up.

``--kernels``: today's code against the packed kernel, side by side: the complete fits of the
grid's stack of the six Multi-Object seeds of ``--arch`` (GRU, LSTM or transformer, d = 20, the paper's
10 000 / 1 000 / 1 000 pairs), once with the networks as trained (``kernel="stepped"``, the
default) and once with the same weights run by the packed kernel (``DasConfig(kernel="packed")``: the steps after the swap by
:func:`numvars.recurrence.run_packed`, the loss scored where the states are:
:meth:`~numvars.models.CountingModel.rerun_losses`; a 2-layer transformer's attention over the
unswapped keys computed once per fit, :meth:`~numvars.models.CountingModel.rerun_constants`),
alternating, ``--repeats`` times. Prints
the median seconds per fit of each, the ratio, and how far the results differ (the same fit
rounded differently: test IIAs and epochs).

Wall-clock timings: run it on a quiet machine, one torch thread.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from numvars.das import LearnedRotation, alignment_losses, fit_alignment, intervened_predictions, make_pairs, run_frozen
from numvars.grids import CURVE_PAIRS, das_settings, profile
from numvars.jobs import DasConfig, load_run
from numvars.models import CountingModel, Patch, build_model
from numvars.programs import get_program
from numvars.runner import ensure
from numvars.store import Store


def full_run_loss(model, runs, rows, alignment):
    """The baseline: the whole counterfactual sequence run again with the swap patched in."""
    pairs = runs.pairs.subset(rows)
    patch = Patch(torch.arange(len(rows)), pairs.t, lambda h_o, which: alignment(h_o, runs.h_s[rows][which]))
    logits = model(pairs.tokens, patch=patch).logits[:, :-1]
    scored = pairs.score[:, 1:]
    return nn.functional.cross_entropy(logits[scored], pairs.tokens[:, 1:][scored])


def resumed_loss(model, runs, rows, alignment):
    logits, targets, scored = intervened_predictions(model, runs, rows, alignment)
    return nn.functional.cross_entropy(logits[scored], targets[scored])


def epoch_seconds(loss_fn, model, runs, seed: int = 0) -> tuple[float, float]:
    """One training epoch (batch 512, Adam lr 3e-3) from a fresh rotation; (seconds, last loss)."""
    alignment = LearnedRotation(model.config.state_size, seed=seed)
    optimizer = torch.optim.Adam(alignment.parameters(), lr=3e-3)
    order = torch.randperm(len(runs), generator=torch.Generator().manual_seed(seed))
    start = time.perf_counter()
    for rows in order.split(512):
        loss = loss_fn(model, runs, rows, alignment)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, float(loss.detach())


def member_epoch_seconds(model, runs, members: int) -> float:
    """Seconds per member for one training epoch of ``members`` stacked rotations on
    ``model`` (an ensemble of that many members; 1: one at a time)."""
    seeds = tuple(range(members))
    alignment = LearnedRotation(model.config.state_size, seed=seeds if members > 1 else 0)
    optimizer = torch.optim.Adam(alignment.parameters(), lr=3e-3)
    start = time.perf_counter()
    for rows in torch.randperm(len(runs), generator=torch.Generator().manual_seed(0)).split(512):
        logits, targets, scored = intervened_predictions(model, runs, rows, alignment)
        loss = alignment_losses(logits, targets, scored).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / members


def complete_fits(configs, store) -> None:
    """Seconds per fit, one at a time and in the stacks the grid's jobs use
    (:func:`numvars.jobs.jobs_for`), for the measurements ``configs``, and a check that both give
    the same results."""
    from numvars.jobs import jobs_for, measure_stack

    start = time.perf_counter()
    alone = [measure_stack([c], store)[0] for c in configs]
    alone_seconds = (time.perf_counter() - start) / len(configs)
    start = time.perf_counter()
    stacked = {c: r for job in jobs_for(configs) for c, r in zip(job.configs, measure_stack(job.configs, store))}
    together = [stacked[c] for c in configs]
    stack_seconds = (time.perf_counter() - start) / len(configs)
    same = sum(
        torch.equal(a.test_correct, t.test_correct) and len(a.history) == len(t.history)
        for a, t in zip(alone, together)
    )
    largest = max(abs(a.test_iia - t.test_iia) for a, t in zip(alone, together))
    epochs = [len(a.history) for a in alone]
    print(
        f"{len(configs)} fits ({configs[0].n_pairs[0]} training pairs, {min(epochs)}-{max(epochs)} epochs): one at a time "
        f"{alone_seconds:6.1f} s, stacked {stack_seconds:6.1f} s per fit: {alone_seconds / stack_seconds:.2f}x; "
        f"identical results {same} of {len(configs)}, largest test IIA difference {largest:.3f}"
    )


def kernel_fits(configs, store, repeats: int) -> None:
    """:func:`complete_fits`' question for the kernels: the measurements ``configs`` (one stack)
    with the stepped kernel and with the packed one on the same weights, ``repeats`` times each."""
    from dataclasses import replace

    from numvars.jobs import jobs_for, measure_stack

    packed = [replace(config, kernel="packed") for config in configs]  # the same weights, run by the packed kernel
    seconds, results = {"stepped": [], "packed": []}, {}
    for _ in range(repeats):
        for kernel, measurements in (("stepped", configs), ("packed", packed)):
            start = time.perf_counter()
            results[kernel] = [r for job in jobs_for(measurements) for r in measure_stack(job.configs, store)]
            seconds[kernel].append((time.perf_counter() - start) / len(configs))
    stepped, fast = (statistics.median(seconds[k]) for k in ("stepped", "packed"))
    iia_gap = max(abs(a.test_iia - b.test_iia) for a, b in zip(results["stepped"], results["packed"]))
    same_epochs = sum(len(a.history) == len(b.history) for a, b in zip(results["stepped"], results["packed"]))
    print(
        f"{configs[0].run.arch} d={configs[0].run.d}, {len(configs)} fits as one stack ({configs[0].n_pairs[0]} training pairs), "
        f"median of {repeats}: stepped {stepped:6.1f} s, packed {fast:6.1f} s per fit: {stepped / fast:.2f}x; "
        f"same number of epochs {same_epochs} of {len(configs)}, largest test IIA difference {iia_gap:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="gru", choices=["gru", "lstm", "transformer"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--members", type=int, default=6, help="seeds fitted as one stack (default: a condition's 6)")
    parser.add_argument(
        "--fits", action="store_true", help="complete fits of trained networks, one at a time against one stack"
    )
    parser.add_argument("--curves", action="store_true", help="the same for learning-curve checkpoints")
    parser.add_argument(
        "--kernels", action="store_true", help="complete fits with the stepped kernel against the packed one"
    )
    parser.add_argument(
        "--store", type=Store, default=None, help="the store with the paper profile's networks (default: ./store)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.fits or args.curves or args.kernels:
        arch = args.arch if args.kernels else "gru"
        seeds = [c for c in profile("paper").training["main"] if c.arch == arch and c.task.kind == "multi"]
        ensure(seeds, args.store)
        settings = das_settings("paper")
        if args.kernels:
            kernel_fits([DasConfig(c, **settings) for c in seeds], args.store or Store.default(), args.repeats)
        if args.fits:
            complete_fits([DasConfig(c, **settings) for c in seeds], args.store)
        if args.curves:
            curves = dict(settings, n_pairs=CURVE_PAIRS["paper"])
            complete_fits([DasConfig(c, checkpoint=e, **curves) for c in seeds for e in (100, 300, 600)], args.store)
        return

    config = next(c for c in profile("paper").training["main"] if c.arch == args.arch)  # Multi-Object, seed 0
    ensure([config], args.store)
    model = load_run(config, args.store).model().requires_grad_(False)
    program = get_program("up_down", config.task)
    train, val, test = (make_pairs(program, "count", n, seed=s) for n, s in ((10_000, 1), (1_000, 2), (1_000, 3)))
    runs = run_frozen(model, train)

    results = {}
    for name, loss_fn in (("full", full_run_loss), ("resumed", resumed_loss)):
        times, losses = zip(*(epoch_seconds(loss_fn, model, runs) for _ in range(args.repeats)))
        results[name] = statistics.median(times)
        print(f"{name:8s} {results[name]:6.2f} s / epoch of 10 000 pairs   (last batch loss {losses[0]:.4f})")
    print(f"speed-up of resumed over full: {results['full'] / results['resumed']:.2f}x")

    members = [build_model(config.model_config, seeds=(s,)).requires_grad_(False) for s in range(args.members)]
    stacked = CountingModel.stack(members).requires_grad_(False)
    alone = statistics.median(
        statistics.mean(member_epoch_seconds(m, run_frozen(m, train), 1) for m in members) for _ in range(args.repeats)
    )
    stack_runs = run_frozen(stacked, train)
    together = statistics.median(member_epoch_seconds(stacked, stack_runs, args.members) for _ in range(args.repeats))
    print(
        f"one seed at a time {alone:6.2f} s, {args.members} stacked {together:6.2f} s per member-epoch: "
        f"{alone / together:.2f}x"
    )

    start = time.perf_counter()
    fit = fit_alignment(model, LearnedRotation(model.config.state_size), train, val, test)
    print(
        f"one complete fit ({args.arch} d=20, count, 10 000 / 1 000 / 1 000 pairs, {len(fit.history)} epochs): "
        f"{time.perf_counter() - start:.1f} s, test IIA {fit.test_iia:.3f}"
    )


if __name__ == "__main__":
    main()
