"""Figures for the book: one function per figure, seaborn, each returning the figure."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from numvars.analysis import ALL_PROGRAMS, count_distribution, long_form, long_trace
from numvars.measures import label as measure_label
from numvars.models import ARCHITECTURES
from numvars.programs import get_program
from numvars.tasks import Task

PROGRAM_TITLES = {"up_down": "Up-Down", "up_up": "Up-Up", "ctx_distr": "Ctx-Distr (re-read tally)"}


def _shade_response_phase(ax, frame: pd.DataFrame) -> None:
    response = frame.loc[frame["phase"] == "response", "position"]
    if len(response):
        ax.axvspan(response.min() - 0.5, response.max() + 0.5, color="0.92", zorder=0)


def _token_ticks(ax, tokens: Sequence[str]) -> None:
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens)
    ax.set_xlim(-0.5, len(tokens) - 0.5)


def plot_program_traces(task: Task, ids: Sequence[int], programs: Sequence[str] = ALL_PROGRAMS) -> plt.Figure:
    """Chapter 1 §1.2. The numeric variables of each program after every token of one sequence (one panel per
    program; the response phase is shaded)."""
    frame = long_trace(task, ids, programs)
    tokens = task.decode(ids).split()
    fig, axes = plt.subplots(1, len(programs), figsize=(4.2 * len(programs), 3.2), sharey=True)
    for ax, name in zip(list(axes) if len(programs) > 1 else [axes], programs):
        part = frame[frame["program"] == name]
        _shade_response_phase(ax, part)
        sns.lineplot(
            data=part, x="position", y="value", hue="variable", style="variable", markers=True, dashes=False, ax=ax
        )
        _token_ticks(ax, tokens)
        ax.set(title=PROGRAM_TITLES.get(name, name), xlabel="token read", ylabel="value after the token")
        ax.legend(title=None, loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def plot_counterfactual(
    task: Task,
    program: str,
    target: Sequence[int],
    t: int,
    source: Sequence[int],
    u: int,
    variables: Sequence[str] | str | None,
    seed: int = 0,
) -> plt.Figure:
    """Chapter 1 §1.4. Three panels for one program's variables: the source's trace (swap taken after ``u``),
    the target's (swap made after ``t``), and the counterfactual as the intervened program runs it."""
    prog = get_program(program, task)
    counterfactual, intervened = prog.counterfactual_trace(target, t, source, u, variables, seed=seed)
    panels = [
        ("source", source, u, long_form(task, source, prog.trace(source), program)),
        ("target (original)", target, t, long_form(task, target, prog.trace(target), program)),
        (
            "counterfactual (the intervened program runs on)",
            counterfactual,
            t,
            long_form(task, counterfactual, intervened, program),
        ),
    ]
    fig, axes = plt.subplots(3, 1, figsize=(8, 6.6), sharey=True)
    for ax, (title, ids, mark, frame) in zip(axes, panels):
        _shade_response_phase(ax, frame)
        sns.lineplot(
            data=frame, x="position", y="value", hue="variable", style="variable", markers=True, dashes=False, ax=ax
        )
        ax.axvline(mark, color="crimson", linestyle=":", linewidth=2)
        _token_ticks(ax, task.decode(ids).split())
        ax.set(title=title, xlabel=None, ylabel="value")
        ax.legend(title=None, loc="upper left", fontsize="small")
    axes[-1].set_xlabel("token read (dotted: where the state is swapped)")
    fig.tight_layout()
    return fig


def plot_count_distribution(task: Task, seqs: Sequence[Sequence[int]], title: str) -> plt.Figure:
    """Chapter 1 §1.1. Bar chart of N over ``seqs``, the held-out counts marked in red."""
    frame = count_distribution(task, seqs)
    fig, ax = plt.subplots(figsize=(8, 2.6))
    sns.barplot(
        data=frame, x="N", y="sequences", hue="in training", palette={"drawn": "tab:blue", "held out": "tab:red"}, ax=ax
    )
    for n in task.hold_outs:
        ax.annotate(
            "held out",
            (n - 1, 0),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            rotation=90,
            fontsize="small",
            color="tab:red",
        )
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def plot_training_curves(history: pd.DataFrame) -> plt.Figure:
    """Chapter 2 §2.3. Validation trial accuracy and training loss per epoch, one line per run, by architecture."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for ax, column, label in zip(axes, ("val_accuracy", "loss"), ("validation trial accuracy", "training loss")):
        sns.lineplot(data=history, x="epoch", y=column, hue="arch", units="seed", estimator=None, ax=ax, lw=1)
        ax.set(ylabel=label)
    axes[1].set_yscale("log")
    fig.tight_layout()
    return fig


def plot_accuracy_per_count(
    accuracy: pd.DataFrame, hue: str, col: str | None = None, task: Task = Task("multi")
) -> plt.Figure:
    """Chapter 2 §2.4. Trial accuracy per N (mean ± sd over seeds), held-out counts marked, the training range
    shaded (paper Fig. 6); ``task`` gives the hold-outs and the trained range."""
    hold_outs, max_trained = task.hold_outs, task.max_count
    grid = sns.relplot(
        data=accuracy,
        x="N",
        y="accuracy",
        hue=hue,
        col=col,
        kind="line",
        errorbar="sd",
        marker="o",
        height=3.0,
        aspect=1.3,
        palette="viridis" if hue == "d" else None,
        facet_kws=dict(sharey=True),
    )
    for ax in grid.axes.flat:
        ax.axvspan(0.5, max_trained + 0.5, color="0.94", zorder=0)
        for n in hold_outs:
            ax.axvline(n, color="tab:red", lw=0.8, ls=":", zorder=0)
        ax.set(ylim=(-0.03, 1.03), ylabel="trial accuracy")
    grid.figure.suptitle(
        f"shaded: trained range 1–{max_trained}; red dotted: held-out counts", y=1.02, fontsize="small"
    )
    return grid.figure


def plot_iia_grid(
    summary: pd.DataFrame, measures: Sequence[str] = ("count", "up_up", "phase", "full_swap")
) -> plt.Figure:
    """Chapter 4 §4.1–4.2, paper Figs. 2 and 7: test IIA per architecture (panels), task (groups) and measure (bars),
    mean over seeds with min–max whiskers; the paper's cell as a black bar where it reports one.
    ``summary`` is :func:`numvars.results.summarise`'s table."""
    archs = [a for a in ARCHITECTURES if a in set(summary["arch"])]
    tasks = [t for t in ("multi", "single", "same") if t in set(summary["task"])]
    colours = sns.color_palette("colorblind", len(measures))
    width = 0.8 / len(measures)
    fig, axes = plt.subplots(1, len(archs), figsize=(4.4 * len(archs), 3.4), sharey=True, squeeze=False)
    for ax, arch in zip(axes[0], archs):
        for i, measure in enumerate(measures):
            for j, task in enumerate(tasks):
                row = summary[(summary["arch"] == arch) & (summary["task"] == task) & (summary["measure"] == measure)]
                if row.empty:
                    continue
                row = row.iloc[0]
                x = j - 0.4 + width * (i + 0.5)
                ax.bar(x, row["mean"], width, color=colours[i], label=measure_label(measure) if j == 0 else None)
                spread = [
                    [max(row["mean"] - row["min"], 0)],
                    [max(row["max"] - row["mean"], 0)],
                ]  # rounding can put the mean a hair outside
                ax.errorbar(x, row["mean"], yerr=spread, color="0.3", lw=1, capsize=2)
                if pd.notna(row.get("paper")):
                    ax.plot([x - width / 2, x + width / 2], [row["paper"]] * 2, color="black", lw=2.5)
        ax.set_xticks(range(len(tasks)))
        ax.set_xticklabels([f"{t.capitalize()}-Object" for t in tasks])
        ax.set_ylim(0, 1.05)
        ax.set_title(arch.upper() if arch != "transformer" else "Transformer")
    axes[0][0].set_ylabel("test IIA")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], color="black", lw=2.5))
    labels.append("paper (Fig. 2; phase: Fig. 7)")
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    return fig


def plot_intervened_trial(
    task: Task, tokens: Sequence[int], t: int, counterfactual: Sequence[int], eos_original, eos_intervened
) -> plt.Figure:
    """Chapter 3 §3.4. One interchange intervention: the network's probability of ``E`` after each token of the
    counterfactual sequence, without and with the swap after token ``t``; the programme's
    counterfactual ``E`` and the original sequence's ``E`` are marked."""
    labels = task.decode(counterfactual).split()
    fig, ax = plt.subplots(figsize=(max(6, 0.32 * len(labels)), 3))
    positions = range(len(eos_original))
    ax.plot(positions, eos_original, "o-", color="0.6", label="network, no intervention")
    ax.plot(positions, eos_intervened, "o-", color="C3", label="network, state swapped after t")
    ax.axvline(t, color="C0", ls=":", label="t (swap)")
    original_end = list(tokens).index(task.eos_id) - 1
    ax.axvline(original_end, color="0.6", ls="--", label="original E is next")
    ax.axvline(len(counterfactual) - 2, color="C3", ls="--", label="counterfactual E is next")
    _token_ticks(ax, labels)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("P(next token = E)")
    ax.set_xlabel("token read (counterfactual sequence)")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_fit_history(history: Sequence[dict]) -> plt.Figure:
    """Validation IIA after each epoch of one DAS fit (a :class:`numvars.das.DasResult`'s
    ``history``), chapter 3 §3.3."""
    frame = pd.DataFrame(list(history))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(frame["epoch"], frame["val_iia"], "o-", ms=3)
    ax.set(xlabel="epoch", ylabel="validation IIA", ylim=(0, 1))
    fig.tight_layout()
    return fig


def plot_size_sweep(sizes: pd.DataFrame, paper_points: dict[int, float] | None = None) -> plt.Figure:
    """Chapter 5 §5.1 (Fig. 3 left). Up-Down count IIA against the state size d (log scale), one
    panel per architecture: each analysed network a dot, the mean a line, the controls (full swap,
    random rotation, untrained) as dashed lines, and the paper's values read off its plot.
    ``sizes``: a ``sizes.csv`` table (:func:`numvars.results.das_table`)."""
    from numvars.results import analysed, size_table

    summary = size_table(sizes)
    trained = analysed(sizes)
    count = trained[(trained["variable"] == "count") & (trained["method"] == "learned")]
    archs = list(summary["arch"].unique())
    fig, axes = plt.subplots(1, len(archs), figsize=(5.2 * len(archs), 3.8), sharey=True, squeeze=False)
    for ax, arch in zip(axes[0], archs):
        part, dots = summary[summary["arch"] == arch], count[count["arch"] == arch]
        ax.scatter(dots["d"], dots["test_iia"], color="C0", alpha=0.5, s=18, label="one network (count)")
        ax.plot(part["d"], part["count"], "o-", color="C0", label="count, mean")
        for column, colour, label in (
            ("random", "C1", "random rotation"),
            ("untrained", "C2", "untrained"),
            ("full_swap", "C3", "full swap"),
        ):
            ax.plot(part["d"], part[column], "--", color=colour, label=label)
        if arch == "gru" and paper_points:
            ax.plot(
                list(paper_points), list(paper_points.values()), "k*", markersize=11, label="paper (read off Fig. 3)"
            )
        ax.set_xscale("log", base=2)
        ticks = sorted(set(part["d"]) | (set(paper_points or {}) if arch == "gru" else set()))
        ax.set_xticks(ticks, [str(d) for d in ticks])
        ax.minorticks_off()
        ax.set(
            title=f"{arch.upper()}, Multi-Object" if len(archs) > 1 else arch.upper(),
            xlabel="state size d",
            ylabel="test IIA",
            ylim=(-0.02, 1.02),
        )
    axes[0][-1].legend(fontsize="small", loc="center right")
    fig.tight_layout()
    return fig


def plot_learning_curves(checkpoints: pd.DataFrame) -> plt.Figure:
    """Chapter 5 §5.2 (Fig. 3 right). Task accuracy (N = 1..20) and Up-Down count IIA on saved
    checkpoints, one panel per size: each seed a thin line, the mean over seeds a thick one."""
    curves = checkpoints[checkpoints["checkpoint"] != "analysed"]
    sizes = sorted(curves["d"].unique())
    fig, axes = plt.subplots(1, len(sizes), figsize=(3.4 * len(sizes), 3.3), sharey=True, squeeze=False)
    for ax, d in zip(axes[0], sizes):
        part = curves[curves["d"] == d]
        for column, colour, label in (("accuracy", "C0", "task accuracy"), ("test_iia", "C3", "count IIA")):
            for _, seed in part.groupby("seed"):
                ax.plot(seed["epoch"], seed[column], color=colour, alpha=0.25, linewidth=0.8)
            mean = part.groupby("epoch")[column].mean()
            ax.plot(mean.index, mean.values, color=colour, linewidth=2, label=label)
        ax.set(title=f"GRU d = {d}", xlabel="training epoch", ylim=(-0.02, 1.02))
    axes[0][0].set_ylabel("accuracy / IIA")
    axes[0][0].legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig


def plot_gradience(
    by_values: pd.DataFrame, by_difference: pd.DataFrame, conditions: Sequence[tuple[str, int]], reading: str = "count"
) -> plt.Figure:
    """Chapter 5 §5.3 (Fig. 4), in one ``reading`` of :data:`numvars.results.GRADIENCE_READINGS`.
    For each (arch, d) of ``conditions``: IIA by the target's and the source's value (heat map,
    :func:`numvars.results.iia_by` with ``["target", "source"]``), and one last panel of IIA
    against |source − target| for every condition."""
    by_values = by_values[by_values["reading"] == reading]
    by_difference = by_difference[by_difference["reading"] == reading]
    value = {"count": "count", "n": "N"}[reading]
    fig, axes = plt.subplots(1, len(conditions) + 1, figsize=(3.6 * (len(conditions) + 1), 3.4), squeeze=False)
    for ax, (arch, d) in zip(axes[0], conditions):
        part = by_values[(by_values["arch"] == arch) & (by_values["d"] == d)]
        grid = part.pivot_table(index="source", columns="target", values="iia").sort_index(ascending=False)
        sns.heatmap(
            grid,
            vmin=0,
            vmax=1,
            cmap="viridis",
            ax=ax,
            cbar=ax is axes[0][len(conditions) - 1],
            xticklabels=5,
            yticklabels=5,
        )
        ax.set(title=f"{arch.upper()} d = {d}", xlabel=f"target's {value}", ylabel=f"source's {value}")
    ax = axes[0][-1]
    for arch, d in conditions:
        part = by_difference[(by_difference["arch"] == arch) & (by_difference["d"] == d)]
        ax.plot(part["difference"], part["iia"], marker=".", label=f"{arch.upper()} d = {d}")
    ax.set(xlabel=f"|source − target| {value}", ylabel="test IIA", ylim=(-0.02, 1.02), title="by difference")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def transformer_label(row) -> str:
    """A transformer condition of chapter 6's tables: task, void tokens, positional encoding, layers."""
    void = " +void" if row["void_p"] > 0 else ""
    position = "NoPE" if row["positional"] == "none" else "RoPE"
    return f"{row['task']}{void}, {position} {row['n_layers']:.0f}L"


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


def plot_attention_shares(shares: pd.DataFrame) -> plt.Figure:
    """Chapter 6 (Fig. 8 in numbers): the share of a query's attention on each key role, by
    layer (columns) and condition (rows), demo- and response-phase queries side by side; bars
    are means over networks, whiskers their standard deviation (:func:`numvars.results.attention_table`)."""
    shares = shares.assign(condition=shares.apply(transformer_label, axis=1))
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
        order=["B", "demo", "void", "T", "response"],
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
        condition=shifts.apply(transformer_label, axis=1),
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
    swaps = swaps[swaps["t_phase"] == "all"].assign(condition=lambda f: f.apply(transformer_label, axis=1))
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


def plot_state_geometry(points: pd.DataFrame, explained: Sequence[float] | None = None, title: str = "") -> plt.Figure:
    """Chapter 7 (Figs. 12–14). One network's states on their top two principal components:
    coloured by the count (left) and by the phase with the states after ``T`` marked and three
    sequences' paths drawn (middle); with ``explained`` (variance share per component), a bar
    chart of it (right). ``points``: rows of ``state_points.csv`` for one network
    (:func:`numvars.results.state_points_table`)."""
    panels = 3 if explained is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.9))
    scatter = axes[0].scatter(points["pc1"], points["pc2"], c=points["count"], cmap="viridis", s=10)
    fig.colorbar(scatter, ax=axes[0], label="count (Up-Down)")
    for phase, colour in (("demo", "C0"), ("response", "C1")):
        part = points[points["phase"] == phase]
        axes[1].scatter(part["pc1"], part["pc2"], s=8, color=colour, alpha=0.5, label=f"{phase} phase")
    at_t = points[points["is_T"].astype(bool)]
    axes[1].scatter(at_t["pc1"], at_t["pc2"], marker="x", color="k", s=30, label="after T")
    for n in sorted(points["n"].unique())[2::8][:3]:  # a short, a middle and a long sequence
        path = points[points["sequence"] == points.loc[points["n"] == n, "sequence"].min()].sort_values("position")
        axes[1].plot(path["pc1"], path["pc2"], color="0.3", linewidth=0.8)
        after_t = path[path["is_T"].astype(bool)]
        axes[1].annotate(
            f"N={n}",
            (after_t["pc1"].iloc[0], after_t["pc2"].iloc[0]),
            fontsize="small",
            xytext=(4, 4),
            textcoords="offset points",
        )
    axes[1].legend(fontsize="small", loc="best")
    for ax in axes[:2]:
        ax.set(xlabel="PC 1", ylabel="PC 2")
    if explained is not None:
        axes[2].bar(range(1, len(explained) + 1), explained, color="0.5")
        axes[2].set(xlabel="principal component", ylabel="share of variance", ylim=(0, 1))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


ALIGNMENT_LABELS = {
    "learned": "rotation (DAS)",
    "linear": "linear map",
    "random": "random rotation",
    "random_linear": "random linear map",
}


def plot_k_sweep(summary: pd.DataFrame) -> plt.Figure:
    """Chapter 7. Up-Down count IIA against the number of swapped coordinates k, one panel per
    architecture: the mean over networks of each learned map (line) and the range (band); the
    default k = S/2 dotted. ``summary``: :func:`numvars.results.alignment_summary` of a k sweep."""
    from numvars.das import half_state

    archs = list(summary["arch"].unique())
    fig, axes = plt.subplots(1, len(archs), figsize=(5.2 * len(archs), 3.6), sharey=True, squeeze=False)
    for ax, arch in zip(axes[0], archs):
        part = summary[(summary["arch"] == arch) & summary["trained"]]
        for colour, (method, curve) in zip(("C0", "C3"), part.groupby("method", sort=False)):
            curve = curve.sort_values("k")
            ax.plot(
                curve["k"], curve["mean"], "o-", markersize=3, color=colour, label=ALIGNMENT_LABELS.get(method, method)
            )
            ax.fill_between(curve["k"], curve["min"], curve["max"], color=colour, alpha=0.15)
        ax.axvline(half_state(int(part["k"].max())), color="0.5", linestyle=":", label="default k = S/2")
        ax.set(
            title=f"{arch.upper()} d = {part['d'].iloc[0]} (S = {part['k'].max()})",
            xlabel="swapped coordinates k",
            ylabel="test IIA",
            ylim=(-0.02, 1.02),
        )
    axes[0][0].legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    return fig


def plot_alignment_functions(summary: pd.DataFrame) -> plt.Figure:
    """Chapter 7. Up-Down count IIA of each network condition under the rotation, the linear map
    and their random controls (bars: means; dots: each untrained network's learned maps).
    ``summary``: :func:`numvars.results.alignment_summary` of ``alignment_functions.csv``."""
    label = summary["arch"].str.upper() + " d=" + summary["d"].astype(str) + " " + summary["task"]
    summary = summary.assign(network=label)
    order = list(dict.fromkeys(summary["network"]))
    trained = summary[summary["trained"]]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.5 * len(order)), 3.8))
    methods = [m for m in ALIGNMENT_LABELS if m in set(trained["method"])]
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        part = trained[trained["method"] == method].set_index("network").reindex(order)
        ax.bar(
            [x + (i - (len(methods) - 1) / 2) * width for x in range(len(order))],
            part["mean"],
            width,
            color=f"C{i}",
            label=ALIGNMENT_LABELS[method],
        )
    untrained = summary[~summary["trained"]]
    for i, method in enumerate(methods):
        part = untrained[untrained["method"] == method]
        xs = [order.index(n) + (i - (len(methods) - 1) / 2) * width for n in part["network"]]
        ax.scatter(xs, part["mean"], color="k", marker="_", s=60, zorder=3, label="untrained" if i == 0 else None)
    ax.set_xticks(range(len(order)), order, rotation=20, ha="right")
    ax.set(ylabel="test IIA (count)", ylim=(0, 1.02))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
