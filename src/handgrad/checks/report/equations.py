r"""A math span → equality chains, each member with its line; gradient left sides recognised.

A display ``\begin{aligned} A &= B \\ &= C \\ D &= E \end{aligned}`` holds two chains,
``A = B = C`` (members on lines 1, 1, 2) and ``D = E`` (line 3). A ``cases`` whose rows are
equations is a list of equations. A line that is a bracketed remark with an ``=``
inside, and whatever follows ``\text{where}``, ``\text{其中}`` or ``,\quad``, are
*where-clauses*: definitions, not members.

`joined` continues a chain in the next display (``$$= …$$``); `paired` joins a bare
``∂L/∂X`` in a sentence to the next expression when the words between say so ("is",
"=", "结果为"). `gradient_of(node)` recognises a gradient of the loss, ∂L/∂X
(``\frac{\partial L}{\partial X}``, ``\partial L/\partial X``, ``\nabla_X L``,
``\delta_X`` with X a symbol), and a layer's own derivative ∂y/∂X.
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


#: Words between "∂L/∂X" and an expression in one sentence that make it an equation.
RESULT_WORDS = re.compile(r"\b(is|are|equals?|gives|results?)\b|=|结果|为|等于|是")


def joined(chains):
    """A display that starts with "=" continues the chain of the display before it."""
    out = []
    for c in chains:
        if c.continues and out and out[-1].math.display:
            prev = out[-1]
            prev.members += c.members
            prev.wheres += c.wheres
            continue
        out.append(c)
    return out


def paired(chains):
    """The chains, with a bare ∂L/∂X followed in the same paragraph by a bare expression
    joined into one equation (report 003: "∂L/∂b2B … 结果为 (1/m) Σ_i (ŷ_B^i − y_B^i)")."""
    out, skip = [], set()
    for k, c in enumerate(chains):
        if k in skip:
            continue
        nxt = chains[k + 1] if k + 1 < len(chains) else None
        if (
            nxt is not None
            and not c.math.display
            and not nxt.math.display
            and c.math.paragraph == nxt.math.paragraph
            and len(c.members) == 1
            and len(nxt.members) == 1
        ):
            try:
                d = gradient_of(c.members[0].node)
                value = nxt.members[0].node
            except Exception:
                d = None
            words = nxt.math.prose[-1][len(c.math.prose[-1]) :].strip() if nxt.math.prose else ""
            says = RESULT_WORDS.search(words.lower()) is not None
            if d is not None and d.of_loss and gradient_of(value) is None and says:
                joined = Chain(c.math, [c.members[0], nxt.members[0]])
                joined.note = (
                    f"`{c.members[0].tex}` and `{nxt.members[0].tex}` read as one equation "
                    f"(the words between: “{words}”)"
                )
                out.append(joined)
                skip.add(k + 1)
                continue
        out.append(c)
    return out
