"""``handgrad check formulas``: --list, --template, the problem recognised or named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handgrad.checks.doctor.problems import PROBLEMS
from handgrad.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_list_shows_every_problem_quantity_and_shape(capsys):
    assert main(["check", "formulas", "--list"]) == 0
    out = capsys.readouterr().out
    for name, problem in PROBLEMS.items():
        assert f"{name}: " in out
        assert all(f"grad_{q}(q)" in out for q in problem.quantities)
    assert "grad_theta2B(q) -> ∂L/∂θ2B  (6, 3)" in out and "grad_xBN(q) -> ∂L/∂xBN  (m, 3)" in out


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_template_writes_a_file_that_checks_as_not_given(tmp_path, capsys, name):
    path = tmp_path / "f.py"
    assert main(["check", "formulas", "--template", name, "--out", str(path)]) == 0
    capsys.readouterr()
    assert main(["check", "formulas", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["problem"] == name
    assert doc["counts"]["not_given"] == len(PROBLEMS[name].quantities)
    assert main(["check", "formulas", "--template", name, "--out", str(path)]) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("formulas_*.py")), ids=lambda p: p.stem)
def test_one_example_per_problem_and_the_right_ones_pass(path, capsys):
    code = main(["check", "formulas", str(path), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    wrong = doc["counts"]["wrong"] + doc["counts"]["error"]
    if path.stem in ("formulas_mistakes", "formulas_own_network"):
        assert code == 1 and wrong > 0
    else:
        assert code == 0 and doc["counts"]["ok"] == len(PROBLEMS[doc["problem"]].quantities)


def test_every_problem_has_an_example():
    stems = {p.stem.removeprefix("formulas_") for p in EXAMPLES.glob("formulas_*.py")}
    assert set(PROBLEMS) | {"own_network"} <= stems


def test_problem_is_recognised_from_names_or_named(tmp_path, capsys):
    path = tmp_path / "f.py"
    path.write_text("def grad_z(q):\n    return (q.p - q.y) / q.m\n")
    assert main(["check", "formulas", str(path)]) == 2  # softmax and softmax_ce both have z
    assert "--problem" in capsys.readouterr().err
    assert main(["check", "formulas", str(path), "--problem", "softmax_ce"]) == 0
    capsys.readouterr()
    path.write_text("def grad_W2(q):\n    return (q.yhat - q.y).T @ q.h1 / q.m\n")
    assert main(["check", "formulas", str(path)]) == 0
    assert capsys.readouterr().out.startswith("mlp: ")
    assert main(["check", "formulas", str(path), "--problem", "nope"]) == 2
    assert "unknown problem" in capsys.readouterr().err


def test_no_file_is_a_usage_error(capsys):
    assert main(["check", "formulas"]) == 2
    assert "--list" in capsys.readouterr().err
