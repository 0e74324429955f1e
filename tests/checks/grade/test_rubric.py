"""Rubric TOML: what it accepts, one-line errors for the rest, and partial credit."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import one_line_error

from handgrad.checks.grade.limits import Limits
from handgrad.checks.grade.rubric import DEFAULT_HINTS, Rubric, load_rubric, parse_rubric
from handgrad.errors import HandgradError

FULL = """
problem = "multitask"
[points]
theta1A = 2
b2B = 1.5
[partial]
relu_as_step = 0.5
bn_factor = 0.5
"no_mask+no_cos" = 0.1
inherits = 1
[hints]
level = "where"
[hints.text]
no_task_b_term = "look again at ∂L/∂ŷA"
[limits]
cpu_seconds = 5
wall_seconds = 9
"""


def test_a_full_rubric(tmp_path: Path) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(FULL)
    r = load_rubric(path)
    assert r.problem == "multitask" and r.points == {"theta1A": 2.0, "b2B": 1.5}
    assert r.hint_level == "where"
    assert r.hint_text["no_task_b_term"] == "look again at ∂L/∂ŷA"
    assert r.hint_text["bn_factor"] == DEFAULT_HINTS["bn_factor"]
    assert r.limits == Limits(wall_seconds=9, cpu_seconds=5)


def test_defaults() -> None:
    r = Rubric()
    assert r.points == {} and r.partial == {} and r.hint_level == "mistake"
    assert r.credit("bn_factor", None) == 0.0
    assert parse_rubric({}) == r


def test_partial_credit() -> None:
    r = parse_rubric({"partial": {"relu_as_step": 0.5, "bn_factor": 0.4, "no_mask+no_cos": 0.1}})
    assert r.credit("relu_as_step", None) == 0.5
    assert r.credit("bn_factor+relu_as_step", None) == pytest.approx(0.2)  # the product
    assert r.credit("no_mask+no_cos", None) == 0.1  # the pair as listed
    assert r.credit("no_cos", None) == 0.0 and r.credit(None, None) == 0.0
    assert r.credit(None, "dxBN") == 0.0  # no error-carried-forward credit unless given
    assert parse_rubric({"partial": {"inherits": 1}}).credit(None, "dxBN") == 1.0


@pytest.mark.parametrize(
    "text, needles",
    [
        ("pionts = 1", ("pionts", "unknown key")),
        ("[points]\nb2B = -1", ("points.b2B", "> 0")),
        ("[points]\nb2B = 'two'", ("points.b2B", "number")),
        ("[partial]\nbn_factor = 1.5", ("partial.bn_factor", "[0, 1]")),
        ('[partial]\n"bn factor" = 0.5', ("partial.bn factor", "mistake id")),
        ("[hints]\nlevel = 'all'", ("hints.level", "none, where, mistake, fix")),
        ("[hints]\ncolour = 1", ("hints.colour", "unknown key")),
        ("[hints.text]\nbn_factor = ''", ("hints.text.bn_factor", "one line")),
        ("[limits]\ncpu = 3", ("limits.cpu", "cpu_seconds")),
        ("[limits]\nmemory_mb = 0", ("limits.memory_mb", "> 0")),
        ("points = 3", ("points", "table")),
        ("problem = 3", ("problem", "problem name")),
        ("[points", ("not valid TOML",)),
    ],
)
def test_bad_rubrics_are_one_line_errors(tmp_path: Path, text: str, needles: tuple) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(HandgradError) as e:
        load_rubric(path)
    assert one_line_error(e, str(path), *needles)


def test_missing_rubric(tmp_path: Path) -> None:
    with pytest.raises(HandgradError) as e:
        load_rubric(tmp_path / "none.toml")
    one_line_error(e, "file not found")
