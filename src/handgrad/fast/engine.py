"""The engines: what computes a training step, chosen by ``--engine auto|numpy|fused``.

Every engine answers one question, ``engine.step(model, loss, optimizer)``, with a
`Step` of the same interface, so a training loop never asks which engine it has::

    step = engine.step(model, loss_fn, optimizer)   # loss_fn None: the model's own objective
    for xb, yb in batches:
        out = step.forward(xb, yb)    # zero the gradients, forward pass and loss: out.loss
        step.update()                 # backward pass and the optimiser's step

* ``numpy`` (`PlainStep`): the readable formulas of `handgrad.nn`, `handgrad.models`
  and `handgrad.optim`, layer by layer; the reference.
* ``fused``: the same formulas in the compiled kernels of `handgrad.fast.kernels`: a
  whole fused step where `handgrad.fast.steps` has one for the model, and the
  optimiser's update as one pass per parameter. The matrix products stay in BLAS.

``auto`` (the default) is ``fused`` when its compiler Numba loads, else ``numpy``;
`resolve` turns the option into a name each time a run or its resume starts. The same
seed and engine give bit-identical runs, resumed or not; both engines draw the same
random numbers, so a seed gives the same run on either up to rounding.

Importing this module does not import Numba; the interface of a step is in
`handgrad.fast.step`.
"""

from __future__ import annotations

from handgrad.errors import HandgradError
from handgrad.fast.compiled import load_error
from handgrad.fast.step import PlainStep, Step
from handgrad.nn.losses import Loss
from handgrad.nn.module import Module
from handgrad.optim import Optimizer


class Engine:
    """A named way of computing training steps (`step`)."""

    def __init__(self, name: str, summary: str):
        self.name, self.summary = name, summary

    def step(self, model: Module, loss: Loss | None, optimizer: Optimizer) -> Step:
        """The training step of ``model`` with ``loss`` (None: the model's objective)
        under ``optimizer``."""
        return PlainStep(self.name, model, loss, optimizer, type(optimizer).step)

    def __repr__(self) -> str:
        return f"Engine({self.name!r})"


class FusedEngine(Engine):
    """The compiled kernels: a fused step of the model where there is one, else the
    model's own methods; the optimiser's update compiled where a kernel computes it."""

    def step(self, model: Module, loss: Loss | None, optimizer: Optimizer) -> Step:
        from handgrad.fast import kernels, steps

        update = kernels.update_of(optimizer) or type(optimizer).step
        fused = steps.fused_step_class(model, loss)
        cls = PlainStep if fused is None else fused
        return cls(self.name, model, loss, optimizer, update)


ENGINES: dict[str, Engine] = {
    "numpy": Engine("numpy", "the readable formulas in NumPy, layer by layer"),
    "fused": FusedEngine(
        "fused", "the same formulas in compiled kernels (Numba): fused steps, one-pass updates"
    ),
}
"""Every engine, by the name ``--engine`` takes."""

CHOICES = ("auto", *ENGINES)


def resolve(name: str | None) -> str:
    """The engine's name for the option's value (None and ``auto``: ``fused`` where Numba
    loads, else ``numpy``); a one-line `HandgradError` for an unknown name or a fused
    engine that cannot load here."""
    if name in (None, "", "auto"):
        return "fused" if load_error() is None else "numpy"
    if name not in ENGINES:
        raise HandgradError(f"unknown engine {name!r}; choose one of {', '.join(CHOICES)}")
    if name == "fused" and (error := load_error()) is not None:
        raise HandgradError(
            f"the fused engine cannot load its compiler Numba ({error}); reinstall handgrad "
            "with its dependencies (uv sync) or pass --engine numpy"
        )
    return name


def get(name: str | None) -> Engine:
    """The `Engine` of the option's value (see `resolve`); for the fused one, with Numba
    set up (`handgrad.fast.compiled.start`) here rather than in the first timed step."""
    resolved = resolve(name)
    if resolved == "fused":
        from handgrad.fast.compiled import start

        start()
    return ENGINES[resolved]
