"""The ``results`` stage: :func:`write_tables` writes every table of a profile from the store
(:data:`numvars.results.contract.TABLES`) and ships its networks (:mod:`numvars.shipped`).
"""

from __future__ import annotations

import json
from pathlib import Path

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
#: variants and the authors' code); the size sweep, the learning curves and the causes of chapter 4
#: §4.8 (causes.csv, beside the main rows they change) have tables of their own
FIGURE_EXPERIMENTS = ("main", "untrained", "protocol", "authors_code")


def _pair_counts(profile: Profile) -> tuple[int, int, int]:
    """The train, validation and test pair counts of a profile's DAS measurements (of its first)."""
    return next((c.n_pairs for c in profile.das_configs()), PAPER_PAIRS)


def chapter6_networks(profile: Profile) -> list:
    """The transformers chapter 6's forward-only tables measure: every one the profile trains but
    the cause networks (a training rule changed, ``causes.csv``), which have the same table key
    columns as the network they vary and would be a second row under one key."""
    return [c for c in profile.train_configs() if c.arch == "transformer" and not c.rule_changes()]


def write_tables(profile: Profile, store: Store, out: Path) -> list[Path]:
    """Write a profile's tables (:data:`TABLES`) from the store into ``out``, and the weights of
    its trained networks into ``out/networks`` (:mod:`numvars.shipped`); returns the paths
    written (a network file whose content did not change is not rewritten)."""
    out.mkdir(parents=True, exist_ok=True)
    runs = runs_table(profile, store)
    figures = {name: configs for name, configs in profile.das.items() if name in FIGURE_EXPERIMENTS}
    tables = {
        "runs.csv": runs,
        "accuracy_per_count.csv": accuracy_table(profile, store).round(4),
        "das.csv": das_table(figures, store).round(4),
        "das_failures.csv": failure_table(
            {name: figures[name] for name in figures if name != "authors_code"}, store
        ).round(4),
        "sizes.csv": das_table({"sizes": profile.das.get("sizes", [])}, store).round(4),
        "checkpoints.csv": checkpoint_table(profile.das.get("checkpoints", []), store).round(4),
        "gradience.csv": gradience_table(profile.das.get("sizes", []), store),
    }
    tables["causes.csv"] = (
        causes_table(das_table({"main": profile.das["main"], "causes": profile.das["causes"]}, store)).round(4)
        if "causes" in profile.das
        else pd.DataFrame()
    )
    tables["cause_networks.csv"] = cause_runs_table(profile, store)
    transformers = chapter6_networks(profile)
    tables.update(
        {  # chapter 6
            "attention.csv": attention_table(transformers, store).round(4),
            "plus_minus.csv": plus_minus_table(transformers, store),
            "layer_swaps.csv": layer_swap_table(transformers, store, _pair_counts(profile)).round(4),
            "transformer_variants.csv": das_table(
                {"transformer_variants": profile.das.get("transformer_variants", [])}, store
            ).round(4),
        }
    )
    alignment = {
        name: das_table({name: profile.das.get(name, [])}, store, alignment=True).round(4)
        for name in ("alignment_functions", "k_sweep")
    }
    tables.update(
        {  # chapter 7
            "alignment_functions.csv": alignment["alignment_functions"],
            "k_sweep.csv": alignment["k_sweep"],
            "geometry.csv": geometry_table(geometry_configs(profile), store).round(4),
            "state_points.csv": state_points_table(
                [c for c in profile.training["main"] if c.arch in RECURRENT and c.seed == 0], store
            ).round(4),
        }
    )
    paths = []
    for name, table in tables.items():
        if table.empty:  # nothing of it measured yet (e.g. no network without positional encoding trained)
            (out / name).unlink(missing_ok=True)
            continue
        table.to_csv(out / name, index=False)
        paths.append(out / name)
    summary = {"profile": profile.name, "runs": len(runs), "dropped": int((~runs["reached"]).sum()) if len(runs) else 0}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return paths + [out / "summary.json"] + ship_profile(profile, store, out / "networks")
