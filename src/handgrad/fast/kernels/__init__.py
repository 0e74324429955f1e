"""Compiled kernels, one module per formula they replace.

A kernel computes in one compiled pass (Numba, `handgrad.fast.compiled.jit`) what a
chain of readable layers, losses or an optimiser of `handgrad.nn` / `handgrad.optim`
computes with one NumPy pass per operation. Every module here declares, in its
``KERNELS`` tuple, each kernel it defines and the readable formula it replaces, as a
`Kernel` record: ``formula`` runs the readable classes, ``run`` the kernel, on the same
inputs from ``example``, and both return the same named arrays.
tests/fast/test_kernels.py runs every declaration of every module (float64 to 1e-12,
float32 within rounding, ``exact`` ones bit for bit) and fails on a compiled function
that no declaration names (a module lists the compiled helpers its kernels call, which
replace no formula of their own, in ``HELPERS``).

Where a new kernel goes: a new module ``kernels/<formula>.py`` with its ``KERNELS``,
called from the step of the model it serves (`handgrad.fast.steps`); nothing else
changes. Arrays are 2-D (m rows, C-contiguous) and overwritten in place where a
docstring says so. Sums over a row or over the batch accumulate in float64 and in a
fixed order, so a result never depends on anything but the inputs.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from handgrad.nn.module import Parameter
from handgrad.optim import FLUSH_EVERY

Arrays = dict[str, np.ndarray | float | int]


@dataclass(frozen=True)
class Kernel:
    """One compiled kernel and the readable formula it replaces.

    kernels: the compiled functions this declaration covers (what ``run`` calls).
    replaces: the readable formula, in words, naming its classes (for readers and errors).
    example(rng, dtype) → inputs: a tuple of arguments for ``formula`` and ``run``.
    formula(*inputs) → named outputs, computed with the readable classes.
    run(*inputs) → the same named outputs, computed by the kernel (on copies).
    exact: the kernel must equal the formula bit for bit (same operations, same order).
    """

    kernels: tuple[Callable, ...]
    replaces: str
    example: Callable[[np.random.Generator, type], tuple]
    formula: Callable[..., Arrays]
    run: Callable[..., Arrays]
    exact: bool = False


def modules() -> list[ModuleType]:
    """Every kernel module of this package, imported (compiling their kernels once per
    machine: the machine code is cached on disk)."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]


def randn(rng: np.random.Generator, dtype: type, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Standard normal draws of ``dtype`` times ``scale``: the examples' inputs."""
    return (scale * rng.standard_normal(shape)).astype(dtype)


def update_of(optimizer: object) -> Callable | None:
    """The compiled step of ``optimizer``'s exact class (``update(optimizer, s)``, equal
    to ``optimizer.step(s)`` bit for bit), from the ``UPDATES`` of the kernel modules;
    None if no kernel computes it (a subclass, e.g. a test's variant, is not matched)."""
    return _updates().get(type(optimizer))


@functools.cache
def _updates() -> dict[type, Callable]:
    return {k: v for module in modules() for k, v in getattr(module, "UPDATES", {}).items()}


def optimizer_runs(update: Callable, dtype: type, optimizer: type, lr: float,
                   settings: tuple[dict, ...], scales: tuple[float, ...]) -> Arrays:  # fmt: skip
    """The optimiser kernels' example: for every keyword set in ``settings`` and every
    gradient scale s in ``scales``, the parameters and state after `FLUSH_EVERY` + 2
    steps of ``optimizer(params, lr=lr, **settings)`` updated by ``update(opt, s)`` on
    fixed random gradients of s · L whose first rows are 0 (state that decays towards
    the flush), keyed "name (settings, scale s)"."""
    runs: Arrays = {}
    for kwargs in settings:
        for scale in scales:
            rng = np.random.default_rng(5)
            ps = [Parameter(randn(rng, dtype, *shape)) for shape in [(6, 5), (5,)]]
            opt = optimizer(ps, lr=lr, **kwargs)
            for _ in range(FLUSH_EVERY + 2):
                for p in ps:
                    p.grad = randn(rng, dtype, *p.shape, scale=scale)
                    p.grad[0] = 0
                update(opt, scale)
            state = {**{f"θ{i}": p.data for i, p in enumerate(ps)}, **opt.state_dict()}
            runs.update({f"{k} ({kwargs}, scale {scale})": v for k, v in state.items()})
    return runs
