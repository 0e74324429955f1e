"""What ``handgrad check formulas --list`` and ``--template NAME`` print.

Shapes are found by drawing the problem at two batch sizes: a size that changes with
the batch is shown as ``m``.
"""

from __future__ import annotations

import numpy as np

from handgrad.checks.doctor.graph import Problem, draw_batch
from handgrad.checks.doctor.problems import PROBLEMS
from handgrad.errors import HandgradError


def _shape(a, b) -> str:
    dims = ["m" if x != y else str(x) for x, y in zip(np.shape(a), np.shape(b), strict=True)]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def shapes(problem: Problem) -> tuple[dict[str, str], dict[str, str]]:
    """({quantity: "(m, 4)"}, {name in q: shape}) for ``problem``."""
    b2, b3 = (draw_batch(problem, m, np.random.default_rng(m)) for m in (2, 3))
    grads = {q: _shape(b2.truth[q], b3.truth[q]) for q in problem.quantities}
    qs = {k: _shape(v, getattr(b3.q, k)) for k, v in vars(b2.q).items() if k != "m"}
    return grads, qs


def listing() -> str:
    """Every problem with its quantities (backward order) and their shapes."""
    lines = []
    for p in PROBLEMS.values():
        sh, _ = shapes(p)
        lines.append(f"{p.name}: {p.title}")
        for q in p.quantities:
            lines.append(f"    grad_{q}(q) -> {p.grad_symbol(q)}  {sh[q]}")
    lines.append(
        "own: your network, from INPUTS, PARAMS and STEPS in the file "
        "(handgrad check formulas --template own writes one to start from)"
    )
    return "\n".join(lines)


def template(name: str) -> str:
    """A formula file to start from: the problem, what ``q`` holds, one stub per quantity.

    A stub raises NotImplementedError, which the doctor reports as "not given". ``own``
    gives a small network of your own (`OWN_TEMPLATE`) to edit.
    """
    if name == "own":
        return OWN_TEMPLATE
    if name not in PROBLEMS:
        raise HandgradError(
            f"unknown problem {name!r}; choose one of {', '.join(PROBLEMS)}, own "
            "(handgrad check formulas --list)"
        )
    p = PROBLEMS[name]
    sh, qs = shapes(p)
    q_lines = "\n".join(f"    q.{k:<10} {v}" for k, v in qs.items())
    doc = (p.about or "").strip()
    stubs = "\n\n\n".join(
        f"def grad_{q}(q):\n"
        f'    """{p.grad_symbol(q)}, shape {sh[q]}."""\n'
        f'    raise NotImplementedError("write {p.grad_symbol(q)}")'
        for q in p.quantities
    )
    return (
        f'"""{p.title}.\n\n'
        f"Check with: handgrad check formulas THIS_FILE.py\n\n"
        f"{doc}\n\n"
        f"q holds (m is the batch size, q.m):\n{q_lines}\n"
        '"""\n\nimport numpy as np  # noqa: F401\n\n'
        f'PROBLEM = "{p.name}"\n\n\n{stubs}\n'
    )


OWN_TEMPLATE = '''"""Your own network: its forward pass as named steps, a loss, and your gradients.

Check with: handgrad check formulas THIS_FILE.py

INPUTS and PARAMS give shapes ("m" is the batch size; an input's last entry may say how
it is drawn: "normal", "onehot", "binary", "uniform" or "positive"). STEPS is the
forward pass in order, each step a function whose argument names are inputs,
parameters or earlier steps; the last step is the scalar loss L. Write the steps with
autograd's NumPy: the truth is autograd of STEPS, cross-checked by finite differences.
Any parameter or step but L is a quantity: write grad_<name>(q) returning ∂L/∂<name>,
of the same shape. q holds every input, parameter and step by name, and q.m.
"""

import autograd.numpy as np

INPUTS = {"x": ("m", 4), "y": ("m", 2)}
PARAMS = {"W": (2, 4), "b": (2,)}
STEPS = {
    "z": lambda x, W, b: x @ W.T + b,
    "h": lambda z: np.tanh(z),
    "L": lambda h, y: 0.5 * np.sum((h - y) ** 2) / h.shape[0],
}


def grad_h(q):
    """∂L/∂h, shape (m, 2)."""
    raise NotImplementedError("write ∂L/∂h")


def grad_z(q):
    """∂L/∂z, shape (m, 2)."""
    raise NotImplementedError("write ∂L/∂z")


def grad_W(q):
    """∂L/∂W, shape (2, 4)."""
    raise NotImplementedError("write ∂L/∂W")


def grad_b(q):
    """∂L/∂b, shape (2,)."""
    raise NotImplementedError("write ∂L/∂b")
'''
