"""The "fused" engine: the NumPy engine's layers, plus Numba kernels for whole steps.

`FusedEngine.prepare` switches SGD and Adam to their one-pass versions
(`handgrad.fast.optim`) and the layers to the NumPy engine's; `FusedEngine.step_for`
gives the training loops a fused step of a model it knows — a ReLU `MLP`
(`handgrad.fast.mlp`), a Bernoulli ReLU `VAE` (`handgrad.fast.vae`), the
`MultiTaskNet` (`handgrad.fast.multitask`) — whose forward, loss and backward run as a
few products and fused passes. Models it does not know train through their own methods
with the fused optimisers. Importing this module imports (and, once per machine,
compiles) the kernels.
"""

from __future__ import annotations

import weakref

from handgrad.fast.engine import Engine, register
from handgrad.fast.numpy_engine import NUMPY
from handgrad.fast.optim import FusedAdam, FusedSGD
from handgrad.fast.updates import FastAdam, FastSGD
from handgrad.nn.module import Module
from handgrad.optim import SGD, Adam


class FusedEngine(Engine):
    """An `Engine` that also fuses whole training steps (`step_for`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._steps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def step_for(self, model: Module) -> object | None:
        """The fused step of ``model`` (one per model, keeping its buffers), or None if
        this engine has none for it."""
        if model not in self._steps:
            self._steps[model] = _make_step(model)
        return self._steps[model]


def _make_step(model: Module) -> object | None:
    from handgrad.fast import mlp, multitask, vae
    from handgrad.models.multitask import MultiTaskNet

    if mlp.supports(model):
        return mlp.FusedMLPStep(model)
    if vae.supports(model):
        return vae.FusedVAEStep(model)
    if type(model) is MultiTaskNet:
        return multitask.FusedMultiTaskStep(model)
    return None


FUSED = register(
    FusedEngine(
        "fused",
        # the NumPy engine's optimisers too: a loop may have prepared them with it first
        {**NUMPY.versions, SGD: FusedSGD, Adam: FusedAdam, FastSGD: FusedSGD, FastAdam: FusedAdam},
        "the same formulas with Numba kernels: fused steps, one-pass optimiser updates",
    )
)
