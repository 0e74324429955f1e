"""argparse value types shared by the commands: each rejects bad values in one line."""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _number(
    parse: Callable[[str], float], kind: str, ok: Callable[[float], bool], rule: str
) -> Callable[[str], float]:
    """A value type: ``parse`` the text (else "expected <kind>"), then require ``ok``."""

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return convert


positive_int = _number(int, "a whole number", lambda v: v >= 1, "≥ 1")
non_negative_int = _number(int, "a whole number", lambda v: v >= 0, "≥ 0")
positive_float = _number(
    float, "a number", lambda v: v > 0 and math.isfinite(v), "a positive number"
)
non_negative_float = _number(
    float, "a number", lambda v: v >= 0 and math.isfinite(v), "a number ≥ 0"
)
probability = _number(float, "a number", lambda v: 0 <= v < 1, "in [0, 1)")


def int_list(text: str) -> list[int]:
    """Comma-separated layer sizes, e.g. '256,128'; each ≥ 1."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("expected sizes like 50 or 256,128")
    return [positive_int(p) for p in parts]


def default_run_dir(kind: str) -> str:
    """runs/<kind>-<date>-<time>, the output directory when --out is not given."""
    return f"runs/{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def config_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """The dataclass ``cls`` with every field that has a same-named parsed argument."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in vars(args).items() if k in names})


def add_engine_argument(group: argparse._ActionsContainer) -> None:
    """``--engine auto|numpy|fused`` of every training command (`handgrad.fast.engine`)."""
    from handgrad.fast.engine import CHOICES

    group.add_argument(
        "--engine",
        choices=CHOICES,
        default="auto",
        help="numpy: the readable formulas; fused: the same formulas as compiled fused "
        "kernels (Numba); auto (default): fused when it loads, else numpy",
    )
