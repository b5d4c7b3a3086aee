"""The measures of the book, one row each: what DAS measurement a measure is read from, how it is
labelled, which figure of the paper it is compared with, and when the grid computes it.

A *measurement* is one DAS fit (:class:`~numvars.jobs.DasConfig`): a program, one of its
variables (``None``: the whole state) and an alignment method. A *measure* is what the book
reports per network: one measurement, or the better of several by validation IIA (Up-Up's
two counts, as the paper does). Adding a measure is a row of :data:`MEASURES` (and, for a new
variable, its program in :mod:`numvars.programs`); the grids (:func:`numvars.grids.figs_2_and_7`),
the job planner, the tables (:func:`numvars.results.per_network`), the labels and the plots read
it from here.
"""

from __future__ import annotations

from typing import NamedTuple


class Reading(NamedTuple):
    """One DAS measurement a measure is read from."""

    program: str  # a program of numvars.programs
    variable: str | None  # a variable of that program; None: the whole state (a full swap)
    method: str  # an alignment of numvars.das.ALIGNMENTS

    @property
    def variable_name(self) -> str:
        """The ``variable`` column of the DAS tables: the variable, ``"full_swap"`` for the whole state."""
        return self.variable or "full_swap"


class Measure(NamedTuple):
    """One row of :data:`MEASURES`."""

    name: str  # the ``measure`` column of the tables
    label: str  # how figures and tables name it
    reads: tuple[Reading, ...]  # one: that measurement; several: the better by validation IIA
    figure: str | None  # the paper's figure whose cell it is compared with ("2" or "7"), if any
    order: int  # when a network's grid computes its measurements (a lower one first)

    @property
    def variables(self) -> tuple[str, ...]:
        """The ``variable`` column values it is read from."""
        return tuple(reading.variable_name for reading in self.reads)


def _up_down(variable: str, method: str = "learned") -> Reading:
    return Reading("up_down", variable, method)


def _up_up(variable: str) -> Reading:
    return Reading("up_up", variable, "learned")


#: every measure, in the order the book's tables list them (Figs. 2 and 7, then the controls)
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("count", "Up-Down count", (_up_down("count"),), "2", 0),
        Measure("up_up", "Up-Up (better count)", (_up_up("demo_count"), _up_up("resp_count")), "2", 5),
        Measure("demo_count", "Up-Up demo_count", (_up_up("demo_count"),), "7", 3),
        Measure("resp_count", "Up-Up resp_count", (_up_up("resp_count"),), "7", 4),
        Measure("phase", "Up-Down phase", (_up_down("phase"),), "7", 1),
        Measure(
            "count+phase", "Up-Down count and phase together (authors' configs)", (_up_down("count+phase"),), None, 2
        ),
        Measure("full_swap", "Ctx-Distr full swap", (Reading("ctx_distr", None, "full_swap"),), "2", 6),
        Measure("random", "random rotation (count)", (_up_down("count", "random"),), None, 7),
    )
}


def label(name: str) -> str:
    """A measure's label, e.g. ``label("count") == "Up-Down count"``."""
    return measure(name).label


def measure(name: str) -> Measure:
    """The row of :data:`MEASURES` called ``name``; a clear error for an unknown one."""
    if name not in MEASURES:
        raise ValueError(f"unknown measure {name!r}; allowed: {list(MEASURES)}")
    return MEASURES[name]


def readings(names=None) -> list[Reading]:
    """The distinct measurements the measures ``names`` (default: all) are read from, in the
    order a grid computes them (:attr:`Measure.order`)."""
    chosen = sorted((MEASURES[n] for n in (names or MEASURES)), key=lambda m: m.order)
    return list(dict.fromkeys(reading for m in chosen for reading in m.reads))


def figure_of(name: str) -> str | None:
    """The paper's figure a measure's cell is compared with (``None``: not compared)."""
    return MEASURES[name].figure if name in MEASURES else None


def single_figure_measures() -> tuple[str, ...]:
    """The measures compared with a cell of Figs. 2/7 that are one measurement each (a cause is
    measured on these: Up-Up follows from its two counts)."""
    return tuple(m.name for m in MEASURES.values() if m.figure and len(m.reads) == 1)


def order_of(variable: str | None) -> int:
    """When a measurement of ``variable`` is computed among a network's measurements: the lowest
    :attr:`Measure.order` of a measure read from it; a variable no measure reads comes last."""
    name = variable or "full_swap"
    orders = [m.order for m in MEASURES.values() if name in m.variables]
    return min(orders) if orders else len(MEASURES)
