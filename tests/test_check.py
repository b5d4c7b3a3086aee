"""The exercise checkers' common rules (numvars.check.core) and chapter 1's checkers: each with a
right answer, a wrong one, an untouched stub and a malformed answer."""

from pathlib import Path

import nbformat
import pytest
import torch
from checking import assert_hidden, assert_malformed, part

import numvars as nv
from numvars.check import core
from numvars.check.catalogue import exercises


def test_a_verdict_is_right_only_when_every_part_is_attempted_and_right():
    right, wrong, open_ = core.Part("a", True, ""), core.Part("b", False, ""), core.not_attempted("c")
    assert core.verdict("0.1", right, right).right
    assert not core.verdict("0.1", right, open_).right
    assert not core.verdict("0.1", right, wrong)
    assert not core.verdict("0.1", open_).attempted
    assert "not attempted yet" in repr(core.verdict("0.1", open_))
    assert "1 of 2 parts wrong" in repr(core.verdict("0.1", right, wrong))
    assert "right so far" in repr(core.verdict("0.1", right, open_))


def test_parts_compare_numbers_choices_and_report_malformed_answers():
    assert core.close("x", 0.51, 0.5, 0.02).right and core.close("x", 0.55, 0.5, 0.02).right is False
    assert core.choice("x", " Lower", "lower", ("higher", "lower")).right
    assert core.choice("x", "higher", "lower", ("higher", "lower")).right is False
    text = core.close("x", "0.5", 0.5, 0.02)
    assert text.malformed and "a str '0.5', expected a number" in text.miss
    up = core.choice("x", "up", "lower", ("higher", "lower"))
    assert up.malformed and "expected one of ['higher', 'lower']" in up.miss
    tensor = core.close("x", torch.tensor(0.5), 0.5, 0.02)
    assert tensor.malformed and ".item()" in tensor.miss
    assert core.close("x", 50, 0.5, 0.02, share=True).malformed
    assert core.close("x", ..., 0.5, 0.02).right is None


def test_a_wrong_number_says_how_far_but_not_the_expected_value():
    lines = {answer: core.close("x", answer, 0.538, 0.01).line() for answer in (0.55, 0.6, 0.9, 0.5)}
    assert "close, but too high" in lines[0.55] and "too high, by more than the tolerance" in lines[0.6]
    assert "far too high" in lines[0.9] and "too low" in lines[0.5]
    assert not any("0.538" in line or "expected" in line for line in lines.values()), lines
    assert "expected 0.538 ± 0.01" in core.close("x", 0.6, 0.538, 0.01).line(reveal=True)
    assert "too low" in core.equal("n", 3, 5).line() and "5" not in core.equal("n", 3, 5).line()


def test_a_malformed_part_is_reported_and_the_others_still_judged():
    checked = nv.check.ex_1_1(up_down="B D D D D T R R R E", demo_count=["B", "D"], resp_count="B D D X E")
    assert_malformed(checked, "demo_count", r"a list \['B', 'D'\], expected a token string")
    assert_malformed(checked, "resp_count", "not in the 'single' vocabulary")
    assert part(checked, "up_down").right  # still judged
    assert "2 of 3 parts wrong (2 malformed)" in repr(checked)


def test_reveal_shows_the_answer_key_without_an_answer():
    key = repr(nv.check.ex_1_1(reveal=True))
    assert "answer key" in key and "expected B D D D D T R R R E" in key
    assert "not attempted yet" in repr(nv.check.ex_1_1())  # without reveal, the stub says only that


def test_every_checker_is_declared_with_reveal_and_its_mistakes():
    for name in nv.check.__all__:
        function = getattr(nv.check, name)
        exercise = name.removeprefix("ex_").replace("_", ".")
        assert core.CHECKERS[exercise] is function and function.mistakes, name


def test_out_of_reach_refuses_and_restores():
    before = nv.das.interchange, nv.das.FixedLinear.forward
    with core.out_of_reach((nv.das, "interchange"), (nv.das.LearnedRotation, "forward"), exercise="0.0"):
        with pytest.raises(RuntimeError, match="package's own answer: exercise 0.0"):
            nv.das.interchange(None, None, None, 0)
        with pytest.raises(RuntimeError, match="LearnedRotation.forward"):
            nv.das.LearnedRotation(4, 2)(torch.zeros(1, 4), torch.zeros(1, 4))
    assert (nv.das.interchange, nv.das.FixedLinear.forward) == before
    assert "forward" not in vars(nv.das.LearnedRotation)  # inherited before: not left behind


def test_live_network_trains_with_gradients_on_under_no_grad(monkeypatch):
    """ex_2_3's whole_state_swap runs under torch.no_grad(); a network the store lacks is trained
    inside it, which failed with 'element 0 of tensors does not require grad'."""
    import numvars.jobs
    import numvars.runner

    seen = []
    monkeypatch.setattr(numvars.runner, "ensure", lambda configs, progress: seen.append(torch.is_grad_enabled()))
    monkeypatch.setattr(numvars.jobs, "load_run", lambda config: type("Run", (), {"model": lambda self: "model"})())
    with torch.no_grad():
        assert core.live_network("gru", 0) == "model"
    assert seen == [True]


def test_ex_1_1_by_hand_counterfactuals():
    right = nv.check.ex_1_1(
        up_down="B D D D D T R R R E", demo_count="B D D D D T R R E", resp_count="B D D D D T R R R R R E"
    )
    assert right.right, right
    wrong = assert_hidden(
        nv.check.ex_1_1,
        "B D D D D T R R R E",
        up_down="B D D D D T R R R R E",
        demo_count="B D D D D T R R E",
        resp_count="B D D D D T R R R R R E",
    )
    assert [p.right for p in wrong.parts] == [False, True, True] and "from token 10 (R) on" in repr(wrong)
    assert not nv.check.ex_1_1().attempted
    assert_malformed(nv.check.ex_1_1(up_down="B D D X E"), "up_down", "not in the 'single' vocabulary")


class DownUp(nv.programs.UpDown):
    def update(self, state, kind):
        new = super().update(state, kind)
        return {**new, "count": 2 * state["count"] - new["count"]}

    def says_eos(self, state):
        return state["count"] >= 0


class OffByOne(nv.programs.UpDown):
    """Counts the trigger as a demo: its counterfactuals drift from Up-Down's."""

    def update(self, state, kind):
        return super().update(state, "demo" if kind == "trigger" else kind) | {
            "phase": super().update(state, kind)["phase"]
        }


class Renamed(nv.programs.UpDown):
    """The lazy answer: Up-Down under another name."""


def test_ex_1_3_down_up_agrees_and_a_broken_program_does_not():
    assert nv.check.ex_1_3(DownUp).right
    broken = nv.check.ex_1_3(OffByOne)
    assert not broken.right and "differ from Up-Down's on" in repr(broken)
    assert not nv.check.ex_1_3(nv.programs.UpUp).right  # no count to swap
    assert_malformed(nv.check.ex_1_3(DownUp(nv.Task("multi"))), "Down-Up", "expected the class itself")


def test_ex_1_3_refuses_up_down_itself_and_a_count_that_goes_up():
    own = nv.check.ex_1_3(nv.programs.UpDown)
    assert not own.right and "the package's own UpDown" in repr(own)
    lazy = nv.check.ex_1_3(Renamed)
    assert not lazy.right and not part(lazy, "counts down").right and part(lazy, "count counterfactuals").right


def test_ex_1_4_impossible_request_and_any_legal_phase_swap():
    assert nv.check.ex_1_4(a="B D D T R E", b="B D D D T R R D T R R E").right
    other_draw = nv.check.ex_1_4(a="B D D T R E", b="B D D D T R R T R E")  # no extra demo: legal, not seed 1's
    assert other_draw.right and "seed 1 draws B D D D T R R D T R R E" in repr(other_draw)
    wrong = assert_hidden(
        nv.check.ex_1_4, "B D D T R E", "B D D D T R R T R E", a="B D D T R R E", b="B D D D T R R D T R E"
    )
    assert [p.right for p in wrong.parts] == [False, False] and "no legal continuation has E at token 11" in repr(wrong)
    assert_malformed(nv.check.ex_1_4(a="B D D T R E", b=["B"]), "b", "a list")


# ------------------------------------------------------------------ checkers and chapters agree
BOOK = Path(__file__).resolve().parents[1] / "book"


def checker_cells(name: str) -> list[tuple[bool, str]]:
    """(is a solution cell, its stored text output) for every code cell of the golden chapter
    that calls ``nv.check.<name>(``."""
    chapter = int(name.split("_")[1])
    [path] = BOOK.glob(f"{chapter:02d}_*.ipynb")
    cells = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and f"nv.check.{name}(" in cell.source:
            text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)
            cells.append(("solution" in cell.metadata.get("tags", []), text))
    return cells


@pytest.mark.parametrize("name", nv.check.__all__)
def test_each_checker_has_a_stub_and_a_solution_that_it_calls_right(name):
    cells = checker_cells(name)
    exercise = name.removeprefix("ex_").replace("_", ".")
    stubs, solutions = (
        [text for solution, text in cells if not solution],
        [text for solution, text in cells if solution],
    )
    assert stubs and all(f"Exercise {exercise}: not attempted yet" in text for text in stubs), stubs
    assert solutions and all(f"Exercise {exercise}: right." in text for text in solutions), solutions


def test_every_exercise_says_its_kind_and_time_and_every_checker_is_one_of_them():
    table = exercises(BOOK)
    assert set(table["chapter"].str[:2]) >= {f"{n:02d}" for n in range(1, 8)}, "every chapter has exercises"
    assert table["kind"].notna().all() and table["minutes"].notna().all(), table[table["kind"].isna()]
    assert set(table["checker"]) - {""} == {f"nv.check.{name}" for name in nv.check.__all__}
    checked = table[table["checker"] != ""].groupby("chapter").size()
    assert (checked.reindex(table["chapter"].unique(), fill_value=0) >= 2).all(), checked


def test_the_catalogue_reads_a_prompt_with_and_without_kind_and_time(tmp_path):
    (tmp_path / "01_x.py").write_text(
        "# ## Exercises\n#\n# **1. Swap.** *(predict · 5 min)* Do it.\n"
        "# **2. Think\n# more.** Why?\n# ## Summary\n# **3. Not.**\n"
    )
    table = exercises(tmp_path).astype(object)
    table = table.where(table.notna(), None)
    assert table[["exercise", "title", "kind", "minutes", "checker"]].values.tolist() == [
        ["1.1", "Swap", "predict", 5, "nv.check.ex_1_1"],
        ["1.2", "Think more", None, None, ""],
    ]


def test_live_config_names_what_the_quick_profile_has():
    assert core.live_config("transformer", 1, "nope_transformer").positional == "none"
    with pytest.raises(ValueError, match=r"no experiment 'mian'; it has \["):
        core.live_config("gru", 0, "mian")
    with pytest.raises(ValueError, match=r"have no 'gru' of seed 7"):
        core.live_config("gru", 7)


def test_the_lab_and_the_module_fit_their_slots():
    from numvars.check.catalogue import LAB, MODULE, Slot, overfull, plan_table

    table = exercises(BOOK)
    assert not overfull(LAB, table) and not overfull(MODULE, table)
    assert plan_table(LAB, table)["minutes"].sum() == 90
    planned = [e for slot in (*LAB, *MODULE) for e in (*slot.in_class, *slot.homework)]
    assert set(planned) <= set(table["exercise"]), set(planned) - set(table["exercise"])
    in_class = [e for slot in LAB for e in slot.in_class]
    assert "3.5" in in_class and not set(in_class) & {e for slot in LAB for e in slot.homework}
    crammed = (Slot("0–30", 30, "too much", ("3.3", "3.5")),)  # 45 min of exercises in 30
    assert overfull(crammed, table) == ["0–30: 45 min of exercises in 30 min"]


@pytest.mark.parametrize("name", nv.check.__all__)
def test_every_checker_reports_a_malformed_answer_in_its_verdict(name):
    """A list of lists fits no part of any exercise: each part given one is reported malformed,
    never raised, and a stub elsewhere stays not attempted."""
    import inspect

    checker = getattr(nv.check, name)
    for parameter in inspect.signature(checker).parameters:
        verdict = checker(**{parameter: [["?"]]})
        assert verdict.malformed and not verdict.right, (name, parameter, verdict)
        kinds = ("expected a", "expected one of", "expected the", "expected your", "expected counts")
        text = repr(verdict)
        for kind in kinds:  # "expected a number" says what kind of answer is asked, not what it is
            text = text.replace(kind, "")
        assert "malformed" in repr(verdict) and "expected" not in text, repr(verdict)
