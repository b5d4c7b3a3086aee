"""What each profile sets (seeds, sizes, epochs, pairs, the measured epochs, the protocol variants)
and the causes of chapter 4 §4.8 (:data:`CAUSES`): the numbers every grid is built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from numvars.jobs import PAPER_PAIRS, measurement_rules
from numvars.measures import single_figure_measures
from numvars.models import RECURRENT
from numvars.tasks import TASK_KINDS
from numvars.training import TrainConfig

PROFILES = ("quick", "paper")

# ---- programs (chapter 1): task sequences per task, intervention pairs ------------------
PROGRAM_SAMPLES = {"quick": (300, 1_000), "paper": (3_000, 10_000)}

# ---- training ---------------------------------------------------------------------------
SEEDS = {"quick": (0, 1), "paper": tuple(range(6))}
# quick: stop at the criterion (at most 400 epochs); paper: train every network for a budget of
# 600 epochs (the span of the paper's Fig. 3 right) and analyse its last checkpoint that meets
# the criterion. A run that never meets the criterion is dropped.
TRAIN_EPOCHS = {"quick": 400, "paper": 600}
TRAIN_STOP = {"quick": "criterion", "paper": "budget"}
#: chapter 5's size sweeps (Multi-Object; quick: Single-Object, two sizes): paper Fig. 3 (left), and
#: beyond the paper, LSTMs at three of the GRU sizes
GRU_SIZES = {"quick": (20, 48), "paper": (8, 16, 20, 32, 48, 96)}
LSTM_SIZES = {"quick": (), "paper": (8, 20, 48)}
VOID_P = 0.2  # void-token transformers (paper Fig. 11)

# ---- DAS --------------------------------------------------------------------------------
DAS_PAIRS = {"quick": (2_000, 500, 500), "paper": PAPER_PAIRS}  # train, validation, test
# A fit stops when 20 epochs have passed without a better validation IIA (convergence), or at
# the cap: 500 epochs at paper scale (rarely reached: chapter 4 counts the fits that reach it),
# 100 in the quick profile.
DAS_EPOCHS = {"quick": 100, "paper": 500}
DAS_PATIENCE = 20
#: how a measurement runs its network (numvars.models.KERNELS), whatever kernel trained it: the
#: packed kernel is the stepped one's function rounded differently, and a DAS fit's resumed runs
#: take 1.1-1.3x (GRU, LSTM) and 3.3x (transformer) less time by it (README, Performance)
DAS_KERNEL = "packed"
CONTROL_SEEDS = (0, 1)  # networks measured untrained (the control for DAS's freedom)
#: chapter 7's k sweep (how many dimensions the count takes): the rotation and the linear map
K_SWEEP_METHODS = ("learned", "linear")
K_SWEEP = {"quick": (1, 2, 4, 10, 20), "paper": None}  # swap sizes k (None: every k = 1..S)
# Learning curves (chapter 5, paper Fig. 3 right): count DAS on saved checkpoints of the GRUs of
# these sizes, on fewer training pairs (chapter 5 checks them against the full set on the analysed
# checkpoints). Epochs: dense while accuracy and IIA change (every 10 epochs to 40, every 20 to
# 100), sparse on the plateau (150, 200, 300, 600); quick: the main GRUs stop at the criterion (95 and
# 111 epochs) after learning from about epoch 60, so their curves are dense from 60 to 90.
CURVE_SIZES = {"quick": (20,), "paper": (8, 16, 20, 32, 48)}
CHECKPOINT_EPOCHS = {
    "quick": (0, 30, 60, 70, 80, 85, 90),
    "paper": (0, 10, 20, 30, 40, 60, 80, 100, 150, 200, 300, 600),
}
CURVE_PAIRS = {"quick": (500, 250, 500), "paper": PAPER_PAIRS}  # train, validation, test
#: whether the learning-curve checkpoints of CHECKPOINT_EPOCHS are shipped with a profile's networks
#: (numvars.shipped): the quick profile's take a few hundred KB, the paper profile's about 12 MB
SHIPPED_CURVES = {"quick": True, "paper": False}
PROTOCOL_SEEDS = (0, 1)  # networks every protocol variant is measured on (chapter 4's protocol table)
#: the protocol variants (chapter 4 §4.7): name -> the DasConfig settings that differ from the
#: default, and the measures they are run for
PROTOCOL_VARIANTS = {
    "criterion checkpoint": (dict(checkpoint="criterion"), ("count", "phase", "full_swap")),
    "positions after a token": (dict(positions="after_token"), ("count", "phase", "count+phase", "full_swap")),
    "positions non-terminal": (dict(positions="nonterminal"), ("full_swap",)),
    "scored from t + 1": (dict(score_at_t=False), ("count", "full_swap")),
}
#: the measures of Figs. 2 and 7 a cause is judged on (the paper's cells; Up-Up follows from its two counts)
FIGURE_MEASURES = single_figure_measures()


@dataclass(frozen=True)
class Cause:
    """One rule of the authors' code (PAPER.md §6) tested alone, on every seed of the cells it is
    suspected to move (chapter 4 §4.8, issue 23): ``measurement`` — the
    :class:`~numvars.jobs.DasConfig` settings that differ from the default; ``network`` — the
    :class:`~numvars.training.TrainConfig` rules that differ (new networks: the paper profile's
    ``"causes"`` training experiment); measured for ``measures`` on ``archs`` × ``tasks``."""

    archs: tuple[str, ...]
    tasks: tuple[str, ...]
    measures: tuple[str, ...]
    measurement: dict = field(default_factory=dict)
    network: dict = field(default_factory=dict)

    @property
    def changes(self) -> dict:
        """Every setting it changes, as :meth:`~numvars.jobs.DasConfig.protocol_changes` names them."""
        return {**self.network, **measurement_rules(self.measurement)}

    def targets(self, run: TrainConfig) -> bool:
        return run.arch in self.archs and run.task.kind in self.tasks


#: the causes, cheap first (a measurement alone), then those that need new networks. A name shared
#: with PROTOCOL_VARIANTS is the same change (its seeds 0 and 1 are measured once).
CAUSES = {
    "positions after a token": Cause(
        ("gru",), ("multi", "single"), ("count", "phase"), measurement=dict(positions="after_token")
    ),
    "authors' demo continuation": Cause(
        ("gru",), ("multi", "single"), ("count", "phase"), measurement=dict(demo_continuation="authors")
    ),
    "positions after a token + authors' continuation": Cause(
        ("gru",),
        ("multi", "single"),
        ("count", "phase"),
        measurement=dict(positions="after_token", demo_continuation="authors"),
    ),
    "criterion checkpoint": Cause(("lstm",), TASK_KINDS, FIGURE_MEASURES, measurement=dict(checkpoint="criterion")),
    "authors' DAS fit": Cause(
        ("gru", "lstm", "transformer"),
        TASK_KINDS,
        tuple(m for m in FIGURE_MEASURES if m != "full_swap"),  # a full swap fits nothing
        measurement=dict(lr=1e-3, batch_size=128, stop="val_loss_plateau"),
    ),
    "authors' DAS loss": Cause(
        ("gru", "lstm", "transformer"),
        TASK_KINDS,
        tuple(m for m in FIGURE_MEASURES if m != "full_swap"),
        measurement=dict(loss_tokens="sequence"),
    ),
    "positions non-terminal": Cause(
        ("transformer",), ("same",), ("full_swap",), measurement=dict(positions="nonterminal")
    ),
    "LSTM of d/2 units": Cause(("lstm",), TASK_KINDS, FIGURE_MEASURES, network=dict(lstm_units="half")),
    "dropout inside the transformer": Cause(
        ("transformer",), TASK_KINDS, FIGURE_MEASURES, network=dict(dropout_sites="all")
    ),
    "free-running RNN training": Cause(RECURRENT, TASK_KINDS, FIGURE_MEASURES, network=dict(response_inputs="free")),
    "authors' learning rate": Cause(("gru",), TASK_KINDS, FIGURE_MEASURES, network=dict(lr=5e-4, lr_decay=0.25)),
}


def check_profile(name: str) -> str:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; allowed: {list(PROFILES)}")
    return name
