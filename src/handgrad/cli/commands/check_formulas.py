"""``handgrad check formulas FILE.py``: the gradient doctor on a learner's formulas.

Also ``--list`` (the problems, their quantities and shapes) and ``--template NAME`` (a
file to start from, ``own`` for a network of your own). ``--out FILE`` writes the report
there (atomically) instead of stdout. Exit codes: 0 every given formula right; 1 any
wrong or failing; 2 unusable input (no file, not Python, no formula at all, no formula
filled in, ``--problem`` against the file's ``PROBLEM``), with one line on stderr and
nothing on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from handgrad.checks.doctor import check_file
from handgrad.checks.doctor.call import TIME_LIMIT_S
from handgrad.cli import args as types
from handgrad.errors import HandgradError
from handgrad.io import atomic_write

GROUP = "check"
NAME = "formulas"
HELP = "check your hand-derived gradient formulas (grad_<quantity>(q)) and name the mistakes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="Python file defining grad_<quantity>(q) functions")
    parser.add_argument("--problem", help="the problem the file is for (default: recognised)")
    parser.add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        help="output: a text table, the JSON schema handgrad.formulas/1, or an HTML page "
        "with a heatmap of each wrong formula's per-entry error (default: text)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the problems, their quantities and shapes"
    )
    parser.add_argument(
        "--template",
        metavar="PROBLEM",
        help="write a formula file to start from and exit (a problem of --list, or own: "
        "a network of your own)",
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        help="write the report (text, json or html) to PATH instead of printing it; with "
        "--template, where the template goes (default: formulas_PROBLEM.py)",
    )
    types.add_seed(parser, what="the random batches")
    parser.add_argument(
        "--time-limit",
        type=types.positive_float,
        default=TIME_LIMIT_S,
        metavar="S",
        help="seconds one formula may run per batch (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    if args.list:
        from handgrad.checks.doctor.listing import listing

        print(listing())
        return 0
    if args.template:
        return _write_template(args.template, args.out)
    if args.file is None:
        raise HandgradError("give a formula FILE, or --list, or --template PROBLEM")
    out = _out_path(args.out) if args.out else None
    report = check_file(args.file, args.problem, seed=args.seed, time_limit_s=args.time_limit)
    if args.format == "json":
        text = report.dumps()
    elif args.format == "html":
        text = report.html_page()
    else:
        text = str(report)
    if out is None:
        print(text)
    else:
        with atomic_write(out, "w") as f:
            f.write(text + "\n")
        print(f"wrote {out}: {_summary(report)}", file=sys.stderr)
    return report.exit_code


def _out_path(out: str) -> Path:
    """``--out`` for a report: a file whose folder exists (checked before any work)."""
    path = Path(out)
    if path.is_dir():
        raise HandgradError(f"--out {out} is a folder; give a file name, e.g. {path / 'r.html'}")
    if not path.parent.is_dir():
        raise HandgradError(f"--out {out}: folder {path.parent} does not exist; create it first")
    return path


def _summary(report) -> str:
    c = report.counts
    return f"{c['ok']} correct, {c['wrong']} wrong, {c['error']} error, {c['not_given']} not given"


def _write_template(problem: str, out: str | None) -> int:
    from handgrad.checks.doctor.listing import template

    text = template(problem)
    path = Path(out or f"formulas_{problem}.py")
    if path.exists():
        raise HandgradError(f"{path} exists; choose another path with --out (nothing written)")
    try:
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise HandgradError(f"cannot write {path}: {e.strerror}") from None
    print(f"wrote {path}; fill in the grad_ functions, then: handgrad check formulas {path}")
    return 0
