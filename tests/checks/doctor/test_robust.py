"""One bad formula never stops the others: each failure is its own one-line row."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from handgrad.checks.doctor import check_file, check_formulas
from handgrad.cli import main
from handgrad.errors import HandgradError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
RIGHT_B2B = "return (q.yhatB - q.yB).sum(axis=0) / q.m"


def _file(tmp_path: Path, body: str, name: str = "f.py") -> Path:
    path = tmp_path / name
    path.write_text("import numpy as np\n" + textwrap.dedent(body))
    return path


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("raise KeyError('boom')", r"raised KeyError \(line 4\): 'boom'"),
        ("return np.zeros(2)", r"returned shape \(2,\), expected \(3,\)"),
        ("return np.zeros((q.m, 3))", "sums over the rows"),
        ("return np.full(3, np.nan)", "NaN or inf"),
        ("return np.ones(3, dtype=int)", "dtype int64"),
        ("return np.ones(3, dtype=np.complex128)", "dtype complex128"),
        ("return 'text'", "returned str"),
        ("pass", "returned None"),
        ("while True: pass", "time limit"),
        ("import sys; sys.exit(3)", "called exit"),
        ("q.x[0, 0] = 1.0", "read-only"),
    ],
)
def test_a_bad_formula_gets_its_own_error_row(tmp_path, body, error):
    path = _file(
        tmp_path,
        f"""
        def grad_b2A(q):
            {body}
        def grad_b2B(q):
            {RIGHT_B2B}
        """,
    )
    report = check_file(path, time_limit_s=0.2)
    assert report["b2A"].status == "error"
    assert report["b2A"].error and "\n" not in report["b2A"].error
    assert re.search(error, report["b2A"].error), report["b2A"].error
    assert report["b2B"].status == "ok"
    assert report.exit_code == 1


def test_float32_formula_is_judged_with_a_float32_tolerance(tmp_path):
    path = _file(
        tmp_path,
        """
        def grad_b2B(q):
            return ((q.yhatB - q.yB).sum(axis=0) / q.m).astype(np.float32)
        def grad_b2A(q):
            return ((q.yhatA - q.yA).sum(axis=0) / q.m).astype(np.float32)
        """,
    )
    report = check_file(path)
    assert report["b2B"].status == "ok"
    assert report["b2A"].status == "wrong"  # the task-B term is missing: not rounding


def test_prints_in_formulas_go_to_stderr_and_json_stays_clean(tmp_path, capsys):
    body = f"print('loading')\ndef grad_b2B(q):\n    print('hi')\n    {RIGHT_B2B}\n"
    path = _file(tmp_path, body)
    assert main(["check", "formulas", str(path), "--format", "json"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert "hi" in out.err and "loading" in out.err
    assert doc["schema"] == "handgrad.formulas/1" and doc["file"] == str(path)
    assert doc["counts"] == {"ok": 1, "wrong": 0, "not_given": 15, "error": 0}
    row = next(f for f in doc["formulas"] if f["name"] == "b2B")
    keys = {"name", "symbol", "status", "rel_error", "worst_entries", "mistake"}
    keys |= {"explanation", "fix", "inherits", "error"}
    assert keys <= set(row)


def test_json_of_the_mistakes_example(capsys):
    path = str(EXAMPLES / "formulas_mistakes.py")
    assert main(["check", "formulas", path, "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    rows = {f["name"]: f for f in doc["formulas"]}
    assert rows["b2B"]["status"] == "ok" and rows["b2B"]["mistake"] is None
    assert rows["theta1B"]["mistake"] == "bn_factor+relu_as_step"
    assert rows["b1B"]["mistake"] == "relu_as_step"
    assert rows["b2A"]["mistake"] == "no_task_b_term"
    assert rows["b2A"]["worst_entries"] and all(len(e) == 1 for e in rows["b2A"]["worst_entries"])
    assert doc["counts"]["wrong"] == 6


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("def grad_b2B(q)\n    return 0\n", r"f\.py:1: not valid Python"),
        ("x = 1\n", "defines no grad_"),
        ("import not_a_module_xyz\n", r"f\.py:1: running the file raised ModuleNotFoundError"),
    ],
)
def test_unusable_input_exits_2_with_one_line_and_no_json(tmp_path, capsys, source, match):
    path = tmp_path / "f.py"
    path.write_text(source)
    assert main(["check", "formulas", str(path), "--format", "json"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert re.search(match, out.err)
    with pytest.raises(HandgradError):
        check_file(path)


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["check", "formulas", str(tmp_path / "none.py")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_a_folder_or_a_binary_file_is_unusable(tmp_path, capsys):
    (tmp_path / "bin.py").write_bytes(b"\x00\xd0\xff")
    for path, why in ((tmp_path, "is a folder"), (tmp_path / "bin.py", "cannot read")):
        assert main(["check", "formulas", str(path)]) == 2
        assert why in capsys.readouterr().err


def test_rebinding_a_name_of_q_does_not_leak_into_other_formulas(tmp_path):
    path = _file(
        tmp_path,
        f"""
        def grad_b2B(q):
            q.yB = q.yB * 0
            {RIGHT_B2B}
        def grad_z2B(q):
            return (q.yhatB - q.yB) / q.m
        """,
    )
    report = check_file(path)
    assert report["b2B"].status == "wrong" and report["z2B"].status == "ok"


def test_unknown_names_warn_and_the_rest_is_checked(tmp_path):
    path = _file(tmp_path, f"def grad_b2b(q):\n    return 0\ndef grad_b2B(q):\n    {RIGHT_B2B}\n")
    report = check_file(path)
    assert report["b2B"].status == "ok" and "grad_b2b" in report.warnings[0]


def test_dict_of_functions_from_python():
    report = check_formulas(
        {"b2B": lambda q: (q.yhatB - q.yB).sum(axis=0) / q.m}, problem="multitask"
    )
    assert report["b2B"].status == "ok" and report.file is None
    assert "<table" in report._repr_html_() and "b2B" in str(report)
    assert np.isfinite(report["b2B"].rel_error)


@pytest.mark.parametrize(
    ("body", "mistake", "said"),
    [
        ("DY.sum(axis=1)", "sum_over_axis_1", "axis 1 (the features)"),
        ("DY.mean(axis=1)", "mean_over_axis_1", "axis 1 (the features)"),
        ("np.sum(DY)", "sum_over_all", "both axes"),
    ],
)
def test_a_bias_reduced_over_the_wrong_axis_is_named_with_the_axis(tmp_path, body, mistake, said):
    dy = "((q.yhatA - q.yA) / q.m + (q.yhatB - q.yB) @ q.theta2B / q.m)"
    path = _file(tmp_path, f"def grad_b2A(q):\n    return {body.replace('DY', dy)}\n")
    v = check_file(path, "multitask")["b2A"]
    assert v.status == "wrong" and v.mistake == mistake, v
    assert said in v.explanation and "axis 0" in v.explanation


def test_a_bias_averaged_over_the_batch_says_the_axis_and_the_sum(tmp_path):
    path = _file(tmp_path, "def grad_b2B(q):\n    return ((q.yhatB - q.yB) / q.m).mean(axis=0)\n")
    v = check_file(path)["b2B"]
    assert v.mistake == "extra_1_over_m"
    assert "the mean over axis 0 (the batch rows) of ∂L/∂z2B, where their sum belongs" in (
        v.explanation
    )
    assert ".sum(axis=0)" in v.fix
