"""Free-running training: the stepped kernel against the packed one, side by side in one process.

    python benchmarks/free_running_speed.py [--arch gru] [--batches 8] [--repeats 5]

Free-running training (the authors' rule: a GRU or LSTM fed its own argmax prediction in the
response phase, ``TrainConfig(response_inputs="free")``) times one training batch — the loss
and its backward pass, as :func:`numvars.training.train` computes them — of the six Multi-Object
seeds as one stack (d = 20, batches of 128 from each seed's training set, train mode: the head's
dropout on), by the stepped kernel (every row stepped, the head at every step) and by the packed
kernel (:mod:`numvars.models.free_running`: every row teacher-forced, only the rows whose fed-back
input departs stepped on), alternating, ``--repeats`` times over the same ``--batches`` batches:

* ``trained`` — the shipped free-running networks of the paper profile (chapter 4 §4.8's cause
  "free-running RNN training", analysed weights): they predict almost every token right, which is
  most of a training run (1 500 epochs under ``authors_code``, the criterion met after 50-200);
* ``untrained`` — the same configs at their initial weights: almost every row departs at its
  first response, so the packed kernel steps on nearly the whole batch (a run's first epochs).

Prints, per regime, the share of rows that depart, the median milliseconds per batch of each
kernel and their ratio. Wall-clock timings: run it on a quiet machine, one torch thread.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace

import numpy as np
import torch

from numvars.grids import profile
from numvars.jobs import load_run
from numvars.models import CountingModel, build_model
from numvars.shipped import restore
from numvars.store import Store
from numvars.training import training_set
from numvars.training.evaluation import PaddedSet, stack_padded
from numvars.training.loop import load_model


def batches(configs, n: int, size: int = 128) -> list[torch.Tensor]:
    """``n`` training batches (E, size, L) of the members' own training sets."""
    sets = [PaddedSet(c.task, training_set(c)) for c in configs]
    rng = np.random.default_rng(0)
    return [
        stack_padded(
            [s.batch(rng.permutation(c.n_train)[:size]) for s, c in zip(sets, configs)], configs[0].task.pad_id
        )
        for _ in range(n)
    ]


def batch_ms(model: CountingModel, data: list[torch.Tensor], task) -> float:
    start = time.perf_counter()
    for tokens in data:
        model.next_token_losses(tokens, task.response_mask(tokens[:, :, :-1])).sum().backward()
    return (time.perf_counter() - start) / len(data) * 1000


def departing_rows(model: CountingModel, data: list[torch.Tensor], task) -> float:
    """The share of rows whose free-running inputs depart from the true tokens (train mode)."""
    departed = total = 0
    with torch.no_grad():
        for tokens in data:
            inputs = tokens[:, :, :-1]
            fed = task.response_mask(inputs)
            predicted = model(inputs, feed_back=fed).logits.argmax(dim=-1)
            departed += int((fed[:, :, 1:] & (predicted[:, :, :-1] != inputs[:, :, 1:])).any(dim=-1).sum())
            total += fed.shape[0] * fed.shape[1]
    return departed / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=("gru", "lstm"), default="gru")
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    configs = [
        c
        for c in profile("paper").training["causes"]
        if c.arch == args.arch and c.task.kind == "multi" and c.response_inputs == "free"
    ]
    store = Store(tempfile.mkdtemp(prefix="free-running-"))
    restore(configs, store, {})
    trained = [load_run(c, store).state for c in configs]
    data = batches(configs, args.batches)
    task = configs[0].task
    print(f"{args.arch}, six Multi-Object seeds as one stack, {args.batches} batches of 128, median of {args.repeats}")
    for regime in ("trained", "untrained"):
        times = {"stepped": [], "packed": []}
        for _ in range(args.repeats):
            for kernel in times:
                kernel_configs = [replace(c, kernel=kernel) for c in configs]
                if regime == "trained":
                    model = CountingModel.stack([load_model(c, s) for c, s in zip(kernel_configs, trained)])
                else:
                    model = build_model(kernel_configs[0].model_config, seeds=[c.seed for c in configs])
                times[kernel].append(batch_ms(model.train(), data, task))
        share = departing_rows(model.train(), data, task)
        stepped, packed = (statistics.median(times[k]) for k in ("stepped", "packed"))
        print(
            f"{regime}: {share:.1%} of rows depart; stepped {stepped:.0f} ms, packed {packed:.0f} ms per batch "
            f"({stepped / packed:.2f}x)"
        )


if __name__ == "__main__":
    main()
