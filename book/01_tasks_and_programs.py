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
# # 1. Counting tasks and the programs that solve them
#
# Before any network appears, this chapter fixes what it would *mean* for a network to hold a
# number variable. We meet the three counting tasks of the paper, then three small symbolic
# programs that all solve them perfectly. The programs differ only in what they carry from one
# token to the next, and an **interchange intervention** — "swap the count" — is the experiment
# that tells them apart. Chapters 3 and 4 run the same experiment on trained networks.
#
# ```{admonition} Learning objectives
# :class: tip
# After this chapter you can
# 1. read and generate sequences of the Multi-, Single- and Same-Object tasks, and say why the
#    counts 4, 9, 14 and 17 never appear in training;
# 2. trace Up-Down, Up-Up and Ctx-Distr on a sequence and name the variables each one carries;
# 3. compute an interchange intervention on a program, by hand and with `numvars`, in either
#    phase — including the rules for a demo-phase swap, a phase swap and an impossible request;
# 4. explain why three programs that agree on every task sequence disagree on counterfactuals,
#    and why that disagreement is what {term}`DAS` measures.
# ```

# %% tags=["parameters"]
PROFILE = "quick"  # "quick" (seconds, what CI runs) or "paper" (more samples, same conclusions)

# %%
import matplotlib.pyplot as plt
import pandas as pd

import numvars as nv

book = nv.setup(PROFILE)
N_SEQS, N_PAIRS = nv.grids.PROGRAM_SAMPLES[PROFILE]  # sequences per task, intervention pairs

# %% [markdown]
# ## 1.1 Three tasks
#
# Every sequence is `B`, a *demo phase* of N objects, a trigger `T`, a *response phase* of N
# response tokens, and `E` (end of sequence). The task is numeric equivalence (after Gordon,
# 2004; references in the {doc}`glossary`): produce as many responses as there were objects.
#
# | task | demo tokens | response token | example, N = 2 |
# |---|---|---|---|
# | Multi-Object | `D0 D1 D2`, drawn uniformly per position | `R` | `B D2 D0 T R R E` |
# | Single-Object | `D` | `R` | `B D D T R R E` |
# | Same-Object | `D` | `D` (the same token) | `B D D T D D E` |
#
# A `Task` samples sequences from a seed. Here are three of each, with N drawn from the
# training counts:

# %%
for kind in nv.tasks.TASK_KINDS:
    task = nv.Task(kind, max_count=8, hold_outs=())  # short sequences, for the page
    print(f"{kind:>6}:", *(task.decode(ids) for ids in task.sample(3, seed=1)), sep="\n   ")

# %% [markdown]
# Transformers can tell the count from a token's *position*: in `B D D D T`, the trigger sits at
# position N + 1. The paper's **void-token** variant breaks that shortcut: every demo-phase
# position is, with probability 0.2, a void token `V` that does not count.

# %%
void_task = nv.Task("multi", void_p=0.2)
for ids in void_task.sample(3, seed=4, counts=[2, 3, 5]):
    print(f"N = {void_task.count(ids)}:  {void_task.decode(ids)}")

# %% [markdown]
# Networks train on a fixed set of 1000 sequences with N uniform on 1..20 — except that
# **4, 9, 14 and 17 never appear**, so that chapter 2 can test whether a network interpolates to
# counts it has never seen.

# %%
task = nv.Task("multi")
train_set = task.sample(1000, seed=0)
nv.plots.plot_count_distribution(task, train_set, title="N in 1000 training sequences (Multi-Object, seed 0)")
plt.show()

# %% [markdown]
# A **trial** is correct only if every response token *and* the `E` are predicted correctly;
# what the model guesses during the demo phase does not matter (the objects are random). The
# response mask marks the tokens a trial must produce:

# %%
batch = task.pad([task.encode("B D1 T R E"), task.encode("B D0 D2 D2 T R R R E")])
mask = task.response_mask(batch)
pd.DataFrame(
    [task.decode(batch[0]).split(), mask[0].int().tolist(),
     task.decode(batch[1]).split(), mask[1].int().tolist()],
    index=["sequence 0", "must be predicted", "sequence 1", "must be predicted "],
)

# %% [markdown]
# ## 1.2 Three programs
#
# Each program reads one token at a time, updates its variables, and — in the response phase —
# predicts the next token.
#
# * **Up-Down** carries `count` and `phase`. A demo token adds one, `T` switches the phase to
#   *response*, a response token subtracts one. In the response phase it says `E` when
#   `count = 0`, otherwise the response token.
# * **Up-Up** carries `demo_count`, `resp_count` and `phase`. Demo tokens raise `demo_count`,
#   responses raise `resp_count`; it says `E` when `resp_count` has caught up with `demo_count`.
# * **Ctx-Distr** (context-distributed) carries *nothing*. At every step it re-reads the whole
#   context, adding one per demo token and subtracting one per response, and says `E` when the
#   tally is 0. This is the strategy the paper finds in transformers.
#
# The diagram shows a trial as the programs read it: the demo phase, `T`, and the response
# phase whose tokens a network must produce; under every token, what each program carries after
# it (`c`: Up-Down's count; `d`, `r`: Up-Up's demo_count and resp_count). Ctx-Distr carries
# nothing.

# %%
nv.diagrams.counting_task("B D D D T R R R E")
plt.show()

# %% [markdown]
# The table shows every variable after every token of one void-token sequence. `V` changes
# nothing. Ctx-Distr's `tally` is not carried: it is recomputed from the context each time.

# %%
ids = void_task.encode("B D0 V D2 D1 T R R R E")
nv.analysis.trace_table(void_task, ids)

# %%
nv.plots.plot_program_traces(void_task, ids)
plt.show()

# %% [markdown]
# ## 1.3 All three solve every task
#
# On task sequences the three programs are indistinguishable. Each one scores 100 % trial
# accuracy on every task, with and without void tokens, for every N from 1 to 30 (well past the
# training range — a program does not care). The paper states the same (§2).

# %% [markdown]
# ```{admonition} Think!
# :class: tip
# The three programs carry different variables, and none was built with a largest count in mind.
# Before running the next cell: will any of them get a trial wrong at N = 30, or with void tokens?
# What would that tell you about telling programs apart by their behaviour?
# ```

# %%
rows = []
for kind in nv.tasks.TASK_KINDS:
    for void_p in (0.0, 0.2):
        task_30 = nv.Task(kind, max_count=30, void_p=void_p)
        counts = [1 + i % 30 for i in range(N_SEQS)]  # every N from 1 to 30
        seqs = task_30.sample(N_SEQS, seed=0, counts=counts)
        rows.append(dict(task=kind, void_p=void_p, **nv.analysis.program_accuracy(task_30, seqs), paper=1.0))
pd.DataFrame(rows).set_index(["task", "void_p"]).round(3)

# %% [markdown]
# ## 1.4 Interchange interventions: what "swapping the count" means
#
# Take a *target* sequence and a *source* sequence. Run the program on the target up to the
# token at position `t`, and on the source up to position `u`. Now set the chosen variable(s)
# of the target's state to the source's values, and let the program generate the rest. That
# continuation is the **counterfactual**: the sequence a network that really runs this program
# would produce after the same swap.
#
# The diagram draws the first example below: Up-Down's count after the target's first `R`
# (2) is set to its value after the source's fifth demo (5), and Up-Down carries on from there.

# %%
nv.diagrams.interchange_intervention("B D D D T R R R E", 5, "B D D D D D T R R R R R E", 5)
plt.show()

# %% [markdown]
# The rules (all tested in `tests/test_programs.py`; the *Decisions* are listed in
# {doc}`reproduction_notes`):
#
# 1. The swapped states are those after `t` and after `u`. Following the paper's index
#    convention, a state that predicts `B` or `E` is never swapped: `t` and `u` sit on `B`, a
#    demo, void, `T` or response token, but not on the last response (whose state predicts `E`)
#    nor on `E` or padding (`Task.intervention_positions`; chapter 4 §4.7 measures the other
#    readings).
# 2. **Response phase**: the program produces responses until it says `E`.
# 3. **Demo phase**: the demo goes on for 0–3 more random demo tokens (uniform), then `T`, then
#    the response the intervened state implies (the paper's rule; the authors' code instead
#    adds random demo tokens until the count reaches the target's N, then `T` — so a swapped-in
#    count `s` gives `max(s, N)` responses — `demo_continuation="authors"`).
# 4. Swapping `phase` moves the program between phases with no `T` in between (into the
#    response phase) or with a fresh demo continuation and `T` (back into the demo phase).
# 5. An **impossible request** — Up-Up asked to go on when `resp_count` already exceeds
#    `demo_count` — gives `E` at once, as does a count of 0.
# 6. Ctx-Distr carries nothing, so a *full* swap of its state between two positions in the same
#    phase changes nothing: the counterfactual is the unchanged target.
#
# Positions count from 0 at `B`. In `B D D D T R R R E`, position 5 is the first `R`, after
# which Up-Down's count is 2.

# %% [markdown]
# ```{admonition} Think!
# :class: tip
# Predict each row of the next table before you run it. Row 2 swaps in the count of a source
# that has finished its responses; row 3 swaps a count into the demo phase (rule 3); the last row
# is Ctx-Distr's full swap (rule 6). Write each counterfactual down, then compare.
# ```

# %%
T3, S5, S2 = "B D D D T R R R E", "B D D D D D T R R R R R E", "B D D T R R E"
examples = [
    dict(program="up_down", variables="count", target=T3, t=5, source=S5, u=5),
    dict(program="up_down", variables="count", target=T3, t=5, source=S2, u=5),
    dict(program="up_down", variables="count", target=T3, t=2, source=S5, u=5),
    dict(program="up_down", variables="phase", target=T3, t=2, source="B D T R E", u=3),
    dict(program="up_up", variables="demo_count", target=T3, t=5, source=S5, u=5),
    dict(program="up_up", variables="resp_count", target=T3, t=5, source=S2, u=5),
    dict(program="ctx_distr", variables=None, target=T3, t=5, source=S2, u=4),
]
single = nv.Task("single")
nv.analysis.counterfactual_table(single, examples, seed=0)

# %% [markdown]
# Row by row: the count 2 becomes 5, so five more `R` follow; the count becomes 0 (the source
# has finished its responses), so `E` comes at once; a count swapped in the demo phase is
# followed by 0–3 more random demo tokens, then `T` and one response per counted object; a
# phase swap jumps into the response phase without a `T`; Up-Up's `demo_count` swap raises the
# target it must reach; its `resp_count` swap (2 responses already made, out of 3) leaves just
# one; Ctx-Distr's full swap changes nothing.
#
# The figure shows the first row as the programs see it: the source's count at `u`, the
# target's at `t`, and the intervened run that starts from the swapped value.

# %%
nv.plots.plot_counterfactual(single, "up_down", single.encode(T3), 5, single.encode(S5), 5, "count")
plt.show()

# %% [markdown]
# ## 1.5 Same behaviour, different counterfactuals
#
# The three programs agree on every task sequence, yet they predict different counterfactuals
# for the same swap. That is the lever of the whole paper: if a network's outputs after a swap
# follow one program's counterfactuals, the network behaves as if it carried that program's
# variable.
#
# How different are the predictions? We sample intervention pairs as the paper's DAS data does
# (N uniform on 1..20 for target and source, `t` and `u` uniform over the allowed positions) and
# ask how often an idealised network that *is* Up-Down — its count swapped — would also match
# another program's counterfactual. The column "= unchanged target" is the share of Up-Down
# counterfactuals that equal the unchanged target: roughly what a network that ignores the swap
# altogether would score (chapter 4 prints that chance level exactly, on the scored tokens,
# beside every IIA); the last column, the share that asks for more than 20 responses.

# %% [markdown]
# ```{admonition} Think!
# :class: tip
# An idealised network that *is* Up-Down has its count swapped. How often will its counterfactual
# also be Up-Up's `demo_count` counterfactual — almost always, about half the time, or rarely? And
# how often the unchanged target? Guess both shares before running the cell.
# ```

# %%
multi = nv.Task("multi")
pairs = nv.sample_pairs(multi, N_PAIRS, seed=0)
agreement = {
    rule: nv.analysis.counterfactual_agreement(multi, pairs, demo_continuation=rule) for rule in ("paper", "authors")
}
pd.DataFrame(agreement).T.rename_axis("demo-phase rule").round(3)

# %% [markdown]
# Under the paper's rule, a network that ignored every swap would still match a few per cent of
# Up-Down counterfactuals, which sets the floor for the {term}`interchange intervention accuracy <IIA>` (IIA)
# of chapter 4. A few per cent of counterfactuals ask for more than 20 responses, a count no
# network saw in training (chapter 2 shows they fail there). The authors' rule asks for that less
# often (last column): after a demo-phase swap it stops the demo phase once the count has
# reached the target's N, so the responses number `max(s, N)`, never more than 20. What remains,
# under either rule, are swaps into the response phase, where the responses already made add to
# the swapped-in count.
#
# ## Exercises
#
# Each checked exercise has a cell that calls its checker, `nv.check.ex_1_N(...)`, with `...`
# in place of every answer: replace the `...` with yours and run the cell. The checker
# computes the answer with `numvars` and says right or not yet. A wrong try says why and how far
# (too high, which token differs, a counterexample), never the expected answer; once a part is
# right it explains it. Add `reveal=True` to the call to see the expected answers — after you
# have tried. The solutions are folded; in the student edition (`make student`) they are removed.
#
# **1. By hand.** *(predict · 10 min)* Target `B D D D D T R R R R E`, intervention after
# position 6 (the first `R`); source `B D D T R R E`, position 2 (the second `D`). Write down
# the counterfactual under Up-Down (`count`), Up-Up (`demo_count`) and Up-Up (`resp_count`),
# each as a token string such as `"B D T R E"`.

# %%
nv.check.ex_1_1(up_down=..., demo_count=..., resp_count=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# After target position 6, Up-Down has `count = 3`; the source has `count = 2` after position
# 2, so two more `R`: `B D D D D T R R R E`. Up-Up has `demo_count = 4, resp_count = 1`; the
# source's `demo_count` is 2, so one more `R`: `B D D D D T R R E`. The source's `resp_count`
# is 0, so four more `R`: `B D D D D T R R R R R E`. The cell below computes the three and
# checks them.
# ```

# %% tags=["hide-cell", "solution"]
exercise = [
    dict(program=p, variables=v, target="B D D D D T R R R R E", t=6, source="B D D T R R E", u=2)
    for p, v in [("up_down", "count"), ("up_up", "demo_count"), ("up_up", "resp_count")]
]
answers = nv.analysis.counterfactual_table(single, exercise)["counterfactual"].tolist()
nv.check.ex_1_1(up_down=answers[0], demo_count=answers[1], resp_count=answers[2])

# %% [markdown]
# **2. When do Up-Down and Ctx-Distr agree?** *(derive · 10 min)* Find the condition on a
# same-phase pair under which Up-Down's `count` swap predicts exactly the unchanged target, as
# Ctx-Distr's full swap does. Why is the condition rarely met in the demo phase?

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# In the response phase: the count after `u` equals the count after `t` — the swap writes back
# the value that was there. In the demo phase that is not enough: the paper's rule then adds
# 0–3 random demo tokens, and the counterfactual equals the target only if they happen to be
# exactly the target's own remaining demo tokens (possible only when at most three remain).
# ```

# %% [markdown]
# **3. A program with the same causal structure.** *(change, then predict · 25 min)* Write
# *Down-Up*: its single counter starts at 0, goes *down* by one per demo token and *up* by one
# per response, and it says `E` at 0. Before you run it: will its `count` counterfactuals
# differ from Up-Down's? Start from Up-Down's code, printed below — a program's state is a
# dict, `update(state, kind)` returns the next one for a token of kind `"demo"`, `"void"`,
# `"trigger"` or `"response"`, and `says_eos(state)` decides the `E`. Pass your class (not an
# instance) to the checker: it tests that your count goes down in the demo phase, that your
# program solves the task, and compares its counterfactuals with Up-Down's on 200 pairs
# (`nv.programs.UpDown` itself is refused). What does that tell you about what an
# interchange intervention can and cannot see?

# %%
import inspect

print(inspect.getsource(nv.programs.UpDown))

# %%
nv.check.ex_1_3(...)  # your class, e.g. nv.check.ex_1_3(DownUp)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# Down-Up's counterfactuals are identical to Up-Down's: the two programs differ only in how the
# number is *encoded* (n versus −n), not in its causal role. An interchange intervention tests
# causal role, so it cannot tell them apart — nor does it need to. DAS likewise finds a
# variable up to the learned rotation, not a particular encoding.
# ```

# %% tags=["hide-cell", "solution"]
class DownUp(nv.programs.UpDown):
    """Up-Down with the sign flipped: demo tokens count down, responses count up to 0."""

    name = "down_up"

    def update(self, state, kind):
        new = super().update(state, kind)
        return {**new, "count": 2 * state["count"] - new["count"]}  # move the other way

    def says_eos(self, state):
        return state["count"] >= 0


nv.check.ex_1_3(DownUp)

# %% [markdown]
# **4. Predict, then check: a phase swap and an impossible request.** *(predict · 15 min)*
# Use the rules of §1.4. (a) Up-Up, swap `resp_count`: target `B D D T R R E` after position 4,
# source `B D D D D D T R R R R R E` after position 10. (b) Up-Down, swap `phase`: target
# `B D D D T R R R E` after position 6, source `B D D T R R E` after position 1. Part (b) has a
# random part: give any continuation the rules allow, and the checker tells you which one
# seed 1 draws.

# %%
nv.check.ex_1_4(a=..., b=...)

# %% [markdown] tags=["solution"]
# ```{admonition} Solution
# :class: dropdown
# (a) Position 4 is the target's first `R`: after it the target has made one response of its
# two (`resp_count = 1`); the source's `resp_count` after position 10 is 4, more than
# `demo_count` 2: an impossible request, so `E` at once (rule 5). (b) After position 6 Up-Down's count is 1 (three demos, two responses);
# the source's phase after position 1 is *demo*, so the program goes back into the demo phase
# with count 1: 0–3 more `D` (rule 3), a second `T`, and one `R` per counted object — one more
# than the extra `D`s. The cell below asks the programs.
# ```

# %% tags=["hide-cell", "solution"]
up_up, up_down = nv.get_program("up_up", single), nv.get_program("up_down", single)
a = up_up.counterfactual(single.encode("B D D T R R E"), 4, single.encode("B D D D D D T R R R R R E"), 10, "resp_count")
b = up_down.counterfactual(single.encode("B D D D T R R R E"), 6, single.encode("B D D T R R E"), 1, "phase", seed=1)
nv.check.ex_1_4(a=single.decode(a), b=single.decode(b))

# %% [markdown]
# ## Summary
#
# * Three tasks — Multi-, Single- and Same-Object — ask for as many responses as there were
#   objects; counts 4, 9, 14 and 17 are held out of training, and void tokens break the link
#   between position and count.
# * Up-Down, Up-Up and Ctx-Distr all solve every task; they differ in what they carry: one
#   counter, two counters, or nothing at all.
# * An interchange intervention sets a program's variables to the values they hold in another
#   run and lets the program go on. The resulting counterfactuals differ between programs even
#   though their behaviour on the task does not.
# * Chapter 2 trains networks that solve the tasks; chapters 3 and 4 swap parts of their
#   hidden states and ask whose counterfactuals they follow.
