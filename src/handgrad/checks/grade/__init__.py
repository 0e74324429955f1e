"""Grade a class: the gradient doctor over many learners' submissions, safely, in parallel.

    from handgrad.checks.grade import grade_class, load_rubric
    result = grade_class("submissions/", "grades/", rubric=load_rubric("rubric.toml"))

Every learner of the submissions folder (`submissions`: LMS layouts, notebooks, safe
bounded reads) is checked by `runner`: its formulas run in its own sandbox (`sandbox`:
bubblewrap, or a separate user; `session` talks to it; `harness` is the only code that
runs there, over the `wire` format, under the `limits`), while the doctor judges the
arrays in the grader's process (`doctor`: the document it keeps). The outcomes are
scored with the rubric (`rubric`, `scoring`) and written out (`outputs`: grades.csv, a
Gradescope results.json per submission, the sealed cache; `class_report`, `charts`,
`summary`: class_report.html). `grader.grade_class` ties them together; `gradescope`
builds and runs a Gradescope autograder; `demo` writes a class with known mistakes;
`child` keeps the register of running sandboxes.

The names below are imported on first use (importing the package loads nothing heavy).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ClassResult": "grader",
    "grade_class": "grader",
    "Limits": "limits",
    "Rubric": "rubric",
    "load_rubric": "rubric",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
