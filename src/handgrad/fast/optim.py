"""`FusedSGD` and `FusedAdam`: the NumPy engine's optimisers with one-pass updates.

Subclasses of `handgrad.fast.updates.FastSGD` / `FastAdam` (same state, same
`state_dict`: a checkpoint of one resumes the other; the same lr folding and flushing)
whose `step` runs `handgrad.fast.optim_kernels` per parameter: the same numbers bit
for bit. Plain SGD keeps its NumPy step: it is already one pass (θ ← θ − g).
"""

from __future__ import annotations

import math

from handgrad.fast.optim_kernels import adam_update, sgd_update
from handgrad.fast.updates import FLUSH_EVERY, FastAdam, FastSGD, flush_threshold
from handgrad.optim import _positive


class FusedSGD(FastSGD):
    """`FastSGD` whose momentum / weight-decay update is one pass per parameter."""

    def step(self, grad_scale: float = 1.0) -> None:  # type: ignore[override]
        if not (self.weight_decay or self.momentum):
            super().step(grad_scale)
            return
        self.t += 1
        inv = 1.0 if grad_scale == 1.0 else 1.0 / _positive("grad_scale", grad_scale)
        flush = self.momentum > 0 and self.t % FLUSH_EVERY == 0
        for i, p in enumerate(self.params):
            sgd_update(
                p.data,
                p.grad,
                self.velocity[i] if self.momentum else p.grad,
                inv_scale=inv,
                lr=self.lr,
                weight_decay=self.weight_decay,
                momentum=self.momentum,
                nesterov=self.nesterov,
                flush=flush,
                tiny=flush_threshold(p.data.dtype),
            )


class FusedAdam(FastAdam):
    """`FastAdam` (with AdamW's decay) in one pass per parameter."""

    def step(self, grad_scale: float = 1.0) -> None:  # type: ignore[override]
        inv = 1.0 if grad_scale == 1.0 else 1.0 / _positive("grad_scale", grad_scale)
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        eps, k = self.eps * math.sqrt(c2), self.lr * math.sqrt(c2) / c1  # as Adam.step
        decay = 1 - self.lr * self.weight_decay
        flush = self.t % FLUSH_EVERY == 0
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            adam_update(p.data, p.grad, m, v, inv_scale=inv, decay=decay, b1=self.b1,
                        b2=self.b2, eps=eps, k=k, flush=flush,
                        tiny=flush_threshold(p.data.dtype))  # fmt: skip
