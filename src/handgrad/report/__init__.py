"""The report of a reproduction: report.html (self-contained) and report.md.

    from handgrad.report import write_report
    html_path, md_path = write_report("runs/reproduce")   # a folder written by reproduce()

`handgrad.report.build` lays out what the report says (from the runs' files alone;
each section is written by whoever declares its parts, through `handgrad.report.sections`),
`handgrad.report.document` is the format-neutral model, and `handgrad.report.html` /
`handgrad.report.markdown` render it.
"""

from __future__ import annotations

from pathlib import Path

from handgrad.io import atomic_write
from handgrad.report.html import render_html
from handgrad.report.markdown import render_markdown

HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"


def write_report(out: str | Path) -> tuple[Path, Path]:
    """Write report.html and report.md into ``out`` from its runs; returns both paths."""
    from handgrad.report.build import build_document

    out = Path(out)
    doc = build_document(out)
    paths = (out / HTML_NAME, out / MARKDOWN_NAME)
    for path, text in zip(paths, (render_html(doc), render_markdown(doc)), strict=True):
        with atomic_write(path, "w") as f:
            f.write(text)
    return paths


__all__ = ["HTML_NAME", "MARKDOWN_NAME", "write_report"]
