r"""LaTeX math → a small syntax tree, by a lark grammar for the matrix-calculus subset.

Written derivations use a small part of LaTeX: symbols with labels and sample indices
(``\hat{\mathbf{y}}_B^i``, ``\theta_{2B}^T``), juxtaposition and ``\odot``, ``\circ``,
``\cdot``, ``\times``, ``/``; ``\frac``, ``\sqrt``, ``\sum_{i=1}^m``; functions (``\sin``,
``\text{sgn}``, ``\text{Softmax}``, …); the indicator ``\mathbb{1}[x > 0]``; brackets of
every size; derivatives ``\frac{\partial L}{\partial X}``, ``\partial L/\partial X`` and
``\nabla_X L``. `normalize` removes what does not change the meaning (sizes, spacing,
fonts, alignment marks) and `parse` returns the tree of one equality chain
``a = b = c``. Anything outside the subset raises `Unreadable` with the reason; nothing
is read by guessing. The grammar is LALR(1): ``|x|`` is rewritten ``\abs{x}`` first, and
``\max(a, b)`` is the only function whose parentheses are its own (``\sin(x)`` is ``\sin``
applied to the group ``(x)``).

A product is kept flat (factors and the operators between them): which grouping of
``θᵀ v ⊙ M ⊙ cos(h) xᵀ`` is meant is decided by the evaluator, which tries every one
(`handgrad.checks.report.evaluate`). A ``\sum`` takes the rest of its product as its body.
Sub- and superscripts stay raw text (``_{B,k}``, ``^i``, ``^T``): what they mean depends on
the symbol and on the indices in scope.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import lark


class Unreadable(Exception):
    """An equation, or part of one, that cannot be read; the message says why."""


# --- the tree ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    """Base of the syntax tree."""


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True)
class Name(Node):
    """A symbol as written: ``base`` (``y``, ``\theta``, ``\text{FC}``) and ``deco`` (``hat``)."""

    base: str
    deco: str = ""


@dataclass(frozen=True)
class Scripted(Node):
    """``node`` with its raw subscript and superscript (without ``_``/``^`` and outer braces)."""

    node: Node
    sub: str | None
    sup: str | None


@dataclass(frozen=True)
class Group(Node):
    node: Node


@dataclass(frozen=True)
class Frac(Node):
    num: Node
    den: Node


@dataclass(frozen=True)
class Sqrt(Node):
    node: Node


@dataclass(frozen=True)
class Func(Node):
    """``name(args…)``: sin, cos, exp, log, tanh, sgn, softmax, relu, diag, max, …"""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Indicator(Node):
    r"""``\mathbb{1}[left op right]``."""

    left: Node
    op: str
    right: Node


@dataclass(frozen=True)
class Ones(Node):
    r"""``\mathbf{1}``, the vector of ones (a broadcast 1)."""


@dataclass(frozen=True)
class Abs(Node):
    node: Node


@dataclass(frozen=True)
class Partial(Node):
    r"""``\partial X``: half of a derivative."""

    node: Node


@dataclass(frozen=True)
class Nabla(Node):
    r"""``\nabla_X`` (the raw subscript)."""

    sub: str | None


@dataclass(frozen=True)
class Sum(Node):
    r"""``\sum_{sub}^{sup} body`` (raw bounds)."""

    sub: str | None
    sup: str | None
    body: Node


@dataclass(frozen=True)
class Product(Node):
    """``factors[0] ops[0] factors[1] …``; an op is "" (juxtaposition), odot, cdot, times, /."""

    factors: tuple[Node, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class Add(Node):
    """``±terms[0] ± terms[1] …``: (sign, term) pairs, sign +1 or −1."""

    terms: tuple[tuple[int, Node], ...]


@dataclass(frozen=True)
class Dots(Node):
    r"""``\dots`` and friends: an elided part, never readable."""


# --- normalising -------------------------------------------------------------------------
FUNCTIONS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "exp": "exp",
    "log": "log",
    "ln": "log",
    "tanh": "tanh",
    "sgn": "sgn",
    "sign": "sgn",
    "softmax": "softmax",
    "relu": "relu",
    "diag": "diag",
    "max": "max",
    "sigmoid": "sigmoid",
}
GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
    "xi pi rho sigma tau phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi "
    "Omega ell oplus"
).split()

_FONT = r"\\(?:mathbf|boldsymbol|bm|mathit|mathrm|mathsf|mathcal|mathbfit|pmb|text|textbf|textrm)"
_DROP = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|bigg|Bigg|big|Big)(?![a-zA-Z])"
    r"|\\(?:displaystyle|textstyle|limits|nolimits|quad|qquad)(?![a-zA-Z])"
    r"|\\[,;:! ]|&|~"
)


def strip_fonts(s: str) -> str:
    r"""``\mathbf{x}_{2\text{B}}`` → ``x_{2B}`` (repeated for nested fonts)."""
    prev = None
    while prev != s:
        prev = s
        s = re.sub(_FONT + r"\s*\{([^{}]*)\}", r"\1", s)
        s = re.sub(_FONT + r"\s+([a-zA-Z0-9])", r"\1", s)
    return s


def normalize(tex: str) -> str:
    """The equation without sizes, spacing, alignment marks and fonts (see module doc)."""
    s = tex
    s = re.sub(r"\\(?:dfrac|tfrac)(?![a-zA-Z])", r"\\frac", s)
    s = re.sub(r"\\(?:top|intercal|mathsf\{T\}|mathrm\{T\}|text\{T\})(?![a-zA-Z])", "T", s)
    s = re.sub(r"\\(?:mathbb|mathbf|bm|boldsymbol)\{1\}", r"\\one ", s)
    s = re.sub(r"\\(?:lbrack)(?![a-zA-Z])", "[", s)
    s = re.sub(r"\\(?:rbrack)(?![a-zA-Z])", "]", s)
    s = re.sub(r"\\(?:lvert|rvert|vert)(?![a-zA-Z])", "|", s)
    s = re.sub(r"\\(?:geqslant|geq|ge)(?![a-zA-Z])", r"\\geq ", s)
    s = re.sub(r"\\(?:leqslant|leq|le)(?![a-zA-Z])", r"\\leq ", s)
    s = re.sub(r"\\(?:ne|neq)(?![a-zA-Z])", r"\\neq ", s)
    s = re.sub(r"\\ast(?![a-zA-Z])", "*", s)
    s = re.sub(r"\\(?:ldots|cdots|dots|vdots|ddots)(?![a-zA-Z])|\.\.\.", r"\\dots ", s)

    def function(match: re.Match) -> str:
        word = match.group(1).strip()
        key = word.lower()
        return f"\\{FUNCTIONS[key]} " if key in FUNCTIONS else match.group(0)

    s = re.sub(r"\\(?:text|operatorname|mathrm|textrm)\s*\{([^{}]*)\}", function, s)
    s = _DROP.sub(" ", s)
    s = s.replace("\\|", "‖")  # a norm: not read
    s = re.sub(r"\|([^|]*)\|", r"\\abs{\1}", s)
    s = re.sub(
        r"\\(widehat|hat|bar|tilde|widetilde|vec|dot)\s*([a-zA-Z]|\\[a-zA-Z]+)", r"\\\1{\2}", s
    )
    s = re.sub(r"\\(?:mathcal|mathscr)\{L\}", "L", s)
    s = strip_fonts(s)
    s = re.sub(r"\\(?:text|textbf)\{([^{}]*)\}", r"\\text{\1}", s)
    return " ".join(s.split()).strip().rstrip(",.;")


# --- the grammar -------------------------------------------------------------------------
_BRACED = r"\{(?:[^{}]|\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\})*\}"
GRAMMAR = rf"""
start: expr (EQ expr)*

expr: SIGN? product (SIGN product)*
product: (factor OP?)* (factor | summation)
summation: SUM SCRIPT* product

factor: atom SCRIPT* PRIME*
      | PARTIAL factor                 -> partial
      | FUNC SCRIPT* factor            -> func1

?atom: NUMBER                          -> number
     | LETTER                          -> letter
     | GREEK                           -> greek
     | DECO                            -> deco
     | TEXTSYM                         -> textsym
     | CMD                             -> command
     | "(" expr ")"                    -> group
     | "[" expr "]"                    -> group
     | "{{" expr "}}"                  -> group
     | LBRACE expr RBRACE              -> group
     | ABS "{{" expr "}}"              -> abs
     | FRAC "{{" expr "}}" "{{" expr "}}"  -> frac
     | SQRT "{{" expr "}}"             -> sqrt
     | FUNC SCRIPT* "(" expr ("," expr)+ ")"  -> func
     | ONE "[" expr CMP expr "]"       -> indicator
     | ONE "(" expr CMP expr ")"       -> indicator
     | ONE                             -> ones
     | NABLA                           -> nabla
     | DOTS                            -> dots

EQ: "="
SIGN: "+" | "-"
OP.2: /\\(odot|circ|cdot|times|otimes|ast)(?![a-zA-Z])/ | "/" | "*"
CMP.2: ">" | "<" | /\\(geq|leq|neq)(?![a-zA-Z])/
SUM.3: /\\sum(?![a-zA-Z])/
FRAC.3: /\\frac(?![a-zA-Z])/
SQRT.3: /\\sqrt(?![a-zA-Z])/
PARTIAL.3: /\\partial(?![a-zA-Z])/
NABLA.3: /\\nabla(?![a-zA-Z])/
ONE.3: /\\one(?![a-zA-Z])/
ABS.3: /\\abs(?![a-zA-Z])/
DOTS.3: /\\dots(?![a-zA-Z])/
FUNC.3: /\\({"|".join(sorted(set(FUNCTIONS.values()), key=len, reverse=True))})(?![a-zA-Z])/
GREEK.2: /\\({"|".join(sorted(GREEK, key=len, reverse=True))})(?![a-zA-Z])/
DECO.3: /\\(widehat|hat|bar|tilde|widetilde|vec|dot)\{{[^{{}}]*\}}/
TEXTSYM.3: /\\text\{{[^{{}}]*\}}/
LBRACE.3: "\\{{"
RBRACE.3: "\\}}"
CMD.1: /\\[a-zA-Z]+/
SCRIPT: /[_^]({_BRACED}|\\[a-zA-Z]+|[^\s{{}}\\])/
PRIME: "'"
NUMBER: /\d+(\.\d+)?/
LETTER: /[a-zA-Z]/

%ignore /\s+/
"""


@functools.cache
def _parser() -> lark.Lark:
    return lark.Lark(GRAMMAR, parser="lalr", lexer="contextual")


def _raw(script: str) -> str:
    body = script[1:].strip()
    return body[1:-1].strip() if body.startswith("{") and body.endswith("}") else body


class _Build(lark.Transformer):
    """lark's parse tree → `Node`s."""

    def start(self, items):
        return tuple(i for i in items if isinstance(i, Node))

    def expr(self, items):
        terms, sign = [], 1
        for item in items:
            if isinstance(item, lark.Token):
                sign = -1 if item == "-" else 1
            else:
                terms.append((sign, item))
                sign = 1
        if len(terms) == 1 and terms[0][0] == 1:
            return terms[0][1]
        return Add(tuple(terms))

    def product(self, items):
        factors, ops = [], []
        for item in items:
            if isinstance(item, lark.Token):
                ops[-1] = {"\\circ": "odot", "\\ast": "cdot", "*": "cdot"}.get(
                    str(item), str(item).lstrip("\\")
                )
            else:
                factors.append(item)
                ops.append("")
        ops.pop()
        if len(factors) == 1:
            return factors[0]
        return Product(tuple(factors), tuple(ops))

    def summation(self, items):
        scripts = [str(t) for t in items[1:-1]]
        sub = next((_raw(s) for s in scripts if s.startswith("_")), None)
        sup = next((_raw(s) for s in scripts if s.startswith("^")), None)
        return Sum(sub, sup, items[-1])

    def factor(self, items):
        node, scripts = items[0], [str(t) for t in items[1:] if str(t) != "'"]
        if any(str(t) == "'" for t in items[1:]):
            raise Unreadable("a prime (′) is not read; write the derivative out")
        subs = [_raw(s) for s in scripts if s.startswith("_")]
        sups = [_raw(s) for s in scripts if s.startswith("^")]
        if len(subs) > 1 or len(sups) > 1:
            raise Unreadable("a double sub- or superscript")
        if not subs and not sups:
            return node
        return Scripted(node, subs[0] if subs else None, sups[0] if sups else None)

    def number(self, items):
        return Num(float(items[0]))

    def letter(self, items):
        return Name(str(items[0]))

    def greek(self, items):
        return Name(str(items[0]))

    def command(self, items):
        return Name(str(items[0]))

    def textsym(self, items):
        return Name(str(items[0])[6:-1].strip())

    def deco(self, items):
        m = re.fullmatch(r"\\(\w+)\{(.*)\}", str(items[0]))
        kind = {"widehat": "hat", "widetilde": "tilde"}.get(m.group(1), m.group(1))
        return Name(m.group(2).strip(), kind)

    def group(self, items):
        inner = [i for i in items if isinstance(i, Node)]
        return Group(inner[0])

    def abs(self, items):
        return Abs(items[1])

    def frac(self, items):
        return Frac(items[1], items[2])

    def sqrt(self, items):
        return Sqrt(items[1])

    def func1(self, items):
        if isinstance(items[-1], Group):
            items = [*items[:-1], items[-1].node]
        return self.func(items)

    def func(self, items):
        if any(isinstance(t, lark.Token) and t.type == "SCRIPT" for t in items[1:]):
            raise Unreadable(f"a script on the function {items[0]} is not read")
        return Func(str(items[0]).lstrip("\\"), tuple(i for i in items[1:] if isinstance(i, Node)))

    def indicator(self, items):
        return Indicator(items[1], str(items[2]).lstrip("\\"), items[3])

    def ones(self, items):
        return Ones()

    def partial(self, items):
        return Partial(items[1])

    def nabla(self, items):
        return Nabla(None)

    def dots(self, items):
        return Dots()


MAX_NESTING = 60
"""Deepest nesting of brackets an equation may have: every stage after the parser walks
the tree recursively, and no derivation nests a tenth as deep."""


def _nesting(text: str) -> int:
    """The deepest nesting of {}, () and [] in ``text`` (escaped brackets count too)."""
    depth = deepest = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "})]":
            depth -= 1
    return deepest


@functools.lru_cache(maxsize=4096)
def parse(tex: str) -> tuple[Node, ...]:
    """The members of the equality chain ``tex`` (already `normalize`d or not).

    Raises `Unreadable` naming the place where the text leaves the grammar.
    """
    text = normalize(tex)
    if not text:
        raise Unreadable("the equation is empty")
    env = re.search(r"\\begin\{(\w+\*?)\}", text)
    if env:
        raise Unreadable(f"a {env.group(1)} environment inside an equation is not read")
    if (depth := _nesting(text)) > MAX_NESTING:
        raise Unreadable(f"brackets nested {depth} levels deep; this reader follows {MAX_NESTING}")
    try:
        tree = _parser().parse(text)
    except RecursionError:
        raise Unreadable("the equation nests too deeply for this reader") from None
    except lark.exceptions.UnexpectedInput as e:
        col = getattr(e, "column", None)
        pos = getattr(e, "pos_in_stream", None)
        near = text[pos : pos + 20] if isinstance(pos, int) and pos >= 0 else ""
        what = f"near `{near}`" if near else (f"at column {col}" if col else "")
        raise Unreadable(f"outside the grammar this reader knows {what}".rstrip()) from None
    try:
        return _Build().transform(tree)
    except RecursionError:
        raise Unreadable("the equation nests too deeply for this reader") from None
    except lark.exceptions.VisitError as e:
        if isinstance(e.orig_exc, Unreadable):
            raise e.orig_exc from None
        raise


def walk(node: object):
    """Every `Node` in the tree under ``node`` (itself included), depth first."""
    if isinstance(node, tuple):
        for item in node:
            yield from walk(item)
    elif isinstance(node, Node):
        yield node
        for name in node.__dataclass_fields__:
            yield from walk(getattr(node, name))


def parse_one(tex: str) -> Node:
    """The one expression ``tex`` writes; `Unreadable` when it is not exactly one."""
    members = parse(tex)
    if len(members) != 1:
        raise Unreadable(f"`{normalize(tex)}` is not one expression (brackets unbalanced?)")
    return members[0]
