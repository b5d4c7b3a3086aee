"""DAS tables (chapters 3–4): one row per measured network and setting (:func:`das_table`,
read from the store), per-pair outcomes and failures (:func:`pair_outcomes`,
:func:`failure_table` — both run the frozen networks on the test pairs), and the summaries of
chapter 4 (controls, the untrained baseline, breakdowns, fit budgets).
"""

from __future__ import annotations

import functools
from typing import Sequence

import pandas as pd
import torch

from numvars import paper
from numvars.analysis import pair_facts
from numvars.das import first_errors, run_frozen
from numvars.grids import CAUSES, PROTOCOL_VARIANTS
from numvars.jobs import (
    DAS_KIND,
    DasConfig,
    PairSpec,
    load_measurement,
    load_network,
    load_run,
    pair_set,
)
from numvars.measures import figure_of
from numvars.protocols import AUTHORS_CODE
from numvars.results.comparison import analysed, default_protocol
from numvars.store import Store
from numvars.training import TrainConfig, config_columns


@functools.lru_cache(maxsize=64)
def facts_of_test_pairs(spec: PairSpec) -> pd.DataFrame:
    """:func:`~numvars.analysis.pair_facts` of a measurement's test pairs (cached; do not modify)."""
    return pair_facts(pair_set(spec, "test"))


def late_gain(history: list[dict], window: int = 25) -> float | None:
    """The rise of the best validation IIA over the last ``window`` epochs (None for a shorter fit)."""
    scores = [h["val_iia"] for h in history]
    return max(scores) - max(scores[:-window]) if len(scores) > window else None


def protocol_of(config: DasConfig) -> str:
    """``"default"``, or the name of the protocol variant or cause (:data:`numvars.grids.PROTOCOL_VARIANTS`,
    :data:`numvars.grids.CAUSES`) a measurement belongs to."""
    changes = config.protocol_changes()
    named = {
        **{name: change for name, (change, _) in PROTOCOL_VARIANTS.items()},
        **{name: cause.changes for name, cause in CAUSES.items()},
        AUTHORS_CODE.name: AUTHORS_CODE.changes(config.run.arch),
    }
    return next(
        (name for name, change in named.items() if change == changes), "default" if not changes else str(changes)
    )


@functools.lru_cache(maxsize=512)
def meets_standard(run: TrainConfig, checkpoint: str, store: Store | None) -> bool:
    result = load_run(run, store)
    return result is not None and result.meets_standard(checkpoint)


def das_table(grid: dict[str, list[DasConfig]], store: Store | None = None, alignment: bool = False) -> pd.DataFrame:
    """One row per stored measurement of ``grid`` (experiment name -> configs; a measurement in
    several experiments is listed under the first): experiment, network, program, variable, method, trained, ``protocol`` (:func:`protocol_of`) and its
    settings, ``standard`` (the network meets the paper's standard at the measured checkpoint;
    untrained networks: False), the kept alignment's validation IIA (the best; the last under the
    authors' ``"val_loss_plateau"`` rule), test IIA, epochs, the best validation IIA
    within the first 100 epochs (``val_iia_100``: what the first protocol's cap would have kept),
    ``late_gain`` (how much the best validation IIA rose in the last 25 epochs of a fit that ran
    that long: is the epoch budget enough?), seconds, ``chance`` (the IIA of a network that ignores
    the intervention, on the same test pairs), and the test IIA split by whether target
    and source positions share a phase (``iia_same_phase`` / ``iia_cross_phase``), by the
    target's phase (``iia_demo_t`` / ``iia_response_t``), by whether the counterfactual asks
    for more than the trained 20 responses (``iia_upto20`` / ``iia_over20``), on the pairs
    whose target state is the one after ``T`` (``iia_t_after_T``; none in the first protocol),
    and on those that move a response-phase source into a demo-phase target
    (``iia_demo_t_response_u``). With ``alignment`` (chapter 7) also the alignment's ``kind``,
    the ``state_size`` S it maps, its swap size ``k`` and the ``condition`` number of its matrix
    (1 for a rotation)."""
    rows, seen = [], set()
    for experiment, configs in grid.items():
        for config in configs:
            result = None if config in seen else load_measurement(config, store)
            if result is None:
                continue  # not measured yet, or listed under an earlier experiment
            seen.add(config)
            facts = facts_of_test_pairs(config.pairs).copy()
            facts["correct"] = result.test_correct.numpy()
            within = facts["responses"] <= config.run.task.max_count
            rows.append(
                dict(
                    experiment=experiment,
                    **config_columns(config.run),
                    program=config.program,
                    variable=config.variable_name,
                    method=config.method,
                    trained=config.trained,
                    protocol=protocol_of(config),
                    checkpoint=config.checkpoint,
                    positions=config.positions,
                    score_at_t=config.score_at_t,
                    standard=config.trained and meets_standard(config.run, config.checkpoint, store),
                    val_iia=result.kept_val_iia,
                    val_iia_100=max((h["val_iia"] for h in result.history if h["epoch"] <= 100), default=None),
                    test_iia=result.test_iia,
                    chance=float(facts["rereader"].mean()),
                    epochs=result.epochs,
                    late_gain=late_gain(result.history),
                    seconds=round(result.seconds, 1),
                    iia_same_phase=float(facts.loc[facts["t_phase"] == facts["u_phase"], "correct"].mean()),
                    iia_cross_phase=float(facts.loc[facts["t_phase"] != facts["u_phase"], "correct"].mean()),
                    iia_demo_t=float(facts.loc[facts["t_phase"] == "demo", "correct"].mean()),
                    iia_response_t=float(facts.loc[facts["t_phase"] == "response", "correct"].mean()),
                    iia_upto20=float(facts.loc[within, "correct"].mean()),
                    iia_over20=float(facts.loc[~within, "correct"].mean()),
                    iia_t_after_T=float(facts.loc[facts["t_token"] == "T", "correct"].mean()),
                    iia_demo_t_response_u=float(
                        facts.loc[(facts["t_phase"] == "demo") & (facts["u_phase"] == "response"), "correct"].mean()
                    ),
                    **(
                        dict(
                            kind=result.kind,
                            state_size=result.rotation.shape[-1],
                            k=result.k,
                            condition=float(torch.linalg.cond(result.rotation.double())),
                        )
                        if alignment
                        else {}
                    ),
                )
            )
    return pd.DataFrame(rows)


def pair_outcomes(config: DasConfig, store: Store | None = None) -> pd.DataFrame:
    """Each test pair of a stored measurement: its :func:`~numvars.analysis.pair_facts`, the
    token that follows ``t`` in the counterfactual (``next``), and ``first_error``: the offset
    after ``t`` of the first token the intervened network gets wrong (0: the prediction made at
    ``t`` itself; -1: none). Recomputed from the stored alignment and checked against the stored
    outcomes."""
    result = load_measurement(config, store)
    if result is None:
        raise LookupError(f"no stored DAS measurement for {config}: compute it first (numvars.runner.ensure)")
    test = pair_set(config.pairs, "test")
    model = load_network(config, store)
    errors = first_errors(model, run_frozen(model, test), result.alignment())
    if not torch.equal(errors < 0, result.test_correct):
        raise RuntimeError(f"recomputed outcomes differ from the stored ones for {config}: was the code changed since?")
    facts = facts_of_test_pairs(config.pairs).copy()
    facts["next"] = [config.run.task.decode([int(test.tokens[i, test.t[i] + 1])]) for i in range(len(test))]
    facts["first_error"] = errors.numpy()
    return facts


def token_kind(token: str, phase: str) -> str:
    """What a state was read from, as a re-reading network sees it: ``"B"``, ``"T"``, or a
    ``"demo"`` or ``"response"`` token (by phase: Same-Object's demos and responses are both ``D``)."""
    return token if token in ("B", "T") else phase


def failure_table(
    grid: dict[str, list[DasConfig]],
    store: Store | None = None,
    measures=(("count", "learned"), ("full_swap", "full_swap")),
) -> pd.DataFrame:
    """Where the intervened networks fail: for each stored measurement of ``measures``
    ((variable, method) pairs) on a trained network, split by the phase of the target position
    ``t``, the kind of token that follows it (``next_kind``: ``demo``, ``T``, ``R``, ``E``), and
    what the target and source states were read from (``t_kind``, ``u_kind``:
    :func:`token_kind`): whether the network meets the paper's standard (``standard``), the
    number of test pairs, the share failed, and the share whose first error is the prediction
    made at ``t`` itself."""
    store = store or Store.default()
    rows, seen = [], set()
    for experiment, configs in grid.items():
        for config in configs:
            if not config.trained or (config.variable_name, config.method) not in measures or config in seen:
                continue
            if not store.exists(DAS_KIND, config):
                continue
            seen.add(config)
            outcomes = pair_outcomes(config, store)
            # what follows t: T or E, else a response (R; Same-Object's D after T) or a demo token
            response = outcomes["t_phase"] == "response"
            outcomes["next_kind"] = outcomes["next"].where(
                outcomes["next"].isin(["T", "E"]), response.map({True: "R", False: "demo"})
            )
            outcomes["t_kind"] = [token_kind(*x) for x in zip(outcomes["t_token"], outcomes["t_phase"])]
            outcomes["u_kind"] = [token_kind(*x) for x in zip(outcomes["u_token"], outcomes["u_phase"])]
            for (t_phase, next_kind, t_kind, u_kind), group in outcomes.groupby(
                ["t_phase", "next_kind", "t_kind", "u_kind"]
            ):
                rows.append(
                    dict(
                        experiment=experiment,
                        **config_columns(config.run),
                        variable=config.variable_name,
                        method=config.method,
                        protocol=protocol_of(config),
                        standard=meets_standard(config.run, config.checkpoint, store),
                        t_phase=t_phase,
                        next_kind=next_kind,
                        t_kind=t_kind,
                        u_kind=u_kind,
                        pairs=len(group),
                        failed=float((group["first_error"] >= 0).mean()),
                        first_error_at_t=float((group["first_error"] == 0).mean()),
                    )
                )
    return pd.DataFrame(rows)


def pooled_failures(failures: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Rows of a :func:`failure_table` pooled over everything but ``by`` within each network
    (shares weighted by pairs), then averaged over seeds: ``by`` -> pairs, failed,
    first_error_at_t."""
    network = [
        c for c in ("experiment", "arch", "task", "void_p", "d", "n_layers", "positional", "seed") if c in failures
    ]
    weighted = failures.assign(
        failed=failures["failed"] * failures["pairs"], first_error_at_t=failures["first_error_at_t"] * failures["pairs"]
    )
    per_seed = weighted.groupby(list(dict.fromkeys([*network, *by])), sort=False, dropna=False)[
        ["pairs", "failed", "first_error_at_t"]
    ].sum()
    per_seed[["failed", "first_error_at_t"]] = per_seed[["failed", "first_error_at_t"]].div(per_seed["pairs"], axis=0)
    return per_seed.reset_index().groupby(list(by), sort=False)[["pairs", "failed", "first_error_at_t"]].mean()


def controls_table(config: DasConfig, controls: dict[str, DasConfig], store: Store | None = None) -> pd.DataFrame:
    """Chapter 3 §3.5: the test IIA of a stored measurement beside its ``controls`` (name ->
    config, e.g. a random rotation and the untrained network) and beside the same measurement on
    the pairs whose counterfactual asks for at most ``max_count`` responses; the paper's Fig. 2
    cell where it reports one."""
    learned = load_measurement(config, store).test_correct
    within = torch.tensor(facts_of_test_pairs(config.pairs)["responses"].to_numpy() <= config.run.task.max_count)
    cells = paper.iia_cells().set_index(["arch", "task", "figure", "measure"])["paper"]
    reported = cells.get((config.run.arch, config.run.task.kind, figure_of(config.variable), config.variable))
    rows = {"learned rotation (DAS)": (learned.float().mean().item(), "—" if reported is None else f"{reported:.2f}")}
    for name, control in controls.items():
        rows[name] = (load_measurement(control, store).test_iia, "not run")
    share = within.float().mean().item()
    rows[f"learned, pairs asking for ≤ {config.run.task.max_count} responses ({share:.0%} of pairs)"] = (
        learned[within].float().mean().item(),
        "not reported",
    )
    return pd.DataFrame.from_dict(rows, orient="index", columns=["test IIA", "paper"]).round(3)


def untrained_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Chapter 4 §4.3. The untrained-network control: mean and max test IIA of Up-Down count per arch × task."""
    untrained = table[~table["trained"]]
    return (
        untrained.groupby(["arch", "task"], sort=False)["test_iia"]
        .agg(mean="mean", max="max", networks="count")
        .reset_index()
    )


def breakdown(table: pd.DataFrame, variable: str = "count") -> pd.DataFrame:
    """Chapter 4 §4.4. Learned alignments of one variable: mean test IIA over seeds, split by whether target and
    source positions share a phase, by the phase of the target position, and by whether the
    counterfactual asks for more than 20 responses."""
    table = analysed(table)
    rows = table[(table["variable"] == variable) & (table["method"] == "learned")]
    columns = [
        c
        for c in (
            "test_iia",
            "iia_same_phase",
            "iia_cross_phase",
            "iia_demo_t",
            "iia_response_t",
            "iia_upto20",
            "iia_over20",
            "iia_t_after_T",
            "iia_demo_t_response_u",
        )
        if c in rows
    ]  # the last two: not in the first protocol's tables
    return rows.groupby(["arch", "task"], sort=False)[columns].mean().reset_index()


def failure_summary(failures: pd.DataFrame, arch: str, variable: str) -> pd.DataFrame:
    """Chapter 4 §4.5. A :func:`failure_table` for one architecture and variable, by task, phase of ``t`` and
    the token after ``t``: pairs, share failed, share failed at ``t`` itself (means over the
    seeds that meet the standard)."""
    failures = analysed(failures)
    rows = failures[(failures["arch"] == arch) & (failures["variable"] == variable)]
    return pooled_failures(rows, ["task", "t_phase", "next_kind"]).round(3)


def swap_kinds(failures: pd.DataFrame, arch: str, variable: str) -> pd.DataFrame:
    """Chapter 4 §4.5. The share of test pairs failed by what the target and the source state
    were read from (:func:`token_kind`), per task (means over the seeds that meet the standard;
    pairs per seed beside)."""
    failures = analysed(failures)
    rows = failures[(failures["arch"] == arch) & (failures["variable"] == variable)]
    pooled = pooled_failures(rows, ["task", "t_kind", "u_kind"])
    return pooled[["pairs", "failed"]].unstack("u_kind").round(3)


def fit_budget(table: pd.DataFrame, max_epochs: int = 100) -> pd.DataFrame:
    """Chapter 4 §4.6. Was the DAS epoch budget enough? Per architecture: the learned fits on trained networks,
    their median epochs, how many used all ``max_epochs``, and the median and largest rise of
    the best validation IIA over the last 25 epochs of those."""
    table = default_protocol(table)
    fits = table[table["trained"] & (table["method"] == "learned")]
    budget = fits.groupby("arch")["epochs"].agg(
        fits="count", median_epochs="median", used_all=lambda e: int((e == max_epochs).sum())
    )
    capped = fits[fits["epochs"] == max_epochs].groupby("arch")["late_gain"]
    budget["median_late_gain"] = capped.median()
    budget["largest_late_gain"] = capped.max()
    return budget.round(3)
