"""Finding where a NaN or Inf first appeared, so a diverged run can say which layer."""

from __future__ import annotations

import numpy as np

from handgrad.nn.module import Module


def locate_nonfinite(model: Module, x: np.ndarray | None = None) -> str:
    """Describe the first place in ``model`` holding a non-finite number.

    Looks, in order, at the parameters (weights that already blew up), then — for a
    model with ``layers`` and a batch ``x`` — at each layer's output on that batch,
    then at the gradients. Returns e.g. "the output of layer 2 (ReLU())" or
    "parameter layers.0.weight"; "nowhere" if everything is finite.
    """
    for name, p in model.named_parameters():
        if not np.isfinite(p.data).all():
            return f"parameter {name}"
    layers = getattr(model, "layers", None)
    if layers is not None and x is not None:
        was_training = model.training
        model.eval()
        try:
            h = x
            for i, layer in enumerate(layers):
                h = layer.forward(h)
                if not np.isfinite(h).all():
                    return f"the output of layer {i} ({layer!r})"
        finally:
            model.train(was_training)
    for name, p in model.named_parameters():
        if not np.isfinite(p.grad).all():
            return f"the gradient of {name}"
    return "nowhere"
