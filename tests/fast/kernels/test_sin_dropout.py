"""The float32 path's branch-free sin and cos are within 1e-7 of the true values over the
whole range of its reduction, and the kernel takes NumPy's beyond it."""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit
from handgrad.fast.kernels.sin_dropout import _REDUCE_MAX, _sincos32, sin_dropout


@jit
def _sincos_all(x, s, c):
    for i in range(x.shape[0]):
        s[i], c[i] = _sincos32(x[i])


def test_sincos32_is_within_1e7_of_sin_and_cos_up_to_the_reduction_limit():
    limit = float(_REDUCE_MAX)
    x = np.concatenate([
        np.linspace(-limit, limit, 1_000_001), np.linspace(-7.0, 7.0, 200_001),
        np.arange(-5215, 5216) * (np.pi / 2),  # quadrant edges: k flips, r = ±π/4
        (np.arange(-5215, 5216) + 0.5) * (np.pi / 2), [0.0, -0.0, 1e-30, -1e-30],
    ]).astype(np.float32)  # fmt: skip
    s, c = np.empty_like(x), np.empty_like(x)
    _sincos_all(x, s, c)
    wide = x.astype(np.float64)
    np.testing.assert_allclose(s, np.sin(wide), rtol=0, atol=1e-7)
    np.testing.assert_allclose(c, np.cos(wide), rtol=0, atol=1e-7)


def test_entries_beyond_the_reduction_take_numpys_sin_and_cos():
    z = np.array([[9000.0, -3e5, 1e30, 1.0]], np.float32)
    b, mask = np.zeros(4, np.float32), np.full((1, 4), 2.0, np.float32)
    xdp, cm = np.empty_like(z), np.empty_like(z)
    sin_dropout(z, b, mask, xdp, cm, True)
    wide = z.astype(np.float64)
    np.testing.assert_array_equal(xdp[0, :3], (np.sin(wide) * 2).astype(np.float32)[0, :3])
    np.testing.assert_array_equal(cm[0, :3], (np.cos(wide) * 2).astype(np.float32)[0, :3])
    assert abs(xdp[0, 3] - 2 * np.sin(1.0)) < 2e-7
