"""Documents of schema handgrad.formulas/1, as the doctor's report writes them."""

from __future__ import annotations

from typing import Any

SYMBOLS = {"b2B": "∂L/∂b₂B", "theta2A": "∂L/∂θ₂A", "b2A": "∂L/∂b₂A", "theta1B": "∂L/∂θ₁B"}


def entry(name: str, status: str = "ok", **fields: Any) -> dict[str, Any]:
    """One formula's entry with every key of the schema (``fields`` override)."""
    wrong = status == "wrong"
    base = {
        "name": name,
        "symbol": SYMBOLS.get(name, name),
        "status": status,
        "rel_error": 1e-16 if status == "ok" else (0.7 if wrong else None),
        "worst_entries": [[0, 2], [1, 2]] if wrong else [],
        "mistake": None,
        "explanation": None,
        "fix": None,
        "inherits": None,
        "error": "ValueError: boom (line 3)" if status == "error" else None,
    }
    return base | fields


def document(*entries: dict[str, Any], problem: str = "multitask") -> dict[str, Any]:
    counts = {
        s: sum(e["status"] == s for e in entries) for s in ("ok", "wrong", "not_given", "error")
    }
    return {
        "schema": "handgrad.formulas/1",
        "problem": problem,
        "file": "learner.py",
        "formulas": list(entries),
        "counts": counts,
    }


NO_TASK_B = {
    "mistake": "no_task_b_term",
    "explanation": "∂L/∂ŷA lacks its task-B term: x2A also feeds x⊕, so add (1/m) θ2Bᵀ(ŷB − yB)",
    "fix": "add (1/m) θ2Bᵀ(ŷB − yB) to ∂L/∂ŷA",
}
