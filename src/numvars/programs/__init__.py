"""Symbolic programs that solve the tasks (paper §2): small executable causal models.

Each program reads one token at a time, updates typed variables and predicts the next token
in the response phase. All three solve every task; they differ in what they carry:

* **Up-Down** (``"up_down"``): ``count`` and ``phase``. A demo token adds one, ``T`` switches
  the phase, a response token subtracts one; in the response phase it says ``E`` when
  ``count == 0``, else the response token.
* **Up-Up** (``"up_up"``): ``demo_count``, ``resp_count`` and ``phase``; says ``E`` when
  ``resp_count >= demo_count`` in the response phase.
* **Ctx-Distr** (``"ctx_distr"``): carries nothing. At every step it re-reads the whole context
  (+1 per demo token, -1 per response token) and says ``E`` when the tally reaches 0.

An **interchange intervention** sets variables of the target's state after token ``t`` to the
source's values after token ``u``; the program then generates the rest of the sequence, the
**counterfactual** (see :meth:`Program.counterfactual` for the rules).

Pure Python: states are small dicts, sequences are lists of token ids of a :class:`~numvars.tasks.Task`.

The package: :mod:`~numvars.programs.program` (the base class :class:`Program`),
:mod:`~numvars.programs.library` (the three programs, :func:`get_program`), :mod:`~numvars.programs.pairs`
(:func:`sample_pairs`); every name is re-exported here.
"""

from __future__ import annotations

from numvars.programs.library import PROGRAMS, CtxDistr, UpDown, UpUp, get_program
from numvars.programs.pairs import Pair, phase_at, sample_pairs
from numvars.programs.program import DEMO, DEMO_CONTINUATIONS, MAX_EXTRA_DEMOS, MAX_RESPONSES, RESPONSE, Program, State

__all__ = [
    "DEMO",
    "RESPONSE",
    "MAX_EXTRA_DEMOS",
    "DEMO_CONTINUATIONS",
    "MAX_RESPONSES",
    "State",
    "Program",
    "UpDown",
    "UpUp",
    "CtxDistr",
    "PROGRAMS",
    "get_program",
    "Pair",
    "phase_at",
    "sample_pairs",
]
