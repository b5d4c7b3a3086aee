"""The one setup call every chapter starts with: ``book = nv.setup(PROFILE)``."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import seaborn as sns
import torch

from numvars.grids import Profile, check_profile, profile as get_profile
from numvars.results import read_table
from numvars.store import Store


@dataclass
class Chapter:
    """What a chapter works with: its profile's grids (run live) and the committed paper-profile tables."""

    profile: Profile  # the live profile's grids ("quick" in CI)
    store: Store

    def paper_table(self, name: str, first_protocol: bool = False) -> pd.DataFrame:
        """A committed paper-profile table, e.g. ``"das.csv"``: ``results/paper/`` (the chosen
        protocol, chapter 4 §4.7), or with ``first_protocol`` ``results/paper_v1/`` (networks
        trained to the criterion, the first protocol's measurements; kept for comparison)."""
        return read_table("paper_v1" if first_protocol else "paper", name)


def setup(profile: str = "quick") -> Chapter:
    """Check ``profile`` (``"quick"`` or ``"paper"``), set the plotting theme, one torch thread
    (faster than two for these small networks on two cores) and pandas' display precision."""
    check_profile(profile)
    sns.set_theme(style="whitegrid", context="notebook")
    torch.set_num_threads(1)
    pd.set_option("display.precision", 3)
    pd.set_option("display.width", 120)
    pd.set_option("display.max_rows", 100)
    return Chapter(get_profile(profile), Store.default())
