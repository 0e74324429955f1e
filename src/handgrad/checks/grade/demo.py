"""A generated class of multi-task submissions with known mistakes, for trying the grader.

`write_class(folder, learners, broken, partly, seed)` writes ``learners`` formula files
in the style of ``examples/formulas_correct.py``, each making a random mix of the
classic slips (the doctor's stable ids, `SLIPS`; some learners make none), one
submission per kind of `BROKEN` code (nothing can be graded), and one per kind of
`PARTLY_BROKEN` code (right, but one formula fails: only that one scores zero). It
returns what it put in, so a test can compare the class report with the truth. A
learner's slips never put more than two mistakes into one formula (the doctor names
combinations of up to two).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

# Each step of the derivation a learner writes, and its classic wrong versions.
CORRECT_STEPS = {
    "relu_prime": "(x > 0).astype(x.dtype)",
    "bn_backward": "g - g.mean(axis=0)",
    "dyhatA": "(q.yhatA - q.yA) / q.m + d_xplus(q)",
    "mask": "q.M",
    "dsin": "np.cos(q.z1A)",
}
SLIPS = {  # mistake id -> (step, wrong code)
    "relu_as_step": ("relu_prime", "(x + np.abs(x)) / 2"),
    "bn_factor": ("bn_backward", "(1 - 1 / q.m) * g"),
    "bn_uncoupled": ("bn_backward", "g"),
    "no_task_b_term": ("dyhatA", "(q.yhatA - q.yA) / q.m"),
    "no_mask": ("mask", "1.0"),
    "unscaled_mask": ("mask", "(q.M != 0)"),
    "no_cos": ("dsin", "1.0"),
    "sin_for_cos": ("dsin", "np.sin(q.z1A)"),
}
# How likely a learner is to slip at each step (so the class has a clear top mistake).
SLIP_RATES = {"dyhatA": 0.45, "bn_backward": 0.35, "relu_prime": 0.25, "mask": 0.15, "dsin": 0.15}
TASK_A_STEPS = ("dyhatA", "mask", "dsin")  # all in ∂L/∂θ1A: at most two may be wrong

TEMPLATE = '''"""My derivation of the multi-task network's gradients."""

import numpy as np


def relu_prime(x):
    return {relu_prime}


def d_xplus(q):
    return (q.yhatB - q.yB) @ q.theta2B / q.m


def d_yhatA(q):
    return {dyhatA}


def d_z1A(q):
    return (d_yhatA(q) @ q.theta2A) * {mask} * {dsin}


def d_xBN(q):
    return d_xplus(q) * relu_prime(q.xBN)


def grad_theta2B(q):
    return (q.yhatB - q.yB).T @ q.xplus / q.m


def grad_b2B(q):
    return (q.yhatB - q.yB).sum(axis=0) / q.m


def grad_theta1B(q):
    g = d_xBN(q)
    return ({bn_backward}).T @ q.x


def grad_b1B(q):
    return d_xBN(q).sum(axis=0)


def grad_theta2A(q):
    return d_yhatA(q).T @ q.xDP


def grad_b2A(q):
    return d_yhatA(q).sum(axis=0)


def grad_theta1A(q):
    return d_z1A(q).T @ q.x


def grad_b1A(q):
    return d_z1A(q).sum(axis=0)
'''

# Submissions that cannot be graded, each for its own reason.
BROKEN = {
    "syntax_error": "def grad_b2B(q)\n    return (q.yhatB - q.yB).sum(axis=0) / q.m\n",
    "import_error": "import numpy_but_misspelled\n\n\ndef grad_b2B(q):\n    return 0\n",
    "endless_loop": "while True:\n    pass\n",
    "os_exit": "import os\n\nos._exit(0)\n",
    "huge_allocation": "import numpy as np\n\nbig = np.ones(20 * 10**9 // 8)  # 20 GB\n",
    "output_flood": (
        "import sys\n\nfor _ in range(2**20):  # 1 GB\n    sys.stdout.write('x' * 1023 + '\\n')\n"
    ),
    "empty": "",
}

# Right submissions but for one formula that fails: (its name, the line put first in it).
PARTLY_BROKEN = {
    "raises": ("b1B", "return 1 / 0"),
    "loops": ("b2B", "while True:\n        pass"),
}


@dataclass(frozen=True)
class DemoClass:
    """What `write_class` wrote: each learner's slips, each broken submission's kind, and
    the formula that fails in each partly broken one."""

    learners: dict[str, frozenset[str]]
    broken: dict[str, str]
    partly: dict[str, str]


def learner_source(slips: frozenset[str]) -> str:
    """A formula file making exactly the mistakes ``slips`` (ids of `SLIPS`)."""
    steps = dict(CORRECT_STEPS)
    for k in slips:
        step, code = SLIPS[k]
        steps[step] = code
    return TEMPLATE.format(**steps)


def draw_slips(rng: random.Random) -> frozenset[str]:
    """One learner's slips: each step wrong at its `SLIP_RATES`, in one of its wrong ways."""
    while True:
        chosen = set()
        for step, rate in SLIP_RATES.items():
            if rng.random() < rate:
                chosen.add(rng.choice([k for k, (s, _) in SLIPS.items() if s == step]))
        if sum(SLIPS[k][0] in TASK_A_STEPS for k in chosen) <= 2:
            return frozenset(chosen)


def write_class(
    folder: str | Path,
    learners: int = 30,
    broken: tuple[str, ...] = tuple(BROKEN),
    partly: tuple[str, ...] = tuple(PARTLY_BROKEN),
    seed: int = 0,
) -> DemoClass:
    """Write the class into ``folder`` (created); learner 1 is a folder with a helper module."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    slips = {}
    for i in range(1, learners + 1):
        name = f"learner{i:02d}"
        chosen = frozenset() if i <= 2 else draw_slips(rng)  # two are surely right
        source = learner_source(chosen)
        if i == 1:  # a folder submission whose formulas import a helper module
            (folder / name).mkdir(exist_ok=True)
            helper, _, rest = source.partition("\n\ndef d_xplus")
            (folder / name / "helpers.py").write_text(helper + "\n")
            (folder / name / "solution.py").write_text(
                "import numpy as np\nfrom helpers import relu_prime\n\n\ndef d_xplus" + rest
            )
        else:
            name += ".py"
            (folder / name).write_text(source)
        slips[name] = chosen
    kinds = {}
    for kind in broken:
        (folder / f"broken_{kind}.py").write_text(BROKEN[kind])
        kinds[f"broken_{kind}.py"] = kind
    failing = {}
    for kind in partly:
        formula, line = PARTLY_BROKEN[kind]
        head = f"def grad_{formula}(q):\n"
        source = learner_source(frozenset()).replace(head, f"{head}    {line}\n")
        (folder / f"partly_{kind}.py").write_text(source)
        failing[f"partly_{kind}.py"] = formula
    return DemoClass(slips, kinds, failing)
