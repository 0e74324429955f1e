"""Reading the doctor's JSON document: after a submission's own prints, and strictly."""

from __future__ import annotations

import pytest
from tests.checks.grade.conftest import NO_TASK_B, document, entry

from handgrad.checks.grade.doctor import DoctorOutputError, from_document


def test_a_document_is_read_with_its_verdicts() -> None:
    doc = document(entry("b2B"), entry("theta2A", "wrong", **NO_TASK_B))
    report = from_document(doc)
    assert report.problem == "multitask"
    assert [v.name for v in report.verdicts] == ["b2B", "theta2A"]
    wrong = report.verdict("theta2A")
    assert wrong.mistakes == ("no_task_b_term",) and wrong.worst_entries == ((0, 2), (1, 2))
    assert report.verdict("nope") is None


def test_a_pair_of_mistakes_is_two() -> None:
    doc = document(entry("theta1B", "wrong", mistake="bn_factor+relu_as_step"))
    assert from_document(doc).verdicts[0].mistakes == ("bn_factor", "relu_as_step")


@pytest.mark.parametrize(
    "doc, needle",
    [
        (document(entry("b2B")) | {"schema": "handgrad.formulas/2"}, "schema"),
        (document(entry("b2B", status="maybe")), "status"),
        (document(entry("b2B", rel_error="big")), "rel_error"),
        (document(entry("b2B")) | {"formulas": {}}, "formulas"),
    ],
)
def test_a_document_off_the_schema_is_an_error(doc: dict, needle: str) -> None:
    with pytest.raises(DoctorOutputError, match=needle):
        from_document(doc)
