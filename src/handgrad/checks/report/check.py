"""The entry points: `read_report` (equations → formulas) and `check_report` (→ verdicts).

`read_report(source, problem=None, notation=None)` finds every gradient equation of a
report and reads it into a formula ``f(q)`` per quantity (`ReportReading`);
`check_report` gives those formulas to the doctor (`handgrad.checks.doctor.check_formulas`,
the same judge as for Python files) and returns a `ReportCheck`: one row per equation,
with its verdict or the reason it cannot be read, and the notes on how it was read.
Where ``sgn`` appears, every formula that depends on it is judged twice, with sgn as the
step 1[x > 0] (the verdict) and literally (a note: what the verdict would be).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from handgrad.checks import notebook
from handgrad.checks.doctor import check_formulas
from handgrad.checks.doctor.problems import PROBLEMS
from handgrad.checks.doctor.source import SourceError, run_code
from handgrad.checks.doctor.verdict import Report, Verdict
from handgrad.checks.report.document import Document, read_document, read_text
from handgrad.checks.report.equations import chains_of, joined, paired
from handgrad.checks.report.notation import (
    NotationFile,
    build_symbols,
    definitions_in,
    read_notation,
)
from handgrad.checks.report.reading import (
    LATER,
    Reader,
    Reading,
    in_context,
    jacobians,
    probes_for,
    split_lhs,
)
from handgrad.errors import HandgradError


@dataclass
class ReportReading:
    """What `read_report` found: the document, one `Reading` per gradient left side, and the
    notebook's own ``grad_`` code (run by the doctor as a Python file would be)."""

    document: Document
    readings: list[Reading]
    code: dict[str, object] | None = None

    def formulas(self, sgn: str = "step") -> dict[str, dict[str, Callable]]:
        """{problem: {quantity: f(q)}} of the readable equations (the first one per quantity)."""
        out: dict[str, dict[str, Callable]] = {}
        for r in self.readings:
            if r.status == "read":
                f = r.formulas.get(sgn, r.formulas["step"])
                out.setdefault(r.problem, {}).setdefault(r.quantity, f)
        return out


def _source(source: str | Path) -> Document:
    """A path (a `Path`, or one line without math that names a file) or Markdown text."""
    if isinstance(source, Path):
        return read_document(source)
    one_line = len(source) < 1024 and not any(c in source for c in "\n$\\")
    if one_line and (Path(source).suffix or Path(source).exists()):
        return read_document(source)
    return read_text(source, ".md", "report")


def read_report(
    source: str | Path,
    problem: str | None = None,
    notation: str | Path | NotationFile | None = None,
    *,
    run_code: bool = True,
) -> ReportReading:
    """Every gradient equation of ``source`` (a path, or Markdown text) read into formulas.

    ``problem`` restricts the reading to one problem; ``notation`` is a notation file
    (path or `NotationFile`) mapping the report's symbols (see `notation`). A notebook's
    code cells that define ``grad_`` functions are run here only with ``run_code``; a
    grader runs them in its sandbox instead (`code_source` gives them as one file).
    """
    doc = _source(source)
    if notation is not None and not isinstance(notation, NotationFile):
        notation = read_notation(notation)
    problem = problem or (notation.problem if notation else None)
    if problem is not None and problem not in PROBLEMS:
        raise HandgradError(
            f"unknown problem {problem!r}; choose one of {', '.join(PROBLEMS)} "
            "(handgrad check formulas --list)"
        )
    chains = joined([c for m in doc.maths for c in chains_of(m)])
    definitions = definitions_in(chains)
    uses_sgn = any(re.search(r"\\(text|operatorname|mathrm)\{\s*sgn", m.tex) for m in doc.maths)
    readers: dict[str, Reader] = {}

    def reader(name: str) -> Reader:
        if name not in readers:
            p = PROBLEMS[name]
            probes = probes_for(p)
            modes = ("step", "literal") if uses_sgn else ("step",)
            symbols = {s: build_symbols(p, definitions, notation, s, probes) for s in modes}
            readers[name] = Reader(p, symbols, probes)
        return readers[name]

    readings: list[Reading] = []
    for chain in paired(chains):
        lhs, rest = split_lhs(chain)
        if not lhs or not rest:
            continue  # no equation, or a derivative only mentioned in the prose
        for d, tex in lhs:
            readings.append(in_context(chain, d, tex, rest, problem, reader))
    for k, r in enumerate(readings):  # once more, now that every equation has been read
        if r.status == "unreadable" and LATER in (r.reason or ""):
            lhs, rest = split_lhs(r.chain)
            d, tex = next((d, t) for d, t in lhs if t == r.lhs)
            readings[k] = in_context(r.chain, d, tex, rest, problem, reader)
    jacobians(readings)
    return ReportReading(doc, readings, _code(doc) if run_code else None)


def code_source(doc: Document) -> str | None:
    """A notebook's code cells as one Python file (`handgrad.checks.notebook.code_cells`,
    as the grader runs them), or None when no cell defines a ``grad_`` function."""
    if doc.notebook is None:
        return None
    source = notebook.code_cells(doc.notebook)
    return source if notebook.defines_formulas(source) else None


def _code(doc: Document) -> dict[str, object] | None:
    """The namespace after running `code_source` (the learner's own check, not grading)."""
    source = code_source(doc)
    if source is None:
        return None
    try:
        return run_code(source, doc.path, doc.path, lambda line: notebook.locate(source, line))
    except SourceError as e:
        raise HandgradError(str(e)) from None


@dataclass
class Row:
    """One reading with its verdict (primary) and, where sgn matters, the literal one."""

    reading: Reading
    verdict: Verdict | None = None
    literal: Verdict | None = None


@dataclass
class ReportCheck:
    """The doctor's verdicts on a written report, one row per gradient left side."""

    file: str
    rows: list[Row]
    reports: dict[str, Report] = field(default_factory=dict)
    code: Report | None = None

    @property
    def counts(self) -> dict[str, int]:
        c = {"ok": 0, "wrong": 0, "error": 0, "unreadable": 0, "not_checked": 0}
        for row in self.rows:
            if row.verdict is not None:
                c[row.verdict.status if row.verdict.status in c else "error"] += 1
            elif row.reading.status == "unreadable":
                c["unreadable"] += 1
            else:
                c["not_checked"] += 1
        return c

    @property
    def exit_code(self) -> int:
        """1 when any equation read is wrong (or a notebook formula is), else 0."""
        c = self.counts
        code = self.code.exit_code if self.code is not None else 0
        return 1 if c["wrong"] or c["error"] or code else 0

    def __str__(self) -> str:
        from handgrad.checks.report.render import text

        return text(self)

    def to_json(self) -> dict:
        from handgrad.checks.report.render import as_json

        return as_json(self)

    def dumps(self) -> str:
        import json

        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    def html_page(self) -> str:
        from handgrad.checks.report.render import page

        return page(self)

    def _repr_html_(self) -> str:
        from handgrad.checks.report.render import html_table

        return html_table(self)


def check_report(
    source: str | Path,
    problem: str | None = None,
    notation: str | Path | NotationFile | None = None,
    *,
    seed: int = 0,
    run_code: bool = True,
) -> ReportCheck:
    """Read the report ``source`` (`read_report`) and judge every readable equation."""
    reading = read_report(source, problem, notation, run_code=run_code)
    if not reading.readings and reading.code is None:
        raise HandgradError(
            f"{reading.document.path}: no gradient equation found; write each as "
            r"$$\frac{\partial L}{\partial X} = …$$ (or ∂L/∂X, \nabla_X L) in the report"
        )
    rows = [Row(r) for r in reading.readings]
    reports: dict[str, Report] = {}
    for mode in ("step", "literal"):
        rounds: dict[str, list[dict[str, Callable]]] = {}
        owners: dict[tuple[str, int, str], list[Row]] = {}
        for row in rows:
            r = row.reading
            if r.status != "read" or (mode == "literal" and "literal" not in r.formulas):
                continue
            per = rounds.setdefault(r.problem, [])
            f = r.formulas[mode]
            k = next((i for i, d in enumerate(per) if d.get(r.quantity, f) is f), len(per))
            if k == len(per):
                per.append({})
            per[k][r.quantity] = r.formulas[mode]
            owners.setdefault((r.problem, k, r.quantity), []).append(row)
        for name, per in rounds.items():
            for k, formulas in enumerate(per):
                rep = check_formulas(dict(formulas), name, seed=seed)
                rep.file = reading.document.path
                if mode == "step" and k == 0:
                    reports[name] = rep
                for quantity in formulas:
                    for row in owners[(name, k, quantity)]:
                        if mode == "step":
                            row.verdict = rep[quantity]
                        else:
                            row.literal = rep[quantity]
    code = None
    if reading.code is not None:
        code = check_formulas(reading.code, problem, seed=seed, file=reading.document.path)
    return ReportCheck(reading.document.path, rows, reports, code)


__all__ = ["ReportCheck", "ReportReading", "check_report", "code_source", "read_report"]
