"""How far is a training step, or a DAS batch, from what this machine's core can compute?

    python benchmarks/arithmetic.py [--repeats 9] [--json PATH]

Run it on a QUIET machine (nothing else running). One torch thread, as every worker uses.
For each architecture (d = 20, six stacked members, Multi-Object, as the paper profile trains
and measures them) it times, median of ``--repeats``:

* ``train step`` — one optimiser step of :func:`numvars.training.train` (a batch of 128 per
  member: forward, the loss, backward, Adam);
* ``DAS batch`` — one step of :func:`numvars.das.fit_alignments` (512 Up-Down count pairs
  resumed from the swapped state in every member, backward into the rotations, Adam);

and counts its matrix-multiply FLOPs (``torch.utils.flop_counter.FlopCounterMode``: matmul,
bmm, addmm, baddbmm and attention; elementwise work is not counted). Achieved GFLOP/s against
two ceilings measured on the same core: a large square ``torch.mm`` (the machine's practical
peak) and a ``torch.bmm`` of the recurrent step's own shape (six members, 128 rows, 20 x 60:
the most a step of these sizes can expect from a matrix product alone).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from numvars import das
from numvars.jobs import SPLITS, DasConfig, pair_set
from numvars.models import build_model
from numvars.tasks import Task
from numvars.training import PaddedSet, TrainConfig, member_losses, stack_padded, training_set

MEMBERS = 6


def median_ms(step, repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def flops(step) -> int:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def ceiling(shape_a, shape_b, repeats: int) -> float:
    """GFLOP/s of a matrix product of these shapes (bmm when 3-d)."""
    a, b = torch.randn(shape_a), torch.randn(shape_b)
    op = torch.bmm if a.dim() == 3 else torch.mm
    n = 50 if a.dim() == 3 else 3
    work = 2 * np.prod(shape_a) * shape_b[-1]

    def step():
        for _ in range(n):
            op(a, b)

    return n * work / median_ms(step, repeats) / 1e6


def train_step(arch: str):
    configs = [TrainConfig(task=Task("multi"), arch=arch, seed=s) for s in range(MEMBERS)]
    model = build_model(configs[0].model_config, seeds=range(MEMBERS)).train()
    optimizer = torch.optim.Adam(model.parameters())
    sets = [PaddedSet(configs[0].task, training_set(c)) for c in configs]
    rows = [np.random.default_rng(s).permutation(1000)[:128] for s in range(MEMBERS)]
    tokens = stack_padded([s.batch(r) for s, r in zip(sets, rows)], configs[0].task.pad_id)

    def step():
        losses = member_losses(model(tokens[:, :, :-1]).logits, tokens, configs[0].task.pad_id)
        optimizer.zero_grad()
        losses.sum().backward()
        optimizer.step()

    return step, float((tokens != 0).float().mean())


def das_batch(arch: str):
    run = TrainConfig(task=Task("multi"), arch=arch)
    train = pair_set(DasConfig(run).pairs, SPLITS[0])
    model = build_model(run.model_config, seeds=range(MEMBERS)).eval().requires_grad_(False)
    alignment = das.make_alignment("learned", model.config.state_size, None, seed=tuple(range(MEMBERS)))
    optimizer = torch.optim.Adam(alignment.parameters(), lr=3e-3)
    runs = das.run_frozen(model, train.subset(torch.arange(2048)))
    rows = torch.arange(512)

    def step():
        logits, targets, scored = das.intervened_predictions(model, runs, rows, alignment)
        losses = das.alignment_losses(logits, targets, scored)
        optimizer.zero_grad()
        losses.sum().backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    peak = ceiling((1024, 1024), (1024, 1024), args.repeats)
    small = ceiling((MEMBERS, 128, 20), (MEMBERS, 20, 60), args.repeats)
    print(f"one core: large mm {peak:.1f} GFLOP/s; bmm (6, 128, 20) @ (6, 20, 60) {small:.1f} GFLOP/s")
    rows = []
    for arch in ("gru", "lstm", "transformer"):
        for what, (step, real) in (("train step", train_step(arch)), ("DAS batch", (das_batch(arch), None))):
            ms, work = median_ms(step, args.repeats), flops(step)
            rate = work / ms / 1e6
            rows.append(
                dict(
                    arch=arch,
                    what=what,
                    ms=round(ms, 1),
                    mflop=round(work / 1e6, 1),
                    gflops=round(rate, 2),
                    of_peak=round(rate / peak, 3),
                    of_small_bmm=round(rate / small, 3),
                    real_share=None if real is None else round(real, 3),
                )
            )
            print(
                f"{arch:11s} {what:10s} {ms:7.1f} ms  {work / 1e6:8.1f} MFLOP  {rate:5.2f} GFLOP/s  "
                f"{100 * rate / peak:5.1f} % of large mm  {100 * rate / small:5.1f} % of the step's bmm"
                + ("" if real is None else f"  ({100 * real:.0f} % of the batch's positions are tokens)")
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(peak_gflops=peak, small_bmm_gflops=small, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
