"""The base class of every program: token bookkeeping, tracing, generation, and interchange
interventions with their counterfactuals (:meth:`Program.counterfactual`).
"""

from __future__ import annotations

from typing import Sequence

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
        pad_id, eos_id = task.pad_id, task.eos_id
        out = []
        ended = False
        for pos, token in enumerate(tokens, start=first_position):
            if ended:
                if token != pad_id:
                    raise ValueError(f"only PAD may follow E; position {pos} holds {task.decode([token])}")
            elif token == eos_id:
                if self.phase(state) != RESPONSE:
                    raise ValueError(f"E at position {pos} comes before the response phase")
                ended = True
            elif token == pad_id:
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
