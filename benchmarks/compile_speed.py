"""Does ``torch.compile`` pay for numvars' kernels on a CPU? Eager against compiled, side by side.

    python benchmarks/compile_speed.py [--repeats 5] [--calls 200]

Issue 24 asked for fused kernels "where they pay", the choice made by measurement. The packed
kernel's time is in two places (profiles of a training batch: the output head and its loss about
60 %, the recurrence about 35 %), so those are what this compiles, each with PyTorch's default
inductor backend and ``dynamic=True`` (a batch's row count changes every step):

* ``gru step`` — one step of the packed GRU forward and its hand-written backward
  (``numvars.recurrence._gru_step`` / ``_gru_step_backward``), six members, d = 20, the rows a
  training batch steps (128 down to 29, as sequences end);
* ``lstm step`` — the same for the LSTM;
* ``head + loss`` — one member's output head ``Linear(20, 80) → GELU → dropout → Linear(80, V)``
  and its mean cross-entropy, forward and backward, on the ~3 000 positions of a batch (the
  dropout mask drawn outside, as the packed kernel draws the stepped kernel's masks).

Inputs are made before the clock starts. Prints the one-time compile seconds of each, then the
median over ``--repeats`` of the microseconds per call (``--calls`` calls with varying rows,
eager and compiled alternating), and the ratio. One torch thread; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from numvars.recurrence import _gru_step, _gru_step_backward, _lstm_step, _lstm_step_backward

E, D, V, P = 6, 20, 12, 0.5


def step_case(step, backward, gates: int, state_size: int):
    """A step forward + backward on ``n`` rows, its inputs made in advance."""
    w_h, b_h = torch.randn(E, D, gates * D) / D**0.5, torch.randn(E, gates * D)

    def inputs(n: int):
        return torch.randn(E, n, gates * D), torch.rand(E, n, state_size), torch.randn(E, n, state_size)

    def call(fns, args):
        gx, state, grad = args
        new, saved = fns[0](gx, state, w_h, b_h)
        return fns[1](grad, state, saved)

    return (step, backward), inputs, call


def head_loss(hidden, w1, b1, keep, w2, b2, targets):
    x = F.gelu(torch.addmm(b1, hidden, w1)) * keep * (1 / (1 - P))
    logits = torch.addmm(b2, x, w2)
    return F.cross_entropy(logits.t().unsqueeze(0), targets.unsqueeze(0))


def head_case():
    weights = [torch.randn(D, 4 * D), torch.randn(4 * D), torch.randn(4 * D, V), torch.randn(V)]
    for w in weights:
        w.requires_grad_(True)

    def inputs(n: int):
        return torch.randn(n, D, requires_grad=True), torch.rand(n, 4 * D) >= P, torch.randint(0, V, (n,))

    def call(fns, args):
        hidden, keep, targets = args
        w1, b1, w2, b2 = weights
        fns[0](hidden, w1, b1, keep, w2, b2, targets).backward()

    return (head_loss,), inputs, call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cases = {
        "gru step": (step_case(_gru_step, _gru_step_backward, 3, D), lambda i: 128 - i % 100),
        "lstm step": (step_case(_lstm_step, _lstm_step_backward, 4, 2 * D), lambda i: 128 - i % 100),
        "head + loss": (head_case(), lambda i: 2800 + 7 * (i % 60)),
    }
    for name, ((fns, inputs, call), rows) in cases.items():
        compiled = tuple(torch.compile(f, dynamic=True) for f in fns)
        batch = [inputs(rows(i)) for i in range(args.calls)]
        start = time.perf_counter()
        call(compiled, batch[0])
        call(compiled, batch[1])  # a second shape: the dynamic graph is in place
        compile_seconds = time.perf_counter() - start
        times = {"eager": [], "compiled": []}
        for _ in range(args.repeats):
            for label, f in (("eager", fns), ("compiled", compiled)):
                start = time.perf_counter()
                for a in batch:
                    call(f, a)
                times[label].append((time.perf_counter() - start) / len(batch) * 1e6)
        eager, fused = statistics.median(times["eager"]), statistics.median(times["compiled"])
        print(
            f"{name:12s} compile {compile_seconds:5.1f} s; per call eager {eager:8.1f} us, compiled {fused:8.1f} us: "
            f"compiled is {eager / fused:.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
