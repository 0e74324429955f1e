"""Fused training steps, one module per model: the fused engine's `Step` of a model it
knows, its forward, loss and backward as the model's matrix products in BLAS and its
elementwise work in the kernels of `handgrad.fast.kernels`.

A step module registers its class for the model's exact type with `fused_step`; the
class's ``supports(model, loss)`` says whether it computes that model's configuration
(else the engine runs the model's own methods). Where a new model's step goes: a module
here, listed in `MODULES`.
"""

from __future__ import annotations

import importlib

from handgrad.fast.step import Step

MODULES = ("mlp", "vae", "multitask")
"""The step modules, imported when the fused engine first makes a step."""

_STEPS: dict[type, type] = {}


def fused_step(model_type: type):
    """Class decorator: the fused step of models of exactly ``model_type``."""

    def register(cls: type) -> type:
        _STEPS[model_type] = cls
        return cls

    return register


def fused_step_class(model: object, loss: object) -> type[Step] | None:
    """The fused step class for ``model`` with ``loss``, or None if none computes it."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    cls = _STEPS.get(type(model))
    return cls if cls is not None and cls.supports(model, loss) else None
