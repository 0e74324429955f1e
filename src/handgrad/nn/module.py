"""The `Parameter` and `Module` base of every layer, and `Sequential`.

The layer contract (kept by every module in `handgrad.nn` and the models)::

    y  = layer.forward(x)     # saves what backward needs in layer.residuals, nothing more
    dx = layer.backward(dy)   # returns ∂L/∂x; *accumulates* ∂L/∂p into p.grad
    layer.backward(dy, input_grad=False)   # the same, but skips ∂L/∂x and returns None
    layer.parameters()        # list of Parameter (.data, .grad), children included
    layer.train() / layer.eval(); layer.zero_grad()

``residuals`` is a small named record (a `typing.NamedTuple` per layer, a dataclass for
a model) holding each saved quantity under its name in the derivation; it is None
before the first forward. Whether ∂L/∂x is computed is the caller's decision, made at
each call: training skips it for a layer fed with data (``input_grad=False``), a
gradient check asks for it. Any module passes `handgrad.gradcheck.check_module`.

Modules find their parameters and children by looking at their attributes (a
`Parameter`, a `Module`, or a list/tuple of modules), in definition order, like
micrograd's ``parameters()`` composes by concatenation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from handgrad.errors import HandgradError


class Parameter:
    """A trainable array and its gradient (same shape and dtype).

    Layers accumulate into it with ``p.grad += …``. ``zero_grad()`` is O(1): it marks
    the gradient as zero, and the zeros are written when ``grad`` is next read. A fast
    kernel can instead take the marked array with `take_zeroed_grad` and write its first
    contribution straight into it (`add_product`, `add_row_sum`), skipping a fill and a pass.
    """

    __slots__ = ("_grad", "_grad_is_zero", "data")

    def __init__(self, data: np.ndarray):
        self.data = data
        self._grad = np.zeros_like(data)
        self._grad_is_zero = False

    @property
    def grad(self) -> np.ndarray:
        if self._grad_is_zero:
            self._grad.fill(0)
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._grad = value
        self._grad_is_zero = False

    def zero_grad(self) -> None:
        """Set the gradient to zero (lazily)."""
        self._grad_is_zero = True

    def take_zeroed_grad(self) -> np.ndarray | None:
        """If the gradient is marked zero, its array (stale contents) for the caller to
        overwrite entirely, and the mark is cleared; otherwise None (then add to ``grad``)."""
        if self._grad_is_zero:
            self._grad_is_zero = False
            return self._grad
        return None

    def add_product(self, a: np.ndarray, b: np.ndarray) -> None:
        """grad += a @ b, written straight into a gradient marked zero (one pass, no
        temporary; 0 + v = v exactly).  Shapes: a (r, k), b (k, c) → grad (r, c)."""
        out = self.take_zeroed_grad()
        if out is None:
            self.grad += a @ b
        else:
            np.matmul(a, b, out=out)

    def add_row_sum(self, a: np.ndarray) -> None:
        """grad += Σ_rows a, written straight into a gradient marked zero.
        Shapes: a (m, c) → grad (c,)."""
        out = self.take_zeroed_grad()
        if out is None:
            self.grad += a.sum(axis=0)
        else:
            np.add.reduce(a, axis=0, out=out)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: a forward pass, a hand-derived backward pass, and parameters."""

    training: bool = True
    residuals: Any = None
    """What the last forward saved for backward: a named record, None before any."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """∂L/∂x for dy = ∂L/∂y of the last forward (None if not ``input_grad``);
        accumulates ∂L/∂p into every parameter's ``grad``."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # --- structure -------------------------------------------------------------
    def children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules as (name, module), in attribute order."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter of this module and its children, with a dotted name.

        A parameter shared by several modules is listed once, under its first name
        (a module's own parameters come before its children's)."""
        seen: set[int] = set()
        for name, p in self._all_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _all_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.children():
            yield from child._all_parameters(f"{prefix}{name}.")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and all its descendants, depth first."""
        yield self
        for _, child in self.children():
            yield from child.modules()

    # --- modes and gradients ---------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    @contextlib.contextmanager
    def mode(self, training: bool) -> Iterator[Module]:
        """Within the block this module (children included) is in training mode if
        ``training``, else in eval mode; afterwards in the mode it was in."""
        was = self.training
        self.train(training)
        try:
            yield self
        finally:
            self.train(was)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    # --- state -----------------------------------------------------------------
    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state saved with the weights (e.g. running statistics)."""
        return {}

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every buffer of this module and its descendants, with a dotted name; an array
        shared by several modules is listed once, under its first name."""
        seen: set[int] = set()
        for m_name, m in self._named_modules():
            for b_name, b in m.buffers().items():
                if id(b) not in seen:
                    seen.add(id(b))
                    yield f"{m_name}{b_name}", b

    def state_dict(self) -> dict[str, np.ndarray]:
        """Named copies of every parameter and buffer (e.g. for ``np.savez``)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, b.copy()) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into this module, checking names, shapes and dtypes first.

        Raises `HandgradError` naming the first mismatch; nothing is changed then.
        """
        targets: dict[str, np.ndarray] = {n: p.data for n, p in self.named_parameters()}
        targets.update(self.named_buffers())
        missing = sorted(set(targets) - set(state))
        extra = sorted(set(state) - set(targets))
        if missing or extra:
            raise HandgradError(
                f"weights do not fit this model: missing {missing or 'none'}, "
                f"unexpected {extra or 'none'}; check the model settings match the saved run"
            )
        for name, dst in targets.items():
            src = np.asarray(state[name])
            if src.shape != dst.shape:
                raise HandgradError(
                    f"weights do not fit this model: {name} has shape {src.shape}, "
                    f"the model expects {dst.shape}"
                )
            if not np.can_cast(src.dtype, dst.dtype, casting="same_kind"):
                raise HandgradError(
                    f"weights do not fit this model: {name} has dtype {src.dtype}, "
                    f"the model expects {dst.dtype}"
                )
        for name, dst in targets.items():
            dst[...] = state[name]

    def _named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self.children():
            yield from child._named_modules(f"{prefix}{name}.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def check_input(
    layer: Module,
    x: np.ndarray,
    ndim: int,
    features: int | None = None,
    dtype: np.dtype | None = None,
) -> None:
    """Raise a `HandgradError` naming the layer and both shapes (or dtypes) if ``x`` does not fit.

    ``ndim``: the rank the layer takes; ``features``: the size of the last axis, if fixed;
    ``dtype``: the dtype of the layer's parameters, which the input must share (no upcasts).
    """
    if not isinstance(x, np.ndarray):
        raise HandgradError(
            f"{layer!r} expects a NumPy array, got {type(x).__name__}; convert it with np.asarray"
        )
    if x.ndim != ndim or (features is not None and x.shape[-1] != features):
        want = f"(m, {features})" if ndim == 2 and features is not None else f"a {ndim}-D array"
        raise HandgradError(
            f"{layer!r} expects input of shape {want}, got {x.shape}; "
            "reshape the input or build the layer with matching sizes"
        )
    if dtype is not None and x.dtype != dtype:
        raise HandgradError(
            f"{layer!r} has {dtype} parameters but got {x.dtype} input; cast it with "
            f"x.astype(np.{dtype}) or build the layer with dtype=np.{x.dtype}"
        )


def check_grad(layer: Module, dy: np.ndarray, saved: np.ndarray | tuple[int, ...] | None) -> None:
    """Raise a `HandgradError` if ``backward(dy)`` cannot follow the last forward.

    ``saved`` is the output's shape, or a residual the forward pass stored with that
    shape (None if forward never ran); ``dy`` must be an array of exactly that shape.
    """
    if saved is None:
        raise HandgradError(f"{layer!r}.backward called before forward; run forward first")
    shape = saved if isinstance(saved, tuple) else saved.shape
    if not isinstance(dy, np.ndarray) or dy.shape != shape:
        got = dy.shape if isinstance(dy, np.ndarray) else type(dy).__name__
        raise HandgradError(
            f"{layer!r}.backward got dy of shape {got} but its forward output has shape "
            f"{shape}; pass the gradient of the output it returned"
        )


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse.

    forward:  y = f_k(… f_2(f_1(x)))
    backward: dx = f_1'ᵀ(… f_k'ᵀ(dy))
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise HandgradError(
                    f"Sequential item {i} is a {type(layer).__name__}, not a layer; "
                    "pass Module instances such as nn.Linear(...) or nn.ReLU()"
                )
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dx = f_1'ᵀ(… f_k'ᵀ(dy)); ``input_grad`` is passed to the first layer only."""
        if not self.layers:
            return dy if input_grad else None
        for layer in self.layers[:0:-1]:
            dy = layer.backward(dy)
        return self.layers[0].backward(dy, input_grad=input_grad)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential({inner})"
