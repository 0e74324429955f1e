"""Your own network: a forward pass as named NumPy steps in the formula file itself.

The file defines (see ``examples/formulas_own_network.py``)::

    import autograd.numpy as np            # the steps must be differentiable by autograd

    INPUTS = {"x": ("m", 3), "y": ("m", 2, "onehot")}
    PARAMS = {"W": (2, 3), "b": (2,)}
    STEPS = {                              # in forward order; the last one is the loss L
        "z": lambda x, W, b: x @ W.T + b,  # a step's arguments are named by its parameters
        "p": lambda z: 1 / (1 + np.exp(-z)),
        "L": lambda p, y: -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) / p.shape[0],
    }
    def grad_W(q): ...                     # any parameter or step (but L) is a quantity

A shape is a tuple of sizes, "m" for the batch; a third entry after the sizes, or a
one-entry shape's second, names how an input is drawn: "normal" (default), "onehot"
(rows of the identity), "binary" (0 or 1), "uniform" (0 to 1), "positive". Parameters
are drawn N(0, 0.5²). A step may also be ``(op, "arg", …)`` with an op of
`handgrad.checks.doctor.ops` (then its catalogued slips are known too); a one-argument
step that computes sin, ReLU, tanh or σ is recognised by its values and gets that
activation's catalogued slips.

The truth is autograd of STEPS, cross-checked by central finite differences on the
first batch: if the two disagree (a step autograd cannot differentiate, a kink), the
file is rejected with one line instead of judged against a wrong truth.
"""

from __future__ import annotations

import inspect

import numpy as np

from handgrad.checks.doctor import ops
from handgrad.checks.doctor.graph import Batch, Problem, Step, draw_batches, finite_differences
from handgrad.errors import HandgradError

KINDS = ("normal", "onehot", "binary", "uniform", "positive")


def is_own_network(namespace: dict) -> bool:
    return "STEPS" in namespace


def _shape(name: str, spec) -> tuple[tuple, str]:
    spec = tuple(spec) if isinstance(spec, list | tuple) else (spec,)
    kind = "normal"
    if spec and isinstance(spec[-1], str) and spec[-1] != "m":
        kind, spec = spec[-1], spec[:-1]
    if kind not in KINDS or not all(s == "m" or (isinstance(s, int) and s >= 1) for s in spec):
        raise HandgradError(
            f"{name}: shape {spec!r} must be sizes (ints ≥ 1 or 'm') and an optional kind, "
            f"one of {', '.join(KINDS)}"
        )
    return spec, kind


def _draw(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "onehot":
        return np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[:-1])]
    if kind == "binary":
        return (rng.random(shape) < 0.5) * 1.0
    if kind == "uniform":
        return rng.random(shape)
    if kind == "positive":
        return np.abs(rng.standard_normal(shape)) + 0.1
    return rng.standard_normal(shape)


def _step(name: str, value) -> Step:
    if isinstance(value, tuple) and value and callable(value[0]):
        return Step(name, value[0], tuple(value[1:]))
    if not callable(value):
        raise HandgradError(f"STEPS[{name!r}] must be a function or (op, 'arg', …)")
    try:
        params = inspect.signature(value).parameters
    except (TypeError, ValueError):
        raise HandgradError(f"STEPS[{name!r}]: cannot read its argument names") from None
    known = ops.recognise(value) if len(params) == 1 else None
    return Step(name, known or value, tuple(params))


def own_problem(namespace: dict, source: str = "the file") -> Problem:
    """The `Problem` a file's INPUTS, PARAMS and STEPS define (see module doc)."""
    try:
        inputs = dict(namespace.get("INPUTS", {}))
        params = dict(namespace.get("PARAMS", {}))
        steps_spec = dict(namespace["STEPS"])
    except (TypeError, ValueError):
        raise HandgradError(f"{source}: INPUTS, PARAMS and STEPS must be dicts") from None
    if len(steps_spec) < 1:
        raise HandgradError(f"{source}: STEPS is empty; its last step must be the loss")
    specs = {k: _shape(k, v) for k, v in {**inputs, **params}.items()}
    steps = tuple(_step(k, v) for k, v in steps_spec.items())
    known = set(specs)
    for s in steps:
        missing = [a for a in s.args if a not in known]
        if missing:
            raise HandgradError(
                f"{source}: step {s.name!r} uses {', '.join(missing)}, which is no input, "
                "parameter or earlier step"
            )
        known.add(s.name)
    order: list[str] = []
    for s in reversed(steps):
        if s is not steps[-1]:
            order.append(s.name)
        order += [a for a in reversed(s.args) if a in params and a not in order]

    def sample(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
        out = {}
        for k, (shape, kind) in specs.items():
            size = tuple(m if s == "m" else s for s in shape)
            out[k] = _draw(rng, size, kind) * (0.5 if k in params else 1.0)
        return out

    sizes = tuple(namespace.get("BATCH_SIZES", (1, 2, 3, 5, 8)))
    return Problem("own", f"your network ({source})", steps, tuple(order), {}, sample, sizes)


def verify_truth(problem: Problem, batch: Batch, rtol: float = 1e-5) -> None:
    """Reject the network if autograd and central differences disagree on any quantity."""
    for name in problem.quantities:
        fd = finite_differences(problem, batch.leaves, name)
        truth = batch.truth[name]
        scale = max(float(np.abs(truth).max(initial=0.0)), float(np.abs(fd).max(initial=0.0)))
        if np.abs(fd - truth).max(initial=0.0) > rtol * max(scale, 1e-8):
            raise HandgradError(
                f"{problem.title}: autograd and finite differences disagree on ∂L/∂{name} "
                f"(m={batch.m}); a step is not differentiable there (a kink, a comparison, "
                "an in-place change) — the truth is unsure, so nothing is judged"
            )


def draw_own_batches(problem: Problem, seed: int = 0) -> list[Batch]:
    """The batches of an own network, its truth cross-checked (one line if it cannot be)."""
    try:
        batches = draw_batches(problem, seed)
    except HandgradError:
        raise
    except Exception as e:
        msg = " ".join(str(e).split())[:160]
        raise HandgradError(
            f"{problem.title}: the forward pass fails or autograd cannot differentiate it "
            f"({type(e).__name__}: {msg}); write the steps with 'import autograd.numpy as np'"
        ) from None
    for b in batches:
        if not all(np.isfinite(v).all() for v in b.truth.values()):
            raise HandgradError(
                f"{problem.title}: the loss or a gradient is NaN/inf at m={b.m}; "
                "set BATCH_SIZES or keep the steps finite"
            )
    verify_truth(problem, batches[0])
    return batches
