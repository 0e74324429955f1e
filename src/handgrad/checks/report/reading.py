r"""A report's gradient equations read into formulas the doctor can judge.

For each equality chain whose first members are gradients (``∂L/∂X = ∂L/∂Y = … = answer``)
the *last* member is the answer; every left side that names a quantity of the problem
gets a formula ``f(q)``, exactly like a learner's ``grad_X(q)``:

- a per-sample left side (a residual, ``∂L/∂z^i``) is evaluated once per sample i and the
  rows stacked; a ``\sum_i`` written in front of it (report 003's eqs. 4, 7, 10–12) is
  read per sample, as the left side says, and noted;
- a parameter's left side is evaluated once, its ``\sum_{i=1}^m`` summing the batch;
- a Block One layer's own derivative ``∂y_i/∂γ = D`` is read as elementwise and turned
  into the gradient of the check's loss L = Σ y ⊙ dy: ∂L/∂γ = Σ_i dy_i ⊙ D_i (noted).

The other readable members of the chain are evaluated too; the first whose value differs
from the member before it is where "the equality breaks". Which problem an equation is
about comes from ``--problem``, else from the nearest heading or prose that names one
(`notation.KEYWORDS`), else from the only problem whose symbols read it.
"""

from __future__ import annotations

import contextvars
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handgrad.checks.doctor.graph import Problem
from handgrad.checks.report.equations import Chain, Derivative, gradient_of
from handgrad.checks.report.evaluate import (
    Evaluator,
    Symbols,
    evaluate_all,
    evaluate_fit,
    has_kronecker,
    same,
    sample_sum,
)
from handgrad.checks.report.latex import Name, Node, Product, Scripted, Sum, Unreadable
from handgrad.checks.report.notation import TABLES, context_problems
from handgrad.checks.report.symbols import INDEX_LETTERS, label, pretty, show, written

#: Names some write the loss with; the problems' loss is L (or \mathcal{L}).
LOSS_NAMES = frozenset({"J", "E", "C", "ell", "l"})

#: ∂L/∂R values standing in for the report's own formulas during `with_upstream`.
_UPSTREAM: contextvars.ContextVar[dict[str, np.ndarray] | None] = contextvars.ContextVar(
    "report_upstream", default=None
)


@dataclass
class Trace:
    """What evaluating a formula met: notes on loose readings, the symbol keys it used."""

    notes: set[str] = field(default_factory=set)
    used: set[str] = field(default_factory=set)


@dataclass
class Reading:
    """One left side of one gradient equation, read (``formula``) or not (``reason``)."""

    chain: Chain
    lhs: str  # ∂L/∂X as written (LaTeX)
    problem: str | None = None
    quantity: str | None = None
    status: str = "read"  # read | unreadable | not_a_quantity | not_checked
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    formulas: dict[str, Callable] = field(default_factory=dict)  # sgn reading → f(q)
    entry: tuple[str, Callable] | None = None  # a Jacobian's diagonal or other entries
    symbol: str = ""  # the left side, short: ∂L/∂z_{BN}

    @property
    def where(self) -> str:
        return self.chain.math.where

    @property
    def latex(self) -> str:
        return " = ".join(m.tex for m in self.chain.members)


def split_lhs(chain: Chain) -> tuple[list[tuple[Derivative, str]], list]:
    lhs: list[tuple[Derivative, str]] = []
    rest = []
    for member in chain.members:
        try:
            node = member.node
        except Unreadable as e:
            node = e
        d = gradient_of(node) if isinstance(node, Node) else None
        if d is not None and lhs and not d.of_loss:
            d = None  # after the left side, ∂L_B/∂X or ∂(…)/∂X is a step of the derivation
        if d is not None and not isinstance(d.top, (Name, Scripted)):
            d = None
        if d is not None and not rest:
            lhs.append((d, member.tex))
        else:
            rest.append((member, node))
    if not rest and len(lhs) > 1:  # ∂L/∂μ = ∂L/∂z: the last gradient is the right side
        last = chain.members[len(lhs) - 1]
        lhs.pop()
        rest.append((last, last.node))
    return lhs, rest


def _entry_and_sample(node: Node) -> bool:
    """``z_{2B,j}^i``: one index in the subscript (the entry), one in the superscript."""
    if not isinstance(node, Scripted) or not node.sub or not node.sup:
        return False
    sub = [p for p in label(node.sub).split(",") if p in INDEX_LETTERS]
    return len(sub) == 1 and label(node.sup).strip("()") in INDEX_LETTERS


def _short(d: Derivative) -> str:
    try:
        top = "L" if d.of_loss else pretty(written(d.top).key)
        return f"∂{top}/∂{pretty(written(d.wrt).key)}"
    except Unreadable:
        return "∂L/∂?"


def _front_sum(node: Node) -> tuple[Node, str | None]:
    """``c · Σ_i body`` → (``c · body``, "i"); anything else unchanged."""
    if isinstance(node, Sum):
        return node.body, sample_sum(node)
    if isinstance(node, Product) and isinstance(node.factors[-1], Sum):
        s = node.factors[-1]
        return Product((*node.factors[:-1], s.body), node.ops), sample_sum(s)
    return node, None


class Reader:
    """Reads gradient equations for one problem with its symbols (one per sgn reading)."""

    def __init__(self, problem: Problem, symbols: dict[str, Symbols], probes: list):
        self.problem, self.symbols, self.probes = problem, symbols, probes
        # quantity → f(q, sgn): the report's own formulas read so far, for a ∂L/∂X (or
        # δ_X) on a later right side; each formula sees only those read before it
        self.learned: dict[str, Callable] = {}

    def learn(self, r: Reading) -> None:
        """Let later equations use ``r``'s formula for ∂L/∂(its quantity)."""
        if r.status != "read" or r.entry is not None or r.quantity in self.learned:
            return
        cache: dict[tuple[int, str], tuple[object, np.ndarray]] = {}
        formulas = dict(r.formulas)

        def value(q, sgn: str) -> np.ndarray:
            given = _UPSTREAM.get() or {}
            if r.quantity in given:  # the doctor's proof of inheritance (`with_upstream`)
                return given[r.quantity]
            if given:
                return formulas.get(sgn, formulas["step"])(q)
            key = (id(q), sgn)
            if key not in cache:
                cache[key] = (q, formulas.get(sgn, formulas["step"])(q))
            return cache[key][1]

        self.learned[r.quantity] = value

    def read(self, chain: Chain, d: Derivative, lhs_tex: str, answer) -> Reading:
        r = Reading(chain, lhs_tex, self.problem.name)
        r.symbol = _short(d)
        if chain.note:
            r.notes.append(chain.note)
        base = self.symbols["step"]
        local = not d.of_loss
        if self.problem.jacobians and local:
            return self._entry(r, d, answer)
        if local:
            up = base.upstream
            try:
                top = written(d.top).key
            except Unreadable:
                top = None
            if up is None or top != up[0]:
                r.status = "not_checked"
                r.reason = "a step of the chain rule, not a gradient of the loss L"
                if top in LOSS_NAMES:
                    r.reason = (
                        f"{top} is not the loss L here: write the loss as L or \\mathcal{{L}}"
                    )
                return r
        try:
            w = written(d.wrt)
        except Unreadable:
            r.status, r.reason = "unreadable", "the variable of the derivative is not one symbol"
            return r
        if len(w.indices) > 2 or (len(w.indices) == 2 and not _entry_and_sample(d.wrt)):
            r.status = "unreadable"
            r.reason = f"∂L/∂{pretty(w.key)} has indices {', '.join(w.indices)}: which is which?"
            return r
        binding = base.bindings.get(w.key)
        if binding is None:
            r.status, r.reason = "unreadable", f"`{show(w.key)}` is not defined"
            r.reason += "; add it to the notation file"
            return r
        name = binding.names
        if name is None:
            r.status = "unreadable"
            r.reason = (
                binding.failure or f"`{show(w.key)}` names no quantity of {self.problem.name}"
            )
            return r
        if name not in self.problem.quantities:
            r.status = "not_a_quantity"
            r.reason = (
                f"∂L/∂{pretty(w.key)} ({name}) is not one of the gradients the doctor checks "
                f"for {self.problem.name}"
            )
            return r
        r.quantity = name
        if local and not self.elementwise(name, base.upstream[0]):
            r.status = "unreadable"
            r.reason = (
                f"∂y/∂{pretty(w.key)} alone does not give ∂L/∂{pretty(w.key)}: y's entries "
                f"depend on other entries of {pretty(w.key)} too (the samples are coupled); "
                f"write ∂L/∂{pretty(w.key)}"
            )
            return r
        if binding.note:
            r.notes.append(binding.note)
        if answer is None:
            r.status, r.reason = "unreadable", "no right side"
            return r
        member, node = answer
        if isinstance(node, Unreadable):
            r.status, r.reason = "unreadable", f"line {member.row}: {node}"
            return r
        try:
            for mode, symbols in self.symbols.items():
                r.formulas[mode] = self._formula(name, w, node, symbols, mode, d, r.notes)
            self._probe(r)
        except (Unreadable, ValueError) as e:
            r.status, r.reason, r.formulas = "unreadable", f"line {member.row}: {e}", {}
        return r

    def elementwise(self, name: str, out: str) -> bool:
        """Whether each entry of ``out`` depends on ``name`` only through the entry in the
        same place (a per-sample quantity) or the same column (a parameter vector): then a
        layer's own ∂y/∂X = D gives ∂L/∂X = ∂L/∂y ⊙ D (summed over the samples for a
        parameter). Probed by bumping each entry of ``name`` on one random batch."""
        problem = self.problem
        rng = np.random.default_rng([0, 7])
        leaves = {k: np.asarray(v, float) for k, v in problem.sample(rng, 3).items()}
        base = problem.forward(leaves)
        value = np.asarray(base[name], dtype=np.float64)
        if value.ndim not in (1, 2):
            return False
        for idx in np.ndindex(value.shape):
            bump = np.zeros_like(value)
            bump[idx] = 1e-3
            if name in problem.step_names:
                moved = problem.forward(leaves, {name: bump})
            else:
                moved = problem.forward({**leaves, name: value + bump})
            changed = np.abs(np.asarray(moved[out]) - np.asarray(base[out])) > 1e-12
            allowed = np.zeros_like(changed)
            if value.ndim == 2 and value.shape == changed.shape:
                allowed[idx] = True
            elif value.ndim == 1 and changed.ndim == 2 and changed.shape[1] == value.shape[0]:
                allowed[:, idx[0]] = True
            if (changed & ~allowed).any():
                return False
        return True

    def learned_before(self, name: str) -> dict[str, Callable]:
        return {k: f for k, f in self.learned.items() if k != name}

    def _entry(self, r: Reading, d: Derivative, answer) -> Reading:
        """∂y_a/∂x_b = E of a row-wise map: the diagonal (a = b) or the other entries of J."""
        base = self.symbols["step"]
        try:
            top, wrt = written(d.top), written(d.wrt)
        except Unreadable:
            r.status, r.reason = "unreadable", "the derivative is not of one symbol by another"
            return r
        found = [
            (name, out, inp)
            for name, (out, inp) in self.problem.jacobians.items()
            if (b1 := base.bindings.get(top.key)) is not None
            and b1.quantity == out
            and (b2 := base.bindings.get(wrt.key)) is not None
            and b2.quantity == inp
        ]
        if not found or len(top.indices) != 1 or len(wrt.indices) != 1:
            r.status = "unreadable"
            r.reason = "not an entry ∂y_i/∂x_j of a Jacobian this problem checks"
            return r
        name = found[0][0]
        a, b = top.indices[0], wrt.indices[0]
        member, node = answer if answer is not None else (None, None)
        if node is None or isinstance(node, Unreadable):
            r.status, r.reason = "unreadable", f"line {member.row if member else 1}: {node}"
            return r
        symbols = base

        def entry(q, s: int, i: int, k: int) -> float:
            def make(convention):
                e = Evaluator(q, symbols, convention, "step", {}, s)
                e.components = {a: i, b: k}
                return e

            return float(np.asarray(evaluate_all(make, node)).reshape(()))

        try:
            for q in self.probes:
                entry(q, 0, 0, 0 if a == b else 1)
        except (Unreadable, ValueError) as e:
            r.status, r.reason = "unreadable", f"line {member.row}: {e}"
            return r
        kind = "diagonal" if a == b else "every" if has_kronecker(node) else "off-diagonal"
        r.quantity, r.entry = name, (kind, entry)
        return r

    def chain_break(self, r: Reading, d: Derivative, rest: list) -> str | None:
        """The first member of the chain whose value differs from the readable one before."""
        if r.status != "read" or len(rest) < 2 or r.entry is not None:
            return None
        previous = None
        w = written(d.wrt)
        for member, node in rest:
            if isinstance(node, Unreadable):
                continue
            try:
                f = self._formula(r.quantity, w, node, self.symbols["step"], "step", d, [])
                values = [f(q) for q in self.probes]
            except (Unreadable, ValueError):
                continue
            if previous is not None and not all(
                np.shape(a) == np.shape(b) and same(a, b)
                for a, b in zip(previous, values, strict=True)
            ):
                return f"line {member.row}: the equality breaks here"
            previous = values
        return None

    def _formula(self, name, w, node, symbols, mode, d: Derivative, notes) -> Callable:
        per_row = name in symbols.per_row
        local = not d.of_loss
        indices = list(w.indices)
        if local:
            indices += written(d.top).indices
        entry = None
        if len(w.indices) == 2 and per_row:  # ∂L/∂z_{2B,j}^i: entry j of sample i
            entry, indices = w.indices[0], [w.indices[1]]
            if mode == "step":
                notes.append(
                    f"∂L/∂{pretty(w.key)} is written entry by entry: {entry} the entry, "
                    f"{indices[0]} the sample"
                )
        lhs_index = next((i for i in indices if i in INDEX_LETTERS), None)
        letter = None
        if per_row:
            inner, letter = _front_sum(node)
            if letter is not None and lhs_index is not None and letter != lhs_index:
                letter = None  # Σ_j over the other samples: a real sum, kept
            else:
                node = inner
            if letter and mode == "step":
                notes.append(
                    f"a Σ_{letter} over the batch stands in front of the per-sample left side "
                    f"∂L/∂{pretty(w.key)}{'^' + lhs_index if lhs_index else ''}: read per sample, "
                    "as the left side says (summed, the two sides would not have the same shape)"
                )
        if local and mode == "step":
            notes.append(
                f"a layer's own derivative ∂y/∂{pretty(w.key)} (y depends on "
                f"{pretty(w.key)} entry by entry): ∂L/∂{pretty(w.key)} = "
                + ("∂L/∂y ⊙ (right side)" if per_row else "Σ_i ∂L/∂y_i ⊙ (right side)")
            )
        up = symbols.upstream
        learned = self.learned_before(name)
        fits: list[str] = []  # the vector conventions the last evaluation fitted

        def value(q, sample: int | None, trace: Trace):
            bound = {k: sample for k in (lhs_index, letter) if k} if sample is not None else {}

            def at(component: int | None):
                def make(convention):
                    e = Evaluator(
                        q, symbols, convention, mode, bound, sample, trace.notes, trace.used
                    )
                    e.learned = learned
                    if component is not None:
                        e.components = {entry: component}
                    return e

                value_, fit = evaluate_fit(make, node)
                fits[:] = list(fit)
                return np.asarray(value_, dtype=np.float64)

            if entry is not None:
                width = np.shape(getattr(q, name))[1]
                parts = [at(c) for c in range(width)]
                if any(p.size != 1 for p in parts):
                    raise Unreadable(f"entry {entry} of the right side is not a number")
                return np.array([float(p.reshape(())) for p in parts])
            v = at(None)
            if local:
                dy = np.asarray(getattr(q, up[1]))
                row = dy[sample] if sample is not None else dy
                v = row * (v.ravel() if v.size == row.size else v)
            return v

        def formula(q, trace: Trace | None = None):
            trace = Trace() if trace is None else trace
            if per_row:
                return np.stack([value(q, s, trace).ravel() for s in range(int(q.m))])
            if local:
                return np.sum([value(q, s, trace).ravel() for s in range(int(q.m))], axis=0)
            v = value(q, None, trace)
            want = np.shape(getattr(q, name))
            if len(want) == 2 and v.shape == want[::-1] and fits == ["row"]:
                # x W + b with W stored (in, out): right for that storage, not a transpose
                raise Unreadable(
                    f"with row vectors ∂L/∂{pretty(w.key)} comes out {v.shape}: right if the "
                    f"weights are stored (in, out), a transpose if (out, in) as the problem "
                    f"stores them {want}; not judged"
                )
            return v.ravel() if len(want) == 1 else v

        def with_upstream(q, up_name: str, value: np.ndarray) -> np.ndarray:
            """The formula's value with the report's ∂L/∂``up_name`` replaced by ``value``
            wherever it is used, directly or through other equations (the doctor's hook
            for proving that an error is only inherited)."""
            token = _UPSTREAM.set({**(_UPSTREAM.get() or {}), up_name: np.asarray(value)})
            try:
                return formula(q)
            finally:
                _UPSTREAM.reset(token)

        formula.__name__ = f"grad_{name}"
        formula.with_upstream = with_upstream
        return formula

    def _probe(self, r: Reading) -> None:
        """Evaluate once per probe batch: readability, notes of the symbols used."""
        trace = Trace()
        results = {}
        for mode, f in r.formulas.items():
            results[mode] = [f(q, trace if mode == "step" else Trace()) for q in self.probes]
        base = self.symbols["step"]
        notes = [base.bindings[k].note for k in sorted(trace.used) if k in base.bindings]
        for note in [*notes, *sorted(trace.notes)]:
            if note and note not in r.notes:
                r.notes.append(note)
        if "literal" in results and all(
            same(a, b) for a, b in zip(results["step"], results["literal"], strict=True)
        ):
            del r.formulas["literal"]


def probes_for(problem: Problem) -> list[types.SimpleNamespace]:
    from handgrad.checks.report.notation import probe

    return [probe(problem, 3, 1), probe(problem, 5, 2)]


def jacobians(readings: list[Reading]) -> None:
    r"""Join the diagonal and off-diagonal equations of each Jacobian into one formula.

    ∂y_i/∂x_i = D and ∂y_i/∂x_j = E (i ≠ j) give J[i, i] = D and J[i, j] = E. One
    equation with a Kronecker δ_ij (``y_i(\delta_{ij} - y_j)``) gives every entry; one
    half alone is not enough (is ∂y_i/∂x_j = −y_i y_j meant for i = j too? not said).
    A report that writes a Jacobian more than once (a restatement, a correction) has each
    δ equation read on its own and its halves paired in order: the n-th diagonal with
    the n-th off-diagonal equation.
    """
    groups: dict[tuple[str, str], dict[str, list[Reading]]] = {}
    for r in readings:
        if r.entry is not None and r.status == "read":
            kinds = groups.setdefault((r.problem, r.quantity), {})
            kinds.setdefault(r.entry[0], []).append(r)
    for kinds in groups.values():
        for every in kinds.get("every", []):
            _join(None, every)
        diags, offs = kinds.get("diagonal", []), kinds.get("off-diagonal", [])
        for diag, off in zip(diags, offs, strict=False):
            _join(diag, off)
        for half in diags[len(offs) :] + offs[len(diags) :]:
            half.status = "unreadable"
            half.reason = (
                "only one half of the Jacobian is given (∂y_i/∂x_i and ∂y_i/∂x_j, i ≠ j, "
                "are both needed, or one formula with δ_ij)"
            )


def _join(diag: Reading | None, off: Reading) -> None:
    """Give ``off`` (and ``diag``) the Jacobian whose diagonal is diag's entry formula
    (off's own when diag is None: a δ equation) and whose other entries are off's."""
    fd = diag.entry[1] if diag is not None else off.entry[1]
    fo = off.entry[1]

    def formula(q, seen=None):
        rows = int(q.m)
        n = np.shape(q.y)[1]
        return np.array(
            [
                [[(fd if i == k else fo)(q, s, i, k) for k in range(n)] for i in range(n)]
                for s in range(rows)
            ]
        )

    for r in (diag, off):
        if r is None:
            continue
        r.formulas = {"step": formula}
        if diag is not None:
            r.notes.append(
                f"the diagonal ({diag.where}) and the other entries ({off.where}) of "
                f"{r.quantity} are read together as one Jacobian"
            )


LATER = "not given by an earlier equation"


def in_context(chain, d, tex: str, rest: list, problem: str | None, reader) -> Reading:
    """Read for the problem named, else the problems the text around names, else (or when
    those do not read it) the only problem whose symbols read it."""
    if problem is not None:
        return read_one(chain, d, tex, rest, [reader(problem)])
    named = context_problems(chain)
    if named:
        r = read_one(chain, d, tex, rest, [reader(p) for p in named])
        if r.status != "unreadable":
            return r
    others = [p for p in TABLES if p not in named]
    other = read_one(chain, d, tex, rest, [reader(p) for p in others])
    if named and other.status == "read":
        other.notes.append(
            f"read as {other.problem}: the text around it names {', '.join(named)}, "
            "whose symbols do not read it"
        )
    return other if other.status == "read" or not named else r


def read_one(chain, d, tex: str, rest: list, readers: list[Reader]) -> Reading:
    """One left side read by the candidate problems' readers: the one that reads it."""
    tries = [rd.read(chain, d, tex, rest[-1]) for rd in readers]
    read = [t for t in tries if t.status == "read"]
    if len(read) == 1:
        r = read[0]
        rd = readers[tries.index(r)]
        broke = rd.chain_break(r, d, rest)
        if broke:
            r.notes.append(broke)
        rd.learn(r)
        return r
    if len(read) > 1:
        names = ", ".join(t.problem for t in read)
        r = Reading(chain, tex, None, status="unreadable")
        r.reason = f"it reads in several problems ({names}); name one with --problem"
        return r
    order = {"not_checked": 0, "not_a_quantity": 1, "unreadable": 2}
    return min(tries, key=lambda t: order[t.status])
