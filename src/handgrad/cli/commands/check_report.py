"""``handgrad check report FILE``: the gradient doctor on a written report or a notebook.

Reads the gradient equations of a Markdown (.md), LaTeX (.tex) or notebook (.ipynb)
report, evaluates each on random batches and prints the doctor's verdict per equation
(or why it cannot be read). Exit codes: 0 no equation read is wrong; 1 any is wrong or
failing; 2 unusable input (no file, unknown suffix, a bad notation file), with one line
on stderr and nothing on stdout.
"""

from __future__ import annotations

import argparse

from handgrad.cli import args as types

GROUP = "check"
NAME = "report"
HELP = "check the gradient equations of a written report (.md, .tex, .ipynb) and name the mistakes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the report: Markdown with LaTeX math, .tex, or a notebook")
    parser.add_argument(
        "--problem", help="read every equation for this problem (default: from the headings)"
    )
    parser.add_argument(
        "--notation",
        metavar="N.toml",
        help='symbols the report uses, [symbols] "LaTeX" = "quantity or LaTeX" (see the README)',
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        help="output: a text table, the JSON schema handgrad.report/1, or an HTML page with "
        "the equations rendered (default: text)",
    )
    types.add_seed(parser, what="the random batches")


def run(args: argparse.Namespace) -> int:
    from handgrad.checks.report import check_report

    check = check_report(args.file, args.problem, args.notation, seed=args.seed)
    if args.format == "json":
        print(check.dumps())
    elif args.format == "html":
        print(check.html_page())
    else:
        print(check)
    return check.exit_code
