"""Chapter 6: attention maps and shares, the ±1 manipulation, full swaps per layer."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from numvars.attention import DEFAULT_SELF, KEY_ROLES
from numvars.tasks import Task
from numvars.training import describe


def plot_attention_maps(task: Task, ids: Sequence[int], weights: Sequence, title: str = "") -> plt.Figure:
    """Chapter 6 (Fig. 8): one trial's attention weights, one heat map per layer (query rows,
    key columns, tokens as labels); ``weights`` per layer (L, L)."""
    tokens = task.decode(ids).split()
    fig, axes = plt.subplots(1, len(weights), figsize=(4.4 * len(weights), 4), squeeze=False)
    for layer, (ax, w) in enumerate(zip(axes[0], weights), start=1):
        sns.heatmap(
            pd.DataFrame(w.detach().numpy(), index=tokens, columns=tokens),
            vmin=0,
            vmax=1,
            cmap="magma",
            ax=ax,
            cbar=layer == len(weights),
            square=True,
        )
        ax.set(title=f"{title} layer {layer}".strip(), xlabel="key (attended to)", ylabel="query")
    fig.tight_layout()
    return fig


def plot_attention_shares(shares: pd.DataFrame, self_keys: str = DEFAULT_SELF) -> plt.Figure:
    """Chapter 6 (Fig. 8 in numbers): the share of a query's attention on each key role, by
    layer (columns) and condition (rows), demo- and response-phase queries side by side; bars
    are means over networks, whiskers their standard deviation (:func:`numvars.results.attention_table`),
    under the reading ``self_keys`` of the query's own key (:data:`numvars.attention.SELF_READINGS`)."""
    shares = shares[shares["self_keys"] == self_keys]
    shares = shares.assign(condition=shares.apply(describe, axis=1))
    grid = sns.catplot(
        data=shares,
        x="role",
        y="share",
        hue="query_phase",
        col="layer",
        row="condition",
        kind="bar",
        errorbar="sd",
        height=2.6,
        aspect=1.5,
        order=list(KEY_ROLES),
    )
    grid.set_titles("{row_name} · layer {col_name}")
    grid.set(ylim=(0, 1))
    return grid.figure


def plot_plus_minus(shifts: pd.DataFrame) -> plt.Figure:
    """Chapter 6 (App. A.4): for each condition and manipulation, the share of trials whose
    number of responses moved by each shift (:func:`numvars.results.plus_minus_table`; a
    shift that is not a clean run of responses ended by E shown as "other")."""
    terms = {"none": "no term", "demo": "demo term", "response": "response term"}
    shifts = shifts.assign(
        condition=shifts.apply(describe, axis=1),
        manipulation=shifts["manipulation"].map(terms),
        shift=shifts["shift"].map(lambda s: "other" if pd.isna(s) else f"{s:+.0f}"),
    )
    totals = shifts.groupby(["condition", "manipulation", "shift"])["trials"].sum().reset_index()
    totals["share"] = totals["trials"] / totals.groupby(["condition", "manipulation"])["trials"].transform("sum")
    order = sorted(totals["shift"].unique(), key=lambda s: (s == "other", float(s) if s != "other" else 0))
    grid = sns.catplot(
        data=totals,
        x="shift",
        y="share",
        col="manipulation",
        row="condition",
        kind="bar",
        order=order,
        col_order=list(terms.values()),
        height=2.6,
        aspect=1.4,
        color="tab:blue",
    )
    grid.set_titles("{row_name} · {col_name}")
    grid.set(ylim=(0, 1), xlabel="responses − N")
    return grid.figure


def plot_layer_swaps(swaps: pd.DataFrame) -> plt.Figure:
    """Chapter 6 (App. A.5): a full swap of the residual stream after each layer — the share of
    pairs whose prediction at t moved, whose later predictions moved, and the full swap's IIA,
    per condition (means over networks, all target phases; :func:`numvars.results.layer_swap_table`)."""
    swaps = swaps[swaps["t_phase"] == "all"].assign(condition=lambda f: f.apply(describe, axis=1))
    long = swaps.melt(
        id_vars=["condition", "seed", "layer"],
        value_vars=["moved_at_t", "moved_later", "iia"],
        var_name="measure",
        value_name="share",
    )
    grid = sns.catplot(
        data=long,
        x="layer",
        y="share",
        hue="measure",
        col="condition",
        kind="bar",
        errorbar="sd",
        height=2.8,
        aspect=1.2,
        col_wrap=3,
    )
    grid.set_titles("{col_name}")
    grid.set(ylim=(0, 1.02), xlabel="after layer (0: embedding)")
    return grid.figure
