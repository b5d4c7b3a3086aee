"""Shared test setup: one torch thread (faster than two for these small models on a 2-core
machine, and it keeps tests from fighting over the cores), and the quick profile's GRU."""

import pytest
import torch

from numvars.grids import profile
from numvars.runner import ensure
from numvars.training import TrainConfig

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def quick_gru() -> TrainConfig:
    """The quick profile's GRU (Single-Object, seed 0), trained once into the default store —
    reused from there when the book or an earlier test run trained it (about 30 s otherwise)."""
    grus = [c for c in profile("quick").training["main"] if c.arch == "gru"]
    config = grus[0]
    assert config.seed == 0
    ensure(grus, progress=False)  # both seeds in one stack, as the book trains them: the same networks
    return config
