"""``handgrad grade SUBMISSIONS --out OUT``: grade a class's formula files with the doctor."""

from __future__ import annotations

import argparse
import sys

from handgrad.cli import args as types

GROUP = None
NAME = "grade"
HELP = (
    "grade a class: the gradient doctor on every submission, each in its own sandbox; "
    "grades.csv, Gradescope results.json, class_report.html"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "submissions",
        metavar="SUBMISSIONS_DIR",
        help="one entry per learner: a .py file, a notebook, a written report (.md, .tex) or a "
        "folder holding one (nested as LMS exports lay it out)",
    )
    parser.add_argument("--out", required=True, metavar="OUT_DIR", help="where grades go")
    parser.add_argument(
        "--rubric", metavar="RUBRIC.toml", help="points, partial credit, hints, limits"
    )
    parser.add_argument(
        "--problem",
        metavar="NAME",
        help="the doctor's problem (see handgrad check formulas --list)",
    )
    parser.add_argument(
        "--jobs",
        type=types.positive_int,
        help="submissions checked at once (default: one per available core)",
    )
    where = parser.add_mutually_exclusive_group()  # --trusted means no isolation at all
    where.add_argument(
        "--isolation",
        choices=("bwrap", "user", "auto"),
        default="bwrap",
        help="how each submission runs: a bubblewrap sandbox (default; Debian package "
        "'bubblewrap'), a separate unprivileged user (needs root; for containers that refuse "
        "namespaces), or auto (bwrap where it works, else user)",
    )
    where.add_argument(
        "--trusted",
        action="store_true",
        help="no sandbox: run submissions as yourself (only for files you trust)",
    )
    types.add_no_progress(parser)


def run(args: argparse.Namespace) -> int:
    # imported here: every handgrad command (the grader's child processes too) builds
    # this parser, and the grader's modules load matplotlib
    from handgrad.checks.grade import Rubric, grade_class, load_rubric
    from handgrad.checks.grade.outputs import points_text

    rubric = load_rubric(args.rubric) if args.rubric else Rubric()
    progress = types.show_progress(args)
    result = grade_class(
        args.submissions,
        args.out,
        rubric=rubric,
        problem=args.problem,
        jobs=args.jobs,
        isolation="none" if args.trusted else args.isolation,
        progress=progress,
        log=lambda line: print(line, file=sys.stderr),
    )
    s = result.summary
    print(
        f"graded {len(s.grades)} submissions of problem {s.problem} "
        f"({result.checked} checked now, {result.reused} unchanged since the last run): "
        f"{s.checked} checked, {s.failed} could not be graded"
    )
    for c in s.mistakes[:3]:
        print(f"  {100 * c.fraction:3.0f} % {c.mistake}: {c.explanation}")
    print(f"full marks: {s.full_marks}; max {points_text(s.grades[0].max_score)} points")
    submissions = result.csv.parent / "submissions"
    print(f"wrote {result.csv}, {result.report} and {submissions}/*/results.json")
    print(f"isolation: {result.isolation}")
    return 0
