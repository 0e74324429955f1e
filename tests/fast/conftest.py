"""Shared helpers of the fused-kernel tests: the tolerance of each dtype."""

from __future__ import annotations

import numpy as np
import pytest

# float64: equal to the plain formula to 1e-12 relative; float32: within a few roundings.
RTOL = {np.float64: 1e-12, np.float32: 2e-6}
DTYPES = [np.float64, np.float32]


def assert_close(actual, expected, dtype, atol_scale: float = 0.0) -> None:
    """Equal to rtol of the dtype; atol (for entries that cancel towards 0) is rtol
    times ``atol_scale`` (the size of the terms that cancelled)."""
    rtol = RTOL[dtype]
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * atol_scale)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(17)
