"""How long one `handgrad check formulas FILE --format json` takes, start-up included.

A class is graded by running the check once per submission, so what counts is the whole
process: Python start-up, imports (NumPy, autograd), drawing the batches, judging and
naming the mistakes. Runs every ``examples/formulas_*.py`` and a multi-task file whose
sixteen formulas are all wrong in a way no catalogued mistake explains (the slowest
case: every single mistake and every pair is tried), ``--repeat`` times each, and prints
the median wall time and CPU time (user + system of the child) per check::

    uv run python benchmarks/doctor_speed.py --repeat 5
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ALL_WRONG = """
import numpy as np
exec(open({src!r}).read())
_right = {{k: v for k, v in dict(globals()).items() if k.startswith("grad_")}}
for _k, _f in _right.items():
    globals()[_k] = (lambda f: lambda q: f(q) + 0.01 * np.sin(7 * f(q) + 1))(_f)
"""


def _time(path: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "handgrad", "check", "formulas", str(path), "--format", "json"]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted((ROOT / "examples").glob("formulas_*.py"))
    with tempfile.TemporaryDirectory() as tmp:
        wrong = Path(tmp) / "all_wrong_multitask.py"
        src = str(ROOT / "examples" / "formulas_multitask.py")
        wrong.write_text(ALL_WRONG.format(src=src))
        print("| file | median wall s | median CPU s |")
        print("|---|---|---|")
        for path in [*files, wrong]:
            runs = [_time(path) for _ in range(args.repeat)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"| {path.name} | {wall:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
