"""A problem as a forward graph of named steps, and the true gradient of every quantity.

A `Problem` lists its leaves (inputs and parameters, drawn by ``sample``) and its steps
``name = op(args…)`` in forward order; the last step is the scalar loss L. Each step's
function is written with autograd's NumPy. The learner's formulas receive ``q``: every
leaf and step value by name (read-only), plus ``m`` and the problem's constants.

The truth for every quantity, parameter or residual, comes from autograd of the forward
pass alone: L is differentiated with respect to the leaves and to a zero perturbation
added to each residual step, so ∂L/∂xBN is the total derivative through everything
downstream of xBN. `finite_differences` gives the same by central differences (the tests
prove the two engines agree on every problem). Neither looks at any formula.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field

import autograd
import numpy as np

from handgrad.checks.doctor import ops
from handgrad.errors import HandgradError

KINK_MARGIN = 1e-3


@dataclass(frozen=True)
class Step:
    """``name = op(*args)``: one node of the forward graph (``op`` an `ops.Op` or a function)."""

    name: str
    op: ops.Op | Callable
    args: tuple[str, ...]

    @property
    def fn(self) -> Callable:
        return self.op.fn if isinstance(self.op, ops.Op) else self.op

    @property
    def variants(self) -> tuple[ops.Variant, ...]:
        return self.op.variants if isinstance(self.op, ops.Op) else ()


@dataclass
class Problem:
    """A forward graph, its checkable quantities (backward order) and how to draw batches.

    ``sample(rng, m)`` returns the leaves for a batch of m rows; ``extras(values)`` adds
    aliases and derived names to ``q`` (e.g. ``mu``); ``names`` renames generic mistake
    ids to the derivation's stable ones: {generic id: (id, explanation, fix)};
    ``jacobians`` lists Jacobian quantities {name: (output, input)} of row-wise maps,
    shape (m, out, in).
    """

    name: str
    title: str
    steps: tuple[Step, ...]
    quantities: tuple[str, ...]
    symbols: dict[str, str]
    sample: Callable[[np.random.Generator, int], dict[str, np.ndarray]]
    batch_sizes: tuple[int, ...] = (1, 2, 3, 5, 8)
    constants: dict[str, float] = field(default_factory=dict)
    extras: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None
    names: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    jacobians: dict[str, tuple[str, str]] = field(default_factory=dict)
    about: str = ""

    @property
    def loss(self) -> str:
        return self.steps[-1].name

    @property
    def step_names(self) -> set[str]:
        return {s.name for s in self.steps}

    def symbol(self, name: str) -> str:
        return self.symbols.get(name, name)

    def grad_symbol(self, name: str) -> str:
        if name in self.jacobians:
            out, inp = self.jacobians[name]
            return f"∂{self.symbol(out)}/∂{self.symbol(inp)}"
        return f"∂L/∂{self.symbol(name)}"

    def consumers(self, name: str) -> list[tuple[Step, int]]:
        """The steps that use ``name``, with the argument position."""
        return [(s, i) for s in self.steps for i, a in enumerate(s.args) if a == name]

    def forward(
        self, leaves: dict, deltas: dict | None = None, replace: dict | None = None
    ) -> dict:
        """Every value by name: the leaves, then each step (plus ``deltas[name]`` if given;
        a step or leaf in ``replace`` takes that value instead)."""
        values = dict(leaves)
        if replace:
            values.update({k: v for k, v in replace.items() if k in leaves})
        for s in self.steps:
            if replace and s.name in replace:
                values[s.name] = replace[s.name]
                continue
            v = s.fn(*(values[a] for a in s.args))
            if deltas is not None and s.name in deltas:
                v = v + deltas[s.name]
            values[s.name] = v
        return values

    def namespace(self, values: dict[str, np.ndarray], m: int) -> types.SimpleNamespace:
        """The read-only ``q`` a formula receives (values, extras, m, constants)."""
        named = {k: v for k, v in values.items() if k != self.loss}
        if self.extras is not None:
            named.update(self.extras(values))
        frozen = {}
        for k, v in named.items():
            a = np.array(v, dtype=np.float64, copy=True)
            a.setflags(write=False)
            frozen[k] = a
        return types.SimpleNamespace(**frozen, m=m, **self.constants)


@dataclass
class Batch:
    """One random batch: its size, leaves, forward values, ``q`` and the true gradients."""

    m: int
    leaves: dict[str, np.ndarray]
    values: dict[str, np.ndarray]
    q: types.SimpleNamespace
    truth: dict[str, np.ndarray]


def true_gradients(problem: Problem, leaves: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """∂L/∂quantity for every quantity, by autograd of the forward pass (see module doc)."""
    steps = problem.step_names
    plain = [q for q in problem.quantities if q not in problem.jacobians]
    point = {q: leaves[q] for q in plain if q not in steps}
    values = problem.forward(leaves)
    point.update({q: np.zeros_like(values[q]) for q in plain if q in steps})

    def loss(wrt):
        fixed = {k: v for k, v in leaves.items() if k not in wrt}
        deltas = {k: v for k, v in wrt.items() if k in steps}
        return problem.forward({**fixed, **{k: wrt[k] for k in wrt if k not in steps}}, deltas)[
            problem.loss
        ]

    grads = dict(autograd.grad(loss)(point)) if point else {}
    for name, (out, inp) in problem.jacobians.items():
        grads[name] = row_jacobian(problem, leaves, values, out, inp)
    return {q: np.asarray(grads[q], dtype=np.float64) for q in problem.quantities}


def row_jacobian(problem: Problem, leaves, values, out: str, inp: str) -> np.ndarray:
    """J[b, i, k] = ∂out[b, i]/∂inp[b, k] by autograd (rows of a row-wise map), (m, o, n)."""
    full = autograd.jacobian(lambda v: problem.forward(leaves, replace={inp: v})[out])(values[inp])
    m = values[inp].shape[0]
    return np.stack([full[b, :, b, :] for b in range(m)])


def finite_differences(
    problem: Problem, leaves: dict[str, np.ndarray], name: str, eps: float = 1e-6
) -> np.ndarray:
    """∂L/∂name by central differences of the forward pass (a leaf or a residual step)."""
    steps = problem.step_names
    base = problem.forward(leaves)[name]
    grad = np.zeros_like(base, dtype=np.float64)
    for idx in np.ndindex(base.shape):
        bump = np.zeros_like(base, dtype=np.float64)
        bump[idx] = eps
        f = []
        for sign in (1, -1):
            if name in steps:
                f.append(problem.forward(leaves, {name: sign * bump})[problem.loss])
            else:
                f.append(
                    problem.forward({**leaves, name: leaves[name] + sign * bump})[problem.loss]
                )
        grad[idx] = (f[0] - f[1]) / (2 * eps)
    return grad


def draw_batch(problem: Problem, m: int, rng: np.random.Generator, max_tries: int = 100) -> Batch:
    """A random batch of m rows away from every ReLU kink (|input| > `KINK_MARGIN`)."""
    kinks = [s.args[0] for s in problem.steps if s.op is ops.relu]
    for _ in range(max_tries):
        leaves = {k: np.asarray(v, dtype=np.float64) for k, v in problem.sample(rng, m).items()}
        values = problem.forward(leaves)
        if all(np.abs(values[k]).min() > KINK_MARGIN for k in kinks):
            q = problem.namespace(values, m)
            return Batch(m, leaves, values, q, true_gradients(problem, leaves))
    raise HandgradError(f"{problem.name}: could not draw a batch away from the ReLU kinks")


def draw_batches(problem: Problem, seed: int = 0) -> list[Batch]:
    """One batch per m of ``problem.batch_sizes``, seeded."""
    return [
        draw_batch(problem, m, np.random.default_rng([seed, i, m]))
        for i, m in enumerate(problem.batch_sizes)
    ]
