"""``handgrad data download``: fetch a dataset from its public mirrors, verified."""

from __future__ import annotations

import argparse

from handgrad.cli import args as types
from handgrad.cli.commands.data_info import add_dataset_arguments, selected
from handgrad.data.mnist import default_destination, download_dataset

GROUP = "data"
NAME = "download"
HELP = "download a dataset (SHA-256 verified, written atomically); present files are kept"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset_arguments(
        parser,
        default="mnist",
        data_dir_help="download into DIR/<dataset>/ (default: $HANDGRAD_DATA/<dataset> if "
        "set, else the user cache folder)",
    )
    parser.add_argument(
        "--mirror",
        action="append",
        default=None,
        metavar="URL",
        help="base URL to fetch <URL>/<file>.gz from instead of the built-in mirrors "
        "(repeatable; tried in order)",
    )
    types.add_no_progress(parser)


def run(args: argparse.Namespace) -> int:
    for name in selected(args):
        dest = default_destination(name, args.data_dir)
        path = download_dataset(name, dest, mirrors=args.mirror, progress=types.show_progress(args))
        print(f"{name}: ready in {path}")
    return 0
