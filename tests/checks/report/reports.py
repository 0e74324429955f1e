"""Shared by the report tests: a Block Two heading, the examples folder, rows by place."""

from __future__ import annotations

from pathlib import Path

from handgrad.checks.report import ReportCheck, check_report

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
HEAD = "# Block Two\n\n"


def checked(text: str, **kw) -> tuple[ReportCheck, dict]:
    """The check of ``HEAD + text`` and its rows by place ("eq. (1)", "line 7", …)."""
    check = check_report(HEAD + text, **kw)
    return check, {r.reading.where: r for r in check.rows}
