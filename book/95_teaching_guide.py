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
# the live networks in the store, or the committed tables — and says right or not yet, with
# the reason. The folded solution ends by calling the checker with the right answer, and the
# tests check that every solution passes its checker and that every checker says "not yet" to
# a wrong answer. The list, read from the chapters:

# %%
from pathlib import Path

from numvars.check.catalogue import exercises

catalogue = exercises(Path("."))  # this page runs in book/
checked = catalogue["checker"] != ""
print(f"{len(catalogue)} exercises, {checked.sum()} of them checked; about {catalogue['minutes'].sum():.0f} minutes in all")
catalogue.drop(columns="chapter").set_index("exercise")

# %% [markdown]
# ## A 90-minute lab: "swap the count"
#
# Goal: learners compute an interchange intervention by hand, then see DAS find the count in a
# trained GRU and judge it against chance.
#
# | minutes | what | run live | exercises |
# |---|---|---|---|
# | 0–10 | the question (intro page; chapter 1's opening) | — | — |
# | 10–40 | chapter 1 §1.1–1.4: tasks, programs, counterfactuals | every cell | 1.1 by hand, 1.4 predict; 1.2 in pairs |
# | 40–50 | chapter 2 §2.2: one face for three networks | §2.2 | 2.3: predict, then swap a whole state |
# | 50–80 | chapter 3 §3.1–3.5: DAS on the quick GRU | every cell (warm store) | 3.1 predict, 3.2 change k, 3.3 implement the swap |
# | 80–90 | chapter 3's controls and chapter 4's grid figure (read): which networks hold a count | — | 3.4 (probe versus intervention) as a discussion |
#
# ## A module of three 90-minute sessions
#
# | session | chapters | run live | read | exercises |
# |---|---|---|---|---|
# | 1. Programs and networks | 1, 2 | chapter 1 whole; chapter 2 §2.1–2.3 | §2.4 (behaviour per count) | 1.1, 1.2, 1.4, 2.1, 2.3; 1.3 as homework |
# | 2. Distributed alignment search | 3, 4 | chapter 3 whole | chapter 4 §4.2–4.5 | 3.1–3.5, 4.1; 4.2 and 4.3 as homework |
# | 3. One of: learning and size (5), transformers (6), geometry (7) | 5, 6 or 7 | the chapter's live cells | its paper-scale tables | the chapter's exercises |
#
# The summed run times of each session's live chapters, warm (they fit in the session with
# room to spare) and cold (the preparation):

# %%
sessions = {"lab (1, 2, 3)": ["01", "02", "03"], "session 1 (1, 2)": ["01", "02"], "session 2 (3, 4)": ["03", "04"],
            "session 3a (5)": ["05"], "session 3b (6)": ["06"], "session 3c (7)": ["07"]}
per_chapter = table.drop(index="all chapters")
pd.DataFrame({name: per_chapter[per_chapter.index.str[:2].isin(chapters)].sum() for name, chapters in sessions.items()}).T.round(0).astype(int)

# %% [markdown]
# ## What to prepare
#
# 1. On the machine learners will use (or one laptop per group): `git clone`, then `make book`
#    once — it creates the virtualenv, installs the pinned requirements, trains and measures every
#    quick-profile network into the model store (`./store`) and builds the HTML (the cold time
#    above, plus the install). After that every chapter runs warm.
# 2. `make test` once: it checks the installation end to end.
# 3. Open the chapters with `make lab` (JupyterLab with the project's kernel), or open
#    `_build/html/index.html` to read the rendered book — it works offline, from a folder or a
#    zip.
# 4. Hand out the student edition: `make student` writes the chapters without their solutions
#    and a zip to distribute (`_build/student/`).
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
# | a checker raises a `TypeError` or `ValueError` | the answer has the wrong form (a word where a number is asked, a token the task lacks, a choice not offered) | read the message: it says what is allowed; `...` is always accepted as "not attempted yet" |
# | `PROFILE = "paper"` takes hours | the paper profile trains the whole grid | keep the quick profile in class: the paper-scale numbers are already in `results/paper/` and every chapter shows them |
