"""How many gradient answers of written reports each LaTeX parser reads (docs/report-reader.md).

    uv run --with latex2sympy2_extended python benchmarks/report_parsers.py ../shared/seeds/*.txt

For every report: its math spans, the answers (last right sides) of its gradient
equations, how many this project's grammar parses and in how long, and how many
latex2sympy2-extended parses without an exception (skipped when it is not installed;
it is never a dependency).
"""

from __future__ import annotations

import sys
import time

from handgrad.checks.report.document import read_document
from handgrad.checks.report.equations import chains_of
from handgrad.checks.report.latex import Unreadable, parse
from handgrad.checks.report.reading import split_lhs


def answers(path: str) -> tuple[int, list[str]]:
    doc = read_document(path)
    found = []
    for math in doc.maths:
        for chain in chains_of(math):
            lhs, rest = split_lhs(chain)
            if lhs and rest:
                found.append(rest[-1][0].tex)
    return len(doc.maths), found


def main(paths: list[str]) -> None:
    try:
        from latex2sympy2_extended import latex2sympy
    except ImportError:
        latex2sympy = None
    for path in paths:
        spans, texts = answers(path)
        parse.cache_clear()
        start = time.perf_counter()
        ours = 0
        for tex in texts:
            try:
                parse(tex)
                ours += 1
            except Unreadable:
                pass
        seconds = time.perf_counter() - start
        theirs = "not installed"
        if latex2sympy is not None:
            theirs = 0
            for tex in texts:
                try:
                    latex2sympy(tex)
                    theirs += 1
                except Exception:
                    pass
        print(
            f"{path}: {spans} math spans, {len(texts)} gradient answers; this grammar "
            f"parses {ours} in {seconds:.2f} s; latex2sympy2-extended: {theirs}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
