"""OUT/class_report.html: one self-contained page on how the class did.

The page (rendered by `handgrad.report.html`, charts embedded as data URIs, no network
needed) shows, in order: the headline numbers; the score distribution; the mistakes
the class made most ("31 % of the checked submissions: no_task_b_term — ∂L/∂ŷA lacks
its task-B term", with the formulas it showed in); the formulas the class got wrong
most; and one row per submission (its score, each formula's verdict, the reason when
it could not be graded). The chart PNGs are also kept in OUT/figures/.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from handgrad.checks.grade import charts
from handgrad.checks.grade.outputs import points_text
from handgrad.checks.grade.scoring import FAILED, Mark, SubmissionGrade
from handgrad.checks.grade.summary import ClassSummary
from handgrad.io import atomic_write
from handgrad.report.document import Code, Content, Document, Figure, Heading, Paragraph, Table
from handgrad.report.html import render_html

REPORT_NAME = "class_report.html"
FIGURES = "figures"
VERDICT_MARKS = {"ok": "✓", "wrong": "✗", "error": "error", "not_given": "—", FAILED: "—"}


def write_class_report(out: Path, summary: ClassSummary) -> Path:
    """Draw the charts into OUT/figures/ and write OUT/class_report.html; returns its path."""
    doc = Document(f"handgrad: class grades ({summary.problem})", out)
    _headline(doc, summary)
    figures = out / FIGURES
    doc.add(
        Heading(2, "Score distribution", "scores"),
        Figure(charts.score_distribution(summary, figures / "scores.png"), "scores of the class"),
    )
    _mistakes(doc, summary, figures)
    _formulas(doc, summary, figures)
    _submissions(doc, summary)
    path = out / REPORT_NAME
    with atomic_write(path, "w") as f:
        f.write(render_html(doc))
    return path


def _headline(doc: Document, s: ClassSummary) -> None:
    graded = [g for g in s.grades if g.status != FAILED]
    line = f"{len(s.grades)} submissions: {s.checked} checked by the gradient doctor"
    if s.failed:
        line += f", {s.failed} could not be graded (their reasons are in the last table)"
    scores = [g.total for g in graded]
    stats = (
        f"Scores of the checked submissions: mean {statistics.fmean(scores):.2f}, "
        f"median {statistics.median(scores):.2f} of {points_text(graded[0].max_score)}; "
        f"{s.full_marks} with full marks."
        if graded
        else "No submission could be checked."
    )
    doc.add(Paragraph(line + "."), Paragraph(stats))


def _mistakes(doc: Document, s: ClassSummary, figures: Path) -> None:
    doc.add(Heading(2, "Mistakes the class made most", "mistakes"))
    if not s.mistakes:
        doc.add(Paragraph("The doctor named no mistake in any checked submission."))
        return
    doc.add(
        Figure(charts.common_mistakes(s, figures / "mistakes.png"), "mistakes made most"),
        Table(
            ["share", "submissions", "mistake", "what it is", "seen in"],
            [
                [
                    f"{100 * c.fraction:.0f} %",
                    f"{len(c.submissions)} of {s.checked}",
                    Code(c.mistake),
                    c.explanation or "(no explanation given)",
                    ", ".join(s.symbols.get(f, f) for f in c.formulas),
                ]
                for c in s.mistakes
            ],
            numeric=(0, 1),
        ),
    )


def _formulas(doc: Document, s: ClassSummary, figures: Path) -> None:
    doc.add(Heading(2, "Formulas the class got wrong most", "formulas"))
    if not s.formula_counts:
        doc.add(Paragraph("No formula was graded: no submission could be checked."))
        return
    doc.add(
        Figure(charts.formulas_missed(s, figures / "formulas.png"), "formulas not right, by why"),
        Table(
            ["formula", "right", "wrong", "error", "not given", "not graded"],
            [
                [Code(c.name) if c.symbol == c.name else f"{c.symbol} ({c.name})"]
                + [str(c.counts[k]) for k in ("ok", "wrong", "error", "not_given", FAILED)]
                for c in s.formula_counts
            ],
            numeric=(1, 2, 3, 4, 5),
        ),
    )


def _verdict(mark: Mark) -> Content:
    text = VERDICT_MARKS[mark.status]
    if mark.mistakes:
        text += " " + "+".join(mark.mistakes)
    if mark.status == "wrong" and mark.score:
        text += f" ({points_text(mark.score)})"
    return text


def _row(g: SubmissionGrade) -> list[Content]:
    return [
        Code(g.name),
        f"{points_text(g.total)} / {points_text(g.max_score)}",
        *(_verdict(m) for m in g.marks),
        g.reason,
    ]


def _submissions(doc: Document, s: ClassSummary) -> None:
    doc.add(
        Heading(2, "Submissions", "submissions"),
        Paragraph(
            "✓ right, ✗ wrong (with the mistake named, and the partial credit earned), — not "
            "given or not graded. Each learner's full feedback is in "
            "submissions/NAME/results.json.",
            note=True,
        ),
        Table(
            ["submission", "score", *s.formulas, "reason"],
            [_row(g) for g in s.grades],
            numeric=(1,),
        ),
    )
