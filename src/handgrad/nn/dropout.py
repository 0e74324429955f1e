"""Inverted dropout: y = x ⊙ M, M_j = 0 with probability p, else 1/(1 − p)."""

from __future__ import annotations

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.init import RngLike, as_rng
from handgrad.nn.module import Module, check_grad

_DRAW_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Dropout(Module):
    """Zero each entry with probability p in training mode; identity in eval mode.

    Shapes: x (any) → y (same). The mask of the last training forward is kept in
    ``self.mask`` (entries 0 or 1/(1−p), dtype of x; None when no mask was drawn).
    Because surviving entries are scaled by 1/(1−p), E[y] = x and nothing changes at
    evaluation time. The uniforms behind the mask are drawn from ``rng`` in the dtype
    of x (float32 or float64), so one seed gives one mask per dtype.
    """

    def __init__(self, p: float = 0.5, *, rng: RngLike = None):
        if not 0.0 <= p < 1.0:
            raise HandgradError(f"dropout p must be in [0, 1), got {p}; use e.g. p=0.5")
        self.p = float(p)
        self.rng = as_rng(rng)
        self.mask: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        if not self.training or self.p == 0.0:
            self.mask = None
            return x
        draw_dtype = x.dtype if x.dtype in _DRAW_DTYPES else np.dtype(np.float64)
        keep = self.rng.random(x.shape, dtype=draw_dtype) >= self.p
        self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ M   (identity when no mask was drawn)."""
        check_grad(self, dy, self._shape)
        return dy if self.mask is None else dy * self.mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
