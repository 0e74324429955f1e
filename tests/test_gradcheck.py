"""Finite differences, the error measure of `compare`, module/loss checks, the report table."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import nn
from handgrad.errors import HandgradError
from handgrad.gradcheck import (
    GradReport,
    TensorCheck,
    check_loss,
    check_module,
    compare,
    format_table,
    numeric_gradient,
    summary_line,
)


def test_compare_identical_is_zero_error():
    a = np.array([1.0, -2.0, 3.0])
    c = compare("w", a, a.copy(), 1e-6)
    assert (c.max_abs_err, c.max_rel_err, c.passed) == (0.0, 0.0, True)
    assert c.shape == (3,)


def test_compare_relative_error_and_worst_index():
    a = np.array([[1.0, 2.0], [4.0, 8.0]])
    n = a.copy()
    n[1, 0] = 4.4  # rel = 0.4 / 4.4
    c = compare("w", a, n, 0.1)
    assert c.max_abs_err == pytest.approx(0.4)
    assert c.max_rel_err == pytest.approx(0.4 / 4.4)
    assert c.worst_index == (1, 0) and c.passed
    assert not compare("w", a, n, 0.09).passed


def test_compare_judges_tiny_entries_against_the_tensor_scale():
    """An entry 1e-6 of the scale with a 1e-12 error is round-off, not a wrong gradient."""
    n = np.array([1.0, 1e-6])
    a = n + np.array([0.0, 1e-12])
    c = compare("w", a, n, 1e-6)
    assert c.max_rel_err == pytest.approx(1e-12 / 1e-3)  # floor = 1e-3 · max|n|
    assert c.passed
    # without a scale (all-zero gradient) the absolute floor is 1e-8
    assert compare("w", np.array([1e-15]), np.zeros(1), 1e-6).max_rel_err == pytest.approx(1e-7)


def test_compare_fails_on_shape_mismatch_and_nan():
    c = compare("w", np.zeros(3), np.zeros(4), 1.0)
    assert not c.passed and c.max_rel_err == np.inf
    assert not compare("w", np.array([np.nan, 1.0]), np.array([1.0, 1.0]), 1.0).passed
    assert not compare("w", np.array([np.inf]), np.array([1.0]), 1.0).passed


def test_compare_empty_passes():
    assert compare("w", np.zeros((0, 3)), np.zeros((0, 3)), 1e-6).passed


def test_numeric_gradient_of_a_known_function():
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = numeric_gradient(lambda: float(np.sum(a**3)), a)
    np.testing.assert_allclose(g, 3 * a**2, rtol=1e-9)
    assert g.dtype == np.float64


def test_numeric_gradient_in_float32_divides_by_the_stored_step():
    a = np.array([1000.0, 3.0], dtype=np.float32)  # 1000 ± 1e-5 rounds in float32
    g = numeric_gradient(lambda: float(np.sum(a.astype(np.float64) * [2.0, 5.0])), a, eps=1e-3)
    np.testing.assert_allclose(g, [2.0, 5.0], rtol=1e-12)


def test_numeric_gradient_restores_the_array_exactly():
    a = np.random.default_rng(0).standard_normal((3, 4))
    before = a.copy()
    numeric_gradient(lambda: float(np.sum(np.sin(a))), a)
    np.testing.assert_array_equal(a, before)


def test_numeric_gradient_restores_the_array_when_f_raises():
    a = np.array([1.0, 2.0])
    calls = []

    def f():
        calls.append(a.copy())
        if len(calls) == 2:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError):
        numeric_gradient(f, a)
    np.testing.assert_array_equal(a, [1.0, 2.0])
    assert calls[1][0] != 1.0  # it really was perturbed


def test_numeric_gradient_rejects_arrays_it_cannot_perturb():
    with pytest.raises(HandgradError, match="C-contiguous"):
        numeric_gradient(lambda: 0.0, np.zeros((3, 3))[:, 0])
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.raises(HandgradError, match="writeable"):
        numeric_gradient(lambda: 0.0, frozen)
    with pytest.raises(HandgradError, match="eps"):
        numeric_gradient(lambda: 0.0, np.zeros(2), eps=0)


def test_check_module_reports_input_and_every_parameter():
    layer = nn.Linear(3, 2, rng=0, dtype=np.float64)
    report = check_module(layer, np.random.default_rng(1).standard_normal((4, 3)))
    assert report.passed and report.subject == "Linear(3→2)"
    assert [(c.name, c.shape) for c in report.checks] == [
        ("x", (4, 3)),
        ("weight", (2, 3)),
        ("bias", (2,)),
    ]


def test_check_module_catches_a_wrong_backward(monkeypatch):
    monkeypatch.setattr(nn.Tanh, "backward", lambda self, dy: dy * (1 - self.residuals.y))
    assert not check_module(nn.Tanh(), np.random.default_rng(0).standard_normal((3, 2))).passed


def test_check_module_leaves_rng_and_buffers_untouched():
    net = nn.Sequential(nn.BatchNorm1d(3, dtype=np.float64), nn.Dropout(0.5, rng=4))
    x = np.random.default_rng(0).standard_normal((5, 3))
    mean, var = net[0].running_mean.copy(), net[0].running_var.copy()
    rng_state = net[1].rng.bit_generator.state
    assert check_module(net, x).passed
    np.testing.assert_array_equal(net[0].running_mean, mean)
    np.testing.assert_array_equal(net[0].running_var, var)
    assert net[1].rng.bit_generator.state == rng_state


def test_check_loss_passes_and_catches_a_wrong_gradient(monkeypatch):
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert check_loss(nn.MSELoss(), z, y).passed
    monkeypatch.setattr(
        nn.MSELoss, "backward", lambda self, dloss=1.0: self.residuals.diff
    )  # no 1/m
    report = check_loss(nn.MSELoss(), z, y)
    assert not report.passed and report.subject == "MSELoss"


def _reports():
    ok = GradReport("Linear(3→2)", [TensorCheck("weight", (2, 3), 1e-11, 2e-10, 1e-6)])
    bad = GradReport("Tanh()", [TensorCheck("x", (4,), 0.5, 0.25, 1e-6, (1,))])
    return ok, bad


def test_report_table_format():
    ok, bad = _reports()
    lines = format_table([ok, bad]).splitlines()
    header = ["subject", "tensor", "shape", "max abs err", "max rel err", "status"]
    offsets = [lines[0].index(h) for h in header]
    assert offsets[0] == 0 and offsets == sorted(offsets)
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["Linear(3→2)", "weight", "2x3", "1.00e-11", "2.00e-10", "ok"]
    assert lines[3].split() == ["Tanh()", "x", "4", "5.00e-01", "2.50e-01", "FAIL"]
    # columns line up: every cell of a column starts at the same offset
    starts = [line.index(cell) for line, cell in zip(lines[2:], ["weight", "x"], strict=True)]
    assert starts[0] == starts[1] == lines[0].index("tensor")
    assert all(line == line.rstrip() for line in lines)


def test_report_passed_and_summary_line():
    ok, bad = _reports()
    assert ok.passed and not bad.passed
    assert summary_line([ok], 1e-6).startswith("ok: all 1 gradients of 1 cases")
    line = summary_line([ok, bad], 1e-6)
    assert line.startswith("FAIL: 1 of 2 gradients") and line.endswith("Tanh()")
    assert GradReport("scalar", [TensorCheck("s", (), 0, 0, 1)]).rows()[0][2] == "scalar"
