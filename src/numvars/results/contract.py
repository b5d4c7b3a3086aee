"""The CSV contract: which tables a profile has (:data:`TABLES`), where they live
(``results/<profile>/``, :data:`RESULTS_DIR`) and how a chapter reads one (:func:`read_table`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

RESULTS_DIR = Path(__file__).resolve().parents[3] / "results"


TABLES = (
    "runs.csv",
    "accuracy_per_count.csv",
    "das.csv",
    "das_failures.csv",
    "sizes.csv",
    "authors_code_sizes.csv",
    "checkpoints.csv",
    "gradience.csv",
    "attention.csv",
    "plus_minus.csv",
    "layer_swaps.csv",
    "transformer_variants.csv",
    "alignment_functions.csv",
    "k_sweep.csv",
    "geometry.csv",
    "state_points.csv",
    "causes.csv",
    "cause_networks.csv",
    "summary.json",
)


def read_table(profile: str, name: str) -> pd.DataFrame:
    """A committed table, e.g. ``read_table("paper", "das.csv")`` (``results/<profile>/<name>``)."""
    path = RESULTS_DIR / profile / name
    if not path.is_file():
        raise FileNotFoundError(
            f"no table {path}: run `python -m numvars reproduce --profile {profile.removesuffix('_v1')}` first"
        )
    return pd.read_csv(path)
