"""Figures for the book: one function per figure, seaborn, each returning the figure.

One module per part of the book (:mod:`~numvars.plots.sequence_plots`,
:mod:`~numvars.plots.training_plots`, :mod:`~numvars.plots.iia_plots`,
:mod:`~numvars.plots.transformer_plots`, :mod:`~numvars.plots.geometry_plots`); every name is
re-exported here.
"""

from __future__ import annotations

from numvars.plots.geometry_plots import ALIGNMENT_LABELS, plot_alignment_functions, plot_k_sweep, plot_state_geometry
from numvars.plots.iia_plots import plot_gradience, plot_iia_grid, plot_learning_curves, plot_size_sweep
from numvars.plots.sequence_plots import (
    PROGRAM_TITLES,
    plot_count_distribution,
    plot_counterfactual,
    plot_intervened_trial,
    plot_program_traces,
)
from numvars.plots.training_plots import plot_accuracy_per_count, plot_fit_history, plot_training_curves
from numvars.plots.transformer_plots import (
    plot_attention_maps,
    plot_attention_shares,
    plot_layer_swaps,
    plot_plus_minus,
)

__all__ = [
    "PROGRAM_TITLES",
    "plot_program_traces",
    "plot_counterfactual",
    "plot_count_distribution",
    "plot_intervened_trial",
    "plot_training_curves",
    "plot_accuracy_per_count",
    "plot_fit_history",
    "plot_iia_grid",
    "plot_size_sweep",
    "plot_learning_curves",
    "plot_gradience",
    "plot_attention_maps",
    "plot_attention_shares",
    "plot_plus_minus",
    "plot_layer_swaps",
    "plot_state_geometry",
    "ALIGNMENT_LABELS",
    "plot_k_sweep",
    "plot_alignment_functions",
]
