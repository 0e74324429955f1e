"""Grade a class: the gradient doctor over many learners' submissions, safely, in parallel.

    from handgrad.checks.grade import grade_class, load_rubric
    result = grade_class("submissions/", "grades/", rubric=load_rubric("rubric.toml"))

Every entry of the submissions folder is checked in its own limited process
(`runner`, `child`, `limits`, `worker`) by ``handgrad check formulas --format json``
(`doctor`, the one module that knows that document), scored with the rubric
(`rubric`, `scoring`), and written out (`outputs`: grades.csv and a Gradescope
results.json per submission; `class_report`, `charts`, `summary`: class_report.html).
`grader.grade_class` ties them together; `demo` writes a class with known mistakes.

The names below are imported on first use, so that the child process of a submission
(`worker`) loads none of the grader's own modules (tqdm, matplotlib, the report).
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
