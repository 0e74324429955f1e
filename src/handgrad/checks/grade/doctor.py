"""The grader's one link to the gradient doctor: the document it keeps of a check.

`runner` has the doctor judge a submission in the grader's own process; its report's
``to_json()`` is a document of schema ``handgrad.formulas/1`` (as ``handgrad check
formulas --format json`` prints it)::

    {"schema": "handgrad.formulas/1", "problem": "multitask", "file": "…",
     "formulas": [{"name", "symbol", "status": "ok" | "wrong" | "not_given" | "error",
                   "rel_error", "worst_entries", "mistake", "explanation", "fix",
                   "inherits", "error"}, …],
     "counts": {"ok": …, "wrong": …, "not_given": …, "error": …}}

`from_document` checks a document against the schema and keeps what the grader uses
(also when reading a cached outcome back), so that a change of the doctor's output is a
loud error, never a silently wrong grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA = "handgrad.formulas/1"
STATUSES = ("ok", "wrong", "not_given", "error")


class DoctorOutputError(ValueError):
    """The doctor's output does not follow the schema (one line: what is wrong)."""


@dataclass(frozen=True)
class Verdict:
    """The doctor's verdict on one formula (one entry of ``formulas``)."""

    name: str
    symbol: str
    status: str
    rel_error: float | None = None
    worst_entries: tuple[tuple[int, ...], ...] = ()
    mistake: str | None = None
    explanation: str | None = None
    fix: str | None = None
    inherits: str | None = None
    error: str | None = None

    @property
    def mistakes(self) -> tuple[str, ...]:
        """The named mistakes ("bn_factor+relu_as_step" is two); () when none or unknown."""
        return tuple(self.mistake.split("+")) if self.mistake else ()


@dataclass(frozen=True)
class DoctorReport:
    """A parsed document: the problem and one verdict per formula, in backward order."""

    problem: str
    verdicts: tuple[Verdict, ...]
    notes: tuple[str, ...] = ()  # the doctor's warnings (e.g. a grad_ name it ignored)

    def verdict(self, name: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.name == name), None)


def from_document(doc: dict[str, Any]) -> DoctorReport:
    """Check a decoded document against the schema and keep what the grader uses."""
    if doc.get("schema") != SCHEMA:
        raise DoctorOutputError(f"schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    problem = doc.get("problem")
    formulas = doc.get("formulas")
    if not isinstance(problem, str) or not isinstance(formulas, list):
        raise DoctorOutputError("'problem' must be a string and 'formulas' a list")
    notes = doc.get("warnings") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise DoctorOutputError("'warnings' must be a list of strings")
    verdicts = tuple(_verdict(i, f) for i, f in enumerate(formulas))
    return DoctorReport(problem, verdicts, tuple(notes))


def _verdict(i: int, entry: Any) -> Verdict:
    def field(key: str, kinds: tuple[type, ...], optional: bool = True) -> Any:
        value = entry.get(key)
        if (value is None and optional) or isinstance(value, kinds):
            return value
        raise DoctorOutputError(f"formulas[{i}].{key} = {value!r} does not follow the schema")

    if not isinstance(entry, dict):
        raise DoctorOutputError(f"formulas[{i}] is not an object")
    status = field("status", (str,), optional=False)
    if status not in STATUSES:
        raise DoctorOutputError(f"formulas[{i}].status = {status!r}, not one of {STATUSES}")
    rel = field("rel_error", (int, float))
    worst = field("worst_entries", (list,)) or []
    return Verdict(
        name=field("name", (str,), optional=False),
        symbol=field("symbol", (str,)) or entry["name"],
        status=status,
        rel_error=None if rel is None else float(rel),
        worst_entries=tuple(tuple(int(k) for k in _indices(e)) for e in worst),
        mistake=field("mistake", (str,)),
        explanation=field("explanation", (str,)),
        fix=field("fix", (str,)),
        inherits=field("inherits", (str,)),
        error=field("error", (str,)),
    )


def _indices(entry: Any) -> list[int]:
    return entry if isinstance(entry, list) else [entry]
