# numvars: build the book and run the tests.
#   make book [PROFILE=quick|paper]  execute every chapter with papermill into _build/staging, render _build/html
#   make test                        ruff (lint + format check), then pytest: unit tests + nbval on the golden notebooks + sync checks
#   make sync                        jupytext --sync book/NN_*.py <-> book/NN_*.ipynb
#   make golden                      sync, then re-execute the golden notebooks in place (clean kernel)
#   make lab [LAB_ARGS=...]          JupyterLab on book/ with the venv's kernel (a chapter's .py opens as a notebook too)
#   make student                     _build/student/: the chapters without solutions or outputs, and numvars-student.zip
#   make instructor                  _build/instructor/: every solution, the answer key, the rubric, the guide; a zip
#   make slides                      _build/slides/: a reveal.js deck per lesson plan (the lab, sessions 1-3), offline
#   make clean                       remove _build
# Every target creates .venv from requirements.txt first if needed (stamp: .venv/.installed).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := book

PROFILE ?= quick

# Interpreter used only to create .venv; evaluated before PATH gets the venv below.
BOOT_PYTHON := $(firstword $(shell command -v python3.11 python3 2>/dev/null))

VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE := _build/staging
STUDENT := _build/student
INSTRUCTOR := _build/instructor
SLIDES := _build/slides

# Recipes run with the venv first on PATH, so kernels, papermill, jupyter-book and any
# `python` a chapter starts are the venv's; the venv's kernelspec wins over a user one.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export JUPYTER_PREFER_ENV_PATH := 1
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# This machine's pip configuration warns once per package about a missing local index folder.
PIP_NOISE := is ignored: it is neither a file nor a directory
PIP := $(PY) -m pip install --disable-pip-version-check --quiet

.PHONY: book test sync golden lab student instructor slides clean venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@if [ ! -x $(PY) ]; then
	  [ -n "$(BOOT_PYTHON)" ] || { echo "error: no python3.11/python3 on PATH to create $(VENV)" >&2; exit 1; }
	  echo "==> creating $(VENV) with $(BOOT_PYTHON) ($$($(BOOT_PYTHON) --version))"
	  $(BOOT_PYTHON) -m venv $(VENV)
	fi
	echo "==> installing requirements.txt into $(VENV) (about a minute on a fresh machine)"
	$(PIP) -r requirements.txt 2> >(grep -v "$(PIP_NOISE)" >&2 || true)
	$(PIP) --no-deps --no-build-isolation -e . 2> >(grep -v "$(PIP_NOISE)" >&2 || true)
	# Build matplotlib's font cache now, so its one-time message never lands in a notebook output.
	$(PY) -c 'import matplotlib.pyplot'
	touch $@

book: $(STAMP)
	@shopt -s nullglob
	chapters=(book/[0-9][0-9]_*.ipynb)
	for py in book/[0-9][0-9]_*.py; do
	  [ -f "$${py%.py}.ipynb" ] || { echo "error: $$py has no golden $${py%.py}.ipynb: run 'make golden'" >&2; exit 1; }
	done
	rm -rf $(STAGE) _build/html _build/.doctrees _build/jupyter_execute
	mkdir -p $(STAGE)
	cp -R _config.yml _toc.yml book $(STAGE)/
	for nb in "$${chapters[@]}"; do
	  echo "==> papermill $$nb (PROFILE=$(PROFILE)) -> $(STAGE)/$$nb"
	  papermill "$$nb" "$(STAGE)/$$nb" -p PROFILE "$(PROFILE)" --cwd book --progress-bar
	done
	python .ci/notebooks.py hide-injected "$${chapters[@]/#/$(STAGE)/}"
	echo "==> jupyter-book build $(STAGE) (warnings are errors)"
	jupyter-book build $(STAGE) --path-output . --warningiserror --nitpick --keep-going --all
	echo "==> Book built (PROFILE=$(PROFILE)). Open file://$(CURDIR)/_build/html/index.html"

# Options (testpaths tests + book, --nbval, sanitize file) live in pyproject.toml, so a plain
# `pytest` runs the same suite. The house style first (ruff, configured in pyproject.toml):
# `ruff format` and `ruff check --fix` repair what it reports.
test: $(STAMP)
	@ruff check --quiet
	ruff format --check --quiet
	python -m pytest

sync: $(STAMP)
	@shopt -s nullglob
	declare -A seen=(); files=()
	for f in book/[0-9][0-9]_*.py book/[0-9][0-9]_*.ipynb; do  # the .py if there is one, else the .ipynb
	  stem=$${f%.*}; [ -n "$${seen[$$stem]:-}" ] && continue; seen[$$stem]=1; files+=("$$f")
	done
	[ $${#files[@]} -gt 0 ] || { echo "no chapters book/NN_*.py to sync"; exit 0; }
	jupytext --sync "$${files[@]}"

golden: sync
	@shopt -s nullglob
	chapters=(book/[0-9][0-9]_*.ipynb)
	python .ci/notebooks.py golden "$${chapters[@]}"
	echo "==> Golden notebooks re-executed. Review with 'git diff book/' and commit each .py with its .ipynb."

# Root = the repository (jupytext.toml pairs book/*.ipynb with book/*.py only from there), opened
# on book/. LAB_ARGS passes options through, e.g. LAB_ARGS="--no-browser --port 8899" (as root: --allow-root).
LAB_ARGS ?=
lab: $(STAMP)
	@jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/book $(LAB_ARGS)

# From the golden notebooks (no chapter is executed); tests/test_student.py checks the result.
student: $(STAMP)
	@shopt -s nullglob
	chapters=(book/[0-9][0-9]_*.ipynb)
	[ $${#chapters[@]} -gt 0 ] || { echo "error: no golden notebooks book/NN_*.ipynb" >&2; exit 1; }
	rm -rf $(STUDENT)
	python .ci/student.py $(STUDENT) "$${chapters[@]}"

# The golden notebooks with solutions, and an answer key computed by the checkers (reveal=True) from
# the models in the store (trained there first if missing); tests/test_instructor.py checks it.
instructor: $(STAMP)
	@rm -rf $(INSTRUCTOR)
	python .ci/instructor.py $(INSTRUCTOR)

# From the golden notebooks (nothing is executed); tests/test_slides.py checks the result.
slides: $(STAMP)
	@rm -rf $(SLIDES)
	python .ci/slides.py $(SLIDES)

clean:
	rm -rf _build
