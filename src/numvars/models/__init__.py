"""GRU, LSTM and Transformer counting models with one face: ``forward(tokens, patch=None)``.

Every model is an **ensemble** of ``E`` independent members (one per seed) with stacked
weights: each parameter has a leading member dimension, and every member sees its own batch.
With ``E = 1`` the member dimension may be left out of inputs and is left out of outputs.
Stacking is how many seeds train at once on a CPU, where a small network's time goes to
per-operation overhead, not arithmetic: measured on two cores (``benchmarks/train_speed.py``,
d = 20 GRU, six seeds), two stacked ensembles in two processes train 1.62x as many sequences
per second as plain one-model loops in two processes, and torch.func's ``vmap`` recipe 1.22x.
Members are initialised from their own seed and draw their own dropout masks, so a member does
not depend on which others share its stack. The ensemble machinery is here: stacked layers,
:meth:`CountingModel.member`, :meth:`~CountingModel.member_state`, :meth:`~CountingModel.select`
and :meth:`~CountingModel.stack`; :mod:`numvars.training` only batches per member.

Shapes: ``E`` members, ``B`` sequences, ``L`` tokens, ``d`` model size, ``S`` state size
(``d`` for the GRU and the transformer, ``2d`` for the LSTM's ``[h; c]``), ``V`` vocabulary.

* **GRU / LSTM**: one cell stepped through the sequence, so a state can be replaced
  mid-sequence; the replaced state feeds the prediction at that step and the next step.
* **Transformer**: causal, one head, pre-LayerNorm, RoPE or no positional encoding, 1 or 2
  layers, FFN 4d with GELU, a final LayerNorm. Its intervenable state is the residual stream
  after layer 1, the only place a running count could pass between positions.
* Every model: token embedding of size d, then a head ``Linear(d, 4d) → GELU → Dropout(0.5) →
  Linear(4d, V)`` applied at every position.

The package: :mod:`~numvars.models.config` (settings, output, interventions),
:mod:`~numvars.models.core` (:class:`CountingModel`), :mod:`~numvars.models.stacked` (the
stacked layers and the sequence-shifting helpers),
:mod:`~numvars.models.losses` (the losses of training and of a DAS fit),
:mod:`~numvars.models.recurrent` (GRU, LSTM), :mod:`~numvars.models.transformer`,
:mod:`~numvars.models.build` (:func:`build_model`, :func:`with_kernel`, :func:`generate`); every name is re-exported here.
"""

from __future__ import annotations

from numvars.models.build import MODELS, build_model, generate, keep_adam_state, with_kernel
from numvars.models.config import (
    ARCHITECTURES,
    BUCKET_ROWS,
    DROPOUT_SITES,
    KERNELS,
    LSTM_UNITS,
    PAD_ID,
    POSITIONAL,
    RECURRENT,
    ROPE_BASE,
    ExtraTerm,
    ModelConfig,
    Output,
    Patch,
)
from numvars.models.core import CountingModel
from numvars.models.recurrent import GRU, LSTM
from numvars.models.stacked import sequence_lengths, shift_left, stacked_layer_norm, stacked_linear
from numvars.models.transformer import Transformer, rope

__all__ = [
    "ARCHITECTURES",
    "RECURRENT",
    "PAD_ID",
    "POSITIONAL",
    "ROPE_BASE",
    "KERNELS",
    "BUCKET_ROWS",
    "LSTM_UNITS",
    "DROPOUT_SITES",
    "ModelConfig",
    "Output",
    "Patch",
    "ExtraTerm",
    "stacked_linear",
    "stacked_layer_norm",
    "CountingModel",
    "sequence_lengths",
    "shift_left",
    "GRU",
    "LSTM",
    "Transformer",
    "rope",
    "MODELS",
    "build_model",
    "generate",
    "keep_adam_state",
    "with_kernel",
]
