r"""Evaluating a parsed expression on one batch, with the conventions written reports use.

Vectors are column vectors (``convention="col"``, the usual ``\theta x + b``) or row
vectors (``"row"``, ``x \theta^T``): the reader tries both and keeps the value only when
every reading that fits the shapes gives the same number (`evaluate_all`). A
per-sample quantity (one row of the batch) is selected by its index, ``x^i`` or
``x_i``; ``\sum_{i=1}^m`` sums its body over the samples; inside a sum (or for a
per-sample left side) a vector written without index is the current sample, and this
is noted. Juxtaposition, ``\cdot`` and ``\times`` are products (scalar times anything,
else the matrix product), ``\odot`` and ``\circ`` the elementwise product. A product
chain ``a b ⊙ c d`` is evaluated in *every* grouping: the groupings whose shapes fit must
all agree, else the equation is ambiguous and is not read (`Unreadable`).

``sgn`` is read as the step 1[x > 0] (``sgn="step"``) or literally (``"literal"``: as the
report defines it, e.g. (x + |x|)/2, else the sign function −1/0/1).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handgrad.checks.report.latex import (
    Abs,
    Add,
    Dots,
    Frac,
    Func,
    Group,
    Indicator,
    Nabla,
    Name,
    Node,
    Num,
    Ones,
    Partial,
    Product,
    Scripted,
    Sqrt,
    Sum,
    Unreadable,
    parse_one,
    walk,
)
from handgrad.checks.report.symbols import INDEX_LETTERS, label, show, written

Value = float | np.ndarray


class NeedsSample(Unreadable):
    """A per-sample quantity was used where no sample is in scope."""


@dataclass
class Binding:
    """What a symbol key means: a quantity of ``q``, or an expression (a definition).

    ``index`` is the definition's own sample index (``H^i = …``); ``failure`` a reason the
    symbol cannot be read (its definition could not be); ``note`` how it was read.
    """

    key: str
    quantity: str | None = None
    expr: Node | None = None
    index: str | None = None
    failure: str | None = None
    note: str | None = None
    gradient: str | None = None  # the quantity ∂L/∂(this symbol) is, when not ``quantity``

    @property
    def names(self) -> str | None:
        """The quantity a left side ∂L/∂(this symbol) is the gradient of."""
        return self.quantity or self.gradient


@dataclass
class Symbols:
    """The bindings of one problem under one reading of sgn, and the report's functions."""

    bindings: dict[str, Binding]
    per_row: frozenset[str]
    functions: dict[str, tuple[str, Node]] = field(default_factory=dict)
    upstream: tuple[str, str] | None = None  # (y key, q name of ∂L/∂y) for Block One layers


def _scalar(v: Value) -> bool:
    return not isinstance(v, np.ndarray) or v.ndim == 0


def _one_by_one(v: Value) -> bool:
    """A 1×1 result (uᵀv) multiplies like a number."""
    return isinstance(v, np.ndarray) and v.shape == (1, 1)


def combine(op: str, a: Value, b: Value) -> Value:
    """``a op b`` for one product operator; `ValueError` when the shapes do not fit."""
    if op in ("", "cdot", "times"):
        if _scalar(a) or _scalar(b):
            return a * b
        if a.shape[1] == b.shape[0]:
            return a @ b
        if _one_by_one(a) or _one_by_one(b):
            return a * b
        raise ValueError(f"{a.shape} times {b.shape}")
    if op == "odot":
        if _scalar(a) or _scalar(b) or a.shape == b.shape or _one_by_one(a) or _one_by_one(b):
            return a * b
        raise ValueError(f"{a.shape} ⊙ {b.shape}")
    if op == "/":
        if _scalar(b) or (not _scalar(a) and a.shape == b.shape):
            return a / b
        raise ValueError(f"{np.shape(a)} / {np.shape(b)}")
    raise Unreadable(f"the operator {op} is not read")


def same(a: Value, b: Value) -> bool:
    if np.shape(a) != np.shape(b):
        return False
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return bool(
        np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0) <= 1e-9 * max(scale, 1e-300)
    )


def _distinct(values: list[Value]) -> list[Value]:
    out: list[Value] = []
    for v in values:
        if not any(same(v, u) for u in out):
            out.append(v)
    return out


class Evaluator:
    """Evaluates nodes on one ``q`` (see module doc); ``used`` collects the bindings read."""

    def __init__(
        self,
        q,
        symbols: Symbols,
        convention: str = "col",
        sgn: str = "step",
        bound: dict[str, int] | None = None,
        default: int | None = None,
        notes: set[str] | None = None,
        used: set[str] | None = None,
    ):
        self.q, self.symbols, self.convention, self.sgn = q, symbols, convention, sgn
        self.bound = dict(bound or {})
        self.default = default
        self.default_sum: str | None = None
        self.notes = notes if notes is not None else set()
        self.used = used if used is not None else set()
        self.local: dict[str, Value] = {}
        self.components: dict[str, int] = {}  # entry indices of a Jacobian (softmax)
        self.learned: dict[str, Callable] = {}  # quantity → the report's formula (q, sgn)

    @property
    def m(self) -> int:
        return int(self.q.m)

    def child(self, bound: dict[str, int], default: int | None) -> Evaluator:
        e = Evaluator(
            self.q, self.symbols, self.convention, self.sgn, bound, default, self.notes, self.used
        )
        e.local = dict(self.local)
        e.components = self.components
        e.learned = self.learned
        return e

    def orient(self, a) -> Value:
        a = np.asarray(a, dtype=np.float64)
        if a.ndim == 0:
            return float(a)
        if a.ndim == 1:
            return a.reshape(-1, 1) if self.convention == "col" else a.reshape(1, -1)
        return a

    # --- nodes -----------------------------------------------------------------------
    def eval(self, node: Node) -> Value:
        method: Callable = getattr(self, f"_{type(node).__name__.lower()}", None)
        if method is None:
            raise Unreadable(f"{type(node).__name__} is not read")
        return method(node)

    def _num(self, node: Num) -> Value:
        return node.value

    def _ones(self, node: Ones) -> Value:
        return 1.0

    def _dots(self, node: Dots) -> Value:
        raise Unreadable("`\\dots` leaves part of the expression out")

    def _nabla(self, node: Nabla) -> Value:
        raise Unreadable("a gradient ∇ on the right side is not evaluated")

    def _partial(self, node: Partial) -> Value:
        raise Unreadable("a derivative on the right side is not evaluated")

    def _group(self, node: Group) -> Value:
        return self.eval(node.node)

    def _abs(self, node: Abs) -> Value:
        return np.abs(self.eval(node.node))

    def _sqrt(self, node: Sqrt) -> Value:
        return np.sqrt(self.eval(node.node))

    def _frac(self, node: Frac) -> Value:
        if isinstance(node.num, Partial) or isinstance(node.den, Partial):
            return self.derivative(node.num, node.den)
        try:
            return combine("/", self.eval(node.num), self.eval(node.den))
        except ValueError as e:
            raise Unreadable(f"a fraction whose shapes do not fit: {e}") from None

    def derivative(self, num: Node, den: Node) -> Value:
        """∂L/∂X on a right side: ∂L/∂y of a Block One layer is the given upstream dy; any
        other is the report's own formula for ∂L/∂X, read from an earlier equation."""
        if not (isinstance(num, Partial) and isinstance(den, Partial)):
            raise Unreadable("a derivative on the right side is not evaluated")
        top = num.node
        if not (isinstance(top, Name) and top.base == "L"):
            raise Unreadable("a derivative on the right side is not evaluated")
        return self.gradient(den.node)

    def gradient(self, wrt: Node) -> Value:
        """∂L/∂wrt on a right side (see `derivative`)."""
        w = written(wrt)
        up = self.symbols.upstream
        if up and w.key == up[0]:
            return self.symbol_value(Binding(w.key, quantity=up[1]), w, show(w.key))
        b = self.symbols.bindings.get(w.key)
        name = b.names if b is not None else None
        f = self.learned.get(name) if name else None
        if f is None:
            raise Unreadable(
                f"∂L/∂{show(w.key)} on the right side is not given by an earlier equation"
            )
        whole = f(self.q, self.sgn)
        self.notes.add(f"∂L/∂{show(w.key)} on the right side is the report's own formula for it")
        if name in self.symbols.per_row:
            return self.orient(np.asarray(whole)[self._sample_of(w, show(w.key))])
        return self.orient(whole)

    def _add(self, node: Add) -> Value:
        total: Value | None = None
        for sign, term in node.terms:
            v = self.eval(term)
            v = -v if sign < 0 else v
            if total is None:
                total = v
            elif _scalar(total) or _scalar(v) or np.shape(total) == np.shape(v):
                total = total + v
            else:
                raise Unreadable(f"a sum of shapes {np.shape(total)} and {np.shape(v)}")
        return total

    def _func(self, node: Func) -> Value:
        if self.sgn == "literal" and node.name == "sgn" and "sgn" in self.symbols.functions:
            param, body = self.symbols.functions["sgn"]
            (arg,) = node.args
            inner = self.child(self.bound, self.default)
            inner.local[param] = self.eval(arg)
            return inner.eval(body)
        args = [self.eval(a) for a in node.args]
        if node.name == "max":
            if len(args) != 2:
                raise Unreadable("max of other than two arguments")
            return np.maximum(args[0], args[1])
        if len(args) != 1:
            raise Unreadable(f"{node.name} of {len(args)} arguments")
        (v,) = args
        simple = {
            "sin": np.sin,
            "cos": np.cos,
            "tan": np.tan,
            "exp": np.exp,
            "log": np.log,
            "tanh": np.tanh,
            "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
            "relu": lambda x: np.maximum(x, 0.0),
        }
        if node.name in simple:
            return simple[node.name](v)
        if node.name == "sgn":
            return (np.asarray(v) > 0).astype(np.float64) if self.sgn == "step" else np.sign(v)
        if node.name == "softmax":
            a = np.asarray(v)
            if a.ndim != 2 or 1 not in a.shape:
                raise Unreadable("softmax of a matrix")
            e = np.exp(a - a.max())
            return e / e.sum()
        if node.name == "diag":
            a = np.asarray(v)
            if a.ndim != 2 or 1 not in a.shape:
                raise Unreadable("diag of a matrix")
            return np.diag(a.ravel())
        raise Unreadable(f"the function {node.name} is not read")

    def _indicator(self, node: Indicator) -> Value:
        a, b = self.eval(node.left), self.eval(node.right)
        ops = {">": np.greater, "<": np.less, "geq": np.greater_equal, "leq": np.less_equal}
        if node.op not in ops:
            raise Unreadable(f"the condition {node.op} is not read")
        return ops[node.op](a, b).astype(np.float64)

    def _sum(self, node: Sum) -> Value:
        letter = sample_sum(node)
        if letter in self.bound:
            raise Unreadable(f"Σ over {letter} inside a sum or equation already over {letter}")
        total: Value | None = None
        for s in range(self.m):
            inner = self.child({**self.bound, letter: s}, s)
            inner.default_sum = letter
            v = inner.eval(node.body)
            total = v if total is None else total + v
        return total

    def _product(self, node: Product) -> Value:
        if len(node.factors) == 2 and node.ops == ("/",):
            a, b = node.factors
            if isinstance(a, Partial) and isinstance(b, Partial):
                return self.derivative(a, b)
        if any(
            isinstance(f, Nabla) or (isinstance(f, Scripted) and isinstance(f.node, Nabla))
            for f in node.factors
        ):
            raise Unreadable("a gradient ∇ on the right side is not evaluated")
        values = [self.eval(f) for f in node.factors]
        results = _groupings(values, list(node.ops))
        if not results:
            shapes = " ".join(str(np.shape(v)) for v in values)
            raise Unreadable(f"the shapes of the product do not fit in any grouping: {shapes}")
        if len(results) > 1:
            raise Unreadable(
                "the product means different things in different groupings; add brackets"
            )
        return results[0]

    def _name(self, node: Name) -> Value:
        return self._scripted(Scripted(node, None, None))

    def _scripted(self, node: Scripted) -> Value:
        inner = node.node
        kronecker = _kronecker(node)
        if kronecker and all(k in self.components for k in kronecker):
            a, b = kronecker
            return float(self.components[a] == self.components[b])
        if isinstance(inner, Name) and inner.base == "\\delta" and node.sub and not node.sup:
            target = _symbol_in(node.sub)
            if target is not None:
                return self.gradient(target)
        if isinstance(inner, Name):
            w = written(node)
            if w.key == "e" and w.power and "e" not in self.symbols.bindings:
                return np.exp(self.eval(_exponent(w.power)))
            return self.symbol(w)
        if node.sub is not None:
            raise Unreadable("a subscript on a bracket is not read")
        v = self.eval(inner)
        sup = label(node.sup or "")
        if sup == "T":
            return v.T if isinstance(v, np.ndarray) else v
        return np.power(v, self.eval(_exponent(node.sup)))

    # --- symbols -----------------------------------------------------------------------
    def symbol(self, w) -> Value:
        text = show(w.key)
        power = w.power
        if w.key in self.local:
            value = self.local[w.key]
        else:
            b = self.symbols.bindings.get(w.key)
            if b is None and power is not None:
                b = self.symbols.bindings.get(f"{w.key}^{label(power)}")
                power = None if b is not None else power
            if b is None:
                raise Unreadable(f"`{text}` is not defined; add it to the notation file")
            self.used.add(b.key)
            value = self.symbol_value(b, w, text)
        if w.transpose:
            value = value.T if isinstance(value, np.ndarray) else value
        if power is not None:
            value = np.power(value, self.eval(_exponent(power)))
        return value

    def _sample_of(self, w, text: str) -> int:
        letters = [i for i in w.indices if i in self.bound]
        if len(w.indices) > len(letters):
            free = [i for i in w.indices if i not in self.bound]
            raise NeedsSample(f"the index {free[0]} of `{text}` is not summed over nor on the left")
        if len(letters) > 1:
            raise Unreadable(f"`{text}` has two sample indices")
        if letters:
            return self.bound[letters[0]]
        if self.default is None:
            raise NeedsSample(f"`{text}` is one sample's, used outside any sum over the samples")
        if self.default_sum:
            self.notes.add(
                f"`{text}` has no sample index inside Σ_{self.default_sum}: "
                f"read as `{text}^{self.default_sum}`"
            )
        return self.default

    def symbol_value(self, b: Binding, w, text: str) -> Value:
        if b.failure is not None:
            raise Unreadable(b.failure)
        entry = [i for i in w.indices if i in self.components]
        if entry:
            if len(entry) > 1 or b.quantity not in self.symbols.per_row:
                raise Unreadable(f"`{text}` with entry indices {', '.join(entry)} is not read")
            w = type(w)(w.key, tuple(i for i in w.indices if i not in entry), w.transpose, w.power)
            row = np.asarray(getattr(self.q, b.quantity))[self._sample_of(w, text)]
            return float(row[self.components[entry[0]]])
        if b.quantity is not None:
            a = getattr(self.q, b.quantity)
            if b.quantity in self.symbols.per_row:
                return self.orient(np.asarray(a)[self._sample_of(w, text)])
            if w.indices and any(i in self.bound for i in w.indices):
                raise Unreadable(f"`{text}` has a sample index but is the same for every sample")
            return self.orient(a)
        if w.indices or self.default is not None:
            try:
                s = self._sample_of(w, text)
            except NeedsSample:
                s = None
        else:
            s = None
        bound = {b.index: s} if (b.index and s is not None) else {}
        return self.child(bound, s).eval(b.expr)


def _kronecker(node: Node) -> tuple[str, str] | None:
    """The two index letters of a Kronecker delta ``\\delta_{ij}``, else None."""
    if not (isinstance(node, Scripted) and isinstance(node.node, Name)):
        return None
    if node.node.base != "\\delta" or node.sup or not node.sub:
        return None
    letters = label(node.sub).replace(",", "")
    if len(letters) == 2 and set(letters) <= INDEX_LETTERS:
        return letters[0], letters[1]
    return None


def has_kronecker(node: Node) -> bool:
    """Whether a tree contains a Kronecker delta ``\\delta_{ij}``."""
    return any(_kronecker(n) for n in walk(node))


def _symbol_in(raw: str) -> Node | None:
    """The one symbol written in ``raw`` (``\\delta_{z_{2B}}``'s subscript), else None."""
    try:
        node = parse_one(raw)
    except Unreadable:
        return None
    return node if isinstance(node, (Name, Scripted)) and not _is_number(node) else None


def _is_number(node: Node) -> bool:
    return isinstance(node, Name) and node.base.isdigit()


def _exponent(raw: str) -> Node:
    node = parse_one(raw)
    return node


def sample_sum(node: Sum) -> str:
    sub = re.sub(r"\s", "", label(node.sub or ""))
    m = re.fullmatch(r"([a-z])(=1)?", sub)
    sup = re.sub(r"[\s{}]", "", node.sup or "m")
    if not m or m.group(1) not in INDEX_LETTERS:
        raise Unreadable(f"the sum Σ_{{{node.sub}}} is not a sum over the samples")
    if sup != "m":
        raise Unreadable(
            f"Σ_{m.group(1)} up to {sup} is not a sum over the batch (sums over components "
            "are not read)"
        )
    return m.group(1)


def _groupings(values: list[Value], ops: list[str]) -> list[Value]:
    """Every value the product can take over all groupings whose shapes fit (deduplicated)."""
    n = len(values)
    table: dict[tuple[int, int], list[Value]] = {(i, i): [values[i]] for i in range(n)}
    for width in range(1, n):
        for i in range(n - width):
            j = i + width
            found: list[Value] = []
            for k in range(i, j):
                for a, b in itertools.product(table[(i, k)], table[(k + 1, j)]):
                    try:
                        found.append(combine(ops[k], a, b))
                    except ValueError:
                        continue
            table[(i, j)] = _distinct(found)
    return table[(0, n - 1)]


def evaluate_all(make: Callable[[str], Evaluator], node: Node) -> Value:
    """The value of ``node`` read with column and with row vectors (see module doc).

    ``make(convention)`` builds the evaluator. Vector results are compared flattened;
    two readings that fit and disagree make the node `Unreadable`.
    """
    return evaluate_fit(make, node)[0]


def evaluate_fit(make: Callable[[str], Evaluator], node: Node) -> tuple[Value, tuple[str, ...]]:
    """`evaluate_all`'s value and the conventions ("col", "row") whose shapes fit."""
    results, reasons = [], []
    for convention in ("col", "row"):
        try:
            with np.errstate(all="ignore"):
                results.append((convention, make(convention).eval(node)))
        except Unreadable as e:
            reasons.append(e)
        except (ValueError, TypeError, IndexError, ZeroDivisionError) as e:
            reasons.append(Unreadable(f"it cannot be evaluated: {e}"))
    if not results:
        raise reasons[0]
    if len(results) == 2:
        (_, a), (_, b) = results
        if not _agree(a, b):
            raise Unreadable(
                "it means different things with column and with row vectors; add transposes"
            )
    return results[0][1], tuple(c for c, _ in results)


def _agree(a: Value, b: Value) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.size != b.size:
        return False
    if a.ndim == 2 and b.ndim == 2 and 1 not in a.shape:
        return same(a, b)
    return same(a.ravel(), b.ravel())
