"""The mistake catalogue, generated from a problem's forward graph, and a backward pass that
makes chosen mistakes.

Kinds of `Mistake` (ids in brackets; README, "Mistake ids"):

- output: the whole gradient off by a sign or a power of m or a factor 2
  [sign, no_1_over_m, extra_1_over_m, factor_2, factor_half];
- variant: a wrong local derivative catalogued with an op (`ops.Variant`): ReLU′ as
  ReLU, sin′ as sin, a mask missing or unscaled, a normalisation's batch coupling
  dropped or written as a factor, a Jacobian's off-diagonal dropped, … [the variant's id];
- path terms: a variable used by several steps has one additive term per step; one of
  them missing, with its sign flipped, counted twice, or without (or with an extra) 1/m
  [missing_term:, flipped_term:, double_term:, term_no_1_over_m:, term_extra_1_over_m:
  each followed by <var>.<step>];
- extra term: in a sum a + b, b also gets the terms a gets from its other steps
  [extra_term:<b>.<a>];
- neighbour: the derivative of a step evaluated with a forward quantity replaced by a
  neighbour of the same shape in the graph (before/after an activation, a dropout, a sum)
  [<neighbour>_for_<var>, with @<step> when <var> feeds several steps].

`Backprop` is a reverse pass over the graph with the true local derivatives from
autograd (one vector-Jacobian product per step and argument); a mistake swaps one of
them. It only proposes candidates: the truth never comes from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from autograd import make_vjp

from handgrad.checks.doctor import ops
from handgrad.checks.doctor.graph import Batch, Problem, Step
from handgrad.checks.doctor.ops import Op, Variant


@dataclass(frozen=True)
class Mistake:
    """One catalogued slip: where it acts and what it is, in the derivation's words."""

    id: str
    kind: str  # "output", "variant", "drop", "term", "extra", "point"
    explanation: str
    fix: str
    step: str | None = None
    arg: int | None = None
    variant: Variant | None = None
    neighbour: str | None = None
    factor: Callable[[int], float] | None = None

    @property
    def location(self) -> tuple:
        """Two mistakes at one location cannot be combined."""
        if self.kind == "output":
            return ("output", self.id)
        return (self.step, self.arg)


OUTPUT_MISTAKES = (
    ("sign", lambda m: -1.0, "the sign is flipped", "check (ŷ − y) against (y − ŷ)"),
    (
        "no_1_over_m",
        lambda m: float(m),
        "a factor m too large: the 1/m of the batch mean is missing",
        "L averages over the m rows: keep its 1/m",
    ),
    (
        "extra_1_over_m",
        lambda m: 1.0 / m,
        "a factor 1/m too small: one division by m too many",
        "remove one division by m",
    ),
    ("factor_2", lambda m: 2.0, "a factor 2 too large", "look for a lost ½"),
    ("factor_half", lambda m: 0.5, "a factor ½ too small", "look for a spurious ½"),
)


def catalogue(problem: Problem, batches: list[Batch]) -> list[Mistake]:
    """Every single mistake the graph allows (see module doc), renamed by ``problem.names``."""
    out = [Mistake(i, "output", e, f, factor=c) for i, c, e, f in OUTPUT_MISTAKES]
    sym = problem.symbol
    for s in problem.steps:
        for v in s.variants:
            x = s.args[v.arg]
            out.append(
                Mistake(
                    v.id,
                    "variant",
                    v.explanation.format(x=sym(x), y=sym(s.name)),
                    v.fix.format(x=sym(x), y=sym(s.name)),
                    s.name,
                    v.arg,
                    variant=v,
                )
            )
    out += _plain_elementwise(problem, batches)
    out += _path_terms(problem)
    out += _extra_terms(problem, batches)
    out += _neighbours(problem, batches)
    return [_rename(problem, mk) for mk in out]


def _plain_elementwise(problem: Problem, batches: list[Batch]) -> list[Mistake]:
    """For a one-argument plain function of the same shape (an activation of one's own):
    f′ written as f itself, and f′ left out."""
    out = []
    sym = problem.symbol
    for s in problem.steps:
        if isinstance(s.op, Op) or len(s.args) != 1 or not _same_shape(batches, s.name, s.args[0]):
            continue
        x, y, fn = sym(s.args[0]), sym(s.name), s.fn
        for mid, vjp, text, fix in (
            (
                f"{s.name}_fn_as_grad",
                lambda g, a, y_, m, fn=fn: g * fn(a[0]),
                f"the derivative of {y} = f({x}) written as f({x}) itself",
                f"∂L/∂{x} = ∂L/∂{y} ⊙ f′({x})",
            ),
            (
                f"no_{s.name}_grad",
                lambda g, a, y_, m: g,
                f"the derivative f′({x}) of {y} = f({x}) is missing",
                f"∂L/∂{x} = ∂L/∂{y} ⊙ f′({x})",
            ),
        ):
            v = Variant(mid, 0, vjp, text, fix)
            out.append(Mistake(mid, "variant", text, fix, s.name, 0, variant=v))
    return out


def _rename(problem: Problem, mk: Mistake) -> Mistake:
    if mk.id not in problem.names:
        return mk
    new_id, explanation, fix = problem.names[mk.id]
    return Mistake(
        new_id, mk.kind, explanation, fix, mk.step, mk.arg, mk.variant, mk.neighbour, mk.factor
    )


TERM_SLIPS = (  # (id prefix, coefficient of the term (m: the batch size), what happened)
    ("missing_term", lambda m: 0.0, "lacks its term through"),
    ("flipped_term", lambda m: -1.0, "has its term through {y} with the sign flipped"),
    ("double_term", lambda m: 2.0, "counts its term through {y} twice"),
    ("term_no_1_over_m", lambda m: float(m), "has its term through {y} without its 1/m"),
    ("term_extra_1_over_m", lambda m: 1.0 / m, "has its term through {y} divided by m once more"),
)


def _path_terms(problem: Problem) -> list[Mistake]:
    """A variable used by several steps has one additive term per step (its paths to L):
    one of them missing, with its sign flipped, or counted twice."""
    out = []
    sym = problem.symbol
    steps = problem.step_names
    for name in sorted({a for s in problem.steps for a in s.args}):
        if name not in steps and name not in problem.quantities:
            continue  # data: no gradient wanted
        users = problem.consumers(name)
        if len(users) < 2:
            continue
        names = ", ".join(sym(s.name) for s, _ in users)
        for s, i in users:
            term = f"(∂L/∂{sym(s.name)})(∂{sym(s.name)}/∂{sym(name)})"
            for prefix, coef, what in TERM_SLIPS:
                dropped = prefix == "missing_term"
                what = what.format(y=sym(s.name))
                out.append(
                    Mistake(
                        f"{prefix}:{name}.{s.name}",
                        "drop" if dropped else "term",
                        f"∂L/∂{sym(name)} {what + ' ' + sym(s.name) if dropped else what}: "
                        f"{sym(name)} is used by {len(users)} steps ({names}), so its "
                        f"gradient is a sum of {len(users)} terms, each once with a plus",
                        f"add {term}" if dropped else f"∂L/∂{sym(name)} has + {term} once",
                        s.name,
                        i,
                        factor=coef,
                    )
                )
    return out


def _extra_terms(problem: Problem, batches: list[Batch]) -> list[Mistake]:
    """A term where it does not belong: in a sum a + b, b also given the gradient a gets
    from its other steps (as if b fed them too)."""
    out = []
    sym = problem.symbol
    for s in problem.steps:
        if s.op is not ops.add or len(s.args) != 2 or not _same_shape(batches, *s.args):
            continue
        for i, (a, other) in enumerate((s.args, s.args[::-1])):
            uses = [t.name for t, _ in problem.consumers(other) if t.name != s.name]
            if not uses or a not in problem.step_names | set(problem.quantities):
                continue
            out.append(
                Mistake(
                    f"extra_term:{a}.{other}",
                    "extra",
                    f"∂L/∂{sym(a)} has a term that belongs to ∂L/∂{sym(other)} only: "
                    f"{sym(other)} feeds {', '.join(sym(u) for u in uses)}, {sym(a)} does not",
                    f"∂L/∂{sym(a)} gets only what flows back through {sym(s.name)}",
                    s.name,
                    i,
                    neighbour=other,
                )
            )
    return out


def _same_shape(batches: list[Batch], a: str, b: str) -> bool:
    return all(np.shape(bt.values[a]) == np.shape(bt.values[b]) for bt in batches)


def _neighbours(problem: Problem, batches: list[Batch]) -> list[Mistake]:
    """A forward quantity replaced by a same-shaped one within two edges of it.

    Forward quantities are the steps and the batch-shaped inputs that feed a step other
    than a loss term (x, a mask); parameters and targets are never taken for a neighbour.
    """
    edges: dict[str, set[str]] = {}
    for s in problem.steps:
        for a in s.args:
            edges.setdefault(a, set()).add(s.name)
            edges.setdefault(s.name, set()).add(a)
    forward = {s.name for s in problem.steps} - {problem.loss}
    if len(batches) > 1:
        for leaf in set(batches[0].leaves) - forward:
            rows = {np.shape(b.values[leaf])[:1] for b in batches}
            feeds_layer = any(
                np.ndim(batches[0].values[s.name]) > 0 for s, _ in problem.consumers(leaf)
            )
            if len(rows) > 1 and feeds_layer:
                forward.add(leaf)
    out = []
    sym = problem.symbol
    for s in problem.steps:
        if s.name == problem.loss:
            continue
        for j, a in enumerate(s.args):
            if a not in forward:
                continue
            near = set(edges.get(a, ())) | {n2 for n in edges.get(a, ()) for n2 in edges[n]}
            several = len(problem.consumers(a)) > 1
            for nb in sorted(near & forward - {a}):
                if not _same_shape(batches, a, nb):
                    continue
                mid = f"{nb}_for_{a}" + (f"@{s.name}" if several else "")
                out.append(
                    Mistake(
                        mid,
                        "point",
                        f"{sym(nb)} used in place of {sym(a)} in the derivative of {sym(s.name)}",
                        f"the derivative of {sym(s.name)} is taken at {sym(a)}, not {sym(nb)}",
                        s.name,
                        j,
                        neighbour=nb,
                    )
                )
    return out


class Backprop:
    """Reverse pass over one batch with the true local derivatives, or with some swapped."""

    def __init__(self, problem: Problem, batch: Batch):
        self.problem = problem
        self.batch = batch
        self.m = batch.m
        self._vjps: dict[tuple, Callable] = {}
        steps = problem.step_names
        wanted = set(problem.quantities) | {inp for _, inp in problem.jacobians.values()}
        wanted -= set(problem.jacobians)
        # a node needs a gradient if a wanted quantity is it or lies upstream of it
        self.needs: set[str] = set(wanted)
        for s in problem.steps:
            if any(a in self.needs for a in s.args):
                self.needs.add(s.name)
        self.steps = [s for s in problem.steps if s.name in self.needs]
        del steps

    def _vjp(self, step: Step, i: int, point: tuple[int, str] | None) -> Callable:
        key = (step.name, i, point)
        if key not in self._vjps:
            vals = [self.batch.values[a] for a in step.args]
            if point is not None:
                vals[point[0]] = self.batch.values[point[1]]
            vjp, _ = make_vjp(step.fn, i)(*vals)
            self._vjps[key] = vjp
        return self._vjps[key]

    def run(
        self,
        mistakes: Iterable[Mistake] = (),
        start: dict[str, np.ndarray] | None = None,
        replace: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """∂L/∂node for every node that needs one, making ``mistakes`` (output ones are
        ignored here). ``start`` seeds the pass (default ∂L/∂L = 1); a node in
        ``replace`` takes the given gradient instead of its own."""
        by_loc = {mk.location: mk for mk in mistakes if mk.kind != "output"}
        grads: dict[str, np.ndarray] = dict(start or {self.problem.loss: np.float64(1.0)})
        values = self.batch.values
        for s in reversed(self.steps):
            if replace and s.name in replace:
                grads[s.name] = replace[s.name]
            g = grads.get(s.name)
            if g is None:
                continue
            before = {a: grads.get(a) for a in s.args}  # from the steps downstream only
            for i, a in enumerate(s.args):
                if a not in self.needs:
                    continue
                mk = by_loc.get((s.name, i))
                point = None
                if mk is not None and mk.kind == "drop":
                    continue
                if mk is not None and mk.kind == "variant":
                    contrib = mk.variant.vjp(g, [values[x] for x in s.args], values[s.name], self.m)
                    contrib = _unbroadcast(contrib, np.shape(values[a]))
                else:
                    for (st, j), other in by_loc.items():
                        if st == s.name and other.kind == "point":
                            point = (j, other.neighbour)
                    contrib = self._vjp(s, i, point)(g)
                    if mk is not None and mk.kind == "extra" and before[mk.neighbour] is not None:
                        contrib = contrib + before[mk.neighbour]
                    if mk is not None and mk.kind == "term":
                        contrib = mk.factor(self.m) * contrib
                grads[a] = grads[a] + contrib if a in grads else contrib
        return grads


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back to ``shape`` (a bias gets the sum over the rows);
    a scalar is spread over ``shape``."""
    g = np.asarray(g)
    if g.ndim < len(shape):
        g = np.broadcast_to(g, shape)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for ax, n in enumerate(shape):
        if n == 1 and g.shape[ax] != 1:
            g = g.sum(axis=ax, keepdims=True)
    return g
