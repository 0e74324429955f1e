"""The doctor's entry points: check a file, a module, a namespace or a dict of formulas.

`check_file(path)` (the CLI) and `check_formulas(source, problem=...)` (Python, notebooks)
find the problem, draw its random batches, judge every formula and return a `Report`.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from pathlib import Path

from handgrad.checks.doctor.call import TIME_LIMIT_S
from handgrad.checks.doctor.judge import judge
from handgrad.checks.doctor.legacy import MultitaskDoctor
from handgrad.checks.doctor.load import formulas_of, run_file
from handgrad.checks.doctor.verdict import Report
from handgrad.errors import HandgradError

PROBLEMS = {"multitask": MultitaskDoctor}


def find_problem(formulas: dict[str, Callable], problem: str | None) -> str:
    """The problem named, or the one whose quantities the formulas' names fit best."""
    if problem is not None:
        if problem not in PROBLEMS:
            raise HandgradError(
                f"unknown problem {problem!r}; choose one of {', '.join(PROBLEMS)} "
                "(handgrad check formulas --list)"
            )
        return problem
    fits = {
        name: len(set(formulas) & {q for q, _ in cls().quantities()})
        for name, cls in PROBLEMS.items()
    }
    best = max(fits.values())
    winners = [n for n, k in fits.items() if k == best]
    if best == 0 or len(winners) > 1:
        raise HandgradError(
            "cannot tell which problem these formulas are for; name it with --problem "
            f"(one of {', '.join(PROBLEMS)})"
        )
    return winners[0]


def check_formulas(
    source: Mapping[str, object] | types.ModuleType | object,
    problem: str | None = None,
    *,
    seed: int = 0,
    time_limit_s: float = TIME_LIMIT_S,
    file: str | None = None,
) -> Report:
    """Judge the formulas in ``source`` (a dict {"b2B": f, …}, a module or a namespace)."""
    formulas = formulas_of(source, bare_names=isinstance(source, dict) and file is None)
    if not formulas:
        raise HandgradError(
            f"{file or 'the formulas'}: defines no grad_<quantity>(q) functions; "
            "see examples/ or handgrad check formulas --template PROBLEM"
        )
    name = find_problem(formulas, problem)
    doctor = PROBLEMS[name]()
    known = {q for q, _ in doctor.quantities()}
    warnings = [
        f"grad_{k} names no quantity of {name}; ignored (see handgrad check formulas --list)"
        for k in sorted(set(formulas) - known)
    ]
    batches = doctor.batches(seed=seed)
    verdicts = judge(doctor, formulas, batches, time_limit_s=time_limit_s)
    ms = ", ".join(str(b.m) for b in batches)
    return Report(name, file, verdicts, f"random float64 batches, m = {ms}", warnings)


def check_file(
    path: str | Path, problem: str | None = None, *, seed: int = 0, time_limit_s=TIME_LIMIT_S
) -> Report:
    """Run the Python file ``path`` and judge its ``grad_<quantity>(q)`` functions."""
    namespace = run_file(path)
    return check_formulas(namespace, problem, seed=seed, time_limit_s=time_limit_s, file=str(path))
