"""A tiny document model that renders to both HTML and Markdown.

A report is a list of blocks (`Heading`, `Paragraph`, `Table`, `Figure`, `Equation`);
inline content is a string or a list of `Inline` pieces (plain text, `Link`, `Badge`,
`Math`, `Code`). `handgrad.report.html` and `handgrad.report.markdown` turn the same list
into a self-contained page and a Markdown file, so both always say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Link:
    """A link; ``href`` is relative to the report's folder."""

    text: str
    href: str


@dataclass(frozen=True)
class Badge:
    """A status word ("passed", "failed", "skipped"), shown coloured."""

    status: str


@dataclass(frozen=True)
class Math:
    """Inline LaTeX math."""

    latex: str


@dataclass(frozen=True)
class Code:
    """Monospaced text (a command, a file name)."""

    text: str


Inline = str | Link | Badge | Math | Code
Content = Inline | list[Inline]


def pieces(content: Content) -> list[Inline]:
    """``content`` as a list of inline pieces."""
    return list(content) if isinstance(content, list) else [content]


@dataclass(frozen=True)
class Heading:
    """A section heading of ``level`` 1–4; ``anchor`` is its id for links."""

    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    content: Content
    note: bool = False  # shown smaller and muted (a caption-like remark)


@dataclass(frozen=True)
class Table:
    """A table; ``numeric`` lists the columns to right-align."""

    header: list[str]
    rows: list[list[Content]]
    numeric: tuple[int, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A PNG from a run directory (absolute ``path``) with its caption."""

    path: Path
    caption: str


@dataclass(frozen=True)
class Equation:
    """Display math, optionally with the status of its check beside it and a note below."""

    latex: str
    badge: Badge | None = None
    note: Content = ""


Block = Heading | Paragraph | Table | Figure | Equation


@dataclass
class Document:
    """A titled list of blocks; ``base`` is the folder the report files are written to."""

    title: str
    base: Path
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def relative(self, path: Path) -> str:
        """``path`` relative to the report's folder, with forward slashes."""
        return path.resolve().relative_to(self.base.resolve()).as_posix()
