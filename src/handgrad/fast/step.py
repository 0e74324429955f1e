"""The one interface of a training step, whatever engine computes it (`Step`), and the
plain step every engine can fall back to (`PlainStep`): the model's own methods.

A training loop calls ``out = step.forward(*batch)`` (zero the gradients, forward pass
and loss; ``out.loss`` is L) then ``step.update()`` (backward pass, optimiser step). The
learning rate stays inside the optimiser: a step seeds its backward pass with
``optimizer.grad_scale`` and passes the same number to the optimiser's update, which
takes the gradients of that multiple of L (`handgrad.optim.SGD.grad_scale`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from handgrad.errors import HandgradError
from handgrad.nn.losses import Loss
from handgrad.nn.module import Module
from handgrad.optim import Optimizer

Update = Callable[[Optimizer, float], None]
"""An optimiser's step for the gradients of s · L: ``update(optimizer, s)``."""


class Step:
    """One training step of ``model`` (with ``loss``, or its own objective when None)
    under ``optimizer``: `forward` then `update`, the same on every engine.

    ``used`` says what computes it, for the run's provenance: the engine and whether it
    runs a whole fused step of the model, a compiled loop over many steps, or its
    layers one by one, e.g. "fused: fused training step".
    """

    fused = False

    def __init__(self, engine: str, model: Module, loss: Loss | None, optimizer: Optimizer,
                 update: Update):  # fmt: skip
        self.model, self.loss, self.optimizer, self._update = model, loss, optimizer, update
        self.engine = engine
        self.seed = 1.0
        self.residuals: Any = None  # what a fused step's backward needs, named
        self._forward_done = False

    @property
    def used(self) -> str:
        """The engine and what computes the step, for the run's provenance."""
        return f"{self.engine}: {self.kind()}"

    def kind(self) -> str:
        """What computes this step, in words, for ``used``."""
        if self.compiled_chunks():
            return "compiled training loop (train_chunk), fused steps otherwise"
        return "fused training step" if self.fused else "layer by layer"

    def compiled_chunks(self) -> bool:
        """True if `train_chunk` runs the whole chunk in one compiled call (a fused step
        whose model, optimiser and arrays its compiled loop supports)."""
        return False

    def forward(self, *batch: Any, **kwargs: Any) -> Any:
        """Zero the gradients, run the forward pass and the loss on the batch; returns the
        model's output record, whose ``loss`` is L (a float)."""
        self.optimizer.zero_grad()
        self.seed = self.optimizer.grad_scale
        self._forward_done = False
        out = self._forward(*batch, **kwargs)
        self._forward_done = True
        return out

    def update(self) -> None:
        """`backward` then `apply`: one training step after `forward` (one update per
        forward: a second would apply the same gradients again)."""
        if not self._forward_done:
            raise HandgradError(
                "step.update() needs a forward pass first: call step.forward(batch) before "
                "each update"
            )
        self._forward_done = False
        self.backward()
        self.apply()

    gathers_rows = False
    """True if `train_chunk` gathers its batches' rows itself, from the whole arrays and
    an ``index`` (a compiled loop that gathers as it goes): the training loop then does
    not gather them ahead (`handgrad.training.loop.epoch_chunks`)."""

    def train_chunk(self, rows: tuple[Any, ...], batch_size: int, index: Any = None,
                    **kwargs: Any) -> list[Any]:  # fmt: skip
        """Train on consecutive batches: ``forward(*batch, **kwargs)`` then `update` for each
        batch = ``[a[i : i + batch_size] for a in rows]`` (or, with ``index``, the rows
        ``a[index[i : i + batch_size]]``), i = 0, batch_size, … (the last batch may be
        shorter); returns each step's output record. A step whose loss is not finite is
        not taken (no update): its record is the last, and the model is as its forward
        left it.

        This is the loop written out; a fused step may run it in one compiled call, with
        the same numbers (to rounding), so a training loop calls this whatever the
        engine. The gradients left in ``Parameter.grad`` afterwards are unspecified.
        """
        outs = []
        n = rows[0].shape[0] if index is None else index.shape[0]
        for i in range(0, n, batch_size):
            pick = slice(i, i + batch_size) if index is None else index[i : i + batch_size]
            out = self.forward(*[a[pick] for a in rows], **kwargs)
            outs.append(out)
            if not math.isfinite(out.loss):
                break
            self.update()
        return outs

    def backward(self) -> None:
        """The gradients of seed · L of the last `forward` into every ``Parameter.grad``
        (x is data: no ∂L/∂x)."""
        raise NotImplementedError

    def apply(self) -> None:
        """The optimiser's step on those gradients (of seed · L)."""
        self._update(self.optimizer, self.seed)

    def _forward(self, *batch: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class Scored(NamedTuple):
    """A model's loss on a batch and, for a classifier, how many rows it got right."""

    loss: float
    correct: int | None


class PlainStep(Step):
    """The model's own methods: ``model.forward`` → ``loss.forward`` → ``loss.backward``
    → ``model.backward``, or with no ``loss`` the model's ``objective(*batch)`` (an
    output record with ``loss``) and ``loss_backward``."""

    def _forward(self, *batch: Any, **kwargs: Any) -> Any:
        if self.loss is None:
            return self.model.objective(*batch, **kwargs)
        x, target = batch
        prediction = self.model.forward(x)
        return Scored(self.loss.forward(prediction, target), self.loss.correct(prediction, target))

    def backward(self) -> None:
        if self.loss is None:
            self.model.loss_backward(self.seed, input_grad=False)
        else:
            self.model.backward(self.loss.backward(self.seed), input_grad=False)
