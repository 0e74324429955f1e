"""argparse value types shared by the commands: each rejects bad values in one line.

They are the rules of `handgrad.training.options` (one rule serves the command line and
the library's validation), plus the default run directory.
"""

from __future__ import annotations

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
    "default_run_dir",
    "int_list",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "probability",
]


def default_run_dir(kind: str) -> str:
    """runs/<kind>-<date>-<time>, the output directory when --out is not given."""
    return f"runs/{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
