"""``handgrad gradescope RUBRIC --out autograder.zip``: a Gradescope autograder bundle."""

from __future__ import annotations

import argparse

GROUP = None
NAME = "gradescope"
HELP = (
    "build a Gradescope autograder (setup.sh, run_autograder, the rubric, handgrad) that "
    "grades each submission in its own sandbox"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rubric", metavar="RUBRIC.toml", help="the rubric; it names the problem")
    parser.add_argument(
        "--out",
        default="autograder.zip",
        metavar="ZIP",
        help="where the bundle goes (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    from handgrad.checks.grade.gradescope import build_bundle

    out = build_bundle(args.rubric, args.out)
    print(f"wrote {out}: upload it as the autograder of a Gradescope programming assignment")
    return 0
