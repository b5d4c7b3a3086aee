# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Networks that learn to count
#
# Everything the paper says about number variables concerns networks that *solved* the task.
# This chapter builds the three architectures — GRU, LSTM and transformer — with one face that
# later chapters can intervene on, trains them to the paper's {term}`criterion`, and shows what they
# learned behaviourally: perfect counting on every N they were trained on, including the four
# counts they never saw, and a collapse past 20 (paper Fig. 6).
#
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# 1. write one step of a GRU gate by gate and check it against `numvars`;
# 2. say what the *intervenable state* of each architecture is, and replace it mid-sequence
#    with a `Patch`;
# 3. describe the paper's training loop — data, schedule, criterion, dropped runs — and train
#    a network to criterion on a laptop;
# 4. read an accuracy-per-count curve: interpolation to held-out counts, failure to
#    extrapolate.
# ```

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": 6 small runs trained live (about a minute)
# "paper": §2.3 and the first figure of §2.4 train (or load from the store) the paper profile's 54 main-grid
# networks instead — hours on a CPU. The paper tables of §2.4 are read either way, and the exercises
# always use the quick networks.

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch

import numvars as nv

book = nv.setup(PROFILE)

# %% [markdown]
# ## 2.1 A GRU, gate by gate
#
# A gated recurrent unit keeps one state vector $h_t \in \mathbb{R}^d$. Reading the embedded
# token $x_t$, it computes a reset gate $r$, an update gate $z$ and a candidate state $n$:
#
# $$
# \begin{aligned}
# r &= \sigma(W_{xr} x_t + b_{xr} + W_{hr} h_{t-1} + b_{hr}) \\
# z &= \sigma(W_{xz} x_t + b_{xz} + W_{hz} h_{t-1} + b_{hz}) \\
# n &= \tanh(W_{xn} x_t + b_{xn} + r \odot (W_{hn} h_{t-1} + b_{hn})) \\
# h_t &= (1 - z) \odot n + z \odot h_{t-1}
# \end{aligned}
# $$
#
# The update gate decides how much of the old state survives: $z \to 1$ copies $h_{t-1}$
# forward unchanged, which is how a GRU can *hold* a value across many tokens. Here is one
# step written out with plain tensor operations on a fresh (untrained) `numvars` GRU, checked
# against the model's own cell. `numvars` stores every weight with a leading *member*
# dimension (one per seed, see §2.3), hence the `[0]`.

# %%
task = nv.Task("multi")
gru = nv.build_model(nv.ModelConfig("gru", vocab_size=len(task.vocab), d=20), seeds=(0,)).eval()
d = gru.config.d
tokens = torch.tensor([task.encode("B D0 D2 T R R E")])  # (B=1, L=7)

x = gru.embed(tokens.unsqueeze(0))[0, 0, 1]  # the embedding of D0, (d,)
h_prev = gru(tokens).states[0, 0]  # the state after B, (d,)
gx = x @ gru.w_x[0] + gru.b_x[0]  # (3d,): input parts of r, z, n
gh = h_prev @ gru.w_h[0] + gru.b_h[0]  # (3d,): recurrent parts
r = torch.sigmoid(gx[:d] + gh[:d])
z = torch.sigmoid(gx[d : 2 * d] + gh[d : 2 * d])
n = torch.tanh(gx[2 * d :] + r * gh[2 * d :])
h_by_hand = (1 - z) * n + z * h_prev

h_model = gru(tokens).states[0, 1]  # the model's state after D0
print("largest difference, by hand vs numvars:", f"{(h_by_hand - h_model).abs().max().item():.1e}")

# %% [markdown]
# The **LSTM** adds a separate cell state $c_t$ with input, forget and output gates; its
# intervenable state is the concatenation $[h_t; c_t]$ (size $2d$), since both carry
# information forward. The **transformer** has no recurrence at all: every position attends
# (causally, one head) to all earlier positions, in 2 pre-LayerNorm layers with rotary position
# embeddings ({term}`RoPE`) or no positional encoding ({term}`NoPE`). The only place a running count could pass
# from one position to the next is the {term}`residual stream` after layer 1, read by layer 2's
# attention — that is its intervenable state. Every model embeds tokens in $d = 20$ dimensions
# and predicts the next token with the same head: Linear($d$, $4d$), GELU, dropout 0.5,
# Linear($4d$, vocabulary).
#
# ## 2.2 One face for all three
#
# `model(tokens, patch=None)` returns the logits and the intervenable state after every token.
# A `Patch` replaces states at chosen (row, step) positions; the network carries on from the
# replaced state. This is the hook DAS uses in chapter 3.

# %% [markdown]
# ```{admonition} Think!
# :class: tip
# A patch replaces the state after step t = 3 of sequence 0. Which steps' predictions can change —
# only step 3, every step from 3 on, or every step? Does the answer differ between the RNNs and
# the transformer? Predict, then read the last column.
# ```

# %%
batch = task.pad(task.sample(4, seed=0, counts=[3, 5, 8, 2]))
rows = []
for config in [nv.ModelConfig(arch, vocab_size=len(task.vocab)) for arch in ("gru", "lstm", "transformer")]:
    model = nv.build_model(config).eval()
    out = model(batch)
    t = 3  # replace the state after the 4th token of sequence 0 by the state after token 6 of sequence 1
    patch = nv.Patch(torch.tensor([0]), torch.tensor([t]), out.states[1, 6].unsqueeze(0))
    patched = model(batch, patch=patch)
    changed = (patched.logits[0] != out.logits[0]).any(dim=-1)
    rows.append(
        dict(
            arch=config.arch,
            logits=tuple(out.logits.shape),
            states=tuple(out.states.shape),
            parameters=sum(p.numel() for p in model.parameters()),
            **{"steps changed by the patch": [int(i) for i in changed.nonzero().flatten()][:6] + ["…"]},
        )
    )
pd.DataFrame(rows).set_index("arch")

# %% [markdown]
# Steps before `t = 3` never change; from `t` on, the patched state drives the prediction and
# everything after it.
#
# ## 2.3 Training to criterion
#
# The paper's loop, which `numvars.training` implements:
#
# * 1000 fixed training sequences per seed (N uniform on 1..20 without 4, 9, 14, 17), 8
#   batches of 128 per epoch, next-token cross-entropy on every non-pad token;
# * Adam, linear warm-up over 100 steps to $10^{-3}$, then $\text{lr} \propto 1/\sqrt{\text{step}}$
#   down to a floor of $10^{-7}$;
# * after each epoch, trial accuracy on 500 fresh validation sequences, with
#   {term}`teacher forcing` (the true tokens are fed in, whatever the network predicted — for a
#   whole trial, that is the same as letting it generate); a run stops at
#   ≥ 99.99 % and is **dropped** — and reported as dropped — if it has not got there within
#   the epoch budget;
# * a checkpoint every 5 epochs, for the learning-dynamics analysis of chapter 5 (§5.2).
#
# On a CPU a d = 20 network spends its time on per-operation overhead, not arithmetic, so
# `numvars` trains all seeds of a condition as one **stacked ensemble**: every weight has a
# leading member dimension and each member sees its own data, batches and dropout masks
# (a member's weights do not depend on which others share its stack; `tests/test_training.py`
# checks it). Two such ensembles run in two worker processes. The live **quick** profile trains
# a GRU, an LSTM and a transformer on Single-Object counting with two seeds each:

# %%
quick = book.profile.training["main"]  # the live profile's networks (numvars.grids)
nv.ensure(quick, workers=2, progress=False)  # trains what the store lacks, else loads
runs = [nv.load_run(config) for config in quick]
pd.DataFrame(
    [dict(arch=r.config.arch, seed=r.config.seed, reached=r.reached, epochs=r.epochs,
          final_val_accuracy=round(r.history[-1]["val_accuracy"], 4)) for r in runs]
)

# %% [markdown]
# ```{admonition} Think!
# :class: tip
# A trial counts as right only when every response and the `E` are right. Before you look at the
# curves: will validation accuracy climb steadily from the first epoch, or stay near zero and then
# jump? Why?
# ```

# %%
nv.plots.plot_training_curves(nv.results.history_table(runs))
plt.show()

# %% [markdown]
# Validation accuracy stays at zero for a while and then rises steeply: a trial counts only if
# *every* response and the `E` are right, so partial counting earns nothing.
#
# ## 2.4 What the networks learned (paper Fig. 6)
#
# Each trained network is tested on 15 sequences of every N from 1 to 30. First the live quick
# runs:

# %% [markdown]
# ```{admonition} Think!
# :class: tip
# The networks never saw N = 4, 9, 14, 17 nor any N above 20. Where will they fail: on the held-out
# counts inside the range, above 20, or both? Sketch the accuracy-per-count curve you expect.
# ```

# %%
quick_accuracy = nv.results.accuracy_table(book.profile)
nv.plots.plot_accuracy_per_count(quick_accuracy, hue="arch")
plt.show()

# %% [markdown]
# ### The paper profile
#
# The full grid — GRU, LSTM and transformer on all three tasks with 6 seeds each, the GRU size
# sweep, and the void-token and NoPE transformers — was trained on a 2-core CPU with
#
# ```bash
# python -m numvars reproduce --profile paper   # or its first stage alone: train --profile paper
# ```
#
# The main grid's tables (`results/paper/`) come from the protocol chapter 4 §4.7 chose: every
# network trained for a budget of 600 epochs and analysed at its last checkpoint that meets the
# criterion (reproduction notes 32–33); so do the size sweeps of chapter 5 (GRUs and LSTMs of
# several sizes on Multi-Object) and chapter 6's transformer variants (void tokens, no positional
# encoding, the task without `B` and `T`). First, every network: when did it first meet the
# criterion, and how many meet the paper's stricter standard for an analysed network — all 15
# sequences of every N = 1..20 right, held-out counts included? (The networks retrained under
# the authors' rules, experiments `authors_code` and `authors_code_sizes`, are chapter 4 §4.9's
# and chapter 5 §5.1's.)

# %%
paper_runs = book.paper_table("runs.csv")
paper_runs = paper_runs[~paper_runs["experiment"].str.startswith("authors_code")]
paper_runs["condition"] = paper_runs.apply(nv.training.describe, axis=1)
# a network is listed once (the size sweeps' d = 20 networks are the main grid's)
by_condition = paper_runs.drop_duplicates(["condition", "seed"]).groupby("condition", sort=False)
pd.DataFrame({
    "runs": by_condition.size(),
    "reached the criterion": by_condition["reached"].sum(),
    "criterion epoch (mean ± sd)":
        by_condition["criterion_epoch"].apply(lambda e: f"{e.mean():.0f} ± {e.std():.0f}"),
    "analysed epoch (min–max)":
        by_condition["analysed_epoch"].apply(lambda e: f"{e.min():.0f}–{e.max():.0f}"),
    "meet the standard": by_condition["standard"].sum(),
})

# %% [markdown]
# Accuracy per N for the main grid at the analysed checkpoint, mean ± sd over seeds:

# %%
paper_accuracy = book.paper_table("accuracy_per_count.csv")  # every experiment of the paper profile
main = paper_accuracy[paper_accuracy["experiment"] == "main"]
nv.plots.plot_accuracy_per_count(main, hue="arch", col="task")
plt.show()

# %% [markdown]
# The same numbers as a table, beside what the paper reports (Fig. 6, read off the plot, as
# `numvars.paper` holds it: ≈ 1.0 on 1..20 including the held-out counts, ≈ 0 by N ≈ 25–30):

# %%
summary = nv.results.behaviour_summary(main, by=["arch", "task"])
summary["paper (Fig. 6)"] = nv.paper.claim("behaviour").paper
summary

# %% [markdown]
# "≈ 0 by N ≈ 25–30" names a window, not one N for every network (the paper's own curves do not
# all reach 0 at its start). The scorecard reads it as the paper writes it: each condition's own
# curve must be ≈ 0 by the window's end, N = 30, the last N tested (reproduction note 65). Per
# condition, its mean accuracy there, the verdict, and the N from which its curve stays ≈ 0
# (within the tolerance; empty where it is not ≈ 0 at N = 30):

# %%
fig_6 = nv.results.behaviour_cells(main)
fig_6[fig_6["range"] == f"N = {nv.paper.FIG_6_SCORED_AT}"].set_index(["arch", "task"])[
    ["ours", "paper", "verdict", "zero_from"]].round(2)

# %%
in_range = main.assign(range=main["N"].map(lambda n: nv.Task("multi").count_range(n)))
lowest = in_range[in_range["range"] != "extrapolation"].groupby(["range", "arch", "task"])["accuracy"].mean()
for name in ("trained", "held-out"):
    part = lowest.loc[name]
    print(f"lowest mean accuracy on {name} counts: {' '.join(part.idxmin())} {part.min():.3f}; "
          f"conditions at 1.000: {int((part.round(3) == 1).sum())} of {len(part)}")

# %% [markdown]
# Within the training range the reproduction agrees with the paper: trained for 600 epochs,
# every condition's mean accuracy on the trained counts, and on the held-out ones, is at 1.000
# to three decimals (printed above) — except Same-Object transformers on the held-out counts:
# some of their seeds never learn those counts, and they fail the paper's standard for an
# analysed network (the table above; chapter 4 §4.7 drops them). Beyond 20 the reproduction
# agrees only in part. The cell below lists every condition that departs from the paper's
# description by more than 0.1 — held-out accuracy below 0.9, or accuracy still above 0.1 at
# N = 30, the end of the paper's window (every network at its analysed checkpoint):

# %%
variant_experiments = ["void_transformer", "nope_transformer", "bare_transformer"]
transformer_variants = paper_accuracy[paper_accuracy["experiment"].isin(variant_experiments)]
sizes = paper_accuracy[paper_accuracy["experiment"].isin(["gru_sizes", "lstm_sizes"])]  # d = 20 too
nv.results.departures(pd.concat([main, sizes[sizes["d"] != 20], transformer_variants]))

# %% [markdown]
# Two findings differ from the paper. **Extrapolation**: GRUs and the RoPE transformers
# trained without void tokens collapse past 20 and are at 0 by N = 30, as the paper reports
# (the table of each condition's curve above); but the Multi-Object LSTMs of every size, the
# Same-Object LSTMs, the void-token transformers on Multi- and Single-Object and — furthest,
# almost every trial to 30 — the NoPE transformers (not in the paper's Fig. 6; chapter 6 says
# why) still solve a share of trials at N = 30 (the departures table). **Same-Object transformers**
# reach the criterion but some seeds fail on the held-out counts even after 600 epochs — they
# interpolate worse than the paper's Fig. 6 suggests. Both are
# behavioural facts about these trained networks, kept as they are; chapter 4 asks what they
# carry inside.
#
# ### Bigger and smaller networks (the size sweeps)
#
# The paper's Fig. 3 sweeps the GRU's size on Multi-Object counting; the book adds LSTMs of
# three sizes. Accuracy per N of every size at its analysed checkpoint (the networks that
# reached the criterion within 600 epochs: the run table above counts them); chapter 5 asks
# whether the bigger ones also align better with a count variable.

# %%
nv.plots.plot_accuracy_per_count(sizes, hue="d", col="arch")
plt.show()

# %%
nv.results.behaviour_summary(sizes, by=["arch", "d"])

# %% [markdown]
# ### Void tokens and no positional encoding
#
# Transformers trained with void tokens (position no longer equals count), without positional
# encoding, and on the task without `B` and `T` — chapter 6's networks:

# %%
nv.results.behaviour_summary(transformer_variants, by=["experiment", "task", "n_layers"])

# %% [markdown]
# ## Exercises
#
# The exercises use the quick profile's Single-Object networks of seed 0, whatever `PROFILE` is:

# %%
single = nv.Task("single")
quick_seed_0 = [c for c in nv.grids.profile("quick").training["main"] if c.seed == 0]  # GRU, LSTM, transformer
nv.ensure(quick_seed_0, progress=False)  # already there when PROFILE is "quick" (§2.3)
quick_networks = {c.arch: nv.load_run(c).model() for c in quick_seed_0}

# %% [markdown]
# **1. The update gate.** *(predict, then run · 15 min)* In the GRU equations, what value of
# $z$ makes the network copy its state unchanged, whatever the token? A counter that is *held*
# by copying would need $z$ near that value. Predict: while the trained GRU counts down its
# responses, are its update gates near it? Then compute $z$ (all $d$ units) at every step of
# `B D D D D T R R R R E` with the trained GRU (`quick_networks["gru"]`, the arithmetic of
# §2.1) and answer with `z_copy` (a number), `largest_mean` (the largest mean of $z$ over the
# units, among the steps `B` … last `R`; a number) and `units_held` (how many units have
# $z > 0.9$ at `T` and at every `R`; an int).

# %%
nv.check.ex_2_1(z_copy=..., largest_mean=..., units_held=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# $z = 1$ gives $h_t = h_{t-1}$: the state is copied, whatever the token. The cell below
# recomputes the gate at every step from the trained weights (the same arithmetic as in §2.1).
# The mean gate stays far from 1 at every step, and no unit keeps $z$ near 1 through the
# responses (both printed below): the count goes down by one at every `R`, so it cannot be held
# by copying — the network rewrites its state at every token.
# ```

# %% tags=["hide-cell", "solution"]
trained_gru = quick_networks["gru"]
d_gru = trained_gru.config.d
seq = torch.tensor([single.encode("B D D D D T R R R R E")])
with torch.no_grad():
    states = trained_gru(seq).states[0]  # (L, d)
    gx_all = trained_gru.embed(seq.unsqueeze(0))[0, 0] @ trained_gru.w_x[0] + trained_gru.b_x[0]  # (L, 3d)
    h_before = torch.cat([torch.zeros(1, d_gru), states[:-1]])  # the state each token is read from
    gh_all = h_before @ trained_gru.w_h[0] + trained_gru.b_h[0]
    z_all = torch.sigmoid(gx_all[:, d_gru : 2 * d_gru] + gh_all[:, d_gru : 2 * d_gru])  # (L, d): the z block
tokens_read = single.decode(seq[0]).split()
mean_z = z_all.mean(dim=1)
print("mean update gate per token:",
      " ".join(f"{tok}:{z:.2f}" for tok, z in zip(tokens_read, mean_z.tolist())))
trial = mean_z[: tokens_read.index("E")]  # B .. the last R
print(f"mean z over the trial: between {trial.min():.2f} and {trial.max():.2f}")
responses = z_all[tokens_read.index("T") : tokens_read.index("E")]  # T and every R
units_held = int((responses > 0.9).all(dim=0).sum())
print(f"units with z > 0.9 at T and every R: {units_held} of {d_gru}")
nv.check.ex_2_1(z_copy=1, largest_mean=round(trial.max().item(), 2), units_held=units_held)

# %% [markdown]
# **2. Why not past 20?** *(discuss · 10 min)* The networks never saw N > 20, and they fail
# there. Give two different reasons a network could fail at N = 25 even if it carried a perfect
# count, and say which one the counterfactuals of chapter 1 (§1.5) run into.

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# (a) The count's *representation* may not extend: states for 21+ were never formed, and
# nothing forces the network's number line to continue. (b) The *readout* (the head's decision
# "count is zero, say E") was only trained on states that occur for N ≤ 20. Chapter 1 showed
# that a few per cent of the paper's counterfactuals ask for more than 20 responses (§1.5's
# table), so both limit the interchange-intervention accuracy a perfect count could reach.
# ```

# %% [markdown]
# **3. Swap the whole state.** *(predict, then run · 15 min)* Feed `B D D D D D T` (N = 5), but
# replace the state after its last `D` (t = 5) by the state after the last `D` of
# `B D D D D D D D D T` (N = 8, u = 8), and let the network generate greedily. **Predict first**,
# for the GRU, the LSTM and the transformer: how many `R` before `E`? Then run it with a
# `nv.Patch` (§2.2) and `nv.models.generate(model, prefix, patch=..., stop=single.eos_id)`,
# which re-runs the patched prefix at every step. Answer with three ints.

# %%
nv.check.ex_2_3(gru=..., lstm=..., transformer=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# The recurrent networks say the source's N: their state is the only path from the past to the
# future, so everything after the swap — the count included — comes from the N = 8 state. The
# transformer says its own N: its intervenable state at one position is only one of the
# layer-1 outputs that layer 2 attends to, and every later position reads the five untouched
# demo tokens again. The swap does not move its count (printed below). This is the paper's
# conclusion in ten lines: the recurrent nets carry a count from token to token, the
# transformer recomputes it from the context.
# ```

# %% tags=["hide-cell", "solution"]
prefix = single.encode("B D D D D D T")
source = torch.tensor([single.encode("B D D D D D D D D T")])
produced = {}
for arch, net in quick_networks.items():
    with torch.no_grad():
        h_s = net(source).states[0, 8]  # the state after the source's last D
    swap_all = nv.Patch(torch.tensor([0]), torch.tensor([5]), h_s[None])  # after the target's last D
    new = single.decode(nv.models.generate(net, prefix, patch=swap_all, stop=single.eos_id)[len(prefix) :])
    produced[arch] = new.split().index("E")
    print(f"{arch:12s} {single.decode(prefix)} | {new}")
nv.check.ex_2_3(**produced)

# %% [markdown]
# **4. Who fails on held-out counts?** *(read a table · 10 min)* From the paper profile's
# accuracy table (`book.paper_table("accuracy_per_count.csv")`, experiment `main`), list the
# Same-Object transformer seeds that are below accuracy 1 on a held-out count, and on which N.
# Answer with a dict `{seed: [N, …]}` (leave out the seeds that get all held-out counts right).
# Why is each of these accuracies exactly 0 or 1?

# %%
nv.check.ex_2_4(failures=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# Select the rows, keep the held-out N (`Task.count_range`) and the accuracies below 1. Each is
# 0 or 1 because the Same-Object task has one token for every demo: there is only one sequence
# of each N, so its 15 test sequences are the same sequence.
# ```

# %% tags=["hide-cell", "solution"]
same = nv.Task("same")
rows = paper_accuracy.query("experiment == 'main' and arch == 'transformer' and task == 'same'")
held_out_rows = rows[rows["N"].map(lambda n: same.count_range(n) == "held-out")]
print("accuracies seen on held-out counts:", sorted(held_out_rows["accuracy"].unique().tolist()))
failing = held_out_rows[held_out_rows["accuracy"] < 1]
failures = {int(seed): sorted(group["N"].tolist()) for seed, group in failing.groupby("seed")}
print(failures)
nv.check.ex_2_4(failures)

# %% [markdown]
# ## Summary
#
# * GRU and LSTM are stepped one token at a time so their state can be replaced mid-sequence;
#   the transformer's intervenable state is its residual stream after layer 1. One face —
#   `model(tokens, patch=None)` — serves all three.
# * Training follows the paper: 1000 sequences per seed, warm-up and inverse-square-root
#   decay, a criterion of 99.99 % trial accuracy; the quick profile stops there, the paper
#   profile trains for 600 epochs and analyses the last checkpoint that meets it (checkpoints
#   every 5 epochs). Stacked ensembles train all seeds of a condition at once on a CPU.
# * At their analysed checkpoint the main grid's networks are at 1.000 accuracy on the trained
#   counts and, except some Same-Object transformers, on the held-out ones (§2.4's tables).
#   GRUs and RoPE transformers fail beyond 20 and are at 0 by N = 30, as in the paper's Fig. 6;
#   some LSTMs, the void-token and the NoPE transformers still solve a share of trials at
#   N = 30, the end of the paper's "≈ 0 by N ≈ 25–30" (the departures table).
