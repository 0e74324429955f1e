"""Reading a learner's formulas: from a file, a module, a namespace or a dict of functions.

A formula is a function ``grad_<quantity>(q)``; in a dict the key may also be the bare
quantity name (``{"b2B": f}``). Only an unusable input raises `HandgradError` (the CLI's
exit 2): a missing or unreadable file, a syntax error, an error while running the file.
A ``grad_`` name that is no quantity of the problem is a warning, not an error.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from pathlib import Path

from handgrad.checks.doctor.source import SourceError, run_source
from handgrad.errors import HandgradError

PREFIX = "grad_"


def run_file(path: str | Path) -> dict[str, object]:
    """The global namespace after running the Python file ``path`` (its prints go to stderr)."""
    path = Path(path)
    if path.is_dir():
        raise HandgradError(
            f"{path} is a folder; give one Python file of grad_<quantity>(q) functions"
        )
    if not path.is_file():
        raise HandgradError(
            f"{path}: file not found; give a Python file of grad_<quantity>(q) functions"
        )
    try:
        return run_source(path)
    except SourceError as e:
        raise HandgradError(str(e)) from None


def formulas_of(
    source: Mapping[str, object] | types.ModuleType | object, *, bare_names: bool = False
) -> dict[str, Callable]:
    """{quantity: function} from a namespace dict, a module or any object with attributes.

    Functions named ``grad_<quantity>`` count; with ``bare_names`` (a dict given from
    Python) any callable counts under its key, ``"b2B"`` as well as ``"grad_b2B"``.
    """
    if isinstance(source, Mapping):
        items = dict(source)
    else:
        items = {k: getattr(source, k) for k in dir(source) if not k.startswith("__")}
    formulas: dict[str, Callable] = {}
    for key, value in items.items():
        if not isinstance(key, str) or not callable(value) or isinstance(value, type):
            continue
        if key.startswith(PREFIX):
            formulas[key[len(PREFIX) :]] = value
        elif bare_names:
            formulas[key] = value
    return formulas
