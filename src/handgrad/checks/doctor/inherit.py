"""Proving that a wrong formula only inherits an upstream error: evaluate it again with the
true upstream value.

A formula for Q "inherits the error of ∂L/∂R" only when this is shown by computation:
every place where Q's function reaches the learner's own function for R (a global name,
a closure cell, or an attribute of a module or object it reads) is bound, for one call,
to a stand-in returning the *true* ∂L/∂R of that batch; Q is then called again on every
batch, and it must equal the true ∂L/∂Q to the float tolerance on each. A formula that
recomputes R inline, or is wrong in its own right too, stays wrong with the true R and is
diagnosed on its own. Nothing here is guessed from values alone: a formula whose numbers
happen to follow from the wrong R, but which does not call it, is never said to inherit.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Iterator

import numpy as np

from handgrad.checks.doctor.call import FormulaError, as_gradient, call_formula


def _code_names(code: types.CodeType) -> set[str]:
    """Every global or attribute name a code object (or a function nested in it) reads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _slots(f: Callable, target: Callable) -> list[tuple[str, object, object]]:
    """Where ``f``, or a function it reaches, looks ``target`` up: ("global", dict, key),
    ("cell", cell, None) or ("attr", obj, name). Functions are followed through closures
    and through globals of the learner's own namespace (that of ``f``), each once: never
    into a library."""
    found: list[tuple[str, object, object]] = []
    seen: set[int] = set()
    home = getattr(f, "__globals__", None)
    todo = [f]
    while todo:
        fn = todo.pop()
        if id(fn) in seen or not isinstance(fn, types.FunctionType):
            continue
        seen.add(id(fn))
        names = _code_names(fn.__code__)
        for name in names:
            value = fn.__globals__.get(name)
            if value is target:
                found.append(("global", fn.__globals__, name))
            elif isinstance(value, types.FunctionType):
                if value.__globals__ is home:
                    todo.append(value)
            elif value is not None and not isinstance(value, type):
                for attr in names:  # e.g. mine.grad_p(q) with mine a module or object
                    with contextlib.suppress(Exception):
                        if getattr(value, attr, None) is target:
                            found.append(("attr", value, attr))
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if value is target:
                found.append(("cell", cell, None))
            elif isinstance(value, types.FunctionType):
                todo.append(value)
    return found


@contextlib.contextmanager
def _bound(slots, stand_in: Callable) -> Iterator[None]:
    """Bind every slot to ``stand_in`` for the duration, then restore what was there."""
    saved = []
    try:
        for kind, where, key in slots:
            if kind == "global":
                saved.append((kind, where, key, where[key]))
                where[key] = stand_in
            elif kind == "cell":
                saved.append((kind, where, key, where.cell_contents))
                where.cell_contents = stand_in
            else:
                saved.append((kind, where, key, getattr(where, key)))
                setattr(where, key, stand_in)
        yield
    finally:
        for kind, where, key, old in reversed(saved):
            if kind == "global":
                where[key] = old
            elif kind == "cell":
                where.cell_contents = old
            else:
                setattr(where, key, old)


def right_with_true_upstream(
    f: Callable,
    name: str,
    upstream: Callable,
    up_name: str,
    batches: list,
    tol: float,
    rel_error: Callable[[np.ndarray, np.ndarray], float],
    time_limit_s: float,
) -> bool:
    """Whether ``f`` (the formula for ``name``) equals the truth on every batch once its
    calls of ``upstream`` (the formula for ``up_name``) return the true ∂L/∂``up_name``.

    A formula evaluated elsewhere (the grader's sandbox) brings its own way to do this:
    ``f.with_upstream(q, up_name, value)``, its value with ``grad_<up_name>`` returning
    ``value`` during the call."""
    rebind = getattr(f, "with_upstream", None)
    slots = [] if callable(rebind) else _slots(f, upstream)
    if not slots and not callable(rebind):
        return False
    for b in batches:
        true_up = np.array(b.truth[up_name], copy=True)
        try:
            if callable(rebind):
                got = as_gradient(rebind(b.q, up_name, true_up), b.m)
            else:
                with _bound(slots, lambda q, v=true_up: v.copy()):
                    got = call_formula(f, b.q, time_limit_s=time_limit_s)
        except (FormulaError, AttributeError, TypeError):  # a slot that cannot be bound
            return False
        if got.shape != b.truth[name].shape or rel_error(got, b.truth[name]) > tol:
            return False
    return True
