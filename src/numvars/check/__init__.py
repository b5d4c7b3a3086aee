"""Checkers for the chapters' exercises: ``nv.check.ex_1_1(up_down="B D …")`` says right or not
yet, and why.

One function ``ex_C_N`` per checkable exercise N of chapter C, in ``chapterC.py``. Each computes
its expected answer with the package and returns a :class:`~numvars.check.core.Verdict`, which a
notebook shows as a few lines. Leave a part as ``...`` and it is "not attempted" — never an error —
so a chapter's untouched stub cells run. The rules every checker follows are in
:mod:`numvars.check.core`.
"""

from numvars.check.chapter1 import ex_1_1, ex_1_3, ex_1_4
from numvars.check.chapter2 import ex_2_1, ex_2_3, ex_2_4
from numvars.check.chapter3 import ex_3_1, ex_3_2, ex_3_3, ex_3_4, ex_3_5
from numvars.check.chapter4 import ex_4_1, ex_4_2, ex_4_3
from numvars.check.chapter5 import ex_5_1, ex_5_2, ex_5_3, ex_5_4
from numvars.check.chapter6 import ex_6_1, ex_6_3, ex_6_4, ex_6_5
from numvars.check.chapter7 import ex_7_1, ex_7_2, ex_7_3

__all__ = [
    "ex_1_1",
    "ex_1_3",
    "ex_1_4",
    "ex_2_1",
    "ex_2_3",
    "ex_2_4",
    "ex_3_1",
    "ex_3_2",
    "ex_3_3",
    "ex_3_4",
    "ex_3_5",
    "ex_4_1",
    "ex_4_2",
    "ex_4_3",
    "ex_5_1",
    "ex_5_2",
    "ex_5_3",
    "ex_5_4",
    "ex_6_1",
    "ex_6_3",
    "ex_6_4",
    "ex_6_5",
    "ex_7_1",
    "ex_7_2",
    "ex_7_3",
]
