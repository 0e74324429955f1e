"""Inverted dropout: y = x ⊙ M, M_j = 0 with probability p, else 1/(1 − p)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.init import RngLike, as_rng
from handgrad.nn.module import Module, check_grad

_DRAW_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class DropoutResiduals(NamedTuple):
    """What `Dropout.backward` needs: the mask M (shape and dtype of x; None when no mask
    was applied: eval mode or p = 0) and the input's shape."""

    mask: np.ndarray | None
    shape: tuple[int, ...]


class Dropout(Module):
    """Zero each entry with probability p in training mode; identity in eval mode.

    Shapes: x (any) → y (same). The mask M of the last forward is ``residuals.mask``
    (entries 0 or 1/(1−p), dtype of x). Because surviving entries are scaled by
    1/(1−p), E[y] = x and nothing changes at evaluation time. The uniforms behind the
    mask are drawn from ``rng`` in the dtype of x (float32 or float64), or in
    ``uniforms`` if given, so one seed gives one mask per dtype.
    """

    def __init__(
        self, p: float = 0.5, *, rng: RngLike = None, uniforms: np.dtype | type | None = None
    ):
        if not 0.0 <= p < 1.0:
            raise HandgradError(f"dropout p must be in [0, 1), got {p}; use e.g. p=0.5")
        self.p = float(p)
        self.rng = as_rng(rng)
        self.uniforms = None if uniforms is None else np.dtype(uniforms)

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """y = x ⊙ M in training mode (M drawn, or ``mask`` if given); y = x in eval mode.

        ``mask`` (shape of x, entries 0 or 1/(1 − p)) fixes M, e.g. for a gradient check.
        """
        if not self.training or (self.p == 0.0 and mask is None):
            self.residuals = DropoutResiduals(None, x.shape)
            return x
        mask = self._draw(x) if mask is None else self._checked(mask, x)
        self.residuals = DropoutResiduals(mask, x.shape)
        return x * mask

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dx = dy ⊙ M   (dx = dy when no mask was applied).  Shapes: dy, M, dx as x."""
        r = self.residuals
        check_grad(self, dy, r and r.shape)
        if not input_grad:
            return None
        return dy if r.mask is None else dy * r.mask

    def _draw(self, x: np.ndarray) -> np.ndarray:
        """A fresh mask for x: 1[u ≥ p] / (1 − p), u ~ U[0, 1)."""
        draw = self.uniforms or (x.dtype if x.dtype in _DRAW_DTYPES else np.dtype(np.float64))
        keep = self.rng.random(x.shape, dtype=draw) >= self.p
        return keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))

    def _checked(self, mask: np.ndarray, x: np.ndarray) -> np.ndarray:
        """A given mask, checked to fit x and to hold only 0 and 1/(1 − p)."""
        keep_scale = 1.0 / (1.0 - self.p)
        mask = np.asarray(mask)
        if mask.shape != x.shape:
            raise HandgradError(f"dropout mask must have shape {x.shape}, got {mask.shape}")
        ok = np.isclose(mask, 0.0) | np.isclose(mask, keep_scale)
        if not ok.all():
            raise HandgradError(
                f"dropout mask entries must be 0 or 1/(1 − p) = {keep_scale:g} for p = {self.p}; "
                f"found {mask[~ok].flat[0]!r}"
            )
        return mask.astype(x.dtype, copy=False)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
