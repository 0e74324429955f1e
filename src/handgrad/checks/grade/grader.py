"""Grade a class: check every submission in parallel, score it, write the grader's files.

`grade_class` is what ``handgrad grade SUBMISSIONS --out OUT`` calls:

1. find the submissions (`submissions.discover`);
2. check each one not checked before in its own limited process
   (`runner.check_submission`), ``jobs`` at a time, saving each outcome as it finishes;
   an outcome is reused while the submission's files, the limits, the problem and the
   handgrad version are unchanged (a rubric's points, partial credit and hints are
   applied afresh on every run, so changing them re-scores at once);
3. score every submission with the rubric (`scoring`), and write grades.csv, the
   results.json files (`outputs`) and class_report.html (`class_report`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from handgrad import __version__
from handgrad.checks.doctor.problems import PROBLEMS
from handgrad.checks.grade import child, sandbox
from handgrad.checks.grade.class_report import write_class_report
from handgrad.checks.grade.doctor import DoctorReport
from handgrad.checks.grade.limits import Limits
from handgrad.checks.grade.outputs import cached_outcome, save_outcome, write_grades
from handgrad.checks.grade.rubric import Rubric, check_problem, check_rubric
from handgrad.checks.grade.runner import Outcome, check_submission
from handgrad.checks.grade.scoring import score_submission
from handgrad.checks.grade.submissions import Submission, content_hash, discover
from handgrad.checks.grade.summary import ClassSummary, summarise
from handgrad.errors import HandgradError
from handgrad.sweep.backends import default_jobs

OUTCOME_FORMAT = 3  # bump when Outcome's meaning changes: cached outcomes are then redone


@dataclass(frozen=True)
class ClassResult:
    """What `grade_class` did and wrote."""

    summary: ClassSummary
    csv: Path
    report: Path
    checked: int  # submissions run this time
    reused: int  # submissions whose earlier outcome was reused
    isolation: str  # how they ran (`sandbox.Sandbox.describe`)


def grade_class(
    submissions: str | Path,
    out: str | Path,
    *,
    rubric: Rubric | None = None,
    problem: str | None = None,
    jobs: int | None = None,
    isolation: str = "bwrap",
    progress: bool = False,
    log: Callable[[str], None] = lambda line: None,
) -> ClassResult:
    """Grade every submission in ``submissions`` into ``out`` (see the module doc).

    ``problem`` (else the rubric's, else the one most submissions are recognised as) is
    the doctor's problem; ``isolation`` is how each submission runs (`sandbox`: bwrap,
    user, none; auto picks); ``log`` receives one line per submission that fails to run
    when there is no progress bar. Every input is checked before any submission runs.
    """
    rubric = rubric or Rubric()
    problem = check_problem(problem or rubric.problem)
    check_rubric(rubric, problem)
    folder, out = Path(submissions), Path(out)
    subs = discover(folder)
    if out.resolve().is_relative_to(folder.resolve()):
        raise HandgradError(f"{out}: inside the submissions folder; put --out elsewhere")
    isolation = sandbox.resolve(isolation)
    keys = {s.name: outcome_key(s, rubric, problem, isolation) for s in subs}
    outcomes = {s.name: cached_outcome(out, s.name, keys[s.name]) for s in subs}
    todo = [s for s in subs if outcomes[s.name] is None]
    with tempfile.TemporaryDirectory(prefix="handgrad-sandbox-") as root:
        box = sandbox.prepare(isolation, Path(root), rubric.allow_imports) if todo else None
        # one at a time as the sandbox user: two of its processes could signal each other
        jobs = 1 if isolation == "user" else jobs or default_jobs()
        checking = _check_all(todo, keys, box, rubric, problem, jobs, progress, log)
        for outcome in checking:
            save_outcome(out, outcome)  # at once: an interrupted run keeps what it finished
            outcomes[outcome.name] = outcome
    ordered = [outcomes[s.name] for s in subs]
    summary = score_class(ordered, rubric, problem)
    csv = write_grades(out, summary.grades, summary.formulas, summary.symbols, rubric)
    report = write_class_report(out, summary)
    said = box.describe() if box else sandbox.DESCRIPTIONS[isolation]
    return ClassResult(summary, csv, report, len(todo), len(subs) - len(todo), said)


def outcome_key(sub: Submission, rubric: Rubric, problem: str | None, isolation: str) -> str:
    """What an outcome depends on: the files, the limits, the problem, the isolation,
    the imports allowed, handgrad's version."""
    parts = [
        content_hash(sub),
        rubric.limits.as_dict(),
        problem,
        isolation,
        list(rubric.allow_imports),
        __version__,
        OUTCOME_FORMAT,
    ]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _check_all(
    todo: list[Submission],
    keys: dict[str, str],
    box: sandbox.Sandbox | None,
    rubric: Rubric,
    problem: str | None,
    jobs: int,
    progress: bool,
    log: Callable[[str], None],
) -> Iterable[Outcome]:
    """Check ``todo`` on ``jobs`` workers, yielding outcomes as they finish."""
    if not todo:
        return
    bar = tqdm(total=len(todo), unit="submission", desc="grading", disable=not progress)
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
    try:
        futures = [pool.submit(_check, s, box, rubric.limits, problem, keys[s.name]) for s in todo]
        for future in as_completed(futures):
            outcome = future.result()
            yield outcome
            bar.update(1)
            if outcome.document is None:
                said = outcome.reason  # names the file already when the doctor wrote it
                line = said if said.startswith(outcome.name) else f"{outcome.name}: {said}"
                (bar.write if progress else log)(line)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        child.stop_all()
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()


def _check(
    sub: Submission, box: sandbox.Sandbox, limits: Limits, problem: str | None, key: str
) -> Outcome:
    """`check_submission`, with a failure of the grader itself kept to this submission."""
    try:
        return check_submission(sub, box, limits, problem, key)
    except Exception as e:  # a bug of ours must not cost the class its grades
        reason = f"the grader failed on this submission ({type(e).__name__}); please report it"
        return Outcome(sub.name, "", None, reason)


def score_class(outcomes: list[Outcome], rubric: Rubric, problem: str | None) -> ClassSummary:
    """Score every outcome with the rubric, on the class's problem and formulas."""
    reports = {o.name: r for o in outcomes if (r := o.report()) is not None}
    problem = problem or _most_common(r.problem for r in reports.values())
    reasons = {o.name: o.reason for o in outcomes}
    for name, r in list(reports.items()):
        if r.problem != problem:
            del reports[name]
            reasons[name] = (
                f"checked as problem {r.problem!r}, but the class's problem is {problem!r}; "
                "grade with --problem"
            )
    points, symbols = _formulas(problem, reports.values(), rubric)
    grades = [
        score_submission(o.name, reports.get(o.name), reasons[o.name], points, rubric, o.seconds)
        for o in outcomes
    ]
    return summarise(problem or "unknown", grades, reports, list(points), symbols)


def _most_common(values: Iterable[str]) -> str | None:
    counts = Counter(values).most_common(1)
    return counts[0][0] if counts else None


def _formulas(
    problem: str | None, reports: Iterable[DoctorReport], rubric: Rubric
) -> tuple[dict[str, float], dict[str, str]]:
    """The graded formulas with their points, and every formula's symbol.

    The rubric's [points]; without them, 1 point for the gradient of each input and
    parameter of the problem (the quantities no step computes), in the doctor's order.
    Never anything a submission decides: defining more ``grad_`` functions does not
    change anyone's maximum.
    """
    symbols = {v.name: v.symbol for r in reports for v in r.verdicts}
    if rubric.points:
        return dict(rubric.points), symbols
    graph = PROBLEMS.get(problem) if problem else None
    if graph is None:
        return {}, symbols
    computed = {s.name for s in graph.steps}
    return dict.fromkeys((q for q in graph.quantities if q not in computed), 1.0), symbols
