"""Grade a generated class of 30+ submissions and check the grader's promises, timed.

    uv run python benchmarks/grade_class.py [--learners 30] [--jobs 2] [--seed 0] [--keep DIR]
                                            [--isolation bwrap|user|none] [--cost 10]

Writes a class (`handgrad.checks.grade.demo`: learners with random mixes of the classic
multi-task slips, two surely right, plus one submission of every broken kind: syntax
error, import error, endless loop, os._exit, a 20 GB allocation, 1 GB of output, an
empty file) and two partly broken ones (right, but one formula raises, or loops
forever), grades it with the default rubric and limits (CPU 60 s, wall 120 s, memory
2 GB, output 1 MB per submission) and prints:

* the wall time of the whole grading and the grader's own peak RSS (its process, not
  the children's: ``getrusage(RUSAGE_SELF)``);
* whether every submission has its row, every right one full marks, every broken one
  zero with a reason, every partly broken one zero for its failing formula only, and
  whether the class report's mistake counts equal the ones the generator put in.

Then the sandbox's own cost per submission: the same right submission checked ``--cost``
times one after another in each isolation available here (bwrap; none, i.e. a plain
child process), as the median wall time of `runner.check_submission`, and their ratio.

Exit status 0 when all of that holds and the grading took under 5 minutes, else 1.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from handgrad.checks.grade import Limits, grade_class, sandbox
from handgrad.checks.grade.demo import learner_source, write_class
from handgrad.checks.grade.runner import check_submission
from handgrad.checks.grade.submissions import discover

LIMIT_SECONDS = 300
LIMIT_RSS_MB = 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write the class and grades here (kept)")
    parser.add_argument("--isolation", default="bwrap", choices=("bwrap", "user", "none"))
    parser.add_argument("--cost", type=int, default=10, help="repeats of the cost measurement")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        root = args.keep or Path(tmp)
        return _run(root, args)


def _run(root: Path, args: argparse.Namespace) -> int:
    demo = write_class(root / "submissions", learners=args.learners, seed=args.seed)
    everyone = set(demo.learners) | set(demo.broken) | set(demo.partly)
    print(
        f"class: {len(demo.learners)} learners ({sum(not s for s in demo.learners.values())} "
        f"right) + {len(demo.broken)} broken + {len(demo.partly)} partly broken = "
        f"{len(everyone)} submissions; {args.jobs} jobs on {len(os.sched_getaffinity(0))} cores"
    )
    start = time.perf_counter()
    result = grade_class(
        root / "submissions",
        root / "grades",
        jobs=args.jobs,
        isolation=args.isolation,
        progress=sys.stderr.isatty(),
    )
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(result.csv, newline="") as f:
        rows = {r["submission"]: r for r in csv.DictReader(f)}
    truth: dict[str, set[str]] = {}
    for name, slips in demo.learners.items():
        for k in slips:
            truth.setdefault(k, set()).add(name)
    shown = {c.mistake: set(c.submissions) for c in result.summary.mistakes}
    checks = {
        "every submission has its row": set(rows) == everyone,
        "right ones have full marks": all(
            rows[n]["total"] == rows[n]["max"] for n, s in demo.learners.items() if not s
        ),
        "wrong ones do not": all(
            float(rows[n]["total"]) < float(rows[n]["max"]) for n, s in demo.learners.items() if s
        ),
        "broken ones: zero, with a reason": all(
            rows[n]["total"] == "0" and rows[n]["status"] == "failed" and rows[n]["reason"]
            for n in demo.broken
        ),
        "partly broken ones: zero for the failing formula only": all(
            rows[n][f] == "0" and float(rows[n]["total"]) == float(rows[n]["max"]) - 1
            for n, f in demo.partly.items()
        ),
        "mistake counts equal the generator's": shown == truth,
        f"under {LIMIT_SECONDS} s": seconds < LIMIT_SECONDS,
        f"grader's peak RSS under {LIMIT_RSS_MB} MB": rss_mb < LIMIT_RSS_MB,
    }
    print(f"graded in {seconds:.1f} s; grader's peak RSS {rss_mb:.0f} MB")
    for name in demo.broken:
        print(f"  {name:<28} {rows[name]['reason']}")
    for name, formula in demo.partly.items():
        print(f"  {name:<28} {formula}: {rows[name][formula]}, total {rows[name]['total']}")
    print("most common mistakes (report | generator):")
    for c in result.summary.mistakes:
        print(f"  {c.mistake:<16} {len(c.submissions):>3} | {len(truth.get(c.mistake, ())):>3}")
    print(f"isolation: {result.isolation}")
    for what, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
    if args.cost:
        _sandbox_cost(root, args.cost)
    return 0 if all(checks.values()) else 1


def _sandbox_cost(root: Path, repeats: int) -> None:
    """Median seconds to check one right submission, per isolation, and the ratio."""
    folder = root / "cost"
    folder.mkdir()
    (folder / "right.py").write_text(learner_source(frozenset()))
    (sub,) = discover(folder)
    medians = {}
    for isolation in ("none", "bwrap"):
        if isolation == "bwrap" and sandbox.resolve("auto") != "bwrap":
            continue
        with tempfile.TemporaryDirectory() as tmp:
            box = sandbox.prepare(isolation, Path(tmp))
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                outcome = check_submission(sub, box, Limits(), "multitask")
                times.append(time.perf_counter() - start)
                assert outcome.document is not None, outcome.reason
        medians[isolation] = statistics.median(times)
    print(f"one right submission, median of {repeats} (seconds, wall):")
    for isolation, m in medians.items():
        print(f"  {isolation:<6} {m:.3f}")
    if len(medians) == 2:
        extra = medians["bwrap"] - medians["none"]
        print(f"  bwrap / none = {medians['bwrap'] / medians['none']:.2f}x (+{extra:.3f} s)")


if __name__ == "__main__":
    sys.exit(main())
