"""Helpers shared by the layer tests, as session fixtures (safe with hypothesis).

``oracle``: compares a module's forward and hand-derived backward with the gradients
that the independent `autograd` engine computes for the same forward written in plain
(autograd-)NumPy. ``loss_oracle`` does the same for a loss. ``fd_check`` asserts that
`handgrad.gradcheck.check_module` passes.
"""

from __future__ import annotations

from collections.abc import Callable

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from handgrad.gradcheck import check_module, compare, format_table
from handgrad.nn.losses import Loss
from handgrad.nn.module import Module

ORACLE_RTOL = 1e-9
"""Largest relative error allowed between handgrad and autograd (float64)."""

ORACLE_ATOL = 1e-12
"""Absolute errors up to this pass whatever the relative error: float64 round-off on the
O(1) terms of these tests is ~1e-16, and a gradient that is a near-total cancellation of
such terms (batch norm's ∂/∂x at m = 2 came out at 2e-4, with an error of 2e-16 = 1e-9
relative) must not fail for its round-off alone."""


def _assert_close(name: str, analytic: np.ndarray, expected: np.ndarray, what: str) -> None:
    c = compare(name, analytic, np.asarray(expected), ORACLE_RTOL)
    assert c.passed or c.max_abs_err <= ORACLE_ATOL, (
        f"{what} ∂/∂{name}: max rel err {c.max_rel_err:.2e} (abs {c.max_abs_err:.2e}) "
        f"at {c.worst_index}"
    )


def module_oracle(
    module: Module,
    x: np.ndarray,
    reference: Callable[..., np.ndarray],
    dy: np.ndarray | None = None,
) -> None:
    """Assert module.forward == reference(x, *params) and backward == autograd's VJP.

    ``reference(x, p1, p2, …)`` takes the parameters in ``named_parameters`` order.
    """
    named = list(module.named_parameters())
    params = [p.data.copy() for _, p in named]
    expected_y = reference(x, *params)
    y = module.forward(x)
    np.testing.assert_allclose(y, expected_y, rtol=1e-12, atol=1e-12)
    if dy is None:
        dy = np.random.default_rng(7).standard_normal(y.shape)
    module.zero_grad()
    dx = module.backward(dy)

    def objective(*args: np.ndarray) -> float:
        return anp.sum(reference(*args) * dy)

    for i, (name, analytic) in enumerate([("x", dx)] + [(n, p.grad) for n, p in named]):
        _assert_close(name, analytic, grad(objective, i)(x, *params), repr(module))


def loss_oracle(
    loss: Loss,
    prediction: np.ndarray,
    target: np.ndarray,
    reference: Callable[[np.ndarray], float],
) -> None:
    """Assert loss.forward == reference(prediction) and loss.backward() == autograd's grad."""
    value = loss.forward(prediction, target)
    np.testing.assert_allclose(value, reference(prediction), rtol=1e-12, atol=1e-12)
    _assert_close("prediction", loss.backward(), grad(reference)(prediction), repr(loss))


def assert_fd(module: Module, x: np.ndarray, rtol: float = 1e-6) -> None:
    """Assert the module's backward agrees with central finite differences at x."""
    report = check_module(module, x, rtol=rtol)
    assert report.passed, "\n" + format_table([report])


@pytest.fixture(scope="session")
def oracle() -> Callable[..., None]:
    return module_oracle


@pytest.fixture(scope="session")
def loss_check() -> Callable[..., None]:
    return loss_oracle


@pytest.fixture(scope="session")
def fd_check() -> Callable[..., None]:
    return assert_fd
