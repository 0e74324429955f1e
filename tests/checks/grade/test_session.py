"""The session gives the doctor its proof of "inherits": a formula evaluated in the
sandbox with its upstream formula returning the true value (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handgrad.checks.grade import Limits, Rubric, grade_class

LIMITS = Limits(wall_seconds=60, cpu_seconds=5, memory_mb=1024, output_kb=256)
pytestmark = pytest.mark.slow

HEIR = """
def grad_x1B(q):
    g = (q.yhatB - q.yB) @ q.theta2B / q.m * (q.xBN > 0)
    return (1 - 1 / q.m) * g                     # report 003's factor
def grad_theta1B(q):
    return grad_x1B(q).T @ q.x                   # right given ∂L/∂x1B
"""
NOT_HEIR = """
def grad_x1B(q):
    g = (q.yhatB - q.yB) @ q.theta2B / q.m * (q.xBN > 0)
    return (1 - 1 / q.m) * g
def grad_theta1B(q):                             # the same values, not from grad_x1B
    g = (q.yhatB - q.yB) @ q.theta2B / q.m * (q.xBN > 0)
    return ((1 - 1 / q.m) * g).T @ q.x
"""


def test_inherits_is_proven_in_the_sandbox_and_only_there(tmp_path: Path) -> None:
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    (subs / "heir.py").write_text(HEIR)
    (subs / "not_heir.py").write_text(NOT_HEIR)
    grade_class(subs, out, rubric=Rubric(limits=LIMITS), problem="multitask", jobs=1)
    docs = {
        name: json.loads((out / "submissions" / name / "outcome.json").read_text())["document"]
        for name in ("heir.py", "not_heir.py")
    }
    rows = {n: {f["name"]: f for f in d["formulas"]} for n, d in docs.items()}
    assert rows["heir.py"]["theta1B"]["inherits"] == "x1B"
    assert rows["not_heir.py"]["theta1B"]["inherits"] is None
    assert rows["not_heir.py"]["theta1B"]["mistake"] == "bn_factor"
