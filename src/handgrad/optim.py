"""Optimisers (SGD with momentum and weight decay, Adam) and learning-rate schedules.

Every optimiser updates ``Parameter.data`` in place from ``Parameter.grad`` and keeps
its state (momentum buffers, Adam moments, step count) in NumPy arrays that
`state_dict` / `load_state_dict` save and restore exactly, for bit-identical resumes.

The updates run in the training hot loop, so they allocate nothing: every intermediate
goes through ``out=`` into a per-parameter scratch buffer, and Python-float scalars keep
float32 arrays float32. ``zero_grad`` only marks each gradient as zero
(`Parameter.zero_grad`); the next backward writes it instead of adding to it.

Folding the learning rate into the backward pass: every gradient is linear in the
seed dL of the backward pass, so a loop may seed it with ``dL = opt.grad_scale`` and
call ``opt.step(grad_scale=opt.grad_scale)``. For plain SGD the scale is the learning
rate, the gradients come out as lr · ∇ and the update is the single pass θ ← θ − g
(instead of a multiply and a subtract per parameter); every other optimiser has scale
1. ``step(grad_scale=s)`` is correct for any s: it divides the gradients by s first.

Subnormal numbers: a weight whose gradient is exactly 0 for many steps (an MNIST border
pixel's) has its momentum or Adam moment decay geometrically, m ← β m, through the
subnormal range below ~1e-38 (float32), where x86 arithmetic takes a slow microcode
path: on the MNIST VAE this doubled the time of an Adam step within three epochs.
Every `FLUSH_EVERY` steps, state entries below `flush_threshold` (24 binary orders of
magnitude above the subnormal range) are set to 0 — the step they would have made is
more than 20 orders of magnitude below the weight's rounding — so they never get
there. Frameworks do the same in hardware (flush-to-zero, as in TensorFlow and JAX).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.module import Module, Parameter

FLUSH_EVERY = 16


def flush_threshold(dtype: np.dtype) -> float:
    """|x| below this is set to 0 in optimiser state: 2²⁴ × the smallest normal number."""
    return float(np.finfo(dtype).tiny) * 2.0**24


def flush_tiny(a: np.ndarray, scratch: np.ndarray) -> None:
    """Set the entries of ``a`` with |a| < `flush_threshold` to 0, in place (no allocation:
    ``scratch`` takes the mask as 0/1 values)."""
    np.abs(a, out=scratch)
    np.greater_equal(scratch, flush_threshold(a.dtype), out=scratch)
    a *= scratch


def _positive(name: str, value: float) -> float:
    if not (value > 0 and math.isfinite(value)):
        raise HandgradError(f"{name} must be a positive number, got {value}")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if not (value >= 0 and math.isfinite(value)):
        raise HandgradError(f"{name} must be ≥ 0, got {value}")
    return float(value)


class Optimizer:
    """Base class: holds the parameters, the current ``lr``, and named state arrays."""

    def __init__(self, params: Sequence[Parameter], lr: float):
        self.params = [] if isinstance(params, Module) else list(params)
        if not self.params:
            raise HandgradError(
                "the optimiser got no parameters to update; pass model.parameters()"
            )
        if not all(isinstance(p, Parameter) for p in self.params):
            raise HandgradError(
                "the optimiser takes Parameter objects; pass model.parameters(), not the model"
            )
        self.lr = _positive("learning rate", lr)
        self.base_lr = self.lr
        self.t = 0
        # Work space for the updates (not state: never saved).
        self.scratch = [np.empty_like(p.data) for p in self.params]

    def _state(self) -> list[np.ndarray]:
        """A zeroed state buffer per parameter (momentum, Adam moments)."""
        return [np.zeros_like(p.data) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    @property
    def grad_scale(self) -> float:
        """The seed dL of the backward pass that makes `step` cheapest (see the module
        docstring): 1 here; the learning rate for plain SGD."""
        return 1.0

    def step(self, grad_scale: float = 1.0) -> None:
        """Update every parameter from its gradient, which is of ``grad_scale`` · L
        (the backward pass was seeded with dL = grad_scale)."""
        raise NotImplementedError

    def _unscale(self, grad_scale: float) -> None:
        """Divide every gradient by ``grad_scale`` in place (nothing to do for 1)."""
        if grad_scale != 1.0:
            inverse = 1.0 / _positive("grad_scale", grad_scale)
            for p in self.params:
                p.grad *= inverse

    def _state_arrays(self) -> dict[str, list[np.ndarray]]:
        return {}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat dict of arrays: ``lr``, ``t`` and each state buffer as ``name.i``."""
        state: dict[str, np.ndarray] = {"lr": np.array(self.lr), "t": np.array(self.t)}
        for name, arrays in self._state_arrays().items():
            for i, a in enumerate(arrays):
                state[f"{name}.{i}"] = a.copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what `state_dict` saved; raises `HandgradError` if it does not fit."""
        expected = self.state_dict()
        missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or extra:
            raise HandgradError(
                f"optimiser state does not fit {type(self).__name__}: missing "
                f"{missing or 'none'}, unexpected {extra or 'none'}; was it saved by another "
                "optimiser or settings?"
            )
        for key, a in expected.items():
            if np.shape(state[key]) != a.shape:
                raise HandgradError(
                    f"optimiser state does not fit: {key} has shape {np.shape(state[key])}, "
                    f"expected {a.shape}"
                )
        self.lr = float(state["lr"])
        self.t = int(state["t"])
        for name, arrays in self._state_arrays().items():
            for i, a in enumerate(arrays):
                a[...] = state[f"{name}.{i}"]


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation.

    g = ∇ + λ θ;  v ← μ v + g;  θ ← θ − lr · v   (or θ − lr · (g + μ v) with Nesterov).
    With μ = 0 this is plain θ ← θ − lr · g.
    """

    def __init__(
        self,
        params: Sequence[Parameter],
        lr: float = 0.1,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        super().__init__(params, lr)
        self.momentum = _non_negative("momentum", momentum)
        if self.momentum >= 1:
            raise HandgradError(f"momentum must be in [0, 1), got {momentum}")
        self.weight_decay = _non_negative("weight decay", weight_decay)
        if nesterov and not self.momentum:
            raise HandgradError("Nesterov SGD needs momentum > 0; pass e.g. momentum=0.9")
        self.nesterov = nesterov
        self.velocity = self._state() if self.momentum else []

    def _state_arrays(self) -> dict[str, list[np.ndarray]]:
        return {"velocity": self.velocity}

    @property
    def grad_scale(self) -> float:
        """lr for plain SGD: gradients of lr · L make the update θ ← θ − g."""
        return 1.0 if (self.weight_decay or self.momentum) else self.lr

    def step(self, grad_scale: float = 1.0) -> None:
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


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with optional decoupled weight decay (AdamW).

    m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
    θ ← θ − lr · m̂ / (√v̂ + ε),  m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
    """

    def __init__(
        self,
        params: Sequence[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise HandgradError(f"Adam betas must be in [0, 1), got {betas}")
        self.b1, self.b2, self.eps = float(b1), float(b2), _positive("eps", eps)
        self.weight_decay = _non_negative("weight decay", weight_decay)
        self.m = self._state()
        self.v = self._state()

    def _state_arrays(self) -> dict[str, list[np.ndarray]]:
        return {"m": self.m, "v": self.v}

    def step(self, grad_scale: float = 1.0) -> None:
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
            for block in _blocks(p.data, p.grad, m, v, s):
                _adam_update(*block, b1=self.b1, b2=self.b2, eps=eps, k=k)
            if self.t % FLUSH_EVERY == 0:
                flush_tiny(m, s)
                flush_tiny(v, s)


# Elements per block of an elementwise update: the five arrays of a float32 block
# (1.25 MB) stay in a core's L2 cache through all the passes of the update.
BLOCK = 1 << 16


def _blocks(*arrays: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """Matching flat slices of ``BLOCK`` elements of same-shaped contiguous arrays (the
    arrays themselves when small or not contiguous). A multi-pass elementwise update run
    block by block reads each array from memory once instead of once per pass."""
    size = arrays[0].size
    if size <= BLOCK or not all(a.flags.c_contiguous for a in arrays):
        return [arrays]
    flat = [a.reshape(-1) for a in arrays]  # views: the arrays are contiguous
    return [tuple(a[i : i + BLOCK] for a in flat) for i in range(0, size, BLOCK)]


def _adam_update(
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


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


class Schedule:
    """Base class of per-epoch schedules: call `step()` once at the end of each epoch."""

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        """Advance one epoch and set the optimiser's learning rate; returns it."""
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)
        return self.optimizer.lr

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"epoch": np.array(self.epoch)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        if "epoch" not in state:
            raise HandgradError("schedule state has no 'epoch'; pass what state_dict() returned")
        self.epoch = int(state["epoch"])
        self.optimizer.lr = self.lr_at(self.epoch)


class ConstantLR(Schedule):
    """lr(e) = lr₀."""

    def lr_at(self, epoch: int) -> float:
        return self.optimizer.base_lr


class StepLR(Schedule):
    """lr(e) = lr₀ · γ^⌊e / step⌋; StepLR(step=20, gamma=0.1) is the reference run's."""

    def __init__(self, optimizer: Optimizer, step: int = 20, gamma: float = 0.1):
        super().__init__(optimizer)
        if step < 1:
            raise HandgradError(f"schedule step must be ≥ 1 epoch, got {step}")
        self.step_size = int(step)
        self.gamma = _positive("schedule gamma", gamma)

    def lr_at(self, epoch: int) -> float:
        return self.optimizer.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(Schedule):
    """lr(e) = lr_min + ½ (lr₀ − lr_min)(1 + cos(π e / E)) over E total epochs."""

    def __init__(self, optimizer: Optimizer, total_epochs: int, min_lr: float = 0.0):
        super().__init__(optimizer)
        if total_epochs < 1:
            raise HandgradError(f"cosine schedule needs total epochs ≥ 1, got {total_epochs}")
        self.total_epochs = int(total_epochs)
        self.min_lr = _non_negative("minimum learning rate", min_lr)

    def lr_at(self, epoch: int) -> float:
        e = min(epoch, self.total_epochs)
        cos = 0.5 * (1 + math.cos(math.pi * e / self.total_epochs))
        return self.min_lr + (self.optimizer.base_lr - self.min_lr) * cos
