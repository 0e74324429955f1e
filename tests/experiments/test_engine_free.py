"""An experiment never asks which engine computes its steps: it gets a `handgrad.fast.Step`
from ``engine.step(...)`` and calls ``forward`` / ``update``, the same on every engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import handgrad.experiments
from handgrad.fast import ENGINES

EXPERIMENTS = sorted(Path(handgrad.experiments.__file__).parent.glob("[!_]*.py"))


def engine_branches(source: str) -> list[str]:
    """What in ``source`` tells engines apart: a comparison with an engine's name, a
    test of ``.fused``, or an import of the fused steps or kernels."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            names = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant)]
            found += [f"compares with {n!r}" for n in names if n in ENGINES]
        if isinstance(node, ast.Attribute) and node.attr in ("fused", "step_for"):
            found.append(f"reads .{node.attr}")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            ("handgrad.fast.steps", "handgrad.fast.kernels")
        ):
            found.append(f"imports {node.module}")
    return found


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_no_experiment_branches_on_the_engine(path):
    assert EXPERIMENTS and not engine_branches(path.read_text())


def test_the_check_sees_a_branch():
    source = "if engine.name == 'fused':\n    pass\nok = step.fused\n"
    assert engine_branches(source) == ["compares with 'fused'", "reads .fused"]
