"""Shared test setup: one torch thread (faster than two for these small models on a 2-core
machine, and it keeps tests from fighting over the cores)."""

import torch

torch.set_num_threads(1)
