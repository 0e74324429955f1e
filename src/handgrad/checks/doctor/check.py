"""The doctor's entry points: check a file, a module, a namespace or a dict of formulas.

`check_file(path)` (the CLI) and `check_formulas(source, problem=...)` (Python, notebooks)
find the problem, draw its random batches, judge every formula and return a `Report`.
The problem is, in this order: the one named (``problem=`` / ``--problem``), the file's
``PROBLEM = "name"``, the file's own network (``STEPS``), else the known problem whose
quantities the ``grad_`` names fit best (unique, or an error asking to name it).
A check that judges nothing at all (every formula still a template stub, or none named
for a quantity of the problem) raises `HandgradError` (the CLI's exit 2) instead of
returning an empty report.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from handgrad.checks.doctor.call import TIME_LIMIT_S
from handgrad.checks.doctor.diagnose import GraphDoctor
from handgrad.checks.doctor.graph import Problem, draw_batches
from handgrad.checks.doctor.judge import judge
from handgrad.checks.doctor.load import formulas_of, run_file
from handgrad.checks.doctor.own import draw_own_batches, is_own_network, own_problem
from handgrad.checks.doctor.problems import PROBLEMS
from handgrad.checks.doctor.verdict import Report
from handgrad.errors import HandgradError


def find_problem(formulas: dict[str, Callable], problem: str | None) -> str:
    """The problem named, or the one whose quantities the formulas' names fit best."""
    if problem is not None:
        if problem not in PROBLEMS:
            raise HandgradError(
                f"unknown problem {problem!r}; choose one of {', '.join(PROBLEMS)} "
                "(handgrad check formulas --list)"
            )
        return problem
    fits = {name: len(set(formulas) & set(p.quantities)) for name, p in PROBLEMS.items()}
    best = max(fits.values())
    winners = [n for n, k in fits.items() if k == best]
    if best == 0 or len(winners) > 1:
        among = ", ".join(winners if best else PROBLEMS)
        raise HandgradError(
            "cannot tell which problem these formulas are for; name it with --problem "
            f'or PROBLEM = "…" in the file (one of {among})'
        )
    return winners[0]


def _resolve(namespace: Mapping, formulas: dict, problem: str | None, source: str) -> Problem:
    declared = namespace.get("PROBLEM") if problem is None else problem
    if declared in (None, "own") and is_own_network(dict(namespace)):
        return own_problem(dict(namespace), source)
    if declared is not None and not isinstance(declared, str):
        raise HandgradError(f'{source}: PROBLEM must be a problem name, e.g. PROBLEM = "mlp"')
    return PROBLEMS[find_problem(formulas, declared)]


def check_formulas(
    source: Mapping[str, object] | types.ModuleType | object,
    problem: str | None = None,
    *,
    seed: int = 0,
    time_limit_s: float = TIME_LIMIT_S,
    file: str | None = None,
) -> Report:
    """Judge the formulas in ``source`` (a dict {"b2B": f, …}, a module or a namespace).

    Returns a `Report`: ``print(report)`` for the text table, ``report.to_json()`` for
    the ``handgrad.formulas/1`` schema, and in Jupyter the report shows as a table.
    """
    bare = isinstance(source, dict) and file is None
    formulas = formulas_of(source, bare_names=bare)
    namespace = source if isinstance(source, Mapping) else vars(source)
    where = file or "the formulas"
    if not formulas:
        raise HandgradError(
            f"{where}: defines no grad_<quantity>(q) functions; "
            "start from handgrad check formulas --template PROBLEM"
        )
    graph = _resolve(namespace, formulas, problem, where)
    known = set(graph.quantities)
    unknown = sorted(set(formulas) - known)
    warnings = [
        f"grad_{k} names no quantity of {graph.name}; ignored (see handgrad check formulas --list)"
        for k in unknown
    ]
    with np.errstate(all="ignore"):
        if graph.name == "own":
            batches = draw_own_batches(graph, seed)
        else:
            batches = draw_batches(graph, seed)
        doctor = GraphDoctor(graph, batches)
        verdicts = judge(doctor, formulas, batches, time_limit_s=time_limit_s)
    declared = namespace.get("PROBLEM")
    conflict = isinstance(declared, str) and problem is not None and declared != problem
    _something_checked(
        verdicts, formulas, unknown, graph.name, where, declared if conflict else None
    )
    if conflict:
        warnings.insert(0, f'--problem {graph.name} overrides PROBLEM = "{declared}" in the file')
    ms = ", ".join(str(b.m) for b in batches)
    return Report(graph.name, file, verdicts, f"random float64 batches, m = {ms}", warnings)


def _something_checked(
    verdicts, formulas, unknown, problem: str, where: str, declared: str | None
) -> None:
    """Raise (the CLI's exit 2) when no formula could be judged at all: every one still a
    stub raising NotImplementedError (an untouched template), or none named for a
    quantity of the problem, for instance because the problem asked for (``--problem``)
    is not the file's ``PROBLEM`` (``declared``)."""
    if any(v.status != "not_given" for v in verdicts):
        return
    if declared is not None and len(unknown) == len(formulas):
        raise HandgradError(
            f"{where}: nothing checked: the problem asked for (--problem {problem}) "
            f'conflicts with PROBLEM = "{declared}" in the file, whose grad_ names are '
            "not its quantities; drop one of the two"
        )
    if len(unknown) == len(formulas):
        names = ", ".join(f"grad_{k}" for k in unknown[:4]) + (" …" if len(unknown) > 4 else "")
        raise HandgradError(
            f"{where}: nothing checked: {names} name no quantity of {problem}; "
            "handgrad check formulas --list shows the quantities of each problem"
        )
    raise HandgradError(
        f"{where}: no formula filled in: every grad_ function still raises "
        "NotImplementedError (an untouched template); write at least one"
    )


def check_file(
    path: str | Path, problem: str | None = None, *, seed: int = 0, time_limit_s=TIME_LIMIT_S
) -> Report:
    """Run the Python file ``path`` and judge its ``grad_<quantity>(q)`` functions."""
    namespace = run_file(path)
    return check_formulas(namespace, problem, seed=seed, time_limit_s=time_limit_s, file=str(path))
