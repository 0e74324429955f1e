r"""Finding the math in a report: Markdown (``.md``, ``.txt``), LaTeX (``.tex``) and notebooks.

`read_document(path)` returns a `Document`: every math span (display ``$$…$$``, ``\[…\]``,
``equation``/``align``; inline ``$…$``) with its source line, its equation number (the
report's own ``(k)`` or ``\tag{k}``; in ``.tex`` the running number of ``equation`` and
``align``), the headings above it and the prose before it in its section (to tell which
layer it is about); and, for a notebook, its text (its code cells are read by
`handgrad.checks.notebook`, as the grader reads them). Markdown structure (headings,
paragraphs, code that must not be read as math) comes from markdown-it-py; the math
inside a paragraph is found by its delimiters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from handgrad.errors import HandgradError

SUFFIXES = (".md", ".markdown", ".txt", ".tex", ".ipynb")
_MATH = re.compile(
    r"\$\$(?P<dd>.+?)\$\$|\\\[(?P<br>.+?)\\\]"
    r"|\\begin\{(?P<env>equation|align|gather)(?P<star>\*?)\}(?P<body>.+?)\\end\{(?P=env)(?P=star)\}"
    r"|(?<![\\$])\$(?P<inline>[^$\n]+?)\$",
    re.S,
)
_NUMBER = re.compile(r"(?:\\tag\{([^{}]+)\}|(?:\\quad|\\qquad)\s*\((\d+[a-z]?)\))\s*$")


@dataclass(frozen=True)
class Math:
    """One math span: its LaTeX, where it is, and the text around it."""

    tex: str
    line: int
    display: bool
    number: str | None = None
    cell: int | None = None  # a notebook's cell (1-based), lines then count inside the cell
    headings: tuple[str, ...] = ()  # outermost first
    prose: tuple[str, ...] = ()  # the section's prose before this math, nearest last
    paragraph: int = 0  # spans of one paragraph share this number

    @property
    def where(self) -> str:
        """``eq. (5)`` when numbered, else ``line 57`` (``cell 3, line 2`` in a notebook)."""
        if self.number:
            return f"eq. ({self.number})"
        return f"cell {self.cell}, line {self.line}" if self.cell else f"line {self.line}"


@dataclass
class Document:
    """The math of one report and, for a notebook, its JSON text (for its code cells)."""

    path: str
    maths: list[Math]
    notebook: str | None = None


def _split_number(tex: str) -> tuple[str, str | None]:
    m = _NUMBER.search(tex)
    if not m:
        return tex, None
    return tex[: m.start()].rstrip(), (m.group(1) or m.group(2)).strip()


def _prose(text: str) -> str:
    return " ".join(_MATH.sub(" ", text).split())


def _markdown(text: str, cell: int | None = None, start: int = 0) -> list[Math]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    text, displays = _displays(text, md)
    tokens = md.parse(text)
    lines = text.splitlines()
    maths: list[Math] = []
    headings: list[tuple[int, str]] = []
    prose: list[str] = []
    paragraph = start
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
            title = _prose(tokens[i + 1].content)
            headings = [h for h in headings if h[0] < level] + [(level, title)]
            prose = []
        elif tok.type == "paragraph_open" and tok.map:
            paragraph += 1
            first = tok.map[0]
            source = _PLACEHOLDER.sub(
                lambda m: displays[int(m.group(1))], "\n".join(lines[tok.map[0] : tok.map[1]])
            )
            maths += _spans(source, first, cell, tuple(h for _, h in headings), prose, paragraph)
            prose.append(_prose(source))
    return maths


_BLOCK = re.compile(
    r"\$\$.+?\$\$|\\\[.+?\\\]|\\begin\{(equation|align|gather)(\*?)\}.+?\\end\{\1\2\}", re.S
)
_PLACEHOLDER = re.compile(r"\$\$\x00(\d+)\$\$")


def _displays(text: str, md) -> tuple[str, list[str]]:
    """``text`` with every display (``$$…$$``, ``\\[…\\]``, ``equation``, ``align``) outside
    code replaced by a one-line placeholder (and as many lines), so that Markdown cannot
    break a display at a line starting with ``-``, ``+`` or ``#``; and the displays, to
    put back in each paragraph's source."""
    code = set()
    for tok in md.parse(text):
        if tok.type in ("fence", "code_block") and tok.map:
            code.update(range(tok.map[0], tok.map[1]))
    displays: list[str] = []

    def keep(m: re.Match) -> str:
        line = text.count("\n", 0, m.start())
        body = m.group(0)
        if line in code or "\n" not in body:
            return body
        displays.append(body.replace("\n", " "))
        # each line the display took stays a (non-blank) line: line numbers and paragraphs keep
        return f"$$\x00{len(displays) - 1}$$" + "\n\u00a0" * body.count("\n")

    return _BLOCK.sub(keep, text), displays


def _spans(source, first, cell, headings, prose, paragraph) -> list[Math]:
    found = []
    for m in _MATH.finditer(source):
        display = m.group("inline") is None
        tex = m.group("dd") or m.group("br") or m.group("inline") or m.group("body") or ""
        if m.group("env") == "align":
            tex = f"\\begin{{aligned}}{tex}\\end{{aligned}}"
        number = None
        if display:
            tex, number = _split_number(tex.strip())
            after = re.match(r"\s*\((\d+[a-z]?)\)", source[m.end() :])
            number = number or (after.group(1) if after else None)
        line = first + source.count("\n", 0, m.start()) + 1
        before = _prose(source[: m.start()])
        found.append(
            Math(tex.strip(), line, display, number, cell, headings, (*prose, before), paragraph)
        )
    return found


_TEX_DISPLAY = re.compile(
    r"\\begin\{(equation|align|eqnarray|gather|multline)(\*?)\}(.+?)\\end\{\1\2\}"
    r"|\\\[(.+?)\\\]|\$\$(.+?)\$\$|(?<![\\$])\$([^$]+?)\$",
    re.S,
)
_TEX_HEADING = re.compile(r"\\(part|chapter|section|subsection|subsubsection)\*?\{([^{}]*)\}")


def _latex(text: str) -> list[Math]:
    text = re.sub(r"(?<!\\)%.*", "", text)
    levels = {"part": 0, "chapter": 1, "section": 2, "subsection": 3, "subsubsection": 4}
    events = [(m.start(), "h", m) for m in _TEX_HEADING.finditer(text)]
    events += [(m.start(), "m", m) for m in _TEX_DISPLAY.finditer(text)]
    maths, headings, prose, counter, last = [], [], [], 0, 0
    for pos, kind, m in sorted(events, key=lambda e: e[0]):
        if pos < last:
            continue
        between = _prose(re.sub(r"\\[a-zA-Z]+", " ", text[last:pos]))
        if between:
            prose.append(between)
        last = m.end()
        if kind == "h":
            level = levels[m.group(1)]
            headings = [h for h in headings if h[0] < level] + [(level, m.group(2))]
            prose = []
            continue
        env, star, body = m.group(1), m.group(2), m.group(3)
        tex = body if env else next(g for g in m.groups()[3:] if g is not None)
        display = m.group(6) is None
        number = None
        tex, tag = _split_number(tex.strip())
        if env and not star and "\\nonumber" not in tex and "\\notag" not in tex:
            counter += 1
            number = str(counter)
        number = tag or number
        if env in ("align", "eqnarray"):
            tex = f"\\begin{{aligned}}{tex}\\end{{aligned}}"
        tex = re.sub(r"\\(label\{[^{}]*\}|nonumber|notag)", "", tex)
        line = text.count("\n", 0, pos) + 1
        hs = tuple(h for _, h in headings)
        maths.append(Math(tex.strip(), line, display, number, None, hs, tuple(prose), len(prose)))
    return maths


def read_document(path: str | Path) -> Document:
    """The `Document` of a report file (see module doc); `HandgradError` if unusable."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise HandgradError(
            f"{path}: not a report this reader knows; give a .md, .tex or .ipynb file "
            "(a Python file of grad_ functions goes to handgrad check formulas)"
        )
    if not path.is_file():
        raise HandgradError(f"{path}: file not found; give a .md, .tex or .ipynb report")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise HandgradError(f"{path}: cannot read the file as UTF-8 text ({e})") from None
    return read_text(text, path.suffix.lower(), str(path))


def read_text(text: str, kind: str = ".md", name: str = "report") -> Document:
    """The `Document` of report text; ``kind`` is the file suffix (.md, .tex or .ipynb)."""
    if kind == ".tex":
        return Document(name, _latex(text))
    if kind != ".ipynb":
        return Document(name, _markdown(text))
    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        raise HandgradError(f"{name}: not a Jupyter notebook (no JSON with cells)") from None
    maths, paragraph = [], 0
    for k, cell in enumerate(cells, 1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "markdown":
            found = _markdown(source, cell=k, start=paragraph)
            paragraph = max([paragraph, *(m.paragraph for m in found)])
            maths += found
    return Document(name, maths, text)
