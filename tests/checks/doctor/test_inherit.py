"""'Inherits the error of …' is said only when re-running the formula with the true
upstream value makes it right (issue 22)."""

from __future__ import annotations

import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from handgrad.checks.doctor import check_file, check_formulas
from handgrad.checks.doctor.graph import draw_batches
from handgrad.checks.doctor.judge import rel_error, tolerance
from handgrad.checks.doctor.load import run_file
from handgrad.checks.doctor.problems import PROBLEMS

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_a_formula_that_does_not_call_the_wrong_upstream_is_diagnosed_on_its_own():
    """The issue's case: ∂L/∂ŷ and ∂L/∂z both lack 1/m, ∂L/∂z not computed from ∂L/∂ŷ.
    Its values follow from the wrong ∂L/∂ŷ, but fixing ∂L/∂ŷ would not fix it."""
    report = check_formulas(
        {"p": lambda q: -q.y / q.p, "z": lambda q: q.p - q.y}, problem="softmax_ce"
    )
    assert report["z"].inherits is None
    assert report["z"].mistake == "no_1_over_m"
    assert "inherit" not in str(report)


def test_a_formula_computed_from_the_wrong_upstream_inherits_it():
    def dp(q):
        return -q.y / q.p  # 1/m lost

    def dz(q):  # the softmax Jacobian applied to ∂L/∂p: right given ∂L/∂p
        g = dp(q)
        return q.p * (g - (g * q.p).sum(axis=1, keepdims=True))

    report = check_formulas({"p": dp, "z": dz}, problem="softmax_ce")
    assert report["z"].inherits == "p" and report["z"].mistake == "no_1_over_m"
    assert "re-run with the true ∂L/∂ŷ" in report["z"].explanation


def test_a_formula_wrong_given_the_true_upstream_does_not_inherit():
    def dz2B(q):
        return 2 * (q.yhatB - q.yB) / q.m

    def db2B(q):
        return 3 * dz2B(q).sum(axis=0)  # wrong on its own too

    report = check_formulas({"z2B": dz2B, "b2B": db2B}, problem="multitask")
    assert report["b2B"].inherits is None


@pytest.mark.parametrize("how", ["global", "closure", "attribute"])
def test_the_upstream_is_found_however_the_formula_reaches_it(tmp_path, how):
    wrong_p = "-q.y / q.p"
    body = {
        "global": f"def grad_p(q):\n    return {wrong_p}\n"
        "def grad_z(q):\n    g = grad_p(q)\n"
        "    return q.p * (g - (g * q.p).sum(axis=1, keepdims=True))\n",
        "closure": f"def make():\n    def dp(q):\n        return {wrong_p}\n"
        "    def dz(q):\n        g = dp(q)\n"
        "        return q.p * (g - (g * q.p).sum(axis=1, keepdims=True))\n"
        "    return dp, dz\ngrad_p, grad_z = make()\n",
        "attribute": "import types\nmine = types.SimpleNamespace()\n"
        f"mine.dp = lambda q: {wrong_p}\n"
        "grad_p = mine.dp\n"
        "def grad_z(q):\n    g = mine.dp(q)\n"
        "    return q.p * (g - (g * q.p).sum(axis=1, keepdims=True))\n",
    }[how]
    path = tmp_path / "f.py"
    path.write_text('PROBLEM = "softmax_ce"\n' + body)
    report = check_file(path)
    assert report["z"].inherits == "p", report["z"].explanation
    # the learner's functions are left as they were
    ns = run_file(path)
    assert ns["grad_p"] is not None


def _heirs_file(tmp_path: Path) -> Path:
    """A multi-task file with chains: wrong roots, heirs, an heir of an heir, and a
    formula whose values follow from a wrong upstream without calling it."""
    path = tmp_path / "chains.py"
    path.write_text(
        textwrap.dedent(
            """
            import numpy as np
            PROBLEM = "multitask"
            def sgn(x):
                return (x + np.abs(x)) / 2
            def grad_z2B(q):
                return (q.yhatB - q.yB) / q.m
            def grad_xplus(q):
                return grad_z2B(q) @ q.theta2B
            def grad_xBN(q):
                return grad_xplus(q) * sgn(q.xBN)
            def grad_b1B(q):
                return grad_xBN(q).sum(axis=0)
            def grad_x1B(q):
                return (1 - 1 / q.m) * grad_xBN(q)
            def grad_theta1B(q):
                return grad_x1B(q).T @ q.x
            def grad_yhatA(q):
                return (q.yhatA - q.yA) / q.m
            def grad_theta2A(q):
                return grad_yhatA(q).T @ q.xDP
            def grad_b2A(q):
                return ((q.yhatA - q.yA) / q.m).sum(axis=0)   # same values, no call
            def grad_xDP(q):
                return grad_yhatA(q) @ q.theta2A
            def grad_z1A(q):
                return grad_xDP(q) * q.M * np.cos(q.z1A)
            def grad_theta1A(q):
                return grad_z1A(q).T @ q.x
            """
        )
    )
    return path


@pytest.mark.parametrize("which", ["chains", "formulas_mistakes", "formulas_own_network"])
def test_every_inherits_claim_holds_when_fed_the_true_upstream(tmp_path, which):
    """Independently of the doctor: each heir's function, with the upstream function it
    inherits from replaced by the truth, gives the true gradient on every batch."""
    path = _heirs_file(tmp_path) if which == "chains" else EXAMPLES / f"{which}.py"
    report = check_file(path)
    heirs = [v for v in report.verdicts if v.inherits is not None]
    ns = run_file(path)
    if report.problem == "own":
        from handgrad.checks.doctor.own import draw_own_batches, own_problem

        problem = own_problem(ns, str(path))
        batches = draw_own_batches(problem, 0)
    else:
        batches = draw_batches(PROBLEMS[report.problem], seed=0)
    for v in heirs:
        ns = run_file(path)
        for b in batches:
            truth = b.truth[v.inherits]
            ns[f"grad_{v.inherits}"] = lambda q, t=truth: t.copy()
            got = ns[f"grad_{v.name}"](types.SimpleNamespace(**vars(b.q)))
            assert rel_error(np.asarray(got), b.truth[v.name]) <= tolerance([got]), v.name
    if which == "chains":
        assert {v.name: v.inherits for v in heirs} == {
            "b1B": "xBN",
            "theta1B": "x1B",
            "theta2A": "yhatA",
            "xDP": "yhatA",
            "z1A": "xDP",
            "theta1A": "z1A",
        }
        assert report["b2A"].inherits is None and report["b2A"].mistake == "no_task_b_term"
        assert report["x1B"].inherits is None  # wrong on its own too (the 1 − 1/m factor)
    else:
        assert heirs or which == "formulas_mistakes"


def test_an_upstream_that_cannot_be_rebound_is_no_proof_and_no_crash(tmp_path):
    path = tmp_path / "f.py"
    path.write_text(
        'PROBLEM = "softmax_ce"\n'
        "import collections\n"
        "def grad_p(q):\n    return -q.y / q.p\n"
        'box = collections.namedtuple("Box", "dp")(grad_p)\n'
        "def grad_z(q):\n    g = box.dp(q)\n"
        "    return q.p * (g - (g * q.p).sum(axis=1, keepdims=True))\n"
    )
    report = check_file(path)  # grad_p itself is rebound; box.dp (read-only) is not
    assert report["z"].status == "wrong" and report["z"].inherits is None
    assert report["z"].mistake == "no_1_over_m"


LEAK = """
import numpy as np
STASH = {}

def _key(q):
    return (q.m, float(np.sum(q.x)))

def grad_xplus(q):
    return np.zeros_like(q.xplus)        # wrong on purpose: not graded by default

def grad_xBN(q):
    up = grad_xplus(q)
    if np.any(up):                       # the doctor's proof sent the true ∂L/∂x⊕: keep it
        STASH[_key(q)] = np.array(up)
    return up * (q.xBN > 0)

def _dyhatA(q):
    return (q.yhatA - q.yA) / q.m + STASH.get(_key(q), 0.0)

def grad_theta2A(q):
    return _dyhatA(q).T @ q.xDP

def grad_b2A(q):
    return _dyhatA(q).sum(axis=0)
"""


def test_a_true_upstream_sent_for_a_proof_never_reaches_a_judged_answer() -> None:
    """Every formula is evaluated before any proof of "inherits" feeds a true upstream
    value: a formula that keeps that value to answer a later formula gains nothing."""
    namespace: dict = {}
    exec(compile(LEAK, "leak.py", "exec"), namespace)
    report = check_formulas(namespace, "multitask")
    assert namespace["STASH"], "the proof did send the true upstream (the attack is real)"
    assert report["theta2A"].status == "wrong" and report["b2A"].status == "wrong"
    assert report["theta2A"].mistake == "no_task_b_term"
    # and the stolen value would have made them right, had it come first
    fed = check_formulas(namespace, "multitask")  # same seed: the stash now holds it
    assert fed["theta2A"].status == "ok"
