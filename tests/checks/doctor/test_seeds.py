"""Reports 000 and 003, every gradient formula as written (issue 14, 'Done when')."""

from __future__ import annotations

from handgrad.checks.doctor import check_formulas

from .seeds import literal, report000, report003, step

SGN_IN = {  # the formulas of report 000 that contain sgn
    "dropout": {"x"},
    "multitask": {"xBN", "x1B", "theta1B", "b1B", "x1A", "z1A", "theta1A", "b1A"},
}


def _check(formulas: dict) -> dict:
    return {problem: check_formulas(fs, problem) for problem, fs in formulas.items()}


def test_report000_passes_with_sgn_read_as_the_step():
    for problem, report in _check(report000(step)).items():
        given = [v for v in report.verdicts if v.status != "not_given"]
        assert given and all(v.status == "ok" for v in given), (problem, str(report))
        assert report.exit_code == 0


def test_report000_fails_where_sgn_is_read_literally_and_says_why():
    for problem, report in _check(report000(literal)).items():
        wrong = {v.name for v in report.verdicts if v.status == "wrong"}
        assert wrong == SGN_IN.get(problem, set()), (problem, str(report))
        for v in report.verdicts:
            if v.status != "wrong":
                continue
            assert v.mistake is not None, str(report)
            assert set(v.mistake.split("+")) <= {"relu_as_step", "mask_sgn_literal"}
            assert "(x + |x|)/2" in v.explanation or "xBN + |xBN|" in v.explanation
    assert report.exit_code == 1


def test_report003_fails_exactly_at_eqs_5_and_6_with_the_factor_explained():
    reports = _check(report003())
    for problem, report in reports.items():
        wrong = {v.name for v in report.verdicts if v.status == "wrong"}
        assert wrong == ({"x1B", "theta1B"} if problem == "multitask" else set()), str(report)
    mt = reports["multitask"]
    for name in ("x1B", "theta1B"):
        v = mt[name]
        assert v.mistake == "bn_factor" and "(1 − 1/m)" in v.explanation
        assert v.rel_error_by_m["1"] == 0.0  # at m = 1 both are 0: the batches tell them apart
