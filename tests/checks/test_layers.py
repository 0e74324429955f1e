"""The layer-check catalogue: every layer and loss covered, all pass, a wrong backward fails."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from handgrad import nn
from handgrad.checks.layers import BATCH_SIZES, LAYER_CASES, LOSS_CASES, layer_reports
from handgrad.errors import HandgradError
from handgrad.nn.losses import Loss


@pytest.fixture(scope="module")
def reports():
    return layer_reports()


def test_every_case_passes_at_1e_6(reports):
    assert len(reports) == (len(LAYER_CASES) + len(LOSS_CASES)) * len(BATCH_SIZES)
    failed = [(r.subject, c.name, c.max_rel_err) for r in reports for c in r.checks if not c.passed]
    assert failed == []
    assert max(c.max_rel_err for r in reports for c in r.checks) <= 1e-6


def test_every_layer_and_loss_class_is_in_the_catalogue():
    # The VAE objective's pieces take several inputs; tests/nn/test_vae_losses.py checks
    # them, and check_module on the VAE checks them in place.
    exported = {
        obj
        for obj in vars(nn).values()
        if inspect.isclass(obj)
        and issubclass(obj, nn.Module)
        and obj not in (nn.Module, Loss)
        and obj.__module__ != "handgrad.nn.vae_losses"
    }
    rng = np.random.default_rng(0)
    covered = {type(m) for case in LAYER_CASES for m in case.make(np.float64, rng).modules()}
    covered |= {type(case.build()) for case in LOSS_CASES}
    assert exported <= covered, exported - covered


def test_batch_size_one_is_checked_and_every_parameter_reported(reports):
    assert 1 in BATCH_SIZES
    assert {r.subject.rsplit("m=", 1)[1] for r in reports} == {str(m) for m in BATCH_SIZES}
    linear = next(r for r in reports if r.subject == "Linear m=1")
    assert [c.name for c in linear.checks] == ["x", "weight", "bias"]


def test_relu_inputs_stay_away_from_the_kink():
    case = next(c for c in LAYER_CASES if c.name == "ReLU")
    x = case.input(500, np.float64, np.random.default_rng(0))
    assert np.abs(x).min() >= 0.1 and (x > 0).any() and (x < 0).any()


def test_same_seed_same_report(reports):
    again = layer_reports(seed=0)
    assert [r.rows() for r in again] == [r.rows() for r in reports]


def test_a_wrong_backward_fails_exactly_its_cases(monkeypatch):
    """Report 003's (1 − 1/m) factor in BN* is caught; every other layer still passes."""

    def factor_backward(self, dy):
        self.bias.grad += dy.sum(axis=0)
        return (1 - 1 / dy.shape[0]) * dy

    monkeypatch.setattr(nn.MeanCenter, "backward", factor_backward)
    failed = {r.subject for r in layer_reports() if not r.passed}
    # In train mode at m = 1 the output ignores x, so the wrong 0 = (1 − 1/1) dy is right there;
    # in eval mode the true dx = dy, so every batch size fails.
    assert failed == {
        "MeanCenter (train) m=3",
        "MeanCenter (train) m=6",
        "MeanCenter (eval) m=1",
        "MeanCenter (eval) m=3",
        "MeanCenter (eval) m=6",
    }


def test_bad_rtol_raises():
    with pytest.raises(HandgradError, match="rtol"):
        layer_reports(rtol=0)
