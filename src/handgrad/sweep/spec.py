"""Sweep specs: a TOML file naming a command, the settings to vary and the seeds.

Format (every key but ``command`` is optional)::

    command = "mlp"              # an experiment (mlp, multitask, vae, …): what each trial trains
    name = "mlp-hidden-lr"       # default: the file name without .toml
    out = "sweeps/mlp-hidden-lr" # results folder, relative to the cwd; default sweeps/<name>
    seeds = 3                    # seeds 0, 1, 2; or an explicit list: seeds = [0, 7, 42]
    metric = "test_acc"          # headline final metric, a key of summary.json
    curves = ["train_loss", "test_acc"]  # per-epoch metrics drawn with a band over seeds

    [base]                       # settings shared by every trial
    epochs = 20

    [grid]                       # every combination of these values (the first key is the
    hidden = [20, 50, 100, 300]  #  x axis of the summary plot; a bare size means [size])
    lr = [0.01, 0.1, 0.5]

    [random]                     # `samples` random draws, crossed with the grid
    samples = 4
    seed = 0                     # seed of the draws (the trials' seeds are `seeds`)
    dropout = { uniform = [0.0, 0.5] }
    weight_decay = { loguniform = [1e-5, 1e-2] }
    batch_size = { int = [16, 64] }          # integers lo … hi, both included
    activation = { choice = ["relu", "tanh"] }

Setting names are the fields of the experiment's config (`MLPConfig`, `MultiTaskConfig`,
`VAEConfig`, …; `handgrad.training.registry`), checked against their types; ``seed``
is set by ``seeds``, never by hand.
Random floats are rounded to 3 significant digits so trial names stay short. Every
problem is a one-line `HandgradError` naming the file and key.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handgrad.errors import HandgradError
from handgrad.io import read_toml
from handgrad.training.experiment import Experiment
from handgrad.training.registry import get as get_experiment

TOP_KEYS = ("command", "name", "out", "seeds", "metric", "curves", "base", "grid", "random")
DISTRIBUTIONS = ("uniform", "loguniform", "int", "choice")
RESERVED = ("seed", "model")  # set by the sweep itself


@dataclass(frozen=True)
class Distribution:
    """One random setting: ``kind`` in `DISTRIBUTIONS` with its ``args``.

    uniform/loguniform/int: ``args = (lo, hi)``; choice: ``args`` are the options.
    """

    kind: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class RandomSpace:
    """``samples`` draws of ``params``, from a Generator seeded with ``seed``."""

    samples: int
    seed: int
    params: dict[str, Distribution]


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (see the module docstring for the file format)."""

    command: Experiment
    name: str
    seeds: tuple[int, ...]
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    random: RandomSpace | None
    metric: str
    curves: tuple[str, ...]
    out: str | None = None
    source: str = "spec"


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate the sweep spec at ``path``."""
    path = Path(path)
    data = read_toml(path, "a sweep spec")
    return parse_spec(data, source=str(path), default_name=path.stem)


def parse_spec(
    data: dict[str, Any], source: str = "spec", default_name: str = "sweep"
) -> SweepSpec:
    """Validate the parsed TOML ``data`` of a spec; ``source`` prefixes every error."""

    def fail(key: str, problem: str) -> typing.NoReturn:
        raise HandgradError(f"{source}: {key}: {problem}")

    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        fail(unknown[0], f"unknown key; expected one of {', '.join(TOP_KEYS)}")
    if "command" not in data:
        fail("command", 'missing; name the command of each trial, e.g. command = "mlp"')
    command = get_experiment(data["command"], f"{source}: command")
    name = _string(data.get("name", default_name), "name", fail)
    out = _string(data["out"], "out", fail) if "out" in data else None
    seeds = _seeds(data.get("seeds", 1), fail)
    tables = {}
    for table in ("base", "grid", "random"):
        value = data.get(table, {})
        if not isinstance(value, dict):
            fail(table, f"must be a table ([{table}]), got {value!r}")
        tables[table] = value

    def setting(table: str, key: str, value: Any) -> Any:
        if key in RESERVED:
            fail(f"{table}.{key}", "set by the sweep itself; use the top-level seeds = ...")
        return check_value(command, key, value, f"{source}: {table}.{key}")

    base = {k: setting("base", k, v) for k, v in tables["base"].items()}
    grid = {}
    for key, values in tables["grid"].items():
        if not isinstance(values, list) or not values:
            fail(f"grid.{key}", f"expected a non-empty list of values like [1, 2], got {values!r}")
        grid[key] = [setting("grid", key, v) for v in values]
    random = _random_space(tables["random"], fail) if tables["random"] else None
    for key in grid:
        if key in base:
            fail(f"grid.{key}", "also set in [base]; give each setting in one table only")
    for key in random.params if random else ():
        if key in base or key in grid:
            fail(f"random.{key}", "also set in [base] or [grid]; give each setting in one table")
        if key in RESERVED:
            fail(f"random.{key}", "set by the sweep itself; use the top-level seeds = ...")
        check_distribution(command, key, random.params[key], f"{source}: random.{key}")
    metric = _string(data.get("metric", command.metric), "metric", fail)
    curves = data.get("curves", list(command.curves))
    if not isinstance(curves, list) or not curves or not all(isinstance(c, str) for c in curves):
        fail("curves", f'expected a list of metric names like ["train_loss"], got {curves!r}')
    return SweepSpec(
        command, name, seeds, base, grid, random, metric, tuple(curves), out=out, source=source
    )


def _string(value: Any, key: str, fail) -> str:
    if not isinstance(value, str) or not value:
        fail(key, f"expected a non-empty string, got {value!r}")
    return value


def _seeds(value: Any, fail) -> tuple[int, ...]:
    if _is_int(value):
        if value < 1:
            fail("seeds", f"a count of seeds must be ≥ 1, got {value}")
        return tuple(range(value))
    if not isinstance(value, list) or not value or not all(_is_int(s) and s >= 0 for s in value):
        fail("seeds", f"expected a count (seeds = 3) or a list of seeds ≥ 0, got {value!r}")
    if len(set(value)) != len(value):
        fail("seeds", f"lists a seed twice: {value}; give each seed once")
    return tuple(value)


def _random_space(table: dict[str, Any], fail) -> RandomSpace:
    samples = table.get("samples")
    if not _is_int(samples) or samples < 1:
        fail("random.samples", f"expected the number of random draws (≥ 1), got {samples!r}")
    seed = table.get("seed", 0)
    if not _is_int(seed) or seed < 0:
        fail("random.seed", f"expected a whole number ≥ 0, got {seed!r}")
    params = {}
    for key, value in table.items():
        if key in ("samples", "seed"):
            continue
        where = f"random.{key}"
        if not isinstance(value, dict) or len(value) != 1:
            fail(where, f"expected one distribution like {{ uniform = [0, 1] }}, got {value!r}")
        ((kind, args),) = value.items()
        if kind not in DISTRIBUTIONS:
            fail(where, f"unknown distribution {kind!r}; choose one of {', '.join(DISTRIBUTIONS)}")
        if not isinstance(args, list) or not args:
            fail(where, f"{kind} needs a list, got {args!r}")
        if kind != "choice":
            _check_bounds(kind, args, where, fail)
        params[key] = Distribution(kind, tuple(args))
    if not params:
        fail("random", "names no setting to draw; add e.g. lr = { loguniform = [0.001, 1] }")
    return RandomSpace(samples, seed, params)


def _check_bounds(kind: str, args: list[Any], where: str, fail) -> None:
    ok_type = _is_int if kind == "int" else _is_number
    if len(args) != 2 or not all(ok_type(a) for a in args) or not args[0] <= args[1]:
        example = "[16, 64]" if kind == "int" else "[0.001, 1.0]"
        fail(where, f"{kind} needs [lo, hi] with lo ≤ hi like {example}, got {args!r}")
    if kind == "loguniform" and args[0] <= 0:
        fail(where, f"loguniform needs lo > 0, got {args!r}")


def check_distribution(command: Experiment, key: str, dist: Distribution, where: str) -> None:
    """Raise `HandgradError` unless every value ``dist`` can draw fits the field ``key``."""
    values = dist.args if dist.kind == "choice" else dist.args[:2]
    if dist.kind in ("uniform", "loguniform"):
        values = tuple(float(v) for v in values)
    for value in values:
        check_value(command, key, value, where)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _field_types(command: Experiment) -> dict[str, Any]:
    cls = command.config
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def check_value(command: Experiment, key: str, value: Any, where: str) -> Any:
    """``value`` checked against (and coerced to) the type of the config field ``key``.

    int → float where a float is expected; a bare int → [int] for a list of sizes.
    Raises `HandgradError` prefixed by ``where`` for an unknown key or a wrong type.
    """
    fields = _field_types(command)
    if key not in fields:
        names = ", ".join(k for k in fields if k not in RESERVED)
        raise HandgradError(f"{where}: not a setting of {command.name}; choose from {names}")
    hint = fields[key]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None: TOML has no None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    expected = _coerce(hint, value)
    if expected is _BAD:
        raise HandgradError(f"{where}: expected {_describe(hint)}, got {value!r}")
    return expected


_BAD = object()


def _coerce(hint: Any, value: Any) -> Any:
    if hint is bool:
        return value if isinstance(value, bool) else _BAD
    if hint is int:
        return value if _is_int(value) else _BAD
    if hint is float:
        return float(value) if _is_number(value) else _BAD
    if hint is str:
        return value if isinstance(value, str) else _BAD
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        items = value if isinstance(value, list) else [value]
        coerced = [_coerce(item, v) for v in items]
        return _BAD if not items or _BAD in coerced else coerced
    return _BAD


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is list:
        return "a list of whole numbers like [50, 20] (or one number)"
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    return names.get(hint, str(hint))
