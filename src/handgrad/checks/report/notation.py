r"""Which quantity each written symbol means: notation tables, the report's own definitions
and a teaching assistant's notation file.

Three sources, the first that says wins:

1. the *notation file* (TOML) a teaching assistant writes once per assignment::

       problem = "multitask"          # optional: the problem of every equation
       [symbols]
       "H_{1A}" = "z1A"               # a quantity name of the problem (q.z1A) …
       "N" = '\mathbb{1}[H_{BN} > 0]' # … or a LaTeX expression in the report's symbols

2. the *report's definitions*: its forward equations (``z_{1A} = \sin(\theta_{1A}x +
   b_{1A})``) and where-clauses (``\text{where } H = …``). A definition is evaluated
   on random batches; when its value equals a quantity of the problem the symbol *is*
   that quantity (so ``z_{1A}`` in a report that defines it as the sine's output is x1A,
   and the output says so). When it equals none, the symbol keeps the value the report
   gives it; a left side ∂L/∂S then needs the table (and the output says so).
3. the problem's *notation table* of usual spellings (`TABLES`).

A definition that cannot be read leaves the symbol to the table, with a note; a symbol
in none of them is not defined, and an equation that uses it says so.
"""

from __future__ import annotations

import tomllib
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handgrad.checks.doctor import ops
from handgrad.checks.doctor.graph import Problem
from handgrad.checks.report.equations import Chain, depth_split, gradient_of
from handgrad.checks.report.evaluate import (
    Binding,
    Evaluator,
    NeedsSample,
    Symbols,
    evaluate_all,
    same,
)
from handgrad.checks.report.latex import (
    Func,
    Name,
    Node,
    Num,
    Scripted,
    Unreadable,
    parse_one,
    walk,
)
from handgrad.checks.report.symbols import key_of, pretty, show, written
from handgrad.errors import HandgradError

_THETA = {rf"{w}_{{{k}}}": f"theta{k}" for w in (r"\theta", "W") for k in ("1A", "2A", "1B", "2B")}
_BIAS = {f"b_{{{k}}}": f"b{k}" for k in ("1A", "2A", "1B", "2B")}

_ENCODER = {
    "x": "x",
    "z": "z",
    r"\mu": "mu",
    r"\sigma": "sigma",
    r"\log\sigma^2": "logvar",
    r"\epsilon": "eps",
    r"\varepsilon": "eps",
    r"W_{\mu}": "Wmu",
    r"b_{\mu}": "bmu",
    "W_v": "Wv",
    "b_v": "bv",
    "W_d": "Wd",
    "b_d": "bd",
    "m": "m",
}

#: The usual spellings of each problem's quantities, as LaTeX → the name in ``q``.
TABLES: dict[str, dict[str, str]] = {
    "multitask": {
        **_THETA,
        **_BIAS,
        "x": "x",
        "z_{1A}": "z1A",
        "x_{1A}": "x1A",
        "h_{1A}": "x1A",
        "x_{DP}": "xDP",
        "z_{DP}": "xDP",
        "h_{DP}": "xDP",
        r"\hat{y}_A": "yhatA",
        "x_{2A}": "yhatA",
        "z_{2A}": "yhatA",
        "y_A": "yA",
        "x_{1B}": "x1B",
        "z_{1B}": "x1B",
        "x_{BN}": "xBN",
        "x_{BN*}": "xBNs",
        r"x_{\oplus}": "xplus",
        "x_{2B}": "xplus",
        "z_{2B}": "z2B",
        r"\hat{y}_B": "yhatB",
        "y_B": "yB",
        "M": "M",
        "r": "r",
        "p": "p",
        r"\mu": "mu",
        r"\mu_B": "mu",
        "m": "m",
    },
    "batchnorm": {
        "x": "x",
        r"\hat{x}": "xhat",
        "y": "y",
        r"\gamma": "gamma",
        r"\beta": "beta",
        r"\mu": "mu",
        r"\mu_B": "mu",
        r"\sigma_B^2": "var",
        r"\sigma^2": "var",
        r"\epsilon": "eps",
        r"\varepsilon": "eps",
        "m": "m",
    },
    "dropout": {"x": "x", "y": "y", "M": "M", "r": "r", "p": "p", "m": "m"},
    "softmax": {"x": "z", "z": "z", "y": "y", "y_{soft}": "y", "m": "m"},
    "softmax_ce": {"z": "z", r"\hat{y}": "p", "p": "p", "y": "y", "m": "m"},
    "vae_gauss": {
        **_ENCODER,
        r"\hat{x}_{\mu}": "xmu",
        r"\hat{x}_v": "xlogvar",
        "W_s": "Ws",
        "b_s": "bs",
    },
    "vae_bernoulli": {**_ENCODER, "l": "logits"},
    "mlp": {
        "x": "x",
        "y": "y",
        **{f"{w}_{k}": f"W{k}" for w in ("W", r"\theta") for k in (1, 2)},
        **{f"b_{k}": f"b{k}" for k in (1, 2)},
        "z_1": "z1",
        "h_1": "h1",
        "a_1": "h1",
        "h": "h1",
        "z_2": "z2",
        r"\hat{y}": "yhat",
        "m": "m",
    },
}

#: Words in a heading or in the prose before an equation that name the problem it is about.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "multitask": ("block two", "multi-task", "multitask", "task a", "task b"),
    "batchnorm": ("batchnorm", "batch norm", "batchnormalization", "batch normalization"),
    "dropout": ("dropout",),
    "softmax": ("softmax",),
    "softmax_ce": ("cross-entropy", "cross entropy"),
    "mlp": ("mlp", "multilayer perceptron", "multi-layer perceptron"),
    "vae_gauss": ("gaussian decoder",),
    "vae_bernoulli": ("bernoulli",),
    "blockone": ("block one",),
    "vae": ("vae", "variational auto"),
}
GROUPS = {"blockone": ("batchnorm", "dropout", "softmax"), "vae": ("vae_gauss", "vae_bernoulli")}


@dataclass(frozen=True)
class Definition:
    """``lhs = rhs`` written in the report (or the notation file), and where."""

    lhs: Node
    rhs: Node
    where: str
    scope: tuple[str, ...] = ()  # the problems its section is about (empty: any)


@dataclass(frozen=True)
class NotationFile:
    """A parsed notation file: an optional problem and {symbol LaTeX: quantity or LaTeX}."""

    path: str
    problem: str | None
    symbols: dict[str, str]


def read_notation(path: str | Path) -> NotationFile:
    """The notation file at ``path`` (see module doc); `HandgradError` naming any fault."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HandgradError(f"{path}: notation file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise HandgradError(f"{path}: not a readable TOML notation file ({e})") from None
    symbols = data.get("symbols", {})
    problem = data.get("problem")
    bad = (
        [k for k, v in symbols.items() if not isinstance(v, str)]
        if isinstance(symbols, dict)
        else [""]
    )
    if bad or (problem is not None and not isinstance(problem, str)):
        raise HandgradError(
            f'{path}: write [symbols] as "LaTeX symbol" = "quantity or LaTeX", '
            'and problem = "name" (see handgrad check report --help)'
        )
    for k in symbols:
        try:
            key_of(k)
        except (Unreadable, ValueError):
            raise HandgradError(
                f"{path}: `{k}` is not one symbol; write it as in the report"
            ) from None
    return NotationFile(str(path), problem, dict(symbols))


def per_row_names(problem: Problem) -> frozenset[str]:
    """The names in ``q`` that hold one row per sample (probed with a batch of 7 rows)."""
    q = probe(problem, 7, 0)
    return frozenset(
        k
        for k, v in vars(q).items()
        if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == 7
    )


def probe(problem: Problem, m: int, seed: int) -> types.SimpleNamespace:
    """One batch's ``q`` (no truth needed) for reading definitions."""
    rng = np.random.default_rng([seed, 99, m])
    leaves = {k: np.asarray(v, dtype=np.float64) for k, v in problem.sample(rng, m).items()}
    with np.errstate(all="ignore"):
        return problem.namespace(problem.forward(leaves), m)


def upstream_of(problem: Problem) -> tuple[str, str] | None:
    """(key of y, "dy") for a Block One layer whose loss is Σ y ⊙ dy; else None."""
    last = problem.steps[-1]
    if last.op is ops.upstream:
        return last.args[0], last.args[1]
    return None


def _table(problem: Problem) -> dict[str, Binding]:
    table = {key_of(t): q for t, q in TABLES.get(problem.name, {}).items()}
    return {k: Binding(k, quantity=q, note=None) for k, q in table.items()}


def _match(problem: Problem, value_of, probes) -> str | None:
    """The quantity of ``problem`` whose value equals ``value_of(q)`` on every probe batch."""
    names = None
    for q in probes:
        value = value_of(q)
        here = {
            k
            for k, v in vars(q).items()
            if isinstance(v, np.ndarray)
            and same(
                np.asarray(value, dtype=np.float64).reshape(v.shape)
                if np.size(value) == v.size
                else value,
                v,
            )
        }
        names = here if names is None else names & here
    if not names:
        return None
    order = [*problem.quantities, *(s.name for s in problem.steps)]
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))[0]


def build_symbols(
    problem: Problem,
    definitions: list[Definition],
    notation: NotationFile | None,
    sgn: str,
    probes: list[types.SimpleNamespace],
) -> Symbols:
    """The `Symbols` of ``problem`` for one reading of sgn (see module doc for the order)."""
    per_row = per_row_names(problem)
    table = _table(problem)
    symbols = Symbols(dict(table), per_row, upstream=None)
    up = upstream_of(problem)
    if up:
        symbols.upstream = (written(parse_one(up[0])).key, up[1])
    fixed: set[str] = set()
    if notation is not None:
        for tex, value in notation.symbols.items():
            key = key_of(tex)
            fixed.add(key)
            if value in vars(probes[0]):
                symbols.bindings[key] = Binding(key, quantity=value, note=None)
            else:
                try:
                    node = parse_one(value)
                except Unreadable as e:
                    raise HandgradError(f"{notation.path}: `{tex}` = `{value}`: {e}") from None
                symbols.bindings[key] = Binding(key, expr=node)
    pending: dict[str, list[tuple[Definition, str | None]]] = {}
    for d in definitions:
        if d.scope and problem.name not in d.scope and not isinstance(d.lhs, Func):
            continue
        if isinstance(d.lhs, Func):
            if d.lhs.name == "sgn" and len(d.lhs.args) == 1 and "sgn" not in symbols.functions:
                try:
                    symbols.functions["sgn"] = (written(d.lhs.args[0]).key, d.rhs)
                except Unreadable:
                    pass
            continue
        try:
            w = written(d.lhs)
        except Unreadable:
            continue
        key = w.key + (f"^{w.power}" if w.power else "")
        if key in fixed or key == "L" or key.startswith("L_") or key == "e":
            continue
        index = w.indices[0] if len(w.indices) == 1 else None
        grad = gradient_of(d.rhs)
        if grad is not None:  # g^i = ∂L/∂x^i: the report's own formula for it, when used
            if grad.of_loss and key not in pending and key not in symbols.functions:
                stands = pretty(written(grad.wrt).key)
                note = f"`{show(key)}` stands for ∂L/∂{stands} ({d.where})"
                symbols.bindings[key] = Binding(key, expr=d.rhs, index=index, note=note)
                fixed.add(key)
            continue
        pending.setdefault(key, []).append((d, index))
    failures: dict[str, tuple[str, str]] = {}
    for key in pending:
        symbols.bindings.pop(key, None)
    while pending:
        progress = False
        for key, defs in list(pending.items()):
            for d, index in defs:
                try:
                    binding = _resolve(problem, symbols, key, d, index, table.get(key), sgn, probes)
                except (Unreadable, ValueError) as e:
                    failures[key] = (str(e), d.where)
                    continue
                symbols.bindings[key] = binding
                del pending[key]
                progress = True
                break
        if not progress:
            key = next(iter(pending))  # the first still unread: fall back to the table
            reason, where = failures.get(key, ("it cannot be read", "?"))
            old = table.get(key)
            if old is not None:
                symbols.bindings[key] = Binding(
                    key,
                    quantity=old.quantity,
                    note=f"`{show(key)}` read as {old.quantity} by the notation table (its "
                    f"definition, {where}, cannot be read: {reason})",
                )
            else:
                symbols.bindings[key] = Binding(
                    key, failure=f"`{show(key)}` ({where}) cannot be read: {reason}"
                )
            del pending[key]
    return symbols


def _resolve(problem, symbols, key, d: Definition, index, table: Binding | None, sgn, probes):
    """The binding a definition gives ``key``: a quantity when its value is one."""

    def value_of(q):
        def make(convention):
            return Evaluator(q, symbols, convention, sgn)

        try:
            return _eval_any(make, d.rhs, None, index)
        except NeedsSample:
            rows = [_eval_any(make, d.rhs, s, index) for s in range(int(q.m))]
            return np.stack([np.asarray(r, dtype=np.float64).ravel() for r in rows])

    found = _match(problem, value_of, probes)
    if found is not None:
        note = None
        if table is not None and table.quantity != found:
            note = (
                f"`{show(key)}` is read as {found}, as the report defines it ({d.where}), "
                f"not as the table's {table.quantity}"
            )
        return Binding(key, quantity=found, note=note)
    if table is not None and not (sgn == "literal" and _has_sgn(d.rhs)):
        return Binding(
            key,
            quantity=table.quantity,
            note=f"`{show(key)}` is defined ({d.where}) as something that is no quantity of "
            f"{problem.name}; read as {table.quantity} by the notation table",
        )
    if table is None:
        note = f"`{show(key)}` is the report's own shorthand ({d.where}), evaluated as written"
        return Binding(key, expr=d.rhs, index=index, note=note)
    note = f"`{show(key)}` read literally, as defined ({d.where})"
    return Binding(key, expr=d.rhs, index=index, note=note, gradient=table.quantity)


def _has_sgn(node: Node) -> bool:
    return any(isinstance(n, Func) and n.name == "sgn" for n in walk(node))


def _eval_any(make, node, sample, index):

    def build(convention):
        e = make(convention)
        if sample is not None:
            e.default = sample
            if index:
                e.bound = {index: sample}
        return e

    return evaluate_all(build, node)


def definitions_in(chains) -> list[Definition]:
    """Every ``symbol = expression`` of the report (forward equations, where-clauses)."""

    found: list[Definition] = []
    for chain in chains:
        for member in chain.wheres:
            parts = depth_split(member.tex, "=")
            if len(parts) == 2:
                _add(found, parts[0], parts[1], chain)
        nodes = []
        for member in chain.members:
            try:
                nodes.append(member.node)
            except Unreadable:
                nodes.append(None)
        if (
            len(nodes) < 2
            or nodes[-1] is None
            or isinstance(nodes[-1], Num)
            or any(n is not None and gradient_of(n) for n in nodes[:-1])
        ):
            continue
        for n in nodes[:-1]:
            if isinstance(n, (Name, Scripted, Func)):
                found.append(Definition(n, nodes[-1], chain.math.where, _scope(chain)))
    return found


def _scope(chain) -> tuple[str, ...]:
    return tuple(context_problems(chain))


def _add(found, lhs: str, rhs: str, chain) -> None:
    try:
        a = parse_one(lhs)
        b = parse_one(rhs)
    except Unreadable:
        return
    if isinstance(a, (Name, Scripted, Func)) and not isinstance(b, Num):
        found.append(Definition(a, b, chain.math.where, _scope(chain)))


def context_problems(chain: Chain) -> list[str]:
    """The problems named by the nearest prose, else the nearest heading (module doc)."""
    texts = [*reversed(chain.math.prose), *reversed(chain.math.headings)]
    for text in texts:
        low = text.lower()
        hits = [p for p, words in KEYWORDS.items() if any(w in low for w in words)]
        named = [p for p in hits if p not in GROUPS]  # a layer named beats a block named
        if named:
            return named
        if hits:
            return list(dict.fromkeys(q for p in hits for q in GROUPS[p]))
    return []
