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
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from numvars.tasks import Task

DEMO, RESPONSE = "demo", "response"
MAX_EXTRA_DEMOS = 3  # paper rule: a demo-phase intervention is followed by 0..3 more demo tokens
DEMO_CONTINUATIONS = ("paper", "authors")
MAX_RESPONSES = 10_000  # a correct program says E long before: more means the program is broken

State = dict


class Program:
    """Base class: token bookkeeping, tracing, generation and interventions.

    Subclasses define the variables: :meth:`initial_state`, :meth:`update` (one token of a
    known kind: ``"demo"``, ``"void"``, ``"trigger"`` or ``"response"``), :meth:`phase`,
    :meth:`says_eos` and optionally :meth:`view` (what :meth:`trace` shows).
    """

    name: str = ""
    #: the carried variables an intervention may name
    variables: tuple[str, ...] = ()
    #: interventions are defined only between positions of the same phase (Ctx-Distr's full swap)
    same_phase_only: bool = False

    def __init__(self, task: Task):
        self.task = task

    # ------------------------------------------------------------------ defined by subclasses
    def initial_state(self) -> State:
        raise NotImplementedError

    def update(self, state: State, kind: str) -> State:
        raise NotImplementedError

    def phase(self, state: State) -> str:
        return state["phase"]

    def says_eos(self, state: State) -> bool:
        """In the response phase: is the next token ``E``?"""
        raise NotImplementedError

    def view(self, state: State) -> dict:
        """The variables shown by :meth:`trace` (by default the state itself)."""
        return dict(state)

    def demo_tally(self, state: State) -> int:
        """What the demo phase has counted so far (the authors' rule continues a demo phase
        until this reaches the target's N)."""
        raise NotImplementedError(f"{self.name} has no demo tally")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r})"

    # ---------------------------------------------------------------------------- reading
    def token_kind(self, state: State, token: int) -> str:
        """What ``token`` means when read in ``state``: ``"demo"``, ``"void"``, ``"trigger"``,
        ``"response"`` or, in the bare framing, ``"first_response"`` (the response that ends the
        demo phase). The same id can be a demo token or a response (Same-Object's ``D``)."""
        task = self.task
        if self.phase(state) == DEMO:
            if token in task.demo_ids:
                return DEMO
            if token == task.void_id:
                return "void"
            if token == task.switch_id:
                return "trigger" if task.framing == "full" else "first_response"
        elif token == task.response_id:
            return RESPONSE
        allowed = (
            f"a demo token, V or {task.vocab[task.switch_id]}"
            if self.phase(state) == DEMO
            else f"{task.response_token} or E"
        )
        raise ValueError(
            f"token {task.vocab[token] if 0 <= token < len(task.vocab) else token!r} cannot be read "
            f"in the {self.phase(state)} phase; expected {allowed}"
        )

    def step(self, state: State, token: int) -> State:
        """The state after reading one non-``B``, non-``E`` token (the bare framing's first
        response: the phase switch, then a response)."""
        kind = self.token_kind(state, token)
        if kind == "first_response":
            return self.update(self.update(state, "trigger"), RESPONSE)
        return self.update(state, kind)

    def states(self, ids: Sequence[int]) -> list[State]:
        """The state after every token of ``ids`` (``len(ids)`` states); prefixes are fine.

        ``ids`` starts with ``B`` (bare framing: with a demo token); ``E`` may only come in the
        response phase; only ``PAD`` may follow ``E``. The state after ``E`` or ``PAD`` is that
        after the last real token.
        """
        ids = [int(i) for i in ids]
        if self.task.framing == "bare":
            if not ids or (ids[0] not in self.task.demo_ids and ids[0] != self.task.void_id):
                raise ValueError(
                    f"a bare-framed sequence must start with a demo token, got {self.task.decode(ids[:3])!r}…"
                )
            return self.read(self.initial_state(), ids, first_position=0)
        if not ids or ids[0] != self.task.bos_id:
            raise ValueError(f"a sequence must start with B, got {self.task.decode(ids[:3])!r}…")
        state = self.initial_state()
        return [state, *self.read(state, ids[1:], first_position=1)]

    def read(self, state: State, tokens: Sequence[int], first_position: int) -> list[State]:
        """The states after each of ``tokens`` read from ``state`` (positions count from
        ``first_position``, for error messages); see :meth:`states` for the rules."""
        task = self.task
        out = []
        ended = False
        for pos, token in enumerate(tokens, start=first_position):
            if ended:
                if token != task.pad_id:
                    raise ValueError(f"only PAD may follow E; position {pos} holds {task.decode([token])}")
            elif token == task.eos_id:
                if self.phase(state) != RESPONSE:
                    raise ValueError(f"E at position {pos} comes before the response phase")
                ended = True
            elif token == task.pad_id:
                raise ValueError(f"PAD at position {pos} comes before E")
            else:
                state = self.step(state, token)
            out.append(state)
        return out

    def trace(self, ids: Sequence[int]) -> list[dict]:
        """One dict of the program's variables after each token of ``ids``."""
        return [self.view(s) for s in self.states(ids)]

    def predict(self, state: State) -> int | None:
        """The next token in the response phase; ``None`` in the demo phase (a free choice)."""
        if self.phase(state) != RESPONSE:
            return None
        return self.task.eos_id if self.says_eos(state) else self.task.response_id

    def solves(self, ids: Sequence[int]) -> bool:
        """Does the program predict every response token and ``E`` of ``ids`` (a trial)?"""
        ids = [int(i) for i in ids]
        states = self.states(ids)
        end = ids.index(self.task.eos_id) if self.task.eos_id in ids else len(ids) - 1
        for pos in range(end):
            guess = self.predict(states[pos])
            if guess is not None and ids[pos + 1] != guess:
                return False
        return True

    def accuracy(self, seqs: Sequence[Sequence[int]]) -> float:
        """Trial accuracy of the program on ``seqs``."""
        if len(seqs) == 0:
            raise ValueError("accuracy of an empty list of sequences")
        return sum(self.solves(s) for s in seqs) / len(seqs)

    # ------------------------------------------------------------------------- generating
    def continuation(
        self, state: State, rng: np.random.Generator, demo_tokens: Sequence[int] | None = None
    ) -> list[int]:
        """The tokens the program produces after ``state`` up to and including ``E``.

        In the demo phase the demo goes on with ``demo_tokens`` (default: 0..3 random counted
        demo tokens, uniformly, with the task's voids), then ``T`` (bare framing: the first
        response, which ends the demo phase whatever the count); in the response phase the
        program says the response token until it says ``E``.
        """
        task = self.task
        out: list[int] = []
        if self.phase(state) == DEMO:
            if demo_tokens is None:
                demo_tokens = task.demo_phase(int(rng.integers(MAX_EXTRA_DEMOS + 1)), rng)
            for token in [*demo_tokens, task.switch_id]:
                state = self.step(state, token)
                out.append(token)
        while not self.says_eos(state):
            if len(out) > MAX_RESPONSES:
                raise RuntimeError(f"{self.name} never said E: {len(out)} tokens without stopping")
            state = self.step(state, task.response_id)
            out.append(task.response_id)
        return [*out, task.eos_id]

    def generate(self, prefix: Sequence[int], seed: int = 0) -> list[int]:
        """Complete ``prefix`` as the program would (demo phase: 0..3 more demo tokens, then T)."""
        prefix = [int(i) for i in prefix]
        return prefix + self.continuation(self.states(prefix)[-1], np.random.default_rng(seed))

    # ----------------------------------------------------------------------- intervening
    def check_variables(self, variables: Sequence[str] | str | None) -> tuple[str, ...]:
        """Normalise ``variables``; ``None`` means the full state (every carried variable)."""
        if variables is None:
            return self.variables
        if isinstance(variables, str):
            variables = (variables,)
        unknown = [v for v in variables if v not in self.variables]
        if unknown or not variables:
            carried = list(self.variables) or "none (only the full swap, variables=None)"
            raise ValueError(f"unknown variable(s) {list(variables)} for program {self.name!r}; it carries: {carried}")
        return tuple(variables)

    def check_position(self, ids: Sequence[int], pos: int, role: str) -> None:
        """The program can be intervened on after any token but ``E`` and ``PAD`` (which positions a
        measurement samples is its rule, :meth:`Task.intervention_positions`)."""
        if not isinstance(pos, (int, np.integer)) or not 0 <= pos < len(ids):
            raise ValueError(f"{role} position {pos!r} is outside the sequence (0..{len(ids) - 1})")
        if int(ids[pos]) in (self.task.eos_id, self.task.pad_id):
            raise ValueError(
                f"cannot intervene at {role} position {pos}: it holds {self.task.decode([ids[pos]])}; "
                "the program has ended there"
            )

    def intervene(self, state: State, source_state: State, variables: Sequence[str] | str | None = None) -> State:
        """``state`` with ``variables`` set to their values in ``source_state``."""
        names = self.check_variables(variables)
        return {**state, **{v: source_state[v] for v in names}}

    def counterfactual(
        self,
        target: Sequence[int],
        t: int,
        source: Sequence[int],
        u: int,
        variables: Sequence[str] | str | None = None,
        seed: int = 0,
        demo_continuation: str = "paper",
    ) -> list[int]:
        """The sequence a network running this program produces when ``variables`` of its state
        after ``target[t]`` are set to their values after ``source[u]``.

        The result is ``target[:t+1]`` followed by the program's continuation from the
        intervened state:

        * **response phase**: response tokens until the program says ``E``. An impossible
          request (Up-Up with ``resp_count >= demo_count``, Up-Down with ``count == 0``) gives
          ``E`` at once.
        * **demo phase** (``demo_continuation="paper"``, the paper's rule): 0–3 more random demo
          tokens (uniform, seeded by ``seed``), then ``T``, then the response. With
          ``"authors"`` (the authors' code, ``CountUpDown.get_token`` in grantsrb/mas): random
          demo tokens while the program's demo tally (:meth:`demo_tally`) is below the target's
          N, then ``T`` — so an Up-Down ``count`` swap of ``s`` gives ``max(s, N)`` responses.
        * swapping ``phase`` moves the program between phases without a ``T``.

        Args:
            target, source: token-id sequences of this program's task (``B`` first).
            t, u: positions in target and source; never a ``B``, ``T``, ``E`` or ``PAD`` token.
            variables: names from :attr:`variables`; ``None`` swaps the full state.
        """
        ids, _ = self._intervene_and_continue(target, t, source, u, variables, seed, demo_continuation)
        return ids

    def counterfactual_trace(self, target, t, source, u, variables=None, seed=0, demo_continuation="paper"):
        """:meth:`counterfactual` and the intervened program's variables after each of its
        tokens (the target's up to ``t - 1``, the swapped state at ``t``, then the run on)."""
        ids, states = self._intervene_and_continue(target, t, source, u, variables, seed, demo_continuation)
        return ids, [self.view(s) for s in states]

    def _intervene_and_continue(self, target, t, source, u, variables, seed, demo_continuation):
        if demo_continuation not in DEMO_CONTINUATIONS:
            raise ValueError(f"unknown demo_continuation {demo_continuation!r}; allowed: {list(DEMO_CONTINUATIONS)}")
        target, source = [int(i) for i in target], [int(i) for i in source]
        names = self.check_variables(variables)
        self.check_position(target, t, "target")
        self.check_position(source, u, "source")
        target_states = self.states(target)
        state = self.intervene(target_states[t], self.states(source)[u], names)
        rng, demo_tokens = np.random.default_rng(seed), None
        if demo_continuation == "authors" and self.phase(state) == DEMO:
            demo_tokens = self.task.demo_phase(max(0, self.task.count(target) - self.demo_tally(state)), rng)
        rest = self.continuation(state, rng, demo_tokens)
        return target[: t + 1] + rest, [*target_states[:t], state, *self.read(state, rest, t + 1)]


class UpDown(Program):
    """One counter that goes up in the demo phase and down in the response phase."""

    name = "up_down"
    variables = ("count", "phase")

    def initial_state(self) -> State:
        return {"count": 0, "phase": DEMO}

    def update(self, state: State, kind: str) -> State:
        if kind == DEMO:
            return {**state, "count": state["count"] + 1}
        if kind == "trigger":
            return {**state, "phase": RESPONSE}
        if kind == RESPONSE:
            return {**state, "count": state["count"] - 1}
        return state  # void

    def says_eos(self, state: State) -> bool:
        return state["count"] <= 0

    def demo_tally(self, state: State) -> int:
        return state["count"]


class UpUp(Program):
    """Two counters that both go up: demo tokens, then responses until they match."""

    name = "up_up"
    variables = ("demo_count", "resp_count", "phase")

    def initial_state(self) -> State:
        return {"demo_count": 0, "resp_count": 0, "phase": DEMO}

    def update(self, state: State, kind: str) -> State:
        if kind == DEMO:
            return {**state, "demo_count": state["demo_count"] + 1}
        if kind == "trigger":
            return {**state, "phase": RESPONSE}
        if kind == RESPONSE:
            return {**state, "resp_count": state["resp_count"] + 1}
        return state

    def says_eos(self, state: State) -> bool:
        return state["resp_count"] >= state["demo_count"]

    def demo_tally(self, state: State) -> int:
        return state["demo_count"]


class CtxDistr(Program):
    """No carried variable: the state is the context, re-read in full at every step."""

    name = "ctx_distr"
    variables = ()
    same_phase_only = True  # paper §3.5: "a non-terminal step u of the same phase as t"

    def initial_state(self) -> State:
        return {"context": ()}

    def update(self, state: State, kind: str) -> State:
        return {"context": (*state["context"], kind)}

    def phase(self, state: State) -> str:
        return RESPONSE if "trigger" in state["context"] else DEMO

    def tally(self, state: State) -> int:
        context = state["context"]
        return context.count(DEMO) - context.count(RESPONSE)

    def says_eos(self, state: State) -> bool:
        return self.tally(state) <= 0

    def view(self, state: State) -> dict:
        return {"tally": self.tally(state), "phase": self.phase(state)}

    def _intervene_and_continue(self, target, t, source, u, variables, seed, demo_continuation):
        """A full swap of the state between same-phase positions changes nothing: the
        context, which is all this program uses, is the target's. The counterfactual is
        ``target`` up to its ``E``. Only ``variables=None`` (the full swap) is defined."""
        if variables is not None:
            self.check_variables(variables)  # raises: ctx_distr carries no named variable
        target = [int(i) for i in target]
        self.check_position(target, t, "target")
        self.check_position(source, u, "source")
        target_states = self.states(target)
        target_phase, source_phase = self.phase(target_states[t]), self.phase(self.states(source)[u])
        if target_phase != source_phase:
            raise ValueError(
                f"ctx_distr's full swap is defined between same-phase positions; target position {t} "
                f"is in the {target_phase} phase, source position {u} in the {source_phase} phase"
            )
        eos = self.task.eos_id
        end = target.index(eos) + 1 if eos in target else len(target)
        return target[:end], target_states[:end]


class Pair(NamedTuple):
    """An interchange intervention's inputs: swap after ``target[t]`` from after ``source[u]``."""

    target: list[int]
    t: int
    source: list[int]
    u: int


def phase_at(task: Task, ids: Sequence[int], pos: int) -> str:
    """The phase of a task sequence after the token at ``pos``: demo before ``T`` (bare framing:
    before the first response), then response."""
    switch = task.switch_position(ids)
    return DEMO if switch is None or pos < switch else RESPONSE


def sample_pairs(
    task: Task, n_pairs: int, seed: int, same_phase: bool = False, positions: str = "paper_index"
) -> list[Pair]:
    """Seeded intervention pairs as in the paper's DAS data (§4): N uniform on ``1..max_count``
    for target and source alike (hold-outs included), ``t`` and ``u`` uniform over the
    positions the rule ``positions`` allows (:meth:`Task.intervention_positions`).
    ``same_phase=True`` draws ``u`` from the source positions in ``t``'s phase (Ctx-Distr's
    full swap needs it), drawing the source again if it has none."""
    rng = np.random.default_rng(seed)
    counts = range(1, task.max_count + 1)
    pairs = []
    for _ in range(n_pairs):
        target = task.make(int(rng.choice(counts)), rng)
        source = task.make(int(rng.choice(counts)), rng)
        t = int(rng.choice(task.intervention_positions(target, positions)))
        while not (
            allowed := _source_positions(task, source, positions, phase_at(task, target, t) if same_phase else None)
        ):
            source = task.make(int(rng.choice(counts)), rng)  # none in t's phase (N = 1, "nonterminal"): another source
        pairs.append(Pair(target, t, source, int(rng.choice(allowed))))
    return pairs


def _source_positions(task: Task, source: Sequence[int], positions: str, phase: str | None) -> list[int]:
    """The positions of ``source`` the rule ``positions`` allows, in ``phase`` only if given."""
    allowed = task.intervention_positions(source, positions)
    return allowed if phase is None else [u for u in allowed if phase_at(task, source, u) == phase]


PROGRAMS: dict[str, type[Program]] = {p.name: p for p in (UpDown, UpUp, CtxDistr)}


def get_program(name: str, task: Task) -> Program:
    """``"up_down"``, ``"up_up"`` or ``"ctx_distr"`` for ``task``."""
    if name not in PROGRAMS:
        raise ValueError(f"unknown program {name!r}; allowed: {sorted(PROGRAMS)}")
    return PROGRAMS[name](task)
