"""Reports 000 and 003 read as they are (issue 21, 'Done when').

The verdict on every equation that is read must equal the doctor's verdict on the same
formula typed as Python (``tests/checks/doctor/seeds.py``); what cannot be read must say
why. The reports are read from ``../shared/seeds``; without it these tests skip.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tests.checks.doctor.seeds import literal, report000, report003, step

from handgrad.checks.doctor import check_formulas
from handgrad.checks.report import check_report

SEEDS = Path(__file__).resolve().parents[3].parent / "shared" / "seeds"
R000 = SEEDS / "000_14293a2c31dbd48b.txt"
R003 = SEEDS / "003_cd42fb9085cf3877.txt"
pytestmark = pytest.mark.skipif(not R003.is_file(), reason="../shared/seeds is not here")


@pytest.fixture(scope="module")
def check003():
    return check_report(R003)


@pytest.fixture(scope="module")
def check000():
    return check_report(R000)


def _typed(formulas: dict) -> dict:
    return {p: check_formulas(fs, p) for p, fs in formulas.items()}


def _by_quantity(check):
    out = {}
    for row in check.rows:
        if row.verdict is not None:
            out.setdefault((row.reading.problem, row.reading.quantity), []).append(row)
    return out


def _same_verdict(row, typed_verdict) -> None:
    v = row.verdict
    assert (v.status, v.mistake) == (typed_verdict.status, typed_verdict.mistake), (
        row.reading.where,
        v,
        typed_verdict,
    )


def test_003_every_numbered_gradient_equation_is_found(check003):
    numbers = {row.reading.chain.math.number for row in check003.rows}
    assert {str(k) for k in range(1, 15)} <= numbers
    found = {(r.reading.problem, r.reading.quantity) for r in check003.rows if r.verdict}
    assert {
        ("batchnorm", "gamma"),
        ("batchnorm", "beta"),
        ("dropout", "x"),
        ("softmax", "J"),
    } <= found


def test_003_eqs_5_and_6_are_wrong_with_the_factor_explained(check003):
    wrong = {r.reading.where for r in check003.rows if r.verdict and r.verdict.status == "wrong"}
    assert wrong == {"eq. (5)", "eq. (6)"}
    for row in check003.rows:
        if row.reading.where in wrong:
            assert row.verdict.mistake == "bn_factor"
            assert "(1 − 1/m)" in row.verdict.explanation


def test_003_every_other_verdict_equals_the_typed_formulas(check003):
    typed = _typed(report003())
    judged = _by_quantity(check003)
    assert len(judged) >= 12
    for (problem, quantity), rows in judged.items():
        if quantity not in report003()[problem]:
            continue  # e.g. ∂L/∂H_BN in eq. (7): read, but not among the typed formulas
        for row in rows:
            _same_verdict(row, typed[problem][quantity])


def test_003_loose_notation_is_said_not_guessed(check003):
    rows = {r.reading.where: r.reading for r in check003.rows if r.reading.quantity}
    for eq in ("4", "10", "11", "12"):
        assert any("Σ_i over the batch stands in front" in n for n in rows[f"eq. ({eq})"].notes)
    assert any("`z_{1A}` is read as x1A" in n for n in rows["eq. (12)"].notes)
    unread = {r.reading.where: r.reading.reason for r in check003.rows if r.verdict is None}
    for eq in ("13", "14"):
        assert "`H_{1A}` is not defined; add it to the notation file" in unread[f"eq. ({eq})"]
    assert "`N` is not defined" in unread["eq. (7)"]


def test_003_with_a_notation_file_every_block_two_equation_is_judged(tmp_path):
    notation = tmp_path / "n.toml"
    notation.write_text('[symbols]\n"N" = \'\\mathbb{1}[H_{BN} > 0]\'\n"H_{1A}" = "z1A"\n')
    check = check_report(R003, notation=notation)
    typed = _typed(report003())["multitask"]
    judged = _by_quantity(check)
    for quantity in report003()["multitask"]:
        rows = judged[("multitask", quantity)]
        for row in rows:
            _same_verdict(row, typed[quantity])


def test_000_every_formula_passes_with_sgn_read_as_the_step(check000):
    judged = _by_quantity(check000)
    typed = _typed(report000(step))
    for problem, formulas in report000(step).items():
        for quantity in formulas:
            if (problem, quantity) not in judged:
                continue
            for row in judged[(problem, quantity)]:
                assert row.verdict.status == "ok", (row.reading.where, row.verdict)
                _same_verdict(row, typed[problem][quantity])
    assert {q for p, q in judged if p == "multitask"} == set(report000(step)["multitask"])
    assert {
        ("batchnorm", "gamma"),
        ("batchnorm", "beta"),
        ("dropout", "x"),
        ("softmax", "J"),
    } <= set(judged)
    assert check000.exit_code == 0
    unread = [r.reading.where for r in check000.rows if r.reading.status == "unreadable"]
    assert unread == []  # every formula read (∂L/∂ŷB, ∂L/∂xBN*: not quantities the doctor checks)


def test_000_exactly_the_sgn_formulas_fail_when_sgn_is_read_literally(check000):
    typed = _typed({p: f for p, f in report000(literal).items() if p != "softmax"})
    failing = {
        (r.reading.problem, r.reading.quantity)
        for r in check000.rows
        if r.literal is not None and r.literal.status == "wrong"
    }
    expected = {
        (p, v.name) for p, rep in typed.items() for v in rep.verdicts if v.status == "wrong"
    }
    assert failing == expected
    for row in check000.rows:
        if row.literal is not None:
            want = typed[row.reading.problem][row.reading.quantity]
            assert (row.literal.status, row.literal.mistake) == (want.status, want.mistake)


def test_an_unreadable_equation_never_stops_the_others(check003, check000):
    for check in (check003, check000):
        reasons = [r.reading.reason for r in check.rows if r.reading.status == "unreadable"]
        assert all(reasons)
        assert sum(r.verdict is not None for r in check.rows) > len(reasons)


def test_the_readme_shows_the_real_output_on_report_003(check003):
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ handgrad check report report003.md\n", 1)[1].split("```", 1)[0]
    assert str(dataclasses.replace(check003, file="report003.md")) == shown.rstrip("\n")
