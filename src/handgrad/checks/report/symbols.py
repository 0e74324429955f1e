r"""What a written symbol is called: its key, its sample or component index, its power.

A symbol as written, ``\hat{\mathbf{y}}_{B,k}^i``, has a *key* (``hat y_B``: the decoration,
the letter and the label, fonts dropped), *indices* (``k`` from the subscript, ``i`` from
the superscript: single letters i, j, k, l, or ``(i)``), a transpose (``^T``) and a power
(``^2``). Two spellings with the same key are the same symbol: ``\mathbf{x}_{2\text{B}}``
and ``x_{2B}``; ``\mathbf{x}_{BN^*}``, ``x_{BN*}`` and ``x_{\text{BN}^*}`` are all
``x_BN*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handgrad.checks.report.latex import Func, Name, Node, Scripted, Unreadable, strip_fonts

INDEX_LETTERS = frozenset("ijkl")


@dataclass(frozen=True)
class Written:
    """One written symbol: ``key``, ``indices`` (sub first, then sup), ``transpose``, ``power``."""

    key: str
    indices: tuple[str, ...] = ()
    transpose: bool = False
    power: str | None = None  # the raw exponent, e.g. "2"


def label(sub: str) -> str:
    """A subscript as a label: ``2\text{B}`` → ``2B``, ``\text{BN}^*`` → ``BN*``."""
    s = strip_fonts(sub)
    s = re.sub(r"\^\{?\s*(\*|\\ast)\s*\}?", "*", s)
    s = s.replace("\\oplus", "oplus").replace("\\", "")
    return re.sub(r"[{}\s]", "", s)


def name_key(node: Name) -> str:
    base = node.base.lstrip("\\")
    return f"{node.deco} {base}" if node.deco else base


def written(node: Node) -> Written:
    """The `Written` form of a symbol node (a `Name`, maybe `Scripted`); else `Unreadable`."""
    if isinstance(node, Func) and node.name == "log" and len(node.args) == 1:
        inner = written(node.args[0])  # log σ², a quantity of its own (the VAE's logvar)
        if inner.power == "2" and not inner.transpose:
            return Written(f"log {inner.key}^2", inner.indices)
        raise Unreadable("not a symbol")
    sub = sup = None
    if isinstance(node, Scripted):
        node, sub, sup = node.node, node.sub, node.sup
    if not isinstance(node, Name):
        raise Unreadable("not a symbol")
    key = name_key(node)
    indices: list[str] = []
    if sub is not None:
        parts = [p for p in label(sub).split(",") if p]
        names = [p for p in parts if p not in INDEX_LETTERS]
        indices += [p for p in parts if p in INDEX_LETTERS]
        if names:
            key = f"{key}_{','.join(names)}"
    transpose, power = False, None
    if sup is not None:
        s = label(sup)
        if s in ("T",):
            transpose = True
        elif s.strip("()") in INDEX_LETTERS:
            indices.append(s.strip("()"))
        elif s == "*":
            key += "*"
        elif m := re.fullmatch(r"\(?([ijkl])\)?,?T", s):
            indices.append(m.group(1))
            transpose = True
        else:
            power = sup
    return Written(key, tuple(indices), transpose, power)


def key_of(tex: str) -> str:
    """The key of a symbol written in LaTeX (for tables and notation files)."""
    from handgrad.checks.report.latex import parse_one

    node = parse_one(tex)
    w = written(node)
    return w.key + (f"^{label(w.power)}" if w.power else "")


def show(key: str) -> str:
    r"""A key as LaTeX: ``hat y_B`` → ``\hat{y}_{B}``, ``theta_2B`` → ``\theta_{2B}``."""
    if key.startswith("log "):
        return "\\log " + show(key[4:])
    deco, _, rest = key.rpartition(" ")
    power = None
    if "^" in rest:
        rest, power = rest.split("^", 1)
    base, _, lab = rest.partition("_")
    base = f"\\{base}" if len(base) > 1 and base.isalpha() else base
    text = f"\\{deco}{{{base}}}" if deco else base
    if lab:
        names = {*_GREEK, "oplus"}
        lab = ",".join(f"\\{p}" if p in names else p for p in lab.split(","))
        text += f"_{{{lab}}}"
    return text + (f"^{power}" if power else "")


_GREEK = dict(
    zip(
        "alpha beta gamma delta epsilon varepsilon theta mu sigma tau phi psi omega Xi".split(),
        "αβγδεεθμστφψωΞ",
        strict=True,
    )
)


def pretty(key: str) -> str:
    """A key in the doctor's style: ``hat y_B`` → ``ŷB``, ``theta_2B`` → ``θ2B``."""
    if key.startswith("log "):
        return "log " + pretty(key[4:]).replace("^2", "²")
    deco, _, rest = key.rpartition(" ")
    base, _, lab = rest.partition("_")
    power = ""
    if "^" in base:
        base, power = base.split("^", 1)
    base = _GREEK.get(base, base)
    if deco == "hat":
        base += "\u0302"
    return base + lab.replace("oplus", "⊕") + (f"^{power}" if power else "")
