"""Finding where a NaN or Inf first appeared, so a diverged run can say which layer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from handgrad.nn.module import Module


def locate_nonfinite(model: Module, x: np.ndarray | None = None) -> str:
    """Describe the first place in ``model`` holding a non-finite number.

    Looks, in order, at the parameters (weights that already blew up), then — given a
    batch ``x`` — at each layer's output on it (`layer_outputs`), then at the gradients.
    Returns e.g. "the output of layer 2 (ReLU())" or "parameter layers.0.weight"; if
    all of those are finite, says so: the non-finite number arose in the loss itself.
    """
    for name, p in model.named_parameters():
        if not np.isfinite(p.data).all():
            return f"parameter {name}"
    traced = False  # whether some layer's output on x was looked at
    if x is not None:
        was_training = model.training
        model.eval()
        try:
            for where, h in layer_outputs(model, x):
                if not np.isfinite(h).all():
                    return f"the output of {where}"
                traced = True
        finally:
            model.train(was_training)
    for name, p in model.named_parameters():
        if not np.isfinite(p.grad).all():
            return f"the gradient of {name}"
    if not traced:  # no batch, or a model whose layers cannot be traced one by one
        return "the loss itself (the parameters and their gradients are finite)"
    return (
        "the loss itself (the parameters, their gradients and every layer's output on the "
        "batch are finite)"
    )


def layer_outputs(model: Module, x: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """(where, output) for each layer of ``model`` on the batch x, in order: the model's
    own ``layer_outputs(x)`` if it has one (a VAE's encoder and decoder), else its
    ``layers`` one after the other ("layer i (…)"); nothing for a model with neither."""
    own = getattr(model, "layer_outputs", None)
    if own is not None:
        yield from own(x)
        return
    h = x
    for i, layer in enumerate(getattr(model, "layers", ())):
        h = layer.forward(h)
        yield f"layer {i} ({layer!r})", h
