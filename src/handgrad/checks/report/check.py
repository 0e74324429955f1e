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
from handgrad.checks.report.equations import chains_of
from handgrad.checks.report.notation import (
    TABLES,
    NotationFile,
    build_symbols,
    definitions_in,
    read_notation,
)
from handgrad.checks.report.reading import (
    Reader,
    Reading,
    context_problems,
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
    chains = _joined([c for m in doc.maths for c in chains_of(m)])
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
    for chain in _paired(chains):
        lhs, rest = split_lhs(chain)
        if not lhs or not rest:
            continue  # no equation, or a derivative only mentioned in the prose
        for d, tex in lhs:
            readings.append(_in_context(chain, d, tex, rest, problem, reader))
    for k, r in enumerate(readings):  # once more, now that every equation has been read
        if r.status == "unreadable" and LATER in (r.reason or ""):
            lhs, rest = split_lhs(r.chain)
            d, tex = next((d, t) for d, t in lhs if t == r.lhs)
            readings[k] = _in_context(r.chain, d, tex, rest, problem, reader)
    jacobians(readings)
    return ReportReading(doc, readings, _code(doc) if run_code else None)


#: Words between "∂L/∂X" and an expression in one sentence that make it an equation.
RESULT_WORDS = re.compile(r"\b(is|are|equals?|gives|results?)\b|=|结果|为|等于|是")


LATER = "not given by an earlier equation"


def _in_context(chain, d, tex: str, rest: list, problem: str | None, reader) -> Reading:
    """Read for the problem named, else the problems the text around names, else (or when
    those do not read it) the only problem whose symbols read it."""
    if problem is not None:
        return _read(chain, d, tex, rest, [reader(problem)])
    named = context_problems(chain)
    if named:
        r = _read(chain, d, tex, rest, [reader(p) for p in named])
        if r.status != "unreadable":
            return r
    others = [p for p in TABLES if p not in named]
    other = _read(chain, d, tex, rest, [reader(p) for p in others])
    if named and other.status == "read":
        other.notes.append(
            f"read as {other.problem}: the text around it names {', '.join(named)}, "
            "whose symbols do not read it"
        )
    return other if other.status == "read" or not named else r


def _read(chain, d, tex: str, rest: list, readers: list[Reader]) -> Reading:
    """One left side read by the candidate problems' readers: the one that reads it."""
    tries = [rd.read(chain, d, tex, rest[-1]) for rd in readers]
    read = [t for t in tries if t.status == "read"]
    if len(read) == 1:
        r = read[0]
        rd = readers[tries.index(r)]
        broke = rd.chain_break(r, d, rest)
        if broke:
            r.notes.append(broke)
        rd.learn(r)
        return r
    if len(read) > 1:
        names = ", ".join(t.problem for t in read)
        r = Reading(chain, tex, None, status="unreadable")
        r.reason = f"it reads in several problems ({names}); name one with --problem"
        return r
    order = {"not_checked": 0, "not_a_quantity": 1, "unreadable": 2}
    return min(tries, key=lambda t: order[t.status])


def _joined(chains):
    """A display that starts with "=" continues the chain of the display before it."""
    out = []
    for c in chains:
        if c.continues and out and out[-1].math.display:
            prev = out[-1]
            prev.members += c.members
            prev.wheres += c.wheres
            continue
        out.append(c)
    return out


def _paired(chains):
    """The chains, with a bare ∂L/∂X followed in the same paragraph by a bare expression
    joined into one equation (report 003: "∂L/∂b2B … 结果为 (1/m) Σ_i (ŷ_B^i − y_B^i)")."""
    from handgrad.checks.report.equations import Chain, gradient_of

    out, skip = [], set()
    for k, c in enumerate(chains):
        if k in skip:
            continue
        nxt = chains[k + 1] if k + 1 < len(chains) else None
        if (
            nxt is not None
            and not c.math.display
            and not nxt.math.display
            and c.math.paragraph == nxt.math.paragraph
            and len(c.members) == 1
            and len(nxt.members) == 1
        ):
            try:
                d = gradient_of(c.members[0].node)
                value = nxt.members[0].node
            except Exception:
                d = None
            words = nxt.math.prose[-1][len(c.math.prose[-1]) :].strip() if nxt.math.prose else ""
            says = RESULT_WORDS.search(words.lower()) is not None
            if d is not None and d.of_loss and gradient_of(value) is None and says:
                joined = Chain(c.math, [c.members[0], nxt.members[0]])
                joined.note = (
                    f"`{c.members[0].tex}` and `{nxt.members[0].tex}` read as one equation "
                    f"(the words between: “{words}”)"
                )
                out.append(joined)
                skip.add(k + 1)
                continue
        out.append(c)
    return out


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
