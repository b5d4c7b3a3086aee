"""Named protocols: every rule that decides a number, as one set of settings (issue 23).

The paper's text leaves several rules open, and the authors' public code (grantsrb/mas, PAPER.md
§6) fixes some of them differently from the book's reading. A :class:`Protocol` names one whole
reading — how the networks are trained, which states are swapped, how the program goes on after
a swap, which checkpoint is analysed and which IIA is reported — so that a grid can be measured
under each and the two compared side by side, never one rule on two seeds:

* ``paper_text`` — the book's reading of the paper's text (the defaults of
  :class:`~numvars.training.TrainConfig` and :class:`~numvars.jobs.DasConfig`);
* ``authors_code`` — the rules of the authors' code, row by row of PAPER.md §6.

:meth:`Protocol.network` and :meth:`Protocol.measurement` turn a default config into the
protocol's; :func:`rules_table` prints the rules side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from numvars.jobs import DasConfig, measurement_rules
from numvars.training import RULE_FIELDS, TrainConfig

#: which IIA a protocol reports: the test pairs' (an unbiased estimate), or the best validation
#: IIA of the fit (the pairs the fit was early-stopped on: the authors' code)
REPORTED_IIA = {"test": "test_iia", "validation": "val_iia"}


@dataclass(frozen=True)
class Protocol:
    """One named reading of every rule that decides a number.

    ``training``: :class:`~numvars.training.TrainConfig` settings for every network;
    ``per_arch``: more of them for one architecture (``"gru"``, ``"lstm"``, ``"transformer"``);
    ``measurement``: :class:`~numvars.jobs.DasConfig` settings; ``reported``: a key of
    :data:`REPORTED_IIA`; ``rules``: rule -> how this protocol does it, in words (the rows of
    :func:`rules_table`)."""

    name: str
    training: dict = field(default_factory=dict)
    per_arch: dict[str, dict] = field(default_factory=dict)
    measurement: dict = field(default_factory=dict)
    reported: str = "test"
    rules: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.reported not in REPORTED_IIA:
            raise ValueError(f"unknown reported IIA {self.reported!r}; allowed: {list(REPORTED_IIA)}")

    def network(self, config: TrainConfig) -> TrainConfig:
        """``config`` trained under this protocol (its architecture's settings included)."""
        return replace(config, **self.training, **self.per_arch.get(config.arch, {}))

    def measurement_of(self, config: DasConfig) -> DasConfig:
        """``config`` measured under this protocol, on this protocol's network."""
        return replace(config, run=self.network(config.run), **self.measurement)

    def changes(self, arch: str) -> dict:
        """What this protocol changes on a network of ``arch`` and its measurements, as
        :meth:`~numvars.jobs.DasConfig.protocol_changes` names them (the training length is
        the grid's, not a rule)."""
        training = {k: v for k, v in {**self.training, **self.per_arch.get(arch, {})}.items() if k in RULE_FIELDS}
        return {**training, **measurement_rules(self.measurement)}

    @property
    def iia_column(self) -> str:
        """The column of a DAS table this protocol reports (``"test_iia"`` or ``"val_iia"``)."""
        return REPORTED_IIA[self.reported]


PAPER_TEXT = Protocol(
    "paper_text",
    rules={
        "intervention positions": "the paper's index convention: states after B, demos, T and responses, not the one that predicts E",
        "demo continuation after a swap": "0-3 more random demo tokens, then T",
        "reported IIA": "test pairs",
        "LSTM size": "d units each for h and c (state 2d)",
        "transformer dropout": "0.5 in the output head",
        "RNN training in the response phase": "teacher forcing",
        "learning rate": "Adam 1e-3, 100 warm-up steps, decay step^-0.5 (the paper: 'decay rate 0.5')",
        "training length": "600 epochs (the span of the paper's Fig. 3 right)",
        "analysed checkpoint": "the last one meeting the criterion",
        "DAS fit": "Adam 3e-3, batches of 512; validated every epoch; stops after 20 epochs without a better validation IIA (at most 500); the best kept",
        "DAS loss": "the scored predictions (those IIA scores: the response phase from the swap on)",
    },
)

AUTHORS_CODE = Protocol(
    "authors_code",
    # kernel: not a rule but how its networks (all new) are computed — the packed kernel, the stepped
    # kernel's function rounded differently, free-running training included (numvars.models.free_running)
    training=dict(lr=5e-4, lr_decay=0.25, max_epochs=1_500, kernel="packed"),
    per_arch={
        "gru": dict(response_inputs="free"),
        "lstm": dict(lstm_units="half", response_inputs="free"),
        "transformer": dict(dropout_sites="all"),
    },
    measurement=dict(
        positions="after_token",
        demo_continuation="authors",
        lr=1e-3,
        batch_size=128,
        stop="val_loss_plateau",
        loss_tokens="sequence",
    ),
    reported="validation",
    rules={
        "intervention positions": "after a demo or response token (filters.default_filter)",
        "demo continuation after a swap": "demo tokens while the count is below the target's N, then T",
        "reported IIA": "the validation pairs the fit early-stopped on",
        "LSTM size": "d/2 units each for h and c (state d)",
        "transformer dropout": "0.5 in attention, feed-forward and residual, and in the head",
        "RNN training in the response phase": "free-running: the model's own argmax fed back",
        "learning rate": "Adam 5e-4, 100 warm-up steps, decay step^-0.25",
        "training length": "about 1 500 epochs (a plateau rule; here a budget of 1 500)",
        "analysed checkpoint": "the latest with the best validation accuracy and a training accuracy within 0.001 of its best so far; here the last one meeting the criterion (the training-accuracy condition is not recorded: note 67)",
        "DAS fit": "Adam 1e-3, batches of 128; validated every 100 steps; stops when the validation loss has not fallen by 0.001 for 10 validations, at 99.5 % IIA, or at 20 000 steps; the last kept",
        "DAS loss": "every prediction of the counterfactual sequence, those before the swap included",
    },
)

PROTOCOLS = {p.name: p for p in (PAPER_TEXT, AUTHORS_CODE)}


def get_protocol(name: str) -> Protocol:
    """The protocol named ``name`` (a key of :data:`PROTOCOLS`)."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; allowed: {list(PROTOCOLS)}")
    return PROTOCOLS[name]


def rules_table() -> pd.DataFrame:
    """Every rule, one row, one column per protocol (chapter 4 and the reproduction notes)."""
    return pd.DataFrame({name: pd.Series(p.rules) for name, p in PROTOCOLS.items()}).rename_axis("rule")
