"""The report as text, JSON (schema handgrad.formulas/1) and HTML, and from Python."""

from __future__ import annotations

import json
import types

import numpy as np

import handgrad
from handgrad.checks.doctor.verdict import SCHEMA

KEYS = ["name", "symbol", "status", "rel_error", "worst_entries", "mistake", "explanation"]
KEYS += ["fix", "inherits", "error"]


def _b2b(q):
    return (q.yhatB - q.yB).sum(axis=0)  # the 1/m forgotten


def test_notebook_call_returns_a_report_with_text_json_and_html():
    report = handgrad.check_formulas({"b2B": _b2b, "grad_z2B": lambda q: (q.yhatB - q.yB) / q.m})
    assert report.problem == "multitask" and report.file is None
    doc = report.to_json()
    assert doc["schema"] == SCHEMA and json.loads(json.dumps(doc)) == doc
    rows = {r["name"]: r for r in doc["formulas"]}
    assert [k for k in rows["b2B"] if k in KEYS] == KEYS
    assert rows["b2B"]["status"] == "wrong" and rows["b2B"]["mistake"] == "no_1_over_m"
    assert rows["z2B"]["status"] == "ok"
    assert doc["counts"] == {"ok": 1, "wrong": 1, "not_given": 14, "error": 0}
    html = report._repr_html_()
    assert "<table" in html and html.count("<svg") == 1  # one heatmap, for the wrong formula
    text = str(report)
    assert "b2B" in text and "a factor m too large" in text and "right at m = 1" in text


def test_a_module_or_namespace_works_too():
    ns = types.SimpleNamespace(grad_b2B=lambda q: (q.yhatB - q.yB).sum(axis=0) / q.m)
    assert handgrad.check_formulas(ns, problem="multitask")["b2B"].status == "ok"
    module = types.ModuleType("mine")
    module.grad_b2B = _b2b
    assert handgrad.check_formulas(module)["b2B"].mistake == "no_1_over_m"


def test_worst_entries_point_at_the_wrong_entries():
    def dz1A(q):  # right except for the last hidden unit
        g = ((q.yhatA - q.yA) / q.m + (q.yhatB - q.yB) @ q.theta2B / q.m) @ q.theta2A
        out = g * q.M * np.cos(q.z1A)
        out[:, -1] = 0.0
        return out

    v = handgrad.check_formulas({"z1A": dz1A}, problem="multitask")["z1A"]
    assert v.status == "wrong" and v.mistake is None
    assert v.worst_entries and all(e[1] == 3 for e in v.worst_entries)


def test_the_summary_names_every_formula_wrong_on_its_own():
    """Two independent errors, each with an heir: the advice names both roots."""

    def dz2B(q):
        return 2 * (q.yhatB - q.yB) / q.m  # wrong on its own

    def db2B(q):
        return dz2B(q).sum(axis=0)  # right given ∂L/∂z2B

    def dyhatA(q):
        return (q.yhatA - q.yA) + (q.yhatB - q.yB) @ q.theta2B / q.m  # 1/m lost on one term

    def db2A(q):
        return dyhatA(q).sum(axis=0)  # right given ∂L/∂ŷA

    formulas = {"z2B": dz2B, "b2B": db2B, "yhatA": dyhatA, "b2A": db2A}
    report = handgrad.check_formulas(formulas, problem="multitask")
    assert report["b2B"].inherits == "z2B" and report["b2A"].inherits == "yhatA"
    last = str(report).splitlines()[-1]
    assert last.endswith(f"fix {report['z2B'].symbol}, {report['yhatA'].symbol} first"), last


def test_the_html_shows_the_warnings_the_advice_and_the_heatmap_scale():
    report = handgrad.check_formulas({"b2B": _b2b, "grad_nope": lambda q: q.x}, problem="multitask")
    html = report._repr_html_()
    assert report.warnings and all(w.split(";")[0] in html for w in report.warnings)
    assert report.advice and report.advice in html
    assert "random float64 batches, m = 1, 2, 3, 5, 8" in html
    assert "at m = 8: white 0 → red" in html
    assert "text-align:left" in html and "text-align:center" not in html
    page = report.html_page()
    assert page.startswith("<!DOCTYPE html>") and report.advice in page
