"""What the commands share: value types, and the options several commands take.

The types are the rules of `handgrad.training.options` (one rule serves the command line
and the library's validation); each rejects a bad value in one line. The shared options
(``--data-dir``, ``--out``, ``--seed``, ``--no-progress``) are declared here once, so that
every command that takes one spells and explains it the same way.
"""

from __future__ import annotations

import argparse
import time

from handgrad.training.options import (
    int_list,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
)

__all__ = [
    "add_data_dir",
    "add_no_progress",
    "add_out",
    "add_seed",
    "default_run_dir",
    "int_list",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "probability",
    "show_progress",
]


def default_run_dir(kind: str) -> str:
    """runs/<kind>-<date>-<time>, the output directory when --out is not given."""
    return f"runs/{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


DATA_DIR_DEFAULT = "$HANDGRAD_DATA, else the user cache; see 'handgrad data info'"


def add_data_dir(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *,
    what: str = "the MNIST / Fashion-MNIST IDX files",
    default: str = DATA_DIR_DEFAULT,
) -> None:
    """``--data-dir DIR``: the folder image data is read from (``default`` says where
    it is read from without it)."""
    parser.add_argument(
        "--data-dir", metavar="DIR", help=f"folder with {what} (default: {default})"
    )


def add_out(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, what: str, default: str
) -> None:
    """``--out DIR``: where the command writes ``what`` (``default`` says where without it)."""
    parser.add_argument("--out", metavar="DIR", help=f"{what} (default: {default})")


def add_seed(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, what: str, default: int = 0
) -> None:
    """``--seed N``: the seed of ``what``."""
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=default,
        metavar="N",
        help=f"seed of {what} (default: {default})",
    )


def add_no_progress(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--no-progress``: no progress bars (they are shown only on a terminal anyway)."""
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (default: shown when stderr is a terminal)",
    )


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to show progress bars: not with --no-progress, and only on a terminal."""
    import sys

    return not args.no_progress and sys.stderr.isatty()
