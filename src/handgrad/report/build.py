"""What the report says: a header, each section in its place, the parts no section shows.

`build_document(out)` reads ``out/reproduce.json`` (which parts ran, their status) and
lays the report out like the original one: the summary of every part, then the sections
in the order of their numbers (`handgrad.training.parts.Section`) under their chapters
(Part One: 1.1 MLP, 1.2 VAE; Part Two: 2.1 basic layers, 2.2 multi-task network), then
any part no section asked for, under "Other experiments". The sections are written by
whoever declares the parts: the gradient checks (`handgrad.reproduce.checks.SECTION`)
and each registered experiment (`handgrad.training.experiment.Experiment.report`,
reached through `handgrad.training.registry`); this module knows none of them. Every
number shown is read from the run that produced it.
"""

from __future__ import annotations

from pathlib import Path

from handgrad.report.document import Badge, Code, Content, Document, Heading, Paragraph, Table
from handgrad.report.sections import Sections, seconds
from handgrad.reproduce.checks import SECTION as CHECKS_SECTION
from handgrad.reproduce.results import FAILED, PASSED, SKIPPED, ReproduceResult
from handgrad.training.parts import Section
from handgrad.training.registry import experiments

TITLE = "handgrad: Homework 1, reproduced"
# The chapters of the homework, by the first field of a section's number: each heading
# is shown before the first section of its chapter.
CHAPTERS = {
    "1": Heading(2, "1. Part One: Code Implementation", "part-one"),
    "2": Heading(2, "2. Part Two: Back-propagation", "part-two"),
}


def sections() -> list[Section]:
    """Every section of the report, in the order shown: by number; for equal numbers the
    gradient checks first, then the experiments in the registry's order."""
    found = [CHECKS_SECTION]
    found += [e.report for e in experiments().values() if e.report is not None]
    return sorted(found, key=Section.key)


def build_document(out: str | Path) -> Document:
    """The report of the reproduction in ``out`` (see the module docstring)."""
    out = Path(out)
    result = ReproduceResult.load(out)
    report = Sections(out, result, Document(TITLE, out))
    _header(report)
    chapter = None
    for section in sections():
        first = section.number.split(".")[0]
        if first != chapter and first in CHAPTERS:
            report.add(CHAPTERS[first])
        chapter = first
        section.write(report)
    _others(report)
    _footer(report)
    return report.doc


def _header(report: Sections) -> None:
    """What kind of run it was, the counts of passed, failed and skipped parts, and a
    table of every part's verdict."""
    r = report.result
    counts = {s: sum(p.status == s for p in r.parts) for s in (PASSED, FAILED, SKIPPED)}
    overall = FAILED if counts[FAILED] else PASSED
    if r.mode == "quick":
        mode: Content = [
            "A ",
            "quick",
            " run: every part reduced (subsets, a few epochs) for a first look. Run ",
            Code("handgrad reproduce"),
            " without ",
            Code("--quick"),
            " for the real numbers.",
        ]
    else:
        mode = "The full run: every part with the settings of the assignment."
    report.add(
        Paragraph(mode),
        Paragraph(
            [
                Badge(overall),
                f" {counts[PASSED]} passed, {counts[FAILED]} failed, "
                f"{counts[SKIPPED]} skipped · started {r.started} · took "
                f"{seconds(r.seconds)} · handgrad {r.version}",
            ]
        ),
        Table(
            ["Part", "Status", "Result", "Time"],
            [
                [f"{p.section} {p.title}", Badge(p.status), p.message, seconds(p.seconds)]
                for p in sorted(r.parts, key=lambda p: p.section)
            ],
            numeric=(3,),
        ),
    )


def _others(report: Sections) -> None:
    """Every part no section asked for (an experiment without a section of its own): its
    verdict and figures."""
    others = report.not_asked()
    if not others:
        return
    report.add(Heading(2, "3. Other experiments", "others"))
    for part in others:
        report.add(Heading(3, f"{part.section} {part.title}", part.key))
        report.run_line(part)
        report.figures(part)


def _footer(report: Sections) -> None:
    report.add(
        Paragraph(
            [
                "Every number above is read from the summary.json or metrics.jsonl of "
                "the run that produced it; each run's config.json holds its settings. "
                "Regenerate with ",
                Code("handgrad reproduce"),
                ".",
            ],
            note=True,
        )
    )
