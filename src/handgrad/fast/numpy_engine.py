"""The engines of this package: "plain" (the readable formulas) and "numpy" (the NumPy
fast path, what the training loops use)."""

from __future__ import annotations

from handgrad.fast.engine import Engine, register
from handgrad.fast.layers import FastLinear, FastReLU
from handgrad.fast.losses import FastBernoulliNLL, FastSoftmaxCrossEntropy
from handgrad.fast.updates import FAST_OPTIMIZERS
from handgrad.nn.activations import ReLU
from handgrad.nn.linear import Linear
from handgrad.nn.losses import SoftmaxCrossEntropy
from handgrad.nn.vae_losses import BernoulliNLL

PLAIN = register(Engine("plain", {}, "the readable formulas of handgrad.nn and handgrad.optim"))
NUMPY = register(
    Engine(
        "numpy",
        {
            Linear: FastLinear,
            ReLU: FastReLU,
            SoftmaxCrossEntropy: FastSoftmaxCrossEntropy,
            BernoulliNLL: FastBernoulliNLL,
            **FAST_OPTIMIZERS,
        },
        "the same formulas in place, in blocks, with written-first gradients (NumPy only)",
    )
)
