"""The gradient doctor on written reports: Markdown + LaTeX, .tex, and notebooks.

The flow, one module each::

    document.py   the math of a report (.md, .tex, .ipynb), with numbers, lines, headings
    equations.py  a math span → equality chains; where-clauses; gradient left sides
    latex.py      LaTeX → syntax tree (a lark grammar for the matrix-calculus subset)
    symbols.py    a written symbol's key, sample/component index, transpose, power
    evaluate.py   a tree → numbers on one batch (sample conventions, every grouping)
    notation.py   symbol → quantity: notation file, the report's definitions, the tables
    reading.py    gradient equations → formulas f(q), with notes on how each was read
    check.py      read_report (formulas) and check_report (the doctor's verdicts)
    render.py     text, JSON (handgrad.report/1) and HTML with MathML

A reading that is not certain never becomes a verdict: an equation is either judged or
reported as unreadable with its reason.
"""

from handgrad.checks.report.check import (
    ReportCheck,
    ReportReading,
    check_report,
    code_source,
    read_report,
)

__all__ = ["ReportCheck", "ReportReading", "check_report", "code_source", "read_report"]
