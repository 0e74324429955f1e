"""The doctor names the mistakes of a corpus of realistic learner formulas (issue 14)."""

from __future__ import annotations

from functools import cache

import numpy as np

from handgrad.checks.doctor.diagnose import GraphDoctor
from handgrad.checks.doctor.graph import draw_batches
from handgrad.checks.doctor.judge import judge
from handgrad.checks.doctor.problems import PROBLEMS

from .corpus import CASES, SPELLINGS, generated_factor_cases, mlp, mt

ALL_CASES = CASES + generated_factor_cases(PROBLEMS)


@cache
def _doctor(problem: str):
    graph = PROBLEMS[problem]
    batches = draw_batches(graph, seed=0)
    return GraphDoctor(graph, batches), batches


def _diagnose(case):
    doctor, batches = _doctor(case.problem)
    with np.errstate(all="ignore"):
        (verdict,) = [
            v
            for v in judge(doctor, {case.quantity: case.formula}, batches)
            if v.name == case.quantity
        ]
    return verdict


def test_corpus_is_large_and_distinct():
    assert len(ALL_CASES) >= 150
    assert len({(c.problem, c.quantity, c.expected) for c in ALL_CASES}) == len(ALL_CASES)
    assert len({c.problem for c in CASES}) == len(PROBLEMS)


def test_corpus_mistakes_are_named_right_and_never_wrongly():
    rows, right, wrong_names = [], 0, []
    for case in ALL_CASES:
        v = _diagnose(case)
        assert v.status == "wrong", (case, v)
        got = v.mistake
        right += got == case.expected
        if got is not None and got != case.expected:
            wrong_names.append((case.problem, case.quantity, case.expected, got))
        rows.append(f"{case.problem:13} {case.quantity:8} {case.expected:28} {got}")
    table = "\n".join(rows)
    assert not wrong_names, f"wrong names: {wrong_names}\n{table}"
    assert right / len(ALL_CASES) >= 0.95, table


UNKNOWN = [  # slips outside the catalogue: the doctor must say it does not know
    ("multitask", "b2B", lambda q: (q.yhatB - q.yB).sum(axis=0) / q.m + 0.1),
    ("dropout", "x", lambda q: q.dy * q.M + 0.01 * q.x),  # a stray term
    (
        "softmax",
        "J",
        lambda q: np.einsum("bi,ik->bik", q.y, np.eye(5)) - 0.5 * q.y[:, :, None] * q.y[:, None, :],
    ),
    ("batchnorm", "x", lambda q: q.dy * q.gamma * q.xhat),
    ("batchnorm", "gamma", lambda q: (q.dy * q.xhat).sum(axis=0) ** 2),  # squared
    ("mlp", "W1", lambda q: mlp.grad_z1(q).T @ q.x + 1e-3),  # a stray constant
    ("vae_gauss", "logvar", lambda q: q.logvar / q.m),
    ("softmax_ce", "z", lambda q: (q.p - q.y) / q.m + q.z / 100),
]


def test_a_correct_formula_is_never_given_a_mistake():
    """No false alarm: each example's right formulas, on every problem, are all 'ok'."""
    from .corpus import EXAMPLE_OF

    for problem, example in EXAMPLE_OF.items():
        doctor, batches = _doctor(problem)
        formulas = {q: getattr(example, f"grad_{q}") for q in PROBLEMS[problem].quantities}
        with np.errstate(all="ignore"):
            verdicts = judge(doctor, formulas, batches)
        assert all(v.status == "ok" and v.mistake is None for v in verdicts), problem


def test_mistakes_outside_the_catalogue_get_no_name():
    for problem, quantity, formula in UNKNOWN:
        doctor, batches = _doctor(problem)
        with np.errstate(all="ignore"):
            (v,) = [x for x in judge(doctor, {quantity: formula}, batches) if x.name == quantity]
        assert v.status == "wrong" and v.mistake is None, (problem, quantity, v.explanation)
        assert v.explanation == "no known mistake matches"


def test_a_forgotten_relu_derivative_is_not_blamed_on_the_batch_coupling():
    # at m = 1 every BN* candidate is 0; the other batch sizes tell them apart
    doctor, batches = _doctor("multitask")

    def theta1B(q):  # BN* coupling right, ReLU′ forgotten
        g = mt.grad_xplus(q)
        return (g - g.mean(axis=0)).T @ q.x

    (v,) = [x for x in judge(doctor, {"theta1B": theta1B}, batches) if x.name == "theta1B"]
    assert v.mistake == "no_relu_grad", v.explanation


def test_two_mistakes_that_give_the_same_values_are_reported_as_ambiguous():
    # p = 0.5 would make an unscaled mask (M ⊙ (1 − p)) equal to a plain factor ½:
    # the doctor must then refuse to choose, not pick one
    import dataclasses

    from handgrad.checks.doctor import ops
    from handgrad.checks.doctor.problems.blockone import DROPOUT

    half = dataclasses.replace(
        DROPOUT,
        steps=(
            dataclasses.replace(DROPOUT.steps[0], op=ops.dropout(0.5)),
            DROPOUT.steps[1],
        ),
        constants={"p": 0.5},
        extras=lambda v: {"M": (v["r"] >= 0.5) * 2.0},
    )
    batches = draw_batches(half, seed=0)
    doctor = GraphDoctor(half, batches)
    (v,) = judge(doctor, {"x": lambda q: q.dy * (q.r >= 0.5)}, batches)
    assert v.mistake is None and v.explanation.startswith("ambiguous: 2 known mistakes")


def test_other_spellings_of_a_mistake_get_the_same_name():
    for case in SPELLINGS:
        assert _diagnose(case).mistake == case.expected, case.what
