"""The grader's one link to the gradient doctor: its command line and its JSON document.

A submission is checked by ``handgrad check formulas FILE --format json [--problem P]``
(run in a limited child, `handgrad.checks.grade.worker`), which prints one JSON object
of schema ``handgrad.formulas/1``::

    {"schema": "handgrad.formulas/1", "problem": "multitask", "file": "…",
     "formulas": [{"name", "symbol", "status": "ok" | "wrong" | "not_given" | "error",
                   "rel_error", "worst_entries", "mistake", "explanation", "fix",
                   "inherits", "error"}, …],
     "counts": {"ok": …, "wrong": …, "not_given": …, "error": …}}

Exit code 0 or 1 with that document; 2 (unusable input: no formula, a syntax error)
with a one-line message on stderr and no document. `parse_report` reads the document
(the last JSON object on stdout: a submission's own prints may come before it) and
checks it against the schema, so that a change of the doctor's output is a loud error,
never a silently wrong grade.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = "handgrad.formulas/1"
STATUSES = ("ok", "wrong", "not_given", "error")
UNUSABLE_INPUT = 2


class DoctorOutputError(ValueError):
    """The doctor's output does not follow the schema (one line: what is wrong)."""


def command(file: str | Path, problem: str | None) -> list[str]:
    """The handgrad arguments that check ``file`` (and print the JSON document)."""
    args = ["check", "formulas", str(file), "--format", "json"]
    return [*args, "--problem", problem] if problem else args


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

    def verdict(self, name: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.name == name), None)


_START = re.compile(r"^[ \t]*\{", re.M)


def parse_report(stdout: bytes) -> DoctorReport:
    """The last JSON document on ``stdout``, checked against the schema.

    Raises `DoctorOutputError` when there is none or it does not follow the schema.
    """
    text = stdout.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    for start in reversed([m.end() - 1 for m in _START.finditer(text)]):
        try:
            doc, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(doc, dict) and "schema" in doc and not text[end:].strip():
            return from_document(doc)
    raise DoctorOutputError("no JSON document on stdout")


def from_document(doc: dict[str, Any]) -> DoctorReport:
    """Check a decoded document against the schema and keep what the grader uses."""
    if doc.get("schema") != SCHEMA:
        raise DoctorOutputError(f"schema {doc.get('schema')!r}, expected {SCHEMA!r}")
    problem = doc.get("problem")
    formulas = doc.get("formulas")
    if not isinstance(problem, str) or not isinstance(formulas, list):
        raise DoctorOutputError("'problem' must be a string and 'formulas' a list")
    return DoctorReport(problem, tuple(_verdict(i, f) for i, f in enumerate(formulas)))


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
