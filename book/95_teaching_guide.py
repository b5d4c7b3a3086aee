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
# # Teaching guide
#
# This page is for a teacher who wants to run a lab or a short module on causal abstraction
# and interchange interventions with this book. It says who the material is for, in which
# order to take the chapters, how long each one runs on a two-core laptop without a GPU, two
# plans (one 90-minute lab; three 90-minute sessions), what to prepare, and what tends to go
# wrong.
#
# ## Audience and prerequisites
#
# - **Python** at the level of reading and changing a 20-line function; **pandas** tables are
#   shown, never required.
# - **PyTorch basics**: tensors, `nn.Module`, a training loop with Adam and cross-entropy.
#   Recurrent networks are introduced gate by gate in chapter 2; no prior GRU/LSTM or
#   transformer knowledge is assumed beyond "a network that reads one token at a time".
# - **No interpretability background.** Interchange interventions, counterfactuals, DAS and
#   IIA are built from scratch in chapters 1 and 3. Familiarity with "a rotation is an
#   orthogonal matrix" and with PCA helps in chapters 3 and 7.
#
# ## The learning path
#
# | chapter | what a learner does | builds on |
# |---|---|---|
# | {doc}`01_tasks_and_programs` | reads the counting tasks, traces three programs, computes counterfactuals by hand | — |
# | {doc}`02_networks_and_training` | follows a GRU gate by gate, trains networks to criterion, reads behaviour per count | 1 |
# | {doc}`03_das` | runs DAS step by step: pairs, rotation, swap, IIA, controls | 1, 2 |
# | {doc}`04_number_variables` | reads the paper's main grid beside ours, with chance levels and controls | 3 |
# | {doc}`05_size_learning_gradience` | bigger and smaller networks, DAS over training, graded symbols | 3, 4 |
# | {doc}`06_transformers` | attention shares, one more term in the attention sum, full swaps by layer | 3, 4 |
# | {doc}`07_where_the_count_lives` | PCA of states, the count subspace, linear alignment maps, how many coordinates | 3, 4 |
#
# Chapters 1 and 3 are the core: everything else reads results through them. Chapters 5, 6
# and 7 are independent of one another; pick by interest (learning dynamics, transformers,
# geometry). The {doc}`90_scorecard` and the {doc}`reproduction_notes` are reference pages.
#
# ## How long each chapter runs
#
# Measured with `python benchmarks/chapter_times.py` on a two-core machine without a GPU, with
# nothing else running: every chapter executed as `make book` executes it (quick profile),
# first **cold** — from an empty model store, in the book's order, so a chapter reuses the
# networks an earlier one trained — then **warm**, with everything stored (what a class sees
# after the teacher ran `make book` once):

# %% tags=["parameters"]
PROFILE = "quick"  # this page reads a committed table only

# %%
import pandas as pd

times = pd.read_csv("../benchmarks/chapter_times.csv")
table = times.pivot_table(index="chapter", columns="run", values="seconds", sort=False)[["cold", "warm"]]
table.loc["all chapters"] = table.sum()
print(f"measured on {times['cpus'].iloc[0]} CPU cores ({times['machine'].iloc[0]}), seconds of wall-clock per chapter")
table.round(0).astype(int)

# %% [markdown]
# Reading time is longer than run time everywhere: a chapter is 30–60 minutes of reading,
# running and exercises for a first-year graduate student.

# %% [markdown]
# ## Checked exercises
#
# Every chapter ends with exercises; each says what kind it is and how long it takes, and most
# ask learners to change something and predict the result before running it. A checked
# exercise has a cell that calls its checker with `...` in place of the answer (`...` means
# "not attempted yet", so a notebook with untouched stubs runs through); a learner replaces the
# `...` and runs the cell. The checker computes the answer with `numvars` — from the programs,
# the live networks in the store, or the committed tables — and says right or not yet. A wrong
# part says why and how far ("too high, by more than the tolerance", the first token that
# differs, a counterexample), never the expected value; a right part explains itself.
# `reveal=True` shows the expected answers, so learners can check themselves after trying; for
# graded work, collect the notebooks and re-run them. An answer of the wrong kind is reported in
# the verdict ("✘ b: a list, expected a token string"), and the other parts are still judged.
# Where an exercise asks for code the package already has (the swap, the Down-Up program, the
# offset), the package's own function is refused and kept out of reach while the learner's runs.
# The folded solution ends by calling the checker with the right answer, and the tests check
# that every solution passes its checker and that no wrong try shows the answer. A solution and
# its checker never share code, even where they compute the same thing (exercise 3.4's probe: the
# solution's `probe_states` and `r2` and the checker's `probe_data` and `probe_r2`): the checker's
# expected value must not rest on the code it judges, and a solution written with the package's
# checker helpers would teach nothing. The list, read from the chapters:

# %%
from pathlib import Path

from numvars.check.catalogue import LAB, MODULE, exercises, overfull, plan_table

catalogue = exercises(Path("."))  # this page runs in book/
checked = catalogue["checker"] != ""
print(f"{len(catalogue)} exercises, {checked.sum()} of them checked; about {catalogue['minutes'].sum():.0f} minutes in all")
catalogue.drop(columns="chapter").set_index("exercise")

# %% [markdown]
# The instructor edition (`make instructor`) adds `answer_key.md` — every checker's expected
# answers with their tolerances (`reveal=True`) and the common mistakes it catches — and
# `rubric.md`, marking schemes for the discussion exercises (1.2, 2.2, 3.4's why, 6.2, 7.4).
# Learners' numbers may differ from the key's in the second decimal: their networks train on
# their own machine, and each checker judges against the learner's own store.
#
# ## A 90-minute lab: "swap the count"
#
# Goal: learners compute an interchange intervention by hand, implement the rotated swap, and
# write the DAS training loop that finds the count in a trained GRU. Before the lab they read
# the introduction and chapter 1 §1.1–1.3 (about 30 minutes). The plan below is checked against
# the exercises' own minutes: in every slot at least a fifth of the time is left for reading and
# running (the live cells of chapters 1–3 run in seconds on a warm store), and what does not fit
# is homework.

# %%
lab = plan_table(LAB, catalogue)
assert not overfull(LAB, catalogue), overfull(LAB, catalogue)
print(f"in class: {lab['exercise minutes'].sum()} min of exercises in {lab['minutes'].sum()} min; "
      f"homework: {lab['homework minutes'].sum()} min")
lab

# %% [markdown]
# Exercise 2.3 is demonstrated rather than done: its checker trains the LSTM and the transformer
# first in a cold store (about 20 s), so run chapter 2's exercise setup cell before the lab. Show
# 3.4's numbers on a slide for the closing discussion if time allows; it is homework otherwise.
#
# ## A module of three 90-minute sessions
#
# Session 3 is one of three chapters (5, 6 or 7), by the group's interest. Chapter 4 §4.2–4.5
# is read between sessions 2 and 3 (a journal club on it can replace session 3).

# %%
module = plan_table(MODULE, catalogue)
assert not overfull(MODULE, catalogue), overfull(MODULE, catalogue)
module

# %% [markdown]
# The summed run times of each session's live chapters, warm (they fit in the session with
# room to spare) and cold (the preparation):

# %%
sessions = {"lab (1, 2, 3)": ["01", "02", "03"], "session 1 (1, 2)": ["01", "02"], "session 2 (3)": ["03"],
            "session 3a (5)": ["05"], "session 3b (6)": ["06"], "session 3c (7)": ["07"]}
per_chapter = table.drop(index="all chapters")
pd.DataFrame({name: per_chapter[per_chapter.index.str[:2].isin(chapters)].sum() for name, chapters in sessions.items()}).T.round(0).astype(int)

# %% [markdown]
# ## What to prepare
#
# 1. On the teacher's machine: `git clone`, then `make book` once — it creates the virtualenv,
#    installs the pinned requirements, trains and measures every quick-profile network into the
#    model store (`./store`) and builds the HTML (the cold time above, plus the install).
#    `make test` checks the installation end to end.
# 2. `make instructor`: the answer key, the rubric and every solution (`_build/instructor/`).
# 3. `make student`: `_build/student/numvars-student.zip` is what learners get — the chapters
#    without solutions or outputs, the glossary, introduction and reproduction notes, the
#    package, the committed tables and a slim `requirements.txt` (PyTorch CPU, numpy, pandas,
#    matplotlib, seaborn, JupyterLab). Do not hand out the repository: its golden notebooks hold
#    every solution.
# 4. On the machines learners use (or a shared JupyterHub): unzip, `make lab` (it creates the
#    virtualenv from the slim requirements), and warm the store once before class with
#    `.venv/bin/python -m numvars reproduce --profile quick` (a few minutes on two cores), or
#    point `NUMVARS_STORE` at a store prepared on the teacher's machine. A cold store still
#    works: a chapter trains what it needs (chapter 3 about 45 s, chapter 4 about 3 minutes).
# 5. `make slides`: a reveal.js deck for the lab and for each session (`_build/slides/`), from
#    the chapters the plan covers — headings as slides, figures and tables as sub-slides, code
#    hidden, no solutions; it opens offline, from a folder or a zip.
#
# ## Common pitfalls and how to recover
#
# | symptom | cause | recovery |
# |---|---|---|
# | a chapter starts training networks in class | the store is empty or elsewhere | run `make book` beforehand; the store is `./store` unless `NUMVARS_STORE` points elsewhere |
# | `ModuleNotFoundError: numvars` in a notebook | the notebook runs another Python | start JupyterLab with `make lab`, or pick the kernel "Python 3 (ipykernel)" of `.venv` |
# | a cell was interrupted (Ctrl-C) during training or DAS | — | rerun the cell: finished networks and measurements are stored and reused; the rest resumes |
# | a `StoreWarning` says a file under the store is corrupt or foreign | a run was killed while writing, or a file was copied in from elsewhere | nothing to do: the file was moved aside (`.bad`) and its result is computed again; delete the `.bad` files when convenient |
# | an edited `.py` chapter and its `.ipynb` disagree | jupytext pairing | `make sync` |
# | `make test` fails on a notebook after editing a chapter | the golden outputs changed | `make golden`, then review `git diff book/` |
# | a checker marks a part "malformed" | the answer has the wrong form (a word where a number is asked, a token the task lacks, a choice not offered) | read the part's message: it says what was passed and what is allowed; the other parts are judged anyway, and `...` is always "not attempted yet" |
# | a checker says "… is the package's own answer" | the learner called `nv.das.interchange`, `FixedLinear` or a program's `counterfactual` where the exercise asks for their own code | write it out: the message names what was refused |
# | a learner wants the answer | — | `reveal=True` in the checker call shows the expected values; ask for a prediction first |
# | `PROFILE = "paper"` takes hours | the paper profile trains the whole grid | keep the quick profile in class: the paper-scale numbers are already in `results/paper/` and every chapter shows them |
