"""numvars: tasks, symbolic programs, networks and DAS for the number-variables reproduction.

Chapters ``import numvars as nv`` and start with ``book = nv.setup(PROFILE)``. The science:
:mod:`~numvars.tasks`, :mod:`~numvars.programs`, :mod:`~numvars.models`,
:mod:`~numvars.training`, :mod:`~numvars.das`, :mod:`~numvars.analysis`, :mod:`~numvars.dynamics`,
:mod:`~numvars.attention`, :mod:`~numvars.geometry`, :mod:`~numvars.plots`, :mod:`~numvars.diagrams`.
The orchestration: :mod:`~numvars.grids` (every profile's grids), :mod:`~numvars.jobs` (what a
job computes), :mod:`~numvars.runner` (computing what the :mod:`~numvars.store` lacks),
:mod:`~numvars.results` (the book's tables), :mod:`~numvars.measures` (what a table reports per
network), :mod:`~numvars.protocols` (named sets of rules), :mod:`~numvars.paper` (the paper's values),
:mod:`~numvars.cli`.

Submodules and the names below load on first use (``nv.results``, ``nv.Task``), so that
``import numvars`` is instant — for worker processes, and for Ctrl-C at start-up.
"""

import importlib

__version__ = "0.2.0"

_SUBMODULES = (
    "analysis",
    "attention",
    "chapter",
    "check",
    "cli",
    "das",
    "diagrams",
    "dynamics",
    "geometry",
    "grids",
    "jobs",
    "measures",
    "models",
    "paper",
    "plots",
    "programs",
    "protocols",
    "results",
    "runner",
    "shipped",
    "store",
    "tasks",
    "training",
    "verify",
)
_NAMES = {
    "setup": "chapter",
    "DasConfig": "jobs",
    "load_measurement": "jobs",
    "load_run": "jobs",
    "measure": "jobs",
    "pair_set": "jobs",
    "ModelConfig": "models",
    "Patch": "models",
    "build_model": "models",
    "get_program": "programs",
    "sample_pairs": "programs",
    "ensure": "runner",
    "Task": "tasks",
    "TrainConfig": "training",
}
__all__ = [*_SUBMODULES, *_NAMES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"numvars.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"numvars.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'numvars' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
