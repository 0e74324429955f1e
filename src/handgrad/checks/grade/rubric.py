"""The rubric: points per formula, partial credit, how much a hint says, and the limits.

Format (TOML, every table optional)::

    problem = "multitask"        # the doctor's problem; default: --problem, else detected

    [points]                     # the formulas graded and their points; default: 1 point
    theta1A = 2                  #  for every formula at least one submission answered
    b2B = 1

    [partial]                    # the fraction of a wrong formula's points it still earns,
    relu_as_step = 0.5           #  keyed by the doctor's mistake id; a formula showing two
    bn_factor = 0.25             #  mistakes ("bn_factor+relu_as_step") earns the product
    "bn_factor+relu_as_step" = 0.2   # … unless the pair is listed itself
    inherits = 1.0               # wrong only through a wrong upstream residual ("error
                                 #  carried forward"); default: no partial credit at all

    [hints]
    level = "mistake"            # none | where | mistake | fix (what a wrong formula's
                                 #  feedback says; see `HINT_LEVELS`)
    [hints.text]                 # your own wording of a mistake (default: `DEFAULT_HINTS`
    no_task_b_term = "x2A feeds two losses: look again at ∂L/∂ŷA"   # , else the doctor's)

    [sandbox]
    allow_imports = ["scipy"]    # packages a submission may import besides NumPy (default
                                 #  none; a gradient library here lets learners skip the work)

    [gradescope]                 # the Gradescope bundle's results.json (`gradescope`)
    visibility = "visible"       # visible | hidden | after_due_date | after_published
    [gradescope.tests]           # per formula, overriding visibility
    theta1B = "after_published"

    [limits]                     # per submission (see `handgrad.checks.grade.limits`)
    wall_seconds = 120
    cpu_seconds = 60
    memory_mb = 2048
    output_kb = 1024
    write_mb = 16

Every problem is a one-line `HandgradError` naming the file and the key. `check_rubric`
checks the names against the problem (formulas, mistake ids) before any submission runs.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from handgrad.checks.grade.limits import Limits
from handgrad.errors import HandgradError
from handgrad.io import read_toml

TOP_KEYS = ("problem", "points", "partial", "hints", "limits", "sandbox", "gradescope")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
HINT_LEVELS = {
    "none": "only right or wrong",
    "where": "and where: the relative error, the worst entries, the upstream error inherited",
    "mistake": "and the named mistake, explained (never the reference formula nor the fix)",
    "fix": "and the doctor's one-line fix (for practice runs, not for graded work)",
}
INHERITS = "inherits"

# How a hint names the classic slips (the stable ids of the doctor) by default: what the
# mistake is, never the right formula nor the fix. Other ids show the doctor's explanation.
DEFAULT_HINTS = {
    "bn_factor": "BN*'s batch-mean coupling is written as a (1 − 1/m) factor",
    "bn_uncoupled": "the batch mean of BN* is left out of the backward pass",
    "relu_as_step": "ReLU′ is written as (x + |x|)/2, which is ReLU itself",
    "no_task_b_term": "∂L/∂ŷA lacks its task-B term (x2A feeds both losses)",
    "no_mask": "the dropout mask is missing",
    "unscaled_mask": "the dropout mask is used without its 1/(1 − p) scale",
    "no_cos": "the derivative of sin is missing",
    "sin_for_cos": "the derivative of sin is written as sin",
}
_MISTAKE_KEY = re.compile(r"^[^\s+]+(\+[^\s+]+)*$")  # ids joined by +; each checked later


@dataclass(frozen=True)
class Rubric:
    """A validated rubric (see the module docstring for the file format)."""

    points: dict[str, float] = field(default_factory=dict)  # {} = 1 per answered formula
    partial: dict[str, float] = field(default_factory=dict)
    hint_level: str = "mistake"
    hint_text: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HINTS))
    problem: str | None = None
    limits: Limits = field(default_factory=Limits)
    allow_imports: tuple[str, ...] = ()
    visibility: str = "visible"
    test_visibility: dict[str, str] = field(default_factory=dict)

    def credit(self, mistake: str | None, inherits: str | None) -> float:
        """The fraction of the points a wrong formula earns (0 unless the rubric says)."""
        if inherits and INHERITS in self.partial:
            return self.partial[INHERITS]
        if not mistake:
            return 0.0
        if mistake in self.partial:
            return self.partial[mistake]
        return math.prod(self.partial.get(part, 0.0) for part in mistake.split("+"))


def load_rubric(path: str | Path) -> Rubric:
    """Read and validate the rubric at ``path``."""
    path = Path(path)
    data = read_toml(path, "a rubric TOML")
    return parse_rubric(data, source=str(path))


def parse_rubric(data: dict[str, Any], source: str = "rubric") -> Rubric:
    """Validate the parsed TOML ``data``; ``source`` prefixes every error."""

    def fail(key: str, problem: str) -> NoReturn:
        raise HandgradError(f"{source}: {key}: {problem}")

    _known(data, TOP_KEYS, "", fail)
    problem = data.get("problem")
    if problem is not None and not (isinstance(problem, str) and problem):
        fail("problem", f'expected a problem name like "multitask", got {problem!r}')
    points = {
        name: _number(v, f"points.{name}", fail, lambda x: x > 0, "a number of points > 0")
        for name, v in _table(data, "points", fail).items()
    }
    partial = {}
    for key, v in _table(data, "partial", fail).items():
        if not _MISTAKE_KEY.match(key):
            fail(
                f"partial.{key}",
                "expected a mistake id like bn_factor, a pair like "
                "bn_factor+relu_as_step, or inherits",
            )
        partial[key] = _number(v, f"partial.{key}", fail, lambda x: 0 <= x <= 1, "in [0, 1]")
    hints = _table(data, "hints", fail)
    _known(hints, ("level", "text"), "hints.", fail)
    level = hints.get("level", "mistake")
    if level not in HINT_LEVELS:
        fail("hints.level", f"expected one of {', '.join(HINT_LEVELS)}, got {level!r}")
    text = _table(hints, "text", fail, "hints.")
    for key, v in text.items():
        if not isinstance(v, str) or not v.strip() or "\n" in v.strip():
            fail(f"hints.text.{key}", "expected one line of text")
    limits_table = _table(data, "limits", fail)
    _known(limits_table, Limits.names(), "limits.", fail)
    limits = Limits(
        **{
            k: _number(v, f"limits.{k}", fail, lambda x: x > 0, "a number > 0")
            for k, v in limits_table.items()
        }
    )
    hint_text = DEFAULT_HINTS | {k: v.strip() for k, v in text.items()}
    box = _table(data, "sandbox", fail)
    _known(box, ("allow_imports",), "sandbox.", fail)
    allow = box.get("allow_imports", [])
    if not isinstance(allow, list) or not all(
        isinstance(a, str) and a.isidentifier() for a in allow
    ):
        fail("sandbox.allow_imports", f"expected a list of package names, got {allow!r}")
    gs = _table(data, "gradescope", fail)
    _known(gs, ("visibility", "tests"), "gradescope.", fail)
    visibility = gs.get("visibility", "visible")
    tests = _table(gs, "tests", fail, "gradescope.")
    for key, v in {"visibility": visibility, **{f"tests.{k}": v for k, v in tests.items()}}.items():
        if v not in VISIBILITIES:
            fail(f"gradescope.{key}", f"expected one of {', '.join(VISIBILITIES)}, got {v!r}")
    return Rubric(
        points, partial, level, hint_text, problem, limits, tuple(allow), visibility, dict(tests)
    )


def check_problem(problem: str | None) -> str | None:
    """``problem`` if the doctor knows it (None stays None), else a one-line error."""
    from handgrad.checks.doctor.problems import PROBLEMS

    if problem is None or problem in PROBLEMS:
        return problem
    close = difflib.get_close_matches(problem, list(PROBLEMS), n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    raise HandgradError(f"unknown problem {problem!r}; {guess}choose one of {', '.join(PROBLEMS)}")


def check_rubric(rubric: Rubric, problem: str | None, source: str = "rubric") -> None:
    """Check the rubric's formula names and mistake ids against ``problem`` (every known
    problem when None): one line naming the first unknown key, before anything runs."""
    from handgrad.checks.doctor.problems import PROBLEMS

    problems = [PROBLEMS[problem]] if problem else list(PROBLEMS.values())
    formulas = {q for p in problems for q in p.quantities}
    named = f"problem {problem}" if problem else "any problem"
    keys = [*(f"points.{k}" for k in rubric.points)]
    keys += [f"gradescope.tests.{k}" for k in rubric.test_visibility]
    for key in keys:
        name = key.rsplit(".", 1)[1]
        if name not in formulas:
            close = difflib.get_close_matches(name, sorted(formulas), n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            listed = f"; its formulas: {', '.join(problems[0].quantities)}" if problem else ""
            raise HandgradError(
                f"{source}: {key}: {named} has no formula of that name{guess}{listed}"
            )
    keys = [("partial.", k) for k in rubric.partial]
    keys += [("hints.text.", k) for k in rubric.hint_text if k not in DEFAULT_HINTS]
    ids = mistake_ids(problems) | {INHERITS} if keys else set()
    quantities = {q for p in problems for q in p.quantities}
    for prefix, key in keys:
        unknown = [
            part
            for part in key.split("+")
            if part not in ids and not _whole_result_id(part, quantities)
        ]
        if unknown:
            raise HandgradError(
                f"{source}: {prefix}{key}: {unknown[0]!r} is no mistake id the doctor gives "
                f"for {named}; see the README's list of mistake ids"
            )


_WHOLE_RESULT = re.compile(r"^(factor:.+|(sum|mean)_over_(axis_\d+|all)|grad_(\w+)_for_(\w+))$")


def _whole_result_id(key: str, quantities: set[str]) -> bool:
    """Whether ``key`` is an id of the whole-result families (`doctor.families`): a factor
    in closed form (open-ended: ``factor:1/sigma``, ``factor:3/2``), a reduction over the
    wrong axis, or the gradient of another quantity of the problem."""
    match = _WHOLE_RESULT.match(key)
    if match is None:
        return False
    other, name = match.group(4), match.group(5)
    return other is None or (other in quantities and name in quantities)


def mistake_ids(problems) -> set[str]:
    """Every mistake id the doctor can name for ``problems`` (its catalogue, generated)."""
    from handgrad.checks.doctor.graph import draw_batches
    from handgrad.checks.doctor.mistakes import catalogue

    ids = {"transpose", "zero", *DEFAULT_HINTS}
    for p in problems:
        ids |= {mk.id for mk in catalogue(p, draw_batches(p, 0))}
        ids |= {v[0] for v in getattr(p, "names", {}).values()}
    return ids


def _known(table: dict, keys: tuple[str, ...], prefix: str, fail) -> None:
    unknown = [k for k in table if k not in keys]
    if unknown:
        fail(f"{prefix}{unknown[0]}", f"unknown key; expected one of {', '.join(keys)}")


def _table(data: dict, key: str, fail, prefix: str = "") -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        fail(f"{prefix}{key}", f"must be a table ([{prefix}{key}]), got {value!r}")
    return value


def _number(value: Any, key: str, fail, ok, rule: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        fail(key, f"expected a number, got {value!r}")
    if not ok(value):
        fail(key, f"must be {rule}, got {value}")
    return float(value)
