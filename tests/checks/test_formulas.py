"""The gradient-formula checker: verdicts, explanations, and one-line errors for bad files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from handgrad.checks.formulas import (
    MISTAKES,
    REFERENCE_FORMULAS,
    check_formulas,
    derived_gradients,
    quantities,
    true_gradients,
)
from handgrad.checks.network import sample_problem
from handgrad.errors import HandgradError
from handgrad.models.multitask import PARAM_NAMES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TASK_A = {"theta1A", "b1A", "theta2A", "b2A"}


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "formulas.py"
    path.write_text("import numpy as np\n" + textwrap.dedent(body))
    return path


def _results(report):
    return {r.name: r for r in report.results}


def test_correct_example_passes_every_parameter():
    report = check_formulas(EXAMPLES / "formulas_multitask.py")
    assert [r.status for r in report.results] == ["ok"] * 8
    assert all(r.max_rel_err <= 1e-8 for r in report.results)
    assert report.exit_code == 0
    assert 1 in report.batch_sizes


def test_mistakes_example_flags_exactly_the_wrong_parameters_with_one_line_each():
    report = check_formulas(EXAMPLES / "formulas_mistakes.py")
    res = _results(report)
    failed = {name for name, r in res.items() if r.status == "FAIL"}
    assert failed == TASK_A | {"theta1B", "b1B"}
    assert res["theta2B"].status == res["b2B"].status == "ok"
    assert report.exit_code == 1
    for name in failed:
        assert res[name].explanation and "\n" not in res[name].explanation
    for name in TASK_A:
        assert "task-B term" in res[name].explanation
        assert "(1 − 1/m)" not in res[name].explanation
    assert "(1 − 1/m)" in res["theta1B"].explanation
    assert "(x + |x|)/2" in res["theta1B"].explanation
    assert "(x + |x|)/2" in res["b1B"].explanation
    assert "(1 − 1/m)" not in res["b1B"].explanation
    # the (1 − 1/m) slip is invisible at m = 1, where BN* makes both gradients 0
    assert "right at m = 1" in res["theta1B"].where
    text = report.format()
    assert text.count("FAIL") == 6 and "2 correct, 6 wrong, 0 not given" in text


@pytest.mark.parametrize("m", [1, 2, 6])
def test_reference_derivation_equals_the_network_backward(m):
    problem = sample_problem(m, 5, 4, 3, 6, p=0.5, seed=m)
    q = quantities(problem)
    truth = true_gradients(problem)
    derived = derived_gradients(q)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(derived[name], truth[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_each_catalogued_mistake_changes_exactly_the_parameters_it_names(key):
    problem = sample_problem(6, 5, 4, 3, 6, p=0.5, seed=11)
    q = quantities(problem)
    right, wrong = derived_gradients(q), derived_gradients(q, frozenset({key}))
    changed = {n for n in PARAM_NAMES if not np.allclose(right[n], wrong[n], rtol=1e-9, atol=0)}
    assert changed == set(MISTAKES[key].affects)


def test_quantities_are_read_only_and_complete():
    q = quantities(sample_problem(3, 5, 4, 3, 6, p=0.5, seed=0))
    for name in ("x", "z1A", "x1A", "M", "xDP", "x2A", "yhatA", "x1B", "xBN", "xBNs", "xplus"):
        assert isinstance(getattr(q, name), np.ndarray)
    assert q.m == 3 and q.p == 0.5 and q.theta2B.shape == (6, 3)
    with pytest.raises(ValueError):
        q.x[0, 0] = 1.0


def test_reference_formulas_are_latex_for_every_parameter():
    assert set(REFERENCE_FORMULAS) == set(PARAM_NAMES)
    assert all(s.startswith(r"\frac{\partial L}") for s in REFERENCE_FORMULAS.values())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return (q.yB - q.yhatB).sum(axis=0) / q.m", "sign flipped"),
        ("return (q.yhatB - q.yB).sum(axis=0)", "1/m of the batch mean is missing"),
        ("return (q.yhatB - q.yB).sum(axis=0) / q.m**2", "extra 1/m"),
        ("return 2 * (q.yhatB - q.yB).sum(axis=0) / q.m", "constant factor 2"),
        ("return (1 - 1 / q.m) * (q.yhatB - q.yB).sum(axis=0) / q.m", "(1 − 1/m)"),
        ("return (q.yhatB - q.yB).sum(axis=0) / q.m + (q.m - 1) * 0.1", "right at m = 1"),
        ("return np.zeros(q.b2B.shape)", "all zeros"),
        ("return (q.yhatB - q.yB).sum(axis=0) / q.m + 1.0", "a term is missing or extra"),
        ("return (q.yhatB - q.yB).sum(axis=0) / 0 * q.m", "NaN or inf"),
    ],
)
def test_generic_explanations(tmp_path, body, expected):
    path = _write(tmp_path, f"def grad_b2B(q):\n    {body}\n")
    with np.errstate(all="ignore"):
        r = _results(check_formulas(path))["b2B"]
    assert r.status == "FAIL"
    assert expected in r.explanation
    assert "\n" not in r.explanation


def test_known_mistake_alone_is_named(tmp_path):
    path = _write(
        tmp_path,
        """
        def grad_theta1B(q):
            g = ((q.yhatB - q.yB) @ q.theta2B / q.m) * (q.xBN > 0)
            return g.T @ q.x
        """,
    )
    r = _results(check_formulas(path))["theta1B"]
    assert r.status == "FAIL" and "batch mean ignored" in r.explanation


def test_missing_functions_are_not_given_and_do_not_fail(tmp_path):
    path = _write(tmp_path, "def grad_b2B(q):\n    return (q.yhatB - q.yB).sum(axis=0) / q.m\n")
    report = check_formulas(path)
    res = _results(report)
    assert res["b2B"].status == "ok"
    assert {r.status for n, r in res.items() if n != "b2B"} == {"not given"}
    assert report.exit_code == 0
    assert "1 correct, 0 wrong, 7 not given" in report.format()


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("def grad_b2B(q):\n    return (\n", r"formulas\.py:\d+: syntax error"),
        ("def grad_b2B(q):\n    raise KeyError('boom')\n", r"grad_b2B\(q\) raised KeyError"),
        ("def grad_theta2B(q):\n    return q.xplus.T @ (q.yhatB - q.yB)\n", "the transpose"),
        ("def grad_b2B(q):\n    return np.zeros(2)\n", r"returned shape \(2,\), expected \(6,\)"),
        ("def grad_b2b(q):\n    return 0\n", "grad_b2b names no parameter"),
        ("grad_b2B = 3\n", "must be a function"),
        ("x = 1\n", "defines no grad_"),
        ("import not_a_module_xyz\n", "running the file raised ModuleNotFoundError"),
        ("def grad_b2B(q):\n    return 'text'\n", "not a numeric array"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, source, match):
    path = _write(tmp_path, source)
    with pytest.raises(HandgradError, match=match) as info:
        check_formulas(path)
    assert "\n" not in str(info.value)


def test_syntax_error_names_its_line(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("def grad_b2B(q):\n    return 1\n\nx = = 2\n")
    with pytest.raises(HandgradError, match=r"f\.py:4: syntax error"):
        check_formulas(path)


def test_missing_file(tmp_path):
    with pytest.raises(HandgradError, match="file not found"):
        check_formulas(tmp_path / "nope.py")
