r"""A math span → equality chains, each member with its line; gradient left sides recognised.

A display ``\begin{aligned} A &= B \\ &= C \\ D &= E \end{aligned}`` holds two chains,
``A = B = C`` (members on lines 1, 1, 2) and ``D = E`` (line 3). A ``cases`` whose rows are
equations is a list of equations. A line that is a bracketed remark with an ``=``
inside, and whatever follows ``\text{where}``, ``\text{其中}`` or ``,\quad``, are
*where-clauses*: definitions, not members.

`gradient_of(node)` recognises a gradient of the loss, ∂L/∂X (``\frac{\partial L}{\partial
X}``, ``\partial L/\partial X``, ``\nabla_X L``, ``\delta_X`` with X a symbol), and a
layer's own derivative ∂y/∂X.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from handgrad.checks.report.document import Math
from handgrad.checks.report.latex import (
    Frac,
    Nabla,
    Name,
    Node,
    Partial,
    Product,
    Scripted,
    Unreadable,
    normalize,
    parse_one,
)

_ENV = re.compile(
    r"\\begin\{(aligned|align\*?|eqnarray\*?|gathered|split|cases)\}(.*)\\end\{\1\}", re.S
)
_WHERE = re.compile(
    r"\\text\{\s*(?:where|with|其中|这里)\s*[,:]?\s*\}|(?:,|，)\s*(?:\\quad|\\qquad)|(?:,|，)\s*其中"
)


@dataclass
class Member:
    """One side of an equality: its (normalised) LaTeX and its line within the span."""

    tex: str
    row: int

    @property
    def node(self) -> Node:
        node = parse_one(self.tex)
        return node


@dataclass
class Chain:
    """``members[0] = members[1] = …`` in one math span."""

    math: Math
    members: list[Member]
    wheres: list[Member] = field(default_factory=list)
    note: str | None = None  # how the chain was assembled, when not from one equation
    continues: bool = False  # starts with "=": the previous display's chain goes on


def depth_split(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside every bracket (``{}``, ``()``, ``[]``)."""
    parts, depth, cur, i = [], 0, [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _rows(tex: str) -> list[str]:
    m = _ENV.fullmatch(tex.strip())
    if not m:
        return [tex]
    rows = [r for r in _top_rows(m.group(2)) if r.strip()]
    if m.group(1) == "cases" and not all("=" in r.split("&")[0] for r in rows):
        return [tex]  # a value by cases, not a list of equations
    return rows


def _top_rows(body: str) -> list[str]:
    """``body`` split at ``\\\\`` outside nested environments (a matrix keeps its rows)."""
    rows, depth, start = [], 0, 0
    for m in re.finditer(r"\\begin\{[^{}]*\}|\\end\{[^{}]*\}|\\\\", body):
        if m.group().startswith("\\begin"):
            depth += 1
        elif m.group().startswith("\\end"):
            depth -= 1
        elif depth == 0:
            rows.append(body[start : m.start()])
            start = m.end()
    return [*rows, body[start:]]


def chains_of(math: Math) -> list[Chain]:
    """Every equality chain in the span (see module doc)."""
    chains: list[Chain] = []
    current: Chain | None = None
    for r, row in enumerate(_rows(math.tex), 1):
        main, *wheres = _WHERE.split(row)
        text = normalize(main)
        where_members = [
            Member(normalize(p), r) for w in wheres for p in depth_split(w, ",") if "=" in p
        ]
        parts = depth_split(text, "=")
        remark = re.fullmatch(r"\((.*)\)", text)
        if len(parts) == 1 and remark and "=" in remark.group(1):
            where_members.append(Member(remark.group(1), r))
            parts = []
        if parts and parts[0] == "" and current is not None:
            current.members += [Member(p, r) for p in parts[1:]]
        elif len(parts) == 1 and current is not None and text:
            last = current.members[-1]
            current.members[-1] = Member(f"{last.tex} {text}", last.row)
        elif parts and any(parts):
            current = Chain(math, [Member(p, r) for p in parts if p or len(parts) == 1])
            current.continues = parts[0] == "" and r == 1
            chains.append(current)
        if where_members:
            target = current or Chain(math, [])
            target.wheres += where_members
            if current is None:
                chains.append(target)
                current = target
    return chains


@dataclass(frozen=True)
class Derivative:
    """∂top/∂wrt as written: ``top`` the loss (``"L"``) or a layer output's node."""

    top: Node
    wrt: Node

    @property
    def of_loss(self) -> bool:
        return isinstance(self.top, Name) and self.top.base == "L"


def gradient_of(node: Node) -> Derivative | None:
    """The derivative ``node`` writes, if it is one (see module doc)."""
    if isinstance(node, Frac) and isinstance(node.num, Partial) and isinstance(node.den, Partial):
        return Derivative(node.num.node, node.den.node)
    if (
        isinstance(node, Scripted)
        and isinstance(node.node, Name)
        and node.node.base == "\\delta"
        and node.sub
        and node.sup is None
    ):
        try:
            wrt = parse_one(node.sub)
        except Unreadable:
            return None
        if isinstance(wrt, (Name, Scripted)):
            return Derivative(Name("L"), wrt)
        return None
    if isinstance(node, Product) and len(node.factors) == 2:
        a, b = node.factors
        if node.ops == ("/",) and isinstance(a, Partial) and isinstance(b, Partial):
            return Derivative(a.node, b.node)
        if isinstance(a, Scripted) and isinstance(a.node, Nabla) and a.sub and a.sup is None:
            try:
                wrt = parse_one(a.sub)
            except Unreadable:
                return None
            return Derivative(b, wrt)
    return None
