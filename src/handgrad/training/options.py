"""The settings of an experiment, each declared once: default, rule, choices and help.

An experiment's config is a dataclass whose fields are declared with `option`::

    lr: float = option(0.1, rule=positive_float, help="learning rate")
    optimizer: str = option("sgd", choices=OPTIMIZERS)

The field's metadata is the single source every consumer reads: the ``handgrad train
NAME`` options (`handgrad.cli.commands.train`), the library's validation
(`handgrad.training.experiment.ExperimentConfig.validate`), and the sweep's checks of
its settings (`handgrad.sweep.spec`). A `Rule` both parses a command-line value (it is
an argparse ``type``) and checks a value given in Python or a sweep spec, with the same
words in both errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable, Iterable
from typing import Any

GROUPS = ("data", "model", "optimisation", "run")


@dataclasses.dataclass(frozen=True)
class Rule:
    """A rule a setting's value must follow.

    ``parse`` turns command-line text into a value (raising ValueError if it is not
    ``kind``, e.g. "a whole number"); ``ok`` says whether a value follows the rule,
    stated in words by ``text`` (e.g. "≥ 1").
    """

    kind: str
    parse: Callable[[str], Any]
    ok: Callable[[Any], bool]
    text: str

    def __call__(self, text: str) -> Any:
        """The value of command-line ``text``; argparse.ArgumentTypeError naming the rule."""
        try:
            value = self.parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {self.kind}, got {text!r}") from None
        if not self.ok(value):
            raise argparse.ArgumentTypeError(f"must be {self.text}, got {text}")
        return value


positive_int = Rule("a whole number", int, lambda v: v >= 1, "≥ 1")
non_negative_int = Rule("a whole number", int, lambda v: v >= 0, "≥ 0")
positive_float = Rule("a number", float, lambda v: v > 0 and math.isfinite(v), "a positive number")
non_negative_float = Rule("a number", float, lambda v: v >= 0 and math.isfinite(v), "a number ≥ 0")
probability = Rule("a number", float, lambda v: 0 <= v < 1, "in [0, 1)")


def _sizes(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("expected sizes like 50 or 256,128")
    return [positive_int(p) for p in parts]


int_list = Rule(
    "sizes like 50 or 256,128",
    _sizes,
    lambda v: len(v) >= 1 and all(h >= 1 for h in v),
    "sizes all ≥ 1",
)


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str | None = None,
    rule: Rule | None = None,
    choices: Iterable[str] | None = None,
    group: str = "optimisation",
    flag: str | None = None,
    metavar: str | None = None,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    cli: bool = True,
) -> Any:
    """A config field with its command-line option and its rule.

    ``rule`` checks a value (and parses it on the command line); ``choices`` lists the
    allowed values (take them from the library, e.g. ``OPTIMIZERS``); ``group`` is the
    section of ``--help`` (one of `GROUPS`); ``flag`` overrides the option name
    (default ``--field-name``); ``cli=False`` keeps the field out of the command line.
    A bool field is a switch (``--flag`` sets it). A default of None means "decided
    later" (e.g. by the dataset, in the config's ``resolve``): it is not checked.
    """
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
    metadata = {
        "help": help,
        "rule": rule,
        "choices": tuple(choices) if choices is not None else None,
        "group": group,
        "flag": flag,
        "metavar": metavar,
        "cli": cli,
    }
    return dataclasses.field(
        default=default, default_factory=default_factory, metadata={"option": metadata}
    )


def option_of(field: dataclasses.Field) -> dict[str, Any] | None:
    """The `option` metadata of a config field (None for a plain field)."""
    return field.metadata.get("option")


def flag_of(field: dataclasses.Field) -> str:
    """The command-line name of a config field, e.g. ``--batch-size``."""
    meta = option_of(field) or {}
    return meta.get("flag") or "--" + field.name.replace("_", "-")


# Options every experiment shares, declared once (each experiment gives its default).
def epochs(default: int | None) -> Any:
    """Passes over the training set."""
    return option(default, rule=positive_int)


def batch_size(default: int) -> Any:
    """Examples per training step."""
    return option(default, rule=positive_int)


def lr(default: float) -> Any:
    """The (initial) learning rate."""
    return option(default, rule=positive_float, help=f"learning rate (default {default:g})")


def seed(help: str = "seed of initialisation, shuffling and noise") -> Any:
    """The run's seed: the same seed gives the same run, bit for bit."""
    return option(0, rule=non_negative_int, help=help)


def engine() -> Any:
    """Which engine computes the training steps (`handgrad.fast.engine`)."""
    from handgrad.fast.engine import CHOICES

    return option(
        "auto",
        choices=CHOICES,
        group="run",
        help="numpy: the readable formulas in NumPy; fused: the same formulas as compiled "
        "fused kernels (Numba); auto (default): fused where Numba loads, else numpy",
    )
