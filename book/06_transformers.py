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
# # 6. Transformers: counting by re-reading
#
# Chapter 4 found that the transformers keep no swappable count: Up-Down `count` swaps fail
# (IIA at chance), and a full swap of the residual stream after layer 1 changes nothing. So how
# do they count? The paper's answer (its Figs. 8–11 and App. A.4–A.5): at every step they
# re-read the context. This chapter tests each part of that answer:
#
# 1. **Where attention goes** (Fig. 8, 2-layer RoPE): response-phase queries attend over the
#    demo tokens and `T`, "very little" to earlier `R`; demo-phase queries attend "mostly" to `B`.
# 2. **A ±1 sum in attention** (Figs. 9–10, App. A.4): in a 1-layer transformer without
#    positional encoding (NoPE), one more demo term in the attention sum of the response queries
#    makes the network answer one `R` more, one more response term one `R` fewer — in 100 % of
#    trials.
# 3. **Void tokens** (Fig. 11): with tokens that break "position = count", the full swap still
#    changes nothing — no carried count either.
# 4. **Why layer 1** (App. A.5): the residual stream after layer 1 is the only place a count
#    could pass from one position to the next, so a full swap there is decisive.
#
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# 1. turn an attention map into numbers — the share of a query's attention on each kind of
#    token — and say what "very little" and "mostly" would have to mean;
# 2. intervene on a computation rather than on a state: add one term to an attention sum and
#    predict what a ±1 counter would do;
# 3. explain why, in a causal transformer, the residual stream after layer 1 is the only place
#    a running count could be carried, and read a full swap there as evidence;
# 4. check a finding on variants that remove a shortcut (void tokens, no positional encoding).
# ```

# %% tags=["parameters"]
PROFILE = "quick"  # "quick": two 2-layer RoPE and two 1-layer NoPE transformers (Single-Object), live; "paper": the full grid

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

import numvars as nv

book = nv.setup(PROFILE)

# %% [markdown]
# ## 6.1 The networks
#
# Chapter 2's transformers have 2 layers, one head, pre-LayerNorm and rotary position
# embeddings (RoPE). This chapter adds, at paper scale (six seeds each, trained like every
# other network: 600 epochs, analysed at the last checkpoint that meets the criterion):
#
# | experiment | layers | positions | task | why |
# |---|---|---|---|---|
# | `void_transformer` | 2 | RoPE | Multi, Single, Same with void tokens ($p = 0.2$) | Fig. 11: position no longer tells the count |
# | `nope_transformer` | 1 and 2 | none | Multi-Object | Figs. 9–10: with no positions, a key depends on its token alone |
# | `bare_transformer` | 1 | none | Multi-Object without `B` and `T` | Fig. 10, App. A.4: the paper's simplified task |
#
# The simplified task drops `B` and `T`: the first `R` ends the demo and is itself the first of
# the N responses, given to the network as `T` is (`D2 D0 R R E`, N = 2; reproduction note 45
# says why it is Multi-Object). The programs read it the same way, so its counterfactuals are
# the full task's:

# %%
bare = nv.Task("multi", framing="bare")
nv.analysis.trace_table(bare, bare.sample(1, seed=3, counts=[3])[0], programs=["up_down"])

# %% [markdown]
# The commands that train and measure them:
#
# ```bash
# python -m numvars train --profile paper --experiment void_transformer --experiment nope_transformer --experiment bare_transformer
# python -m numvars das --profile paper --experiment transformer_variants
# ```
#
# Live, this page uses the quick profile's two 2-layer RoPE transformers (chapter 2) and two
# 1-layer NoPE transformers, all on Single-Object; it trains and measures what the store lacks:

# %%
live_networks = [c for c in book.profile.train_configs() if c.arch == "transformer"]
live_das = book.profile.das["transformer_variants"]
nv.ensure(live_networks + live_das, workers=2, progress=False)
models = {(c.positional, c.n_layers, c.seed): nv.load_run(c).model() for c in live_networks}
live_task = live_networks[0].task
nv.results.runs_table(book.profile).query("arch == 'transformer'")[["experiment", "n_layers", "positional", "seed", "criterion_epoch",
                                                                     "standard"]]

# %% [markdown]
# At paper scale, every transformer condition and how many of its six networks meet the paper's
# standard (all 15 sequences of every N = 1..20 right), beside the seeds the paper dropped (it
# reports drops for the main grid and for the void-token networks; "—" where it reports none):

# %%
paper_runs = book.paper_table("runs.csv")
transformer_runs = paper_runs[paper_runs["arch"] == "transformer"].assign(
    condition=lambda f: f.apply(nv.training.describe, axis=1))
standard = transformer_runs.groupby(["experiment", "task", "condition"], sort=False).agg(
    networks=("seed", "size"), reached=("reached", "sum"), standard=("standard", "sum"), criterion_epoch=("criterion_epoch", "median"))
paper_dropped = {"main": lambda task: nv.paper.DROPPED_SEEDS.get(("transformer", task), 0),
                 "authors_code": lambda task: nv.paper.DROPPED_SEEDS.get(("transformer", task), 0),  # the main grid
                 "void_transformer": lambda task: nv.paper.DROPPED_VOID_SEEDS[task]}
standard["paper dropped"] = [paper_dropped[e](task) if e in paper_dropped else "—" for e, task, _ in standard.index]
standard = standard.droplevel("task")
standard

# %% [markdown]
# Behaviour per N (paper Fig. 6's test, 15 sequences per N) of the new conditions:

# %%
paper_accuracy = book.paper_table("accuracy_per_count.csv")
variant_accuracy = paper_accuracy[paper_accuracy["experiment"].isin(["void_transformer", "nope_transformer", "bare_transformer"])]
variant_accuracy = variant_accuracy.assign(condition=variant_accuracy.apply(nv.training.describe, axis=1))
nv.plots.plot_accuracy_per_count(variant_accuracy, hue="condition")
plt.show()
nv.results.behaviour_summary(variant_accuracy, by=["condition"])

# %% [markdown]
# **Findings** (the two tables above). Every network that reaches the criterion is right on
# the trained and the held-out counts. Some void-token Same-Object networks never reach the
# criterion in 600 epochs (the "reached" column; dropped, as the paper drops seeds; it dropped
# more of these: the "paper dropped" column), and those that do take longest. The main grid
# retrained under the authors' rules (`authors_code`: dropout throughout, 1 500 epochs; chapter 4
# §4.9) mostly never reaches the criterion, far more often than the paper dropped seeds. Beyond 20 the conditions part ways: the NoPE
# networks — 1 or 2 layers, full or bare task — go on counting to 30, the void-token RoPE
# networks fade, Same-Object first. Without positions nothing in a NoPE network marks "more
# than 20": a sum over tokens is the same computation at any N, which is what §6.3's ±1 sum
# would predict.

# %% [markdown]
# ## 6.2 Where attention goes (Fig. 8)
#
# One trial through each kind of live network: every row is a query (the position predicting
# the next token), every column a key it may attend to (itself and what came before).

# %%
trial = live_task.pad(live_task.sample(1, seed=3, counts=[6]))
for (positional, n_layers, seed), model in models.items():
    if seed == 0:
        weights = model(trial, return_attention=True).attention
        nv.plots.plot_attention_maps(live_task, trial[0].tolist(), [w[0] for w in weights],
                                     title=f"{'NoPE' if positional == 'none' else 'RoPE'} {n_layers}L ·")
        plt.show()

# %% [markdown]
# A map is one trial; the paper's claims are about where attention goes *in general*. So for
# every query we add up its attention on each kind of key — `B`, a counted demo token, a void
# token, `T`, an earlier response token — with its own token (the diagonal of the map) apart
# as `self`, and average over the queries of each phase, over 200 sequences with N uniform on
# 1..20 (`nv.attention.attention_shares`; a query's shares sum to 1).
#
# Which own tokens are `self` is a reading of the paper. It names the keys of a response
# query "demo tokens", "T" and "earlier R", and those of a demo query "B": only `R` is
# qualified by position. The default (`self_keys` = `response`) follows the text: a query
# reading a response token has its own `R` as `self`, so "earlier R" holds strictly earlier
# responses; every other own token keeps its role (the first response query's own `T` is `T`,
# the query at `B` has its own `B`). The other reading (`every`) makes every query's own token
# `self`. Earlier `R` is the same under both; `T` and the demo queries' `B` are not
# (`nv.attention.SELF_READINGS`). On the live networks, the default reading:

# %%
live_attention = nv.results.attention_table(live_networks)
live_attention = live_attention[live_attention["self_keys"] == nv.attention.DEFAULT_SELF]
live_attention.pivot_table(index=["positional", "n_layers", "layer", "query_phase"], columns="role", values="share").round(2)

# %% [markdown]
# At paper scale (`results/paper/attention.csv`; networks that meet the standard), first as
# bars — mean over networks, whiskers one SD — for the Multi-Object conditions:

# %%
paper_attention = book.paper_table("attention.csv")
paper_attention = paper_attention[paper_attention["standard"]].assign(condition=lambda f: f.apply(nv.training.describe, axis=1))
nv.plots.plot_attention_shares(paper_attention[paper_attention["task"].str.startswith("multi")])
plt.show()

# %% [markdown]
# and as a table, every condition (mean over networks; default reading):

# %%
attention_summary = paper_attention[paper_attention["self_keys"] == nv.attention.DEFAULT_SELF].pivot_table(
    index=["condition", "layer", "query_phase"], columns="role", values="share", sort=False)[list(nv.attention.KEY_ROLES)]
attention_summary.round(2)

# %% [markdown]
# Fig. 8's two sentences, for the 2-layer RoPE transformers of the main grid, as numbers. The
# paper gives none, so the book states its reading (`nv.paper.VERY_LITTLE`, `nv.paper.MOSTLY`,
# printed first).

# %%
print(f'"very little": at most {nv.paper.VERY_LITTLE:.2f} of a query\'s attention; "mostly": more than {nv.paper.MOSTLY:.1f}')
main_rope = paper_attention[(paper_attention["positional"] == "rope") & (paper_attention["void_p"] == 0)]
fig_8 = main_rope.groupby(["self_keys", "task", "layer", "query_phase", "role"])["share"].agg(["mean", "std", "min", "max"])
default = fig_8.loc[nv.attention.DEFAULT_SELF]
earlier_r = default.loc[(slice(None), slice(None), "response", "response")].rename_axis(["task", "layer"])
display(earlier_r.assign(very_little=earlier_r["mean"] <= nv.paper.VERY_LITTLE).round(2).assign(on="earlier R (response queries)"))
display(default.loc[(slice(None), slice(None), "response", "self")].rename_axis(["task", "layer"]).round(2).assign(on="own R (response queries)"))
on_b = fig_8.xs(("demo", "B"), level=["query_phase", "role"])["mean"].unstack("self_keys")  # mean over networks
display(on_b.assign(**{f"mostly ({r})": on_b[r] > nv.paper.MOSTLY for r in nv.attention.SELF_READINGS}).round(2).rename_axis(columns="B (demo queries)"))

# %% [markdown]
# **Findings** (the tables above). On Multi- and Single-Object, response-phase queries spend
# most of their attention on the demo tokens — the tokens whose number decides when to stop.
# With the query's own token apart (the second table: a small share), their share on
# strictly earlier `R` is still not "very little" by the reading above on Multi-Object in
# either layer, nor on Single-Object in layer 1 (the `very_little` column): the re-reading
# also takes in the responses given so far, as Ctx-Distr's "+1 per demo, −1 per response"
# needs — a network that never looked at its earlier `R`s could not know when to stop.
# Single-Object's layer 2 is within on average, with a wide range over seeds. Same-Object
# differs: its layer-1 response queries look mostly at `T`, the one token that tells a demo
# `D` from a response `D`, and its layer-2 queries look at earlier `R` more than "very
# little". Demo-phase queries attend mostly to `B` in layer 2 on Multi- and Single-Object,
# as the paper says, under both readings of the own token (the third table; on Single-Object
# only just when the query at `B` counts as `self`), but not in layer 1, and not on
# Same-Object; the spread over seeds is wide (the SD and range columns). In the void-token
# networks the response queries give void tokens a small share next to the counted demo
# tokens; the 1-layer NoPE networks' demo queries attend mostly to `B`.

# %% [markdown]
# ## 6.3 One more term in the sum (App. A.4)
#
# Without positional encoding, layer 1's key and value at a position depend on the token there
# and nothing else. A response query's attention output is then a weighted mean over token
# *types*: with $n_D$ demo tokens, $n_R$ responses so far and $T$,
#
# $$\mathrm{att}(q) = \frac{n_D\, e^{q\cdot k_D} v_D + n_R\, e^{q\cdot k_R} v_R + e^{q\cdot k_T} v_T}{n_D\, e^{q\cdot k_D} + n_R\, e^{q\cdot k_R} + e^{q\cdot k_T}},$$
#
# a function of $n_D$ and $n_R$ alone (for Multi-Object, of the counts of D0, D1 and D2). The
# network can read "stop" off that mixture when $n_R = n_D$. App. A.4's test: add **one more
# demo term** $e^{q\cdot k_D} v_D$ (and its weight) to every response query's sum — as if the
# demo had one more token — and the network should answer one `R` more; one more **response
# term**, one `R` fewer. This is an intervention on the computation at run time
# (`nv.models.ExtraTerm`), not on the weights and not on the input: the sequence the network
# sees is unchanged.
#
# Live, on the quick NoPE transformers — greedy generation from `B <demo> T`, ten prompts for
# every N = 1..20, with no term, one demo term and one response term; how many `R` it gives
# minus N:

# %%
live_plus_minus = nv.results.plus_minus_table(live_networks)
nv.plots.plot_plus_minus(live_plus_minus)
plt.show()
nv.results.plus_minus_summary(live_plus_minus)

# %% [markdown]
# One trial by hand, to see it happen (N = 5):

# %%
nope = models[("none", 1, 0)]
prompt = torch.tensor([nv.attention.prompt(live_task, live_task.demo_phase(5, np.random.default_rng(0)))])
for extra in (None, "demo", "response"):
    print(f"{(extra or 'no') + ' term':14s}", live_task.decode(nv.attention.generate(nope, live_task, prompt, 15, extra)[0].tolist()))

# %% [markdown]
# At paper scale (`results/paper/plus_minus.csv`): 1-layer NoPE transformers on the full task
# and on the bare task, and 2-layer NoPE transformers (the term goes into layer 1's sum only),
# ten prompts per N = 1..20 and network:

# %%
paper_plus_minus = book.paper_table("plus_minus.csv")
paper_plus_minus = paper_plus_minus[paper_plus_minus["standard"]]
nv.plots.plot_plus_minus(paper_plus_minus)
plt.show()
per_network_shift = nv.results.plus_minus_summary(paper_plus_minus)
per_network_shift.pivot_table(index=["task", "n_layers", "seed"], columns="manipulation", values="expected", sort=False).round(3)

# %% [markdown]
# The trials that did not move by exactly one, per condition: which N, and what they did
# instead (shift = responses − N; "other": no clean run of `R` ended by `E`):

# %%
misses = paper_plus_minus[~paper_plus_minus["expected"]]
misses.groupby(["task", "n_layers", "manipulation", "n", "shift"], dropna=False)["trials"].sum().unstack("shift", fill_value=0)

# %%
expected_share = nv.results.expected_share  # the share of trials that moved by exactly ±1
for (task, n_layers), part in paper_plus_minus.groupby(["task", "n_layers"]):
    shares = {m: expected_share(part[part["manipulation"] == m]) for m in ("demo", "response")}
    above_1 = expected_share(part[(part["manipulation"] == "response") & (part["n"] > 1)])
    print(f"{task}, {n_layers} layer(s): demo term +1 in {shares['demo']:.1%}, response term −1 in {shares['response']:.1%} "
          f"({above_1:.1%} for N ≥ 2)")

# %% [markdown]
# **Findings** (the tables and lines above). In the 1-layer NoPE transformers one demo term
# extends the answer by exactly one `R` in every trial, on the full task and on the bare one.
# One response term ends it exactly one `R` earlier in every trial with N ≥ 2 on the bare task,
# and in all but a few (at N = 2) on the full task. At N = 1 it fails on both: "one fewer"
# would mean `E` straight after `T` — a step no training sequence has, since every N ≥ 1 — and
# on the bare task it would mean taking back the given first `R`, which no continuation can
# do. So App. A.4's "100 %" holds wherever the ±1 reading asks for something the network could
# have learned; the scorecard counts the N = 1 trials as misses all the same (reproduction
# note 50).
#
# In the **2-layer NoPE transformers** the reading stops holding in every trial: misses occur
# at every N, for both terms, and almost all of them are a shift of 0 — the extra term changed
# nothing. It varies by seed (the per-network table): some seeds behave like the 1-layer
# networks, others miss one trial in five. Consistent with that: the term enters layer 1's
# sums at the response positions only, while layer 2 re-reads layer 1's outputs at *every*
# position, the unchanged demo positions included, and can count from those instead.

# %% [markdown]
# ## 6.4 Why layer 1 is the place to look (App. A.5)
#
# In a causal transformer, position $t+1$ learns about position $t$ only through attention.
# Layer 1 attends to the embeddings — a token and (with RoPE) its position, nothing computed.
# Layer 2 attends to the residual stream after layer 1. After the last layer, nothing reads
# position $t$'s stream except the output head at $t$. So in a 2-layer transformer **the
# residual stream after layer 1 is the only place a running count could pass from one position
# to the next**: a full swap there is the decisive test of a carried count, a swap after
# layer 2 can move the prediction at $t$ only, and a swap of the embedding changes the token
# itself, which every later position reads. A network that carries nothing forward and
# recomputes the count from the tokens at every step — the TMLR version calls such solutions
# anti-Markovian and argues shallow transformers must use them — leaves every prediction after
# $t$ unchanged when layer 1's stream at $t$ is swapped.
#
# Measured on the same Ctx-Distr pairs as chapter 4's full swap (same-phase positions; scored
# on the responses and `E`): after each layer, the share of pairs whose prediction at $t$
# moved, whose later predictions moved, and the full swap's IIA (every scored prediction
# unchanged). Live:

# %%
live_swaps = nv.results.layer_swap_table(live_networks, n_pairs=live_das[0].n_pairs)
live_swaps[live_swaps["t_phase"] == "all"].pivot_table(index=["positional", "n_layers", "seed"], columns="layer",
                                                       values=["moved_at_t", "moved_later", "iia"]).round(3)

# %% [markdown]
# Paper scale (`results/paper/layer_swaps.csv`), means over the networks that meet the standard:

# %%
paper_swaps = book.paper_table("layer_swaps.csv")
paper_swaps = paper_swaps[paper_swaps["standard"]]
nv.plots.plot_layer_swaps(paper_swaps)
plt.show()
paper_swaps[paper_swaps["t_phase"] == "all"].assign(condition=lambda f: f.apply(nv.training.describe, axis=1)).pivot_table(
    index="condition", columns="layer", values=["moved_at_t", "moved_later", "iia"], sort=False).round(3)

# %% [markdown]
# **Findings** (the plot and table). After the last layer, nothing after $t$ ever moves, as the
# argument says it cannot — and for the 1-layer networks layer 1 *is* the last: a 1-layer
# transformer has no place at all to carry a count from one position to the next, so it must
# re-read. In the 2-layer networks a swap after layer 1 moves later predictions rarely; the
# count is not carried in the stream. The exception is Same-Object, where it moves them
# about as often as the embedding swap does: there the states after `B` and `T` are the only
# marks of the phases, and swapping them fails (chapter 4 §4.5). The NoPE 2-layer networks
# move a little more often than the RoPE ones of the same task.
#
# The embedding swap moves later predictions often on the full task and never on the bare
# one. The pairs tell why: two positions of one phase hold tokens a counter treats alike (two
# demo tokens, two `R`) — except, on the full task, the positions of `B` and `T`, which the
# pairs include (chapter 4 §4.5). On the live 1-layer NoPE transformer, the embedding swap by
# the tokens at $t$ and $u$:

# %%
full_swap_pairs = nv.pair_set(next(c for c in live_das if c.method == "full_swap").pairs, "test")  # the Ctx-Distr test pairs
embedding_swap = nv.attention.full_swap_by_layer(nope, full_swap_pairs, layer=0)
tokens_at = nv.analysis.pair_facts(full_swap_pairs)[["t_token", "u_token"]]
embedding_swap.join(tokens_at).groupby(["t_token", "u_token"])["moved_later"].agg(["mean", "size"]).round(3)

# %% [markdown]
# Later predictions move (almost) only where `B` or `T` is swapped with another token.

# %% [markdown]
# ## 6.5 Void tokens and NoPE under DAS (Fig. 11)
#
# With RoPE, "how far back is `T`" tells a transformer the count — a shortcut a count-free
# network could use. Void tokens (`V`, probability 0.2 at every demo position) break it: the
# distance from `B` to `T` is no longer N. Removing positions altogether (NoPE) removes the
# shortcut differently. If the transformers still keep no carried count, chapter 4's
# measurements should read the same on them: count IIA at chance, the full swap after layer 1
# near 1. Live, on the quick NoPE transformers (`transformer_variants`):

# %%
live_variants = nv.results.das_table({"transformer_variants": live_das})
nv.results.variant_summary(live_variants).round(3)

# %% [markdown]
# Paper scale (`results/paper/transformer_variants.csv`): per condition and measure, the mean,
# SD and range of test IIA over the networks that meet the standard, and the chance level (a
# network that ignores the intervention, on the same pairs); `untrained` is count DAS on the
# same networks before training (seeds 0 and 1):

# %%
variants = book.paper_table("transformer_variants.csv")
variant_cells = nv.results.variant_summary(variants)
variant_cells.assign(condition=variant_cells.apply(nv.training.describe, axis=1)).set_index(["condition", "measure"])[
    ["mean", "sd", "min", "max", "networks", "chance"]].round(3)

# %% [markdown]
# Beside chapter 4's main transformers (2-layer RoPE, no void tokens) and the paper's Fig. 11
# (the range its text gives for the full swap, last column):

# %%
main_cells = nv.results.iia_table(book.paper_table("das.csv")).query("arch == 'transformer'")
main_cells = main_cells[main_cells["measure"].isin([nv.measures.label(m) for m in ("count", "phase", "full_swap")])]
void = variant_cells[variant_cells["void_p"] > 0].pivot_table(index="task", columns="measure", values="mean")
comparison = pd.DataFrame({
    "main count": main_cells[main_cells["measure"] == nv.measures.label("count")].set_index("task")["mean"],
    "void count": void["count"],
    "main full swap": main_cells[main_cells["measure"] == nv.measures.label("full_swap")].set_index("task")["mean"],
    "void full swap": void["full_swap"],
    "void phase": void["phase"],
}).loc[["multi", "single", "same"]]
comparison["paper full swap (Fig. 11)"] = "–".join(f"{v:.2f}" for v in nv.paper.FIG_11_FULL_SWAP)
comparison.round(3)

# %% [markdown]
# **Findings** (the tables above). On every variant the count swap fails: Up-Down `count`
# IIA sits at its chance level, like a random rotation's, as for the main transformers. A
# carried count is not what void tokens or the lack of positions bring out. The full swap
# after layer 1 changes (almost) nothing on Multi- and Single-Object with void tokens and on
# the 1-layer NoPE networks — there it is exactly 1, since layer 1 is the last layer (§6.4) —
# and a little more on the 2-layer NoPE networks. Same-Object with void tokens is the
# exception, as without them (chapter 4 §4.5) and further from the paper: its full swap fails
# on a good share of pairs, and its phase IIA is at chance. Elsewhere the phase *is*
# swappable, well above its chance level: the transformers carry which phase they are in,
# not how many.

# %% [markdown]
# ## 6.6 Beside the paper
#
# The chapter's three claims as the scorecard scores them:

# %%
claims = nv.results.claims_table(chapter="06_transformers")
Markdown(claims[["claim", "paper", "ours", "verdict"]].to_markdown(index=False))

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell that checks your answer: replace each `...` with it and run the cell.
# The checkers measure the live networks of this page (the quick profile's), whatever `PROFILE`
# says.
#
# **1. Predict, then add two.** *(predict, then run · 10 min)* With `copies=2` the manipulation
# of §6.3 adds two demo terms. Before running it: by how many `R` should a ±1 counter's answer
# move? Pass `shift` as a whole number (`+1`: one `R` more). Then run
# `nv.attention.response_shift(nope, live_task, range(1, 21), 5, "demo", copies=2)` and count
# the shifts.

# %%
nv.check.ex_6_1(shift=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# By two: two more demo terms are two more demo tokens as far as layer 1 can tell (the test
# suite checks that the logits are *equal* to those of the sequence with two more tokens). The
# cell below counts the shifts: every trial moves by +2.
# ```

# %% tags=["hide-cell", "solution"]
two_more = nv.attention.response_shift(nope, live_task, range(1, 21), 5, "demo", copies=2)
display(two_more["shift"].value_counts())
nv.check.ex_6_1(shift=int(two_more["shift"].mode()[0]))

# %% [markdown]
# **2. Why not on RoPE?** *(run, then explain · 10 min)* Try
# `nv.attention.generate(models[("rope", 2, 0)], live_task, prompt, 15, "demo")`. Read the
# error. Why is "one more demo term" not defined for a transformer with rotary position
# embeddings?

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# With RoPE a key is rotated by its position, so every demo token's term differs: there is no
# single "demo term" to add — one would have to choose at which position the imagined token
# sits. Without positions every occurrence of a token contributes the same term, and "one more
# token" is one more copy of it. The ±1 reading is a statement about NoPE networks.
# ```

# %% tags=["hide-cell", "solution"]
try:
    nv.attention.generate(models[("rope", 2, 0)], live_task, prompt, 15, "demo")
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# **3. Which predictions can move?** *(predict, then run · 15 min)* §6.4 swapped the stream
# after layers 0 and 1. Change the layer to 2, the last of the live 2-layer RoPE transformer,
# and predict before running: for what share of the Ctx-Distr test pairs (`full_swap_pairs`)
# does the prediction *at* $t$ move (`at_t`), and for what share does a prediction *after* $t$
# move (`later`)? Pass numbers between 0 and 1; then check with
# `nv.attention.full_swap_by_layer(models[("rope", 2, 0)], full_swap_pairs, layer=2)`.

# %%
nv.check.ex_6_3(at_t=..., later=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# Nothing after $t$ can move: no later position reads $t$'s stream after the last layer. The
# prediction at $t$ could — the head reads exactly that stream, so it now makes the source's
# prediction at $u$ — but Ctx-Distr's pairs join non-terminal positions of one phase: in the
# response phase both predict another `R`, and in the demo phase the next token is not scored.
# The cell below prints both shares.
# ```

# %% tags=["hide-cell", "solution"]
after_last = nv.attention.full_swap_by_layer(models[("rope", 2, 0)], full_swap_pairs, layer=2)
nv.check.ex_6_3(at_t=after_last["moved_at_t"].mean(), later=after_last["moved_later"].mean())

# %% [markdown]
# **4. Read the misses.** *(read, then run · 10 min)* In §6.3 the response term misses in a few
# trials. Without running anything: at which N (`n`, an int or a list of ints) should one
# response term fail to end the answer one `R` earlier, and what would the network do there
# instead (`shift`, a whole number)? What would it have to output, and has it ever seen that?
# Then check on the live NoPE transformer with
# `nv.attention.response_shift(nope, live_task, range(1, 21), 5, "response")`.

# %%
nv.check.ex_6_4(n=..., shift=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# At N = 1 it would have to output `E` right after `T` — zero responses. Training has
# N = 1..20, so `T` is always followed by `R`; the network has never been asked to stop at `T`,
# and the ±1 sum is read off a mixture it has only learned to threshold for $n_R \ge 1$. So it
# answers as if there were no extra term: shift 0. On the bare task the same trial would have
# to take back the given first `R`. The cell below finds the misses.
# ```

# %% tags=["hide-cell", "solution"]
one_fewer = nv.attention.response_shift(nope, live_task, range(1, 21), 5, "response")
misses_live = one_fewer[one_fewer["shift"] != -1]
display(misses_live.groupby(["n", "shift"]).size().rename("trials"))
nv.check.ex_6_4(n=sorted(misses_live["n"].unique().tolist()), shift=int(misses_live["shift"].mode()[0]))

# %% [markdown]
# **5. Change the copies, predict the stop.** *(predict, then run · 15 min)* Now add two
# response terms (`"response"`, `copies=2`). Predict the shift of the live NoPE transformer's
# answer at N = 10 (`n10`) and at N = 2 (`n2`), as whole numbers, using what Exercise 4 showed.
# Then run `nv.attention.response_shift(nope, live_task, [2, 10], 5, "response", copies=2)`.

# %%
nv.check.ex_6_5(n2=..., n10=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# At N = 10 two response terms are two responses more to layer 1: the answer ends two `R`
# earlier. At N = 2, two `R` fewer would again be `E` straight after `T`, never seen in
# training; the network goes as far as it has learned to go and stops after its first `R`: one
# `R` fewer. The cell below prints the shifts.
# ```

# %% tags=["hide-cell", "solution"]
two_fewer = nv.attention.response_shift(nope, live_task, [2, 10], 5, "response", copies=2)
display(two_fewer.groupby(["n", "shift"]).size().rename("trials"))
shift_at = two_fewer.groupby("n")["shift"].agg(lambda s: int(s.mode()[0]))
nv.check.ex_6_5(n2=shift_at[2], n10=shift_at[10])

# %% [markdown]
# ## Summary
#
# - Four tables under `results/paper/` — `attention.csv`, `plus_minus.csv`, `layer_swaps.csv`,
#   `transformer_variants.csv` — made by `python -m numvars reproduce --profile paper`.
# - Attention (§6.2): response queries read mostly the demo tokens, and (their own token
#   apart) their earlier responses more than "very little" except on Single-Object's layer 2;
#   demo queries attend mostly to `B` in layer 2 only, on Multi- and Single-Object.
# - The ±1 sum (§6.3): in 1-layer NoPE transformers one more demo term adds exactly one `R`
#   in every trial; one more response term removes one in (almost) every trial with N ≥ 2 and
#   fails at N = 1, where it asks for a step training never shows; in 2-layer NoPE
#   transformers the reading no longer holds in every trial.
# - The full swap by layer (§6.4): only the stream after layer 1 could carry a count; swapped
#   there, later predictions do not move — the transformers re-read instead of carrying.
# - Void tokens and NoPE (§6.5): count IIA stays at chance in every variant; the full swap
#   after layer 1 stays near 1 on Multi- and Single-Object (the paper's Fig. 11) but not on
#   Same-Object with void tokens, which also loses two of its six networks to the criterion.
#   The verdicts are in §6.6 and on the scorecard.
