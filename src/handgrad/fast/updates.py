"""Fast versions of the optimisers of `handgrad.optim`: the same update, cheaper.

Three tricks, each measured on the training loops, none changing the formula:

- **No temporaries.** Every intermediate goes through ``out=`` into a per-parameter
  scratch buffer (work space, never saved), and Python-float scalars keep float32
  arrays float32. Adam's algebra is regrouped to save passes (`adam_update`) and run in
  cache-sized blocks (`blocks`), so each array is read from memory once per step.
- **The learning rate folded into the backward pass.** Every gradient is linear in the
  seed dL of the backward pass, so a loop may seed it with ``dL = opt.grad_scale`` and
  call ``opt.step(grad_scale=opt.grad_scale)``. For plain SGD the scale is the learning
  rate, the gradients come out as lr · ∇ and the update is the single pass θ ← θ − g
  (instead of a multiply and a subtract per parameter); every other optimiser has
  scale 1. ``step(grad_scale=s)`` is right for any s: it divides the gradients by s first.
- **Subnormal flushing.** A weight whose gradient is exactly 0 for many steps (an MNIST
  border pixel's) has its momentum or Adam moment decay geometrically, m ← β m, through
  the subnormal range below ~1e-38 (float32), where x86 arithmetic takes a slow
  microcode path: on the MNIST VAE this doubled the time of an Adam step within three
  epochs. Every `FLUSH_EVERY` steps, state entries below `flush_threshold` (24 binary
  orders of magnitude above the subnormal range) are set to 0 — the step they would have
  made is more than 20 orders of magnitude below the weight's rounding — so they never
  get there. Frameworks do the same in hardware (flush-to-zero, as in TensorFlow and JAX).

tests/fast/test_updates.py proves `FastSGD` and `FastAdam` equal to `handgrad.optim`'s
formulas (bit for bit for SGD, to rounding for Adam's regrouped algebra).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from handgrad.fast.engine import FastVersion
from handgrad.optim import SGD, Adam, Optimizer, _positive

FLUSH_EVERY = 16

BLOCK = 1 << 16
"""Elements per block of an elementwise update: the five arrays of a float32 block
(1.25 MB) stay in a core's L2 cache through all the passes of the update."""


def flush_threshold(dtype: np.dtype) -> float:
    """|x| below this is set to 0 in optimiser state: 2²⁴ × the smallest normal number."""
    return float(np.finfo(dtype).tiny) * 2.0**24


def flush_tiny(a: np.ndarray, scratch: np.ndarray) -> None:
    """Set the entries of ``a`` with |a| < `flush_threshold` to 0, in place (no allocation:
    ``scratch`` takes the mask as 0/1 values)."""
    np.abs(a, out=scratch)
    np.greater_equal(scratch, flush_threshold(a.dtype), out=scratch)
    a *= scratch


class FastOptimizer(FastVersion):
    """What the fast optimisers share: scratch buffers, and steps on scaled gradients."""

    params: list
    scratch: list[np.ndarray]

    @classmethod
    def adopt(cls, obj: object) -> None:
        super().adopt(obj)
        obj.scratch = [np.empty_like(p.data) for p in obj.params]  # work space, not state

    @property
    def grad_scale(self) -> float:
        """The seed dL of the backward pass that makes `step` cheapest: 1 here."""
        return 1.0

    def _unscale(self, grad_scale: float) -> None:
        """Divide every gradient by ``grad_scale`` in place (nothing to do for 1)."""
        if grad_scale != 1.0:
            inverse = 1.0 / _positive("grad_scale", grad_scale)
            for p in self.params:
                p.grad *= inverse


class FastSGD(FastOptimizer, SGD):
    """`handgrad.optim.SGD`, in place; plain SGD takes gradients of lr · L (`grad_scale`)."""

    @property
    def grad_scale(self) -> float:
        """lr for plain SGD: gradients of lr · L make the update θ ← θ − g."""
        return 1.0 if (self.weight_decay or self.momentum) else self.lr

    def step(self, grad_scale: float = 1.0) -> None:  # type: ignore[override]
        """`SGD.step` for gradients of ``grad_scale`` · L."""
        self.t += 1
        if not (self.weight_decay or self.momentum):  # plain SGD, the reference run's
            # θ ← θ − (lr / s) · (s ∇); with s = lr (`grad_scale`) that is one subtraction.
            lr = self.lr / _positive("grad_scale", grad_scale)
            for p, s in zip(self.params, self.scratch, strict=True):
                if lr == 1.0:
                    p.data -= p.grad
                else:
                    np.multiply(p.grad, lr, out=s)
                    p.data -= s
            return
        self._unscale(grad_scale)
        for i, (p, s) in enumerate(zip(self.params, self.scratch, strict=True)):
            data, g = p.data, p.grad
            if self.weight_decay:
                np.multiply(data, self.weight_decay, out=s)
                s += g
                g = s
            if self.momentum:
                v = self.velocity[i]
                v *= self.momentum
                v += g
                if self.nesterov:  # s may hold g already; the μ v temporary is off the hot path
                    g = np.add(g, self.momentum * v, out=s)
                else:
                    g = v
            np.multiply(g, self.lr, out=s)
            data -= s
            if self.momentum and self.t % FLUSH_EVERY == 0:
                flush_tiny(self.velocity[i], s)


class FastAdam(FastOptimizer, Adam):
    """`handgrad.optim.Adam` with its algebra regrouped (`adam_update`), in blocks."""

    def step(self, grad_scale: float = 1.0) -> None:  # type: ignore[override]
        """`Adam.step` for gradients of ``grad_scale`` · L."""
        self._unscale(grad_scale)
        self.t += 1
        c1 = 1 - self.b1**self.t
        c2 = 1 - self.b2**self.t
        if self.weight_decay:
            for p in self.params:
                p.data *= 1 - self.lr * self.weight_decay
        # lr · m̂ / (√v̂ + ε) = k · m / (√v + ε √c2) with k = lr √c2 / c1: one pass fewer.
        eps, k = self.eps * math.sqrt(c2), self.lr * math.sqrt(c2) / c1
        for p, m, v, s in zip(self.params, self.m, self.v, self.scratch, strict=True):
            for block in blocks(p.data, p.grad, m, v, s):
                adam_update(*block, b1=self.b1, b2=self.b2, eps=eps, k=k)
            if self.t % FLUSH_EVERY == 0:
                flush_tiny(m, s)
                flush_tiny(v, s)


def blocks(*arrays: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Matching flat slices of ``BLOCK`` elements of same-shaped contiguous arrays (the
    arrays themselves when small or not contiguous). A multi-pass elementwise update run
    block by block reads each array from memory once instead of once per pass."""
    size = arrays[0].size
    if size <= BLOCK or not all(a.flags.c_contiguous for a in arrays):
        return [arrays]
    flat = [a.reshape(-1) for a in arrays]  # views: the arrays are contiguous
    return [tuple(a[i : i + BLOCK] for a in flat) for i in range(0, size, BLOCK)]


def adam_update(
    data: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    s: np.ndarray,
    *,
    b1: float,
    b2: float,
    eps: float,
    k: float,
) -> None:
    """The in-place Adam update of one parameter (or matching slices), with scratch s:

    m ← b1 (m − g) + g  = b1 m + (1 − b1) g
    v ← b2 (v − g²) + g² = b2 v + (1 − b2) g²
    θ ← θ − k · m / (√v + eps)
    """
    m -= g
    m *= b1
    m += g
    np.multiply(g, g, out=s)
    v -= s
    v *= b2
    v += s
    np.sqrt(v, out=s)
    s += eps
    np.divide(m, s, out=s)
    s *= k
    data -= s


def step_folding_lr(optimizer: Optimizer, backward: Callable[[float], object]) -> None:
    """One update, with the learning rate folded into the backward pass where the optimiser
    allows it: zero the gradients, run ``backward(dL)`` (which seeds the loss's backward
    with dL), then step. dL is ``optimizer.grad_scale`` for a fast optimiser (the learning
    rate for plain `FastSGD`), 1 for a plain one."""
    optimizer.zero_grad()
    if isinstance(optimizer, FastOptimizer):
        scale = optimizer.grad_scale
        backward(scale)
        optimizer.step(grad_scale=scale)
    else:
        backward(1.0)
        optimizer.step()


FAST_OPTIMIZERS: dict[type[Optimizer], type[FastOptimizer]] = {SGD: FastSGD, Adam: FastAdam}
