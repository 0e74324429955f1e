"""Optimisers (SGD with momentum and weight decay, Adam) and learning-rate schedules,
written as their formulas.

Every optimiser updates ``Parameter.data`` in place from ``Parameter.grad`` and keeps
its state (momentum buffers, Adam moments, step count) in NumPy arrays that
`state_dict` / `load_state_dict` save and restore exactly, for bit-identical resumes.

The arithmetic is arranged for speed without changing the formula: plain SGD takes the
gradients of lr · L (`Optimizer.grad_scale`: a training step seeds its backward pass
with it) and subtracts them; Adam is regrouped to save passes (`Adam.constants`); tiny
state is flushed to 0 every `FLUSH_EVERY` steps. The compiled kernels of
`handgrad.fast.kernels` do the same operations in the same order, and
tests/fast/test_kernels.py proves them equal bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.module import Module, Parameter


def _positive(name: str, value: float) -> float:
    if not (value > 0 and math.isfinite(value)):
        raise HandgradError(f"{name} must be a positive number, got {value}")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if not (value >= 0 and math.isfinite(value)):
        raise HandgradError(f"{name} must be ≥ 0, got {value}")
    return float(value)


FLUSH_EVERY = 16
"""Every this many steps, optimiser state below `flush_threshold` is set to 0.

A weight whose gradient is exactly 0 for many steps (an MNIST border pixel's) has its
momentum or Adam moment decay geometrically, m ← β m, into the subnormal range below
~1e-38 (float32), where x86 arithmetic takes a slow microcode path (on the MNIST VAE it
doubled the time of an Adam step within three epochs). The step such an entry would
make is more than 20 orders of magnitude below the weight's rounding, so setting it to
0 changes nothing a float can show; frameworks flush in hardware (flush-to-zero)."""


def flush_threshold(dtype: np.dtype) -> float:
    """|x| below this is set to 0 in optimiser state: 2²⁴ × the smallest normal number."""
    return float(np.finfo(dtype).tiny) * 2.0**24


def flush_tiny(a: np.ndarray) -> None:
    """Set the entries of ``a`` with |a| < `flush_threshold` to 0, in place."""
    a *= np.abs(a) >= flush_threshold(a.dtype)


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

    def _state(self) -> list[np.ndarray]:
        """A zeroed state buffer per parameter (momentum, Adam moments)."""
        return [np.zeros_like(p.data) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    @property
    def grad_scale(self) -> float:
        """The seed dL of the backward pass this optimiser's `step` is cheapest for: its
        ``step(grad_scale=s)`` takes the gradients of s · L. 1 unless a subclass says."""
        return 1.0

    def _unscale(self, grad_scale: float) -> None:
        """Divide every gradient by ``grad_scale`` in place (nothing to do for 1)."""
        if grad_scale != 1.0:
            inverse = 1.0 / _positive("grad_scale", grad_scale)
            for p in self.params:
                p.grad *= inverse

    def step(self, grad_scale: float = 1.0) -> None:
        """Update every parameter from its gradient, the gradient of ``grad_scale`` · L."""
        raise NotImplementedError

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
    With μ = 0 and λ = 0 this is plain θ ← θ − lr · g, and `grad_scale` is lr: a
    training step seeds its backward pass with dL = lr, so the gradients arrive as
    G = ∇(lr · L) and the update is the single subtraction θ ← θ − G.
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

    @property
    def plain(self) -> bool:
        """No momentum and no weight decay: θ ← θ − lr · g."""
        return not (self.weight_decay or self.momentum)

    @property
    def grad_scale(self) -> float:
        """lr for plain SGD (its update is then θ ← θ − G), 1 otherwise."""
        return self.lr if self.plain else 1.0

    def _state_arrays(self) -> dict[str, list[np.ndarray]]:
        return {"velocity": self.velocity}

    def step(self, grad_scale: float = 1.0) -> None:
        """g = ∇ + λ θ;  v ← μ v + g;  θ ← θ − lr · v  (θ − lr · (g + μ v) with Nesterov),
        for gradients G = s ∇ of s · L (s = ``grad_scale``); every `FLUSH_EVERY` steps
        velocity entries below `flush_threshold` become 0."""
        self.t += 1
        if self.plain:  # θ ← θ − (lr / s) · G: one subtraction when s = lr
            lr = self.lr / _positive("grad_scale", grad_scale)
            for p in self.params:
                p.data -= p.grad if lr == 1.0 else lr * p.grad
            return
        self._unscale(grad_scale)
        flush = self.momentum and self.t % FLUSH_EVERY == 0
        for i, p in enumerate(self.params):
            g = p.grad
            if self.weight_decay:
                g = p.data * self.weight_decay + g
            if self.momentum:
                v = self.velocity[i]
                v *= self.momentum
                v += g  # v ← μ v + g, in the state array
                g = g + self.momentum * v if self.nesterov else v
            p.data -= g * self.lr
            if flush:
                flush_tiny(self.velocity[i])


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

    def constants(self) -> tuple[float, float, float]:
        """(decay, eps', k) of this step t: with c1 = 1 − β1^t, c2 = 1 − β2^t,
        lr · m̂ / (√v̂ + ε) = k · m / (√v + eps') for k = lr √c2 / c1 and eps' = ε √c2
        (one pass fewer than forming m̂ and v̂); decay = 1 − lr λ (AdamW)."""
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        return (
            1 - self.lr * self.weight_decay,
            self.eps * math.sqrt(c2),
            self.lr * math.sqrt(c2) / c1,
        )

    def step(self, grad_scale: float = 1.0) -> None:
        """For gradients of s · L (s = ``grad_scale``), with g = ∇:
        AdamW's decay θ ← θ (1 − lr λ), then m ← g + β1 (m − g) (= β1 m + (1−β1) g),
        v ← g² + β2 (v − g²), θ ← θ − k · m / (√v + eps') (see `constants`); every
        `FLUSH_EVERY` steps m and v entries below `flush_threshold` become 0."""
        self._unscale(grad_scale)
        self.t += 1
        decay, eps, k = self.constants()
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            g = p.grad
            if self.weight_decay:
                p.data *= decay
            m -= g
            m *= self.b1
            m += g
            g2 = g * g
            v -= g2
            v *= self.b2
            v += g2
            s = np.sqrt(v)
            s += eps
            np.divide(m, s, out=s)
            s *= k
            p.data -= s
            if self.t % FLUSH_EVERY == 0:
                flush_tiny(m)
                flush_tiny(v)


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
