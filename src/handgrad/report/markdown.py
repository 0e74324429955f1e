"""Render a `Document` as Markdown (GitHub flavour: pipe tables, ``$…$`` / ``$$…$$`` math).

Figures are linked by their path relative to the report, so report.md reads well in a
Git forge or an editor next to the run directories it came from.
"""

from __future__ import annotations

from handgrad.report.document import (
    Badge,
    Block,
    Code,
    Content,
    Document,
    Equation,
    Figure,
    Heading,
    Inline,
    Link,
    Math,
    Paragraph,
    Table,
    pieces,
)

_STATUS = {"passed": "✅ passed", "failed": "❌ failed", "skipped": "⚠️ skipped"}


def _inline(piece: Inline) -> str:
    if isinstance(piece, str):
        return piece
    if isinstance(piece, Link):
        return f"[{piece.text}]({piece.href})"
    if isinstance(piece, Badge):
        return f"**{_STATUS.get(piece.status, piece.status)}**"
    if isinstance(piece, Math):
        return f"${piece.latex}$"
    if isinstance(piece, Code):
        return f"`{piece.text}`"
    raise TypeError(f"not an inline piece: {piece!r}")


def _content(content: Content) -> str:
    return "".join(_inline(p) for p in pieces(content))


def _cell(content: Content) -> str:
    return _content(content).replace("|", r"\|").replace("\n", " ")


def _table(table: Table) -> str:
    align = ["---:" if i in table.numeric else "---" for i in range(len(table.header))]
    lines = [
        "| " + " | ".join(table.header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows),
    ]
    return "\n".join(lines)


def _block(block: Block, doc: Document) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {block.text}"
    if isinstance(block, Paragraph):
        text = _content(block.content)
        return f"*{text}*" if block.note else text
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        return f"![{block.caption}]({doc.relative(block.path)})\n\n*{block.caption}*"
    if isinstance(block, Equation):
        out = f"$$\n{block.latex}\n$$"
        tail = [_inline(block.badge)] if block.badge else []
        if block.note:
            tail.append(_content(block.note))
        return out + ("\n\n" + " — ".join(tail) if tail else "")
    raise TypeError(f"not a block: {block!r}")


def render_markdown(doc: Document) -> str:
    """The whole report as Markdown text."""
    return f"# {doc.title}\n\n" + "\n\n".join(_block(b, doc) for b in doc.blocks) + "\n"
