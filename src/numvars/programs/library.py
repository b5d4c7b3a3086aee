"""The paper's three programs (Up-Down, Up-Up, Ctx-Distr) and :func:`get_program`, which names them."""

from __future__ import annotations

from numvars.programs.program import DEMO, RESPONSE, Program, State
from numvars.tasks import Task


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


PROGRAMS: dict[str, type[Program]] = {p.name: p for p in (UpDown, UpUp, CtxDistr)}


def get_program(name: str, task: Task) -> Program:
    """``"up_down"``, ``"up_up"`` or ``"ctx_distr"`` for ``task``."""
    if name not in PROGRAMS:
        raise ValueError(f"unknown program {name!r}; allowed: {sorted(PROGRAMS)}")
    return PROGRAMS[name](task)
