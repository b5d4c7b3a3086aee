"""Training to criterion (paper §3), many seeds of one condition at once.

A :class:`TrainConfig` describes one model: task, architecture and seed. :func:`train` trains
several configs that differ only in their seed as one stacked ensemble
(:mod:`numvars.models`): each member has its own training set, batch order, initial weights and
dropout masks, exactly as if it were trained alone, and leaves the stack when it reaches the
criterion. The loop:

* a fixed training set of 1000 sequences per seed, 8 batches of 128 per epoch (the last one
  shorter), next-token cross-entropy over every non-pad position;
* Adam; warm-up over 100 steps to lr 1e-3, then inverse-square-root decay to a floor of 1e-7;
* after every epoch, trial accuracy on a validation set drawn like the training set; a member
  that has not reached ``criterion`` (99.99 %) by ``max_epochs`` is *dropped* — reported, never
  hidden;
* ``stop="criterion"``: a member stops at the first epoch that meets the criterion, and that is
  the network analysed. ``stop="budget"`` (the authors' code, which trains for a fixed number of
  epochs): every member trains for all ``max_epochs``, and the network analysed is its last
  checkpoint that meets the criterion (the authors keep the latest checkpoint with the best
  validation accuracy); the first one that met it stays available
  (:meth:`RunResult.network_at`, ``"criterion"``);
* a checkpoint of every member every ``checkpoint_every`` epochs (for learning dynamics), and at
  the criterion epoch.

The package: :mod:`~numvars.training.config` (:class:`TrainConfig`, the schedule, the data),
:mod:`~numvars.training.evaluation` (batches, losses, accuracy), :mod:`~numvars.training.loop`
(:func:`train`, :class:`RunResult`); every name is re-exported here.
"""

from __future__ import annotations

from numvars.training.config import (
    CHECKPOINTS,
    RESPONSE_INPUTS,
    RULE_FIELDS,
    STOPS,
    TrainConfig,
    config_columns,
    derive_seed,
    describe,
    lr_at,
    training_set,
    validation_set,
)
from numvars.training.evaluation import (
    PaddedSet,
    accuracy_per_count,
    member_losses,
    stack_batches,
    stack_padded,
    tokens_correct,
    trial_correct,
)
from numvars.training.loop import RunResult, load_model, train, train_and_test

__all__ = [
    "STOPS",
    "RESPONSE_INPUTS",
    "CHECKPOINTS",
    "TrainConfig",
    "RULE_FIELDS",
    "config_columns",
    "describe",
    "derive_seed",
    "lr_at",
    "training_set",
    "validation_set",
    "stack_batches",
    "stack_padded",
    "PaddedSet",
    "member_losses",
    "trial_correct",
    "tokens_correct",
    "accuracy_per_count",
    "RunResult",
    "train_and_test",
    "load_model",
    "train",
]
