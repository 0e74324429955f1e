"""Your own network: truth from autograd of the file's STEPS, its activations recognised."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from handgrad.checks.doctor import check_file
from handgrad.errors import HandgradError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

NET = """
import autograd.numpy as np
INPUTS = {"x": ("m", 3), "y": ("m", 2)}
PARAMS = {"W": (2, 3), "b": (2,)}
STEPS = {
    "z": lambda x, W, b: x @ W.T + b,
    "h": lambda z: np.sin(z),
    "L": lambda h, y: 0.5 * np.sum((h - y) ** 2) / h.shape[0],
}
"""


def _file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "own.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_own_network_example_names_its_slip_and_the_inherited_error():
    report = check_file(EXAMPLES / "formulas_own_network.py")
    assert report.problem == "own"
    assert report["z2"].status == report["W2"].status == report["h1"].status == "ok"
    assert report["z1"].mistake == "tanh_grad_from_z"
    assert report["W1"].inherits == "z1" and report["W1"].mistake == "tanh_grad_from_z"
    assert report.first_wrong is report["z1"]


def test_own_network_catalogue_comes_from_its_graph(tmp_path):
    path = _file(
        tmp_path,
        NET
        + """
def grad_h(q):
    return (q.h - q.y) / q.m
def grad_z(q):
    return grad_h(q) * np.sin(q.z)   # sin′ written as sin
def grad_W(q):
    return grad_h(q).T @ q.x          # sin′ forgotten
def grad_b(q):
    return (grad_h(q) * np.cos(q.z)).sum(axis=0)
""",
    )
    report = check_file(path)
    assert report["h"].status == report["b"].status == "ok"
    assert report["z"].mistake == "sin_for_cos"
    assert report["W"].mistake == "no_cos"


def test_plain_numpy_steps_are_rejected_in_one_line(tmp_path):
    body = NET.replace("import autograd.numpy as np", "import numpy as np")
    body = body.replace("np.sin(z)", "2 * np.sin(np.asarray(z, dtype=float))")
    path = _file(tmp_path, body + "def grad_b(q):\n    return q.b\n")
    with pytest.raises(HandgradError, match="autograd") as info:
        check_file(path)
    assert "\n" not in str(info.value)


def test_a_step_autograd_gets_wrong_is_caught_by_finite_differences(tmp_path):
    body = NET.replace(
        '"h": lambda z: np.sin(z),', '"h": lambda z: np.sin(z) + np.floor(z * 1e6) / 1e6,'
    )
    path = _file(tmp_path, body + "def grad_b(q):\n    return q.b\n")
    with pytest.raises(HandgradError, match="finite differences disagree"):
        check_file(path)


def test_a_step_naming_an_unknown_value_is_unusable(tmp_path):
    path = _file(
        tmp_path,
        NET.replace("lambda h, y:", "lambda h, target:") + "def grad_b(q):\n    return q.b\n",
    )
    with pytest.raises(HandgradError, match="target"):
        check_file(path)


SQUARE = NET.replace('("m", 2)', '("m", 3)').replace("(2, 3)", "(3, 3)").replace("(2,)", "(3,)")
RIGHT_Z = "def grad_z(q):\n    return (q.h - q.y) / q.m * np.cos(q.z)\n"


def test_a_transposed_square_weight_gradient_is_named_as_in_the_known_problems(tmp_path):
    path = _file(tmp_path, SQUARE + RIGHT_Z + "def grad_W(q):\n    return q.x.T @ grad_z(q)\n")
    report = check_file(path)
    assert report["z"].status == "ok"
    assert report["W"].status == "wrong" and report["W"].mistake == "transpose"
    assert "square" in report["W"].explanation


def test_the_own_network_table_lists_the_formulas_given_and_counts_the_rest(tmp_path):
    path = _file(tmp_path, SQUARE + RIGHT_Z)
    report = check_file(path)
    text = str(report)
    rows = [line.split()[0] for line in text.splitlines()[1:] if line and line[0] != " "]
    assert "z" in rows and "W" not in rows and "not given" not in text.splitlines()[1]
    assert "3 more quantities not given: h, b, W" in text
    assert len(report.to_json()["formulas"]) == 4  # the JSON keeps every quantity
