"""Render a `Document` as one self-contained HTML page.

Figures are embedded as base64 ``data:`` URIs and formulas as MathML, so the page is a
single file that needs no network: it can be mailed, opened offline, read on a phone.
The layout is one centred column (max 52 rem) that narrows with the screen; images
scale to the column, wide tables and formulas scroll sideways inside their own box.
"""

from __future__ import annotations

import base64
import html

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
from handgrad.report.mathml import to_mathml

CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg-soft: #f5f7fa;
        --ok: #17803d; --ok-bg: #e3f4e8; --bad: #b42318; --bad-bg: #fde8e7;
        --skip: #8a5a00; --skip-bg: #fdf1d8; --accent: #2456a6; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.55;
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1.25rem 1rem 4rem; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.4rem; margin: 2.5rem 0 0.5rem; padding-bottom: 0.3rem;
     border-bottom: 2px solid var(--line); }
h3 { font-size: 1.15rem; margin: 2rem 0 0.5rem; }
h4 { font-size: 1rem; margin: 1.5rem 0 0.4rem; }
p { margin: 0.6rem 0; }
p.note { color: var(--muted); font-size: 0.9rem; }
a { color: var(--accent); }
code { font: 0.88em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: var(--bg-soft); padding: 0.1em 0.3em; border-radius: 4px;
       overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; margin: 0.8rem 0; border: 1px solid var(--line);
              border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { padding: 0.45rem 0.65rem; text-align: left; vertical-align: top;
         border-bottom: 1px solid var(--line); }
th { background: var(--bg-soft); font-weight: 600; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 0.05rem 0.55rem; border-radius: 999px;
         font-size: 0.8rem; font-weight: 600; white-space: nowrap; }
.badge.passed { color: var(--ok); background: var(--ok-bg); }
.badge.failed { color: var(--bad); background: var(--bad-bg); }
.badge.skipped { color: var(--skip); background: var(--skip-bg); }
figure { margin: 1.2rem 0; }
figure img { display: block; max-width: 100%; max-height: 36rem; width: auto; height: auto;
             margin: 0 auto;
             border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.4rem; text-align: center; }
.equation { display: flex; align-items: center; gap: 0.75rem; margin: 0.9rem 0;
            padding: 0.5rem 0.75rem; background: var(--bg-soft); border-radius: 8px; }
.equation .formula { flex: 1 1 auto; min-width: 0; overflow-x: auto; }
.equation .status { flex: 0 0 auto; }
.equation-note { color: var(--muted); font-size: 0.85rem; margin: -0.5rem 0 1rem 0.75rem; }
math[display="block"] { font-size: 1.1rem; margin: 0.3rem 0; }
@media (max-width: 600px) {
  body { font-size: 15px; }
  main { padding: 0.75rem 0.7rem 3rem; }
  h1 { font-size: 1.4rem; }
  h2 { font-size: 1.2rem; }
  table { font-size: 0.85rem; }
  th, td { padding: 0.35rem 0.45rem; }
  .equation { flex-direction: column; align-items: flex-start; }
  .equation .formula { width: 100%; }
}
"""


def _inline(piece: Inline, doc: Document) -> str:
    if isinstance(piece, str):
        return html.escape(piece)
    if isinstance(piece, Link):
        return f'<a href="{html.escape(piece.href)}">{html.escape(piece.text)}</a>'
    if isinstance(piece, Badge):
        s = html.escape(piece.status)
        return f'<span class="badge {s}">{s}</span>'
    if isinstance(piece, Math):
        return to_mathml(piece.latex)
    if isinstance(piece, Code):
        return f"<code>{html.escape(piece.text)}</code>"
    raise TypeError(f"not an inline piece: {piece!r}")


def _content(content: Content, doc: Document) -> str:
    return "".join(_inline(p, doc) for p in pieces(content))


def _image(fig: Figure, doc: Document) -> str:
    data = base64.b64encode(fig.path.read_bytes()).decode("ascii")
    alt = html.escape(fig.caption)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}" loading="eager">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def _table(table: Table, doc: Document) -> str:
    def cls(i: int) -> str:
        return ' class="num"' if i in table.numeric else ""

    head = "".join(f"<th{cls(i)}>{html.escape(h)}</th>" for i, h in enumerate(table.header))
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(i)}>{_content(c, doc)}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in table.rows
    )
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _block(block: Block, doc: Document) -> str:
    if isinstance(block, Heading):
        anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        cls = ' class="note"' if block.note else ""
        return f"<p{cls}>{_content(block.content, doc)}</p>"
    if isinstance(block, Table):
        return _table(block, doc)
    if isinstance(block, Figure):
        return _image(block, doc)
    if isinstance(block, Equation):
        status = f'<div class="status">{_inline(block.badge, doc)}</div>' if block.badge else ""
        out = (
            f'<div class="equation"><div class="formula">'
            f"{to_mathml(block.latex, display=True)}</div>{status}</div>"
        )
        if block.note:
            out += f'<p class="equation-note">{_content(block.note, doc)}</p>'
        return out
    raise TypeError(f"not a block: {block!r}")


def render_html(doc: Document) -> str:
    """The whole page as a string (UTF-8, no external resources)."""
    body = "\n".join(_block(b, doc) for b in doc.blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(doc.title)}</title><style>{CSS}</style></head>\n"
        f"<body><main>\n<h1>{html.escape(doc.title)}</h1>\n{body}\n</main></body></html>\n"
    )
