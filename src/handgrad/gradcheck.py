"""Gradient checking by central finite differences.

For a module, the scalar objective is f(x, θ) = Σ forward(x) ⊙ dy with a fixed random
dy, so ∂f/∂x is exactly what ``backward(dy)`` must return and ∂f/∂θ what it must
accumulate into ``θ.grad``. For a loss, f is the loss itself. Each numeric derivative
is (f(a + ε) − f(a − ε)) / 2ε, one entry at a time.

Error measure, per entry:  rel_i = |a_i − n_i| / max(|a_i|, |n_i|, floor),
floor = max(1e-8, 1e-3 · max_j |n_j|): entries far below the tensor's own scale are
judged against that scale, so round-off on a near-zero entry does not fail a correct
gradient. A tensor passes when max_i rel_i ≤ rtol.

Limit of the method: a central difference carries round-off ≈ ε_mach·|f|/h ≈ 1e-11
(float64, h = 1e-5). A gradient that is exactly zero by structure (a bias feeding a
batch norm) is then measured as that noise against the 1e-8 floor and can fail any
tight rtol; check such a tensor in a setting where its gradient is not identically 0.

Random layers (dropout) and models (the VAE's ε) are checked with their draws held fixed:
the state of every `numpy.random.Generator` inside the module, and every buffer (running
statistics), is restored before each forward pass and once more at the end.

Models with several outputs (`MultiTaskNet` returns (ŷA, z2B)) are checked with one
random dy per output: f = Σ_k Σ y_k ⊙ dy_k, and ``backward`` receives the tuple of dy_k.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.losses import Loss
from handgrad.nn.module import Module


@dataclass
class TensorCheck:
    """How one analytic gradient compares with its numeric estimate."""

    name: str
    shape: tuple[int, ...]
    max_abs_err: float
    max_rel_err: float
    rtol: float
    worst_index: tuple[int, ...] = ()

    @property
    def passed(self) -> bool:
        return bool(self.max_rel_err <= self.rtol)


@dataclass
class GradReport:
    """Per-tensor results of one gradient check (an input and every parameter)."""

    subject: str
    checks: list[TensorCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def rows(self) -> list[tuple[str, str, str, str, str, str]]:
        """(subject, tensor, shape, max abs err, max rel err, status) for each check."""
        return [
            (
                self.subject,
                c.name,
                "x".join(map(str, c.shape)) or "scalar",
                f"{c.max_abs_err:.2e}",
                f"{c.max_rel_err:.2e}",
                "ok" if c.passed else "FAIL",
            )
            for c in self.checks
        ]


def format_table(reports: list[GradReport]) -> str:
    """A plain-text table of every tensor of every report."""
    header = ("subject", "tensor", "shape", "max abs err", "max rel err", "status")
    rows = [header] + [r for rep in reports for r in rep.rows()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_line(reports: list[GradReport], rtol: float) -> str:
    """One line for the end of a report table: all passed, or which subjects failed."""
    n = sum(len(r.checks) for r in reports)
    failed = [r.subject for r in reports if not r.passed]
    if failed:
        bad = sum(not c.passed for r in reports for c in r.checks)
        return (
            f"FAIL: {bad} of {n} gradients exceed rel. error {rtol:g}, in "
            f"{len(failed)} of {len(reports)} cases: {', '.join(failed)}"
        )
    return f"ok: all {n} gradients of {len(reports)} cases agree (rel. error ≤ {rtol:g})"


def compare(name: str, analytic: np.ndarray, numeric: np.ndarray, rtol: float) -> TensorCheck:
    """Compare two gradients entrywise with the relative error defined above."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        return TensorCheck(name, n.shape, np.inf, np.inf, rtol)
    if a.size == 0:
        return TensorCheck(name, a.shape, 0.0, 0.0, rtol)
    abs_err = np.abs(a - n)
    floor = max(1e-8, 1e-3 * float(np.abs(n).max()))
    with np.errstate(invalid="ignore", divide="ignore"):  # nan/inf entries: rel = inf
        rel = abs_err / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    rel = np.where(np.isnan(rel), np.inf, rel)
    worst = np.unravel_index(int(np.argmax(rel)), rel.shape)
    return TensorCheck(
        name,
        a.shape,
        float(abs_err.max()),
        float(rel.max()),
        rtol,
        tuple(int(i) for i in worst),
    )


def numeric_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to ``array`` (perturbed in place).

    ∂f/∂a_i ≈ (f(a + h e_i) − f(a − h e_i)) / (a_i⁺ − a_i⁻), where a_i± are the perturbed
    entries as actually stored (h = eps; in float32 they are rounded, and dividing by
    the stored difference instead of 2h removes that error).
    Shapes: array (any) → gradient (same shape, float64). ``array`` is restored exactly,
    also when ``f`` raises.
    """
    if not (isinstance(array, np.ndarray) and array.flags.c_contiguous and array.flags.writeable):
        raise HandgradError(
            "numeric_gradient perturbs its array in place and needs a writeable C-contiguous "
            "NumPy array; pass np.ascontiguousarray(a) and read the gradient for that copy"
        )
    if not eps > 0:
        raise HandgradError(f"finite-difference step eps must be > 0, got {eps}")
    grad = np.zeros(array.shape, dtype=np.float64)
    flat, out = array.reshape(-1), grad.reshape(-1)  # views: writing them writes the arrays
    for i in range(flat.size):
        orig = flat[i]
        try:
            flat[i] = orig + eps
            hi = float(flat[i])
            f_plus = f()
            flat[i] = orig - eps
            lo = float(flat[i])
            f_minus = f()
        finally:
            flat[i] = orig
        out[i] = (f_plus - f_minus) / (hi - lo)
    return grad


def _state_restorer(module: Module) -> Callable[[], None]:
    """A function that puts ``module``'s random generators and buffers back as they are now.

    Restoring before each forward holds dropout masks fixed, and undoes the running
    statistics that a training-mode forward updates, so a check leaves no trace.
    """
    gens = [
        v for m in module.modules() for v in vars(m).values() if isinstance(v, np.random.Generator)
    ]
    states = [g.bit_generator.state for g in gens]
    buffers = [b for m in module.modules() for b in m.buffers().values()]
    saved = [b.copy() for b in buffers]

    def restore() -> None:
        for g, s in zip(gens, states, strict=True):
            g.bit_generator.state = s
        for b, v in zip(buffers, saved, strict=True):
            b[...] = v

    return restore


def check_module(
    module: Module,
    x: np.ndarray,
    *,
    dy: np.ndarray | tuple[np.ndarray, ...] | None = None,
    rng: np.random.Generator | int | None = 1234,
    eps: float = 1e-5,
    rtol: float = 1e-6,
    subject: str | None = None,
) -> GradReport:
    """Check ``module.backward`` against finite differences at input ``x``.

    Shapes: x (m, …) as the module takes it; dy (shape of the output, or a tuple of
    arrays for a tuple of outputs), random N(0, 1) if not given. Checks ∂f/∂x (so
    ``backward`` is called with ``input_grad`` on, its default) and ∂f/∂θ for every
    parameter θ; run it in float64, in the module's mode (train or eval).
    The module's ``p.grad`` are zeroed first and hold the analytic gradient afterwards;
    its parameters, buffers and generators are left as they were.
    """
    x = np.array(x, copy=True)
    restore = _state_restorer(module)
    y = module.forward(x)
    outputs = y if isinstance(y, tuple) else (y,)
    if dy is None:
        gen = np.random.default_rng(rng)
        dys = tuple(gen.standard_normal(np.shape(o)).astype(o.dtype) for o in outputs)
        dy = dys if isinstance(y, tuple) else dys[0]
    dys = dy if isinstance(dy, tuple) else (dy,)
    module.zero_grad()
    dx = module.backward(dy)

    def f() -> float:
        restore()
        y = module.forward(x)
        outputs = y if isinstance(y, tuple) else (y,)
        return float(sum(np.sum(o * d) for o, d in zip(outputs, dys, strict=True)))

    report = GradReport(subject or repr(module))
    report.checks.append(compare("x", dx, numeric_gradient(f, x, eps), rtol))
    for name, p in module.named_parameters():
        analytic = p.grad.copy()
        report.checks.append(compare(name, analytic, numeric_gradient(f, p.data, eps), rtol))
    restore()
    return report


def check_loss(
    loss: Loss,
    prediction: np.ndarray,
    target: np.ndarray,
    *,
    eps: float = 1e-5,
    rtol: float = 1e-6,
    subject: str | None = None,
) -> GradReport:
    """Check ``loss.backward()`` (∂L/∂prediction) against finite differences of the loss."""
    prediction = np.array(prediction, copy=True)
    loss.forward(prediction, target)
    analytic = loss.backward()
    numeric = numeric_gradient(lambda: loss.forward(prediction, target), prediction, eps)
    return GradReport(subject or type(loss).__name__, [compare("x", analytic, numeric, rtol)])
