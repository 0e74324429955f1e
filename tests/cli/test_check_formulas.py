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


@pytest.mark.parametrize("name", [*sorted(PROBLEMS), "own"])
def test_an_untouched_template_is_unusable_input(tmp_path, capsys, name):
    path = tmp_path / "f.py"
    assert main(["check", "formulas", "--template", name, "--out", str(path)]) == 0
    capsys.readouterr()
    assert main(["check", "formulas", str(path), "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "no formula filled in" in captured.err
    assert captured.err.count("\n") == 1
    assert main(["check", "formulas", "--template", name, "--out", str(path)]) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("name", [*sorted(PROBLEMS), "own"])
def test_a_template_with_one_formula_written_is_checked(tmp_path, capsys, name):
    path = tmp_path / "f.py"
    assert main(["check", "formulas", "--template", name, "--out", str(path)]) == 0
    capsys.readouterr()
    text = path.read_text()
    first = text.index("    raise NotImplementedError")
    path.write_text(text[:first] + "    return 0.0 * q.m" + text[text.index("\n", first) :])
    code = main(["check", "formulas", str(path), "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and doc["counts"]["not_given"] < sum(doc["counts"].values())


def test_a_problem_asked_for_against_the_files_problem_is_unusable(capsys):
    path = EXAMPLES / "formulas_mlp.py"
    assert main(["check", "formulas", str(path), "--problem", "multitask"]) == 2
    err = capsys.readouterr().err
    assert "nothing checked" in err and "conflicts with PROBLEM" in err and err.count("\n") == 1
    # something checked: judged as asked, with a warning
    assert (
        main(
            ["check", "formulas", str(EXAMPLES / "formulas_softmax_ce.py"), "--problem", "softmax"]
        )
        == 1
    )
    assert '--problem softmax overrides PROBLEM = "softmax_ce"' in capsys.readouterr().out


def test_formulas_for_no_quantity_of_the_problem_are_unusable(tmp_path, capsys):
    path = tmp_path / "f.py"
    path.write_text("def grad_W2(q):\n    return q.W2\n")
    assert main(["check", "formulas", str(path), "--problem", "multitask"]) == 2
    assert "nothing checked: grad_W2 name no quantity of multitask" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_out_writes_the_report_to_a_file(tmp_path, capsys, fmt):
    out = tmp_path / f"report.{fmt}"
    code = main(
        [
            "check",
            "formulas",
            str(EXAMPLES / "formulas_mistakes.py"),
            "--format",
            fmt,
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1 and captured.out == "" and f"wrote {out}" in captured.err
    text = out.read_text()
    if fmt == "json":
        assert json.loads(text)["counts"]["wrong"] == 6
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and "start with" in text
    else:
        assert text.startswith("multitask: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # nothing else left


def test_out_into_a_missing_folder_is_unusable_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "nope" / "r.html"
    args = ["check", "formulas", str(EXAMPLES / "formulas_mlp.py"), "--format", "html"]
    assert main([*args, "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err and not out.parent.exists()
    assert main([*args, "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


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
