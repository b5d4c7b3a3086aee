"""Training speed: a plain loop versus numvars' stacked ensembles, side by side in one run.

    python benchmarks/train_speed.py [--seeds 6] [--kind multi]

Both train d = 20 GRUs on the same task with the same data, schedule, validation and
criterion (numvars.training); they differ only in how the work is executed:

* plain   — one model at a time, ``nn.GRUCell`` stepped in Python, one torch thread;
* stacked — numvars.train: all seeds of the condition as one stacked ensemble, one thread;
* stacked ×2 — two such ensembles at once in two single-thread worker processes, as
  `python -m numvars train --workers 2` runs the paper grid (the same seeds twice, so that both
  processes carry the same load).

Prints the time to criterion per model and the throughput (training sequences per second)
of each, and the ratios to the plain loop. Timings are wall-clock: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from numvars.tasks import Task
from numvars.training import TrainConfig, derive_seed, lr_at, member_losses, train, training_set, validation_set


class PlainGRU(nn.Module):
    """The baseline: embedding, GRUCell stepped in Python, the same MLP head."""

    def __init__(self, vocab_size: int, d: int = 20):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d)
        self.cell = nn.GRUCell(d, d)
        self.head = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Dropout(0.5), nn.Linear(4 * d, vocab_size))

    def forward(self, tokens):  # (B, L) -> (B, L, V)
        x = self.embedding(tokens)
        h = torch.zeros(tokens.shape[0], self.cell.hidden_size)
        states = []
        for t in range(tokens.shape[1]):
            h = self.cell(x[:, t], h)
            states.append(h)
        return self.head(torch.stack(states, dim=1))


def plain_train(config: TrainConfig) -> tuple[float, int]:
    """Train one plain model to criterion; returns (seconds, epochs)."""
    torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    task = config.task
    model = PlainGRU(len(task.vocab), config.d)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr_at(config, 0))
    train_tokens = task.pad(training_set(config))
    val_tokens = task.pad(validation_set(config))
    rng = np.random.default_rng(derive_seed(config.seed, "batches"))
    start, step = time.perf_counter(), 0
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        order = torch.as_tensor(rng.permutation(config.n_train))
        for b in range(0, config.n_train, config.batch_size):
            batch = train_tokens[order[b : b + config.batch_size]]
            batch = batch[:, : int((batch != task.pad_id).sum(1).max())]
            for group in optimizer.param_groups:
                group["lr"] = lr_at(config, step)
            loss = member_losses(model(batch[:, :-1]).unsqueeze(0), batch.unsqueeze(0), task.pad_id).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        model.eval()
        with torch.no_grad():
            accuracy = task.trial_accuracy(model(val_tokens), val_tokens)
        if accuracy >= config.criterion:
            break
    return time.perf_counter() - start, epoch


def stacked_train(configs: list[TrainConfig]) -> tuple[float, list[int]]:
    """Train configs as one stacked ensemble; returns (seconds, epochs per member)."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    results = train(configs)
    return time.perf_counter() - start, [r.epochs for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=6, help="seeds of the condition (default 6, as in the paper)")
    parser.add_argument("--kind", default="multi")
    args = parser.parse_args()
    base = TrainConfig(task=Task(args.kind), arch="gru", d=20, max_epochs=1000)
    configs = [replace(base, seed=s) for s in range(args.seeds)]
    n_train = base.n_train

    plain = [plain_train(c) for c in configs]
    plain_seconds = sum(t for t, _ in plain)
    rows = [("plain", statistics.median(t for t, _ in plain), sum(e for _, e in plain) * n_train / plain_seconds)]

    seconds, epochs = stacked_train(configs)
    rows.append(("stacked", seconds / len(configs), sum(epochs) * n_train / seconds))

    # two identical stacks at once, as two conditions of the grid run in two worker processes
    start = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        outcomes = list(pool.map(stacked_train, [configs, configs]))
    wall = time.perf_counter() - start
    rows.append(("stacked x2 processes", wall / (2 * len(configs)), sum(sum(e) for _, e in outcomes) * n_train / wall))

    print(f"d = 20 GRU, {args.kind}-object, seeds 0..{args.seeds - 1}, trained to criterion")
    print(f"{'method':<22}{'s / model':>11}{'sequences/s':>14}{'vs plain':>10}")
    for name, per_model, throughput in rows:
        print(f"{name:<22}{per_model:>11.1f}{throughput:>14.0f}{throughput / rows[0][2]:>9.2f}x")
    print("s / model: median time to criterion (plain), wall-clock per model (stacked)")
    print("epochs to criterion — plain:", [e for _, e in plain], "stacked:", epochs)


if __name__ == "__main__":
    main()
