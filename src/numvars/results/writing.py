"""The ``results`` stage: :func:`write_tables` writes every table of a profile from the store
(:data:`numvars.results.contract.TABLES`) and ships its networks (:mod:`numvars.shipped`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from numvars.grids import Profile
from numvars.jobs import PAPER_PAIRS
from numvars.models import RECURRENT
from numvars.results.causes import causes_table
from numvars.results.count_location import (
    geometry_configs,
    geometry_table,
    state_points_table,
)
from numvars.results.curves import checkpoint_table, gradience_table
from numvars.results.das_tables import das_table, failure_table
from numvars.results.training_tables import accuracy_table, cause_runs_table, runs_table
from numvars.results.transformer_tables import (
    attention_table,
    layer_swap_table,
    plus_minus_table,
)
from numvars.shipped import ship_profile
from numvars.store import Store

#: the DAS experiments whose rows make up das.csv (Figs. 2 and 7, their controls, the protocol
#: variants and the main grid under the authors' code); the size sweeps (under each protocol),
#: the learning curves and the causes of chapter 4 §4.8 (causes.csv, beside the main rows they
#: change) have tables of their own
FIGURE_EXPERIMENTS = ("main", "untrained", "protocol", "authors_code")
#: the tables that can be written alone (``python -m numvars results --table NAME``), and the DAS
#: experiments each is built from: what must be measured (and so trained) before it is written
TABLE_SOURCES = {
    "runs.csv": (),  # the stored networks only
    "das.csv": FIGURE_EXPERIMENTS,
    "das_failures.csv": FIGURE_EXPERIMENTS[:-1],
    "sizes.csv": ("sizes",),
    "authors_code_sizes.csv": ("authors_code_sizes",),
    "gradience.csv": ("sizes",),
    "checkpoints.csv": ("checkpoints",),
    "causes.csv": ("main", "causes"),
    "cause_networks.csv": ("causes",),
    "transformer_variants.csv": ("transformer_variants",),
    "alignment_functions.csv": ("alignment_functions",),
    "k_sweep.csv": ("k_sweep",),
}


def _pair_counts(profile: Profile) -> tuple[int, int, int]:
    """The train, validation and test pair counts of a profile's DAS measurements (of its first)."""
    return next((c.n_pairs for c in profile.das_configs()), PAPER_PAIRS)


def chapter6_networks(profile: Profile) -> list:
    """The transformers chapter 6's forward-only tables measure: every one the profile trains but
    the cause networks (a training rule changed, ``causes.csv``), which have the same table key
    columns as the network they vary and would be a second row under one key."""
    return [c for c in profile.train_configs() if c.arch == "transformer" and not c.rule_changes()]


def table_builders(profile: Profile, store: Store) -> dict[str, Callable[[], pd.DataFrame]]:
    """Every CSV table of :data:`~numvars.results.contract.TABLES` (``summary.json`` aside): its
    name -> a function that builds it from the store (built only when called)."""
    figures = {name: configs for name, configs in profile.das.items() if name in FIGURE_EXPERIMENTS}
    das_of = lambda name, **kw: das_table({name: profile.das.get(name, [])}, store, **kw).round(4)  # noqa: E731
    transformers = chapter6_networks(profile)
    return {
        "runs.csv": lambda: runs_table(profile, store),
        "accuracy_per_count.csv": lambda: accuracy_table(profile, store).round(4),
        "das.csv": lambda: das_table(figures, store).round(4),
        "das_failures.csv": lambda: failure_table(
            {name: figures[name] for name in figures if name != "authors_code"}, store
        ).round(4),
        "sizes.csv": lambda: das_of("sizes"),
        "authors_code_sizes.csv": lambda: das_of("authors_code_sizes"),
        "checkpoints.csv": lambda: checkpoint_table(profile.das.get("checkpoints", []), store).round(4),
        "gradience.csv": lambda: gradience_table(profile.das.get("sizes", []), store),
        "causes.csv": lambda: (
            causes_table(das_table({"main": profile.das["main"], "causes": profile.das["causes"]}, store)).round(4)
            if "causes" in profile.das
            else pd.DataFrame()
        ),
        "cause_networks.csv": lambda: cause_runs_table(profile, store),
        # chapter 6
        "attention.csv": lambda: attention_table(transformers, store).round(4),
        "plus_minus.csv": lambda: plus_minus_table(transformers, store),
        "layer_swaps.csv": lambda: layer_swap_table(transformers, store, _pair_counts(profile)).round(4),
        "transformer_variants.csv": lambda: das_of("transformer_variants"),
        # chapter 7
        "alignment_functions.csv": lambda: das_of("alignment_functions", alignment=True),
        "k_sweep.csv": lambda: das_of("k_sweep", alignment=True),
        "geometry.csv": lambda: geometry_table(geometry_configs(profile), store).round(4),
        "state_points.csv": lambda: state_points_table(
            [c for c in profile.training["main"] if c.arch in RECURRENT and c.seed == 0], store
        ).round(4),
    }


def write_tables(profile: Profile, store: Store, out: Path, names: Sequence[str] | None = None) -> list[Path]:
    """Write a profile's tables (:func:`table_builders`) from the store into ``out``, and the weights of
    its trained networks into ``out/networks`` (:mod:`numvars.shipped`); returns the paths
    written (a network file whose content did not change is not rewritten).

    ``names``: only these tables (e.g. ``["k_sweep.csv"]``, after re-measuring one grid), and
    neither ``summary.json`` nor the networks; every other file of ``out`` is left as it is.
    Raises ValueError for a name that is not a table."""
    builders = table_builders(profile, store)
    unknown = sorted(set(names or ()) - set(builders))
    if unknown:
        raise ValueError(f"unknown table {', '.join(map(repr, unknown))}; allowed: {', '.join(builders)}")
    out.mkdir(parents=True, exist_ok=True)
    paths, built = [], {}
    for name in names or builders:
        table = built[name] = builders[name]()
        if table.empty:  # nothing of it measured yet (e.g. no network without positional encoding trained)
            (out / name).unlink(missing_ok=True)
            continue
        table.to_csv(out / name, index=False)
        paths.append(out / name)
    if names:
        return paths
    runs = built["runs.csv"]
    summary = {"profile": profile.name, "runs": len(runs), "dropped": int((~runs["reached"]).sum()) if len(runs) else 0}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return paths + [out / "summary.json"] + ship_profile(profile, store, out / "networks")
