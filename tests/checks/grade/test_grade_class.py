"""A generated class graded end to end by the real doctor, in limited child processes.

One small class (learners with known slips, two surely right, and one submission of
every broken kind) is graded once per module with short limits; the tests read what
was written: grades.csv, the results.json files, class_report.html (also in headless
Chromium), and what a second run re-checks.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
from pathlib import Path

import pytest
from tests.report.test_report_browser import _browser, _chromium

from handgrad.checks.grade import Limits, Rubric, grade_class
from handgrad.checks.grade.demo import write_class
from handgrad.checks.grade.rubric import parse_rubric
from handgrad.cli import main

LIMITS = Limits(wall_seconds=60, cpu_seconds=2, memory_mb=1024, output_kb=256)
REASONS = {  # what each broken kind's reason must say
    "syntax_error": [":1:"],
    "import_error": ["imports numpy_but_misspelled", "remove the import"],
    "endless_loop": ["limit of", "an endless loop"],  # CPU time, or wall time on a busy machine
    "os_exit": ["os._exit"],
    "huge_allocation": ["MemoryError"],
    "output_flood": ["printed more than the 256 KB"],
    "empty": ["grad_"],
}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("class")
    demo = write_class(root / "subs", learners=6, partly=("raises",), seed=3)
    result = grade_class(root / "subs", root / "out", rubric=Rubric(limits=LIMITS), jobs=2)
    return root, demo, result


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


def test_every_submission_has_its_row(graded) -> None:
    root, demo, result = graded
    rows = _rows(root / "out")
    assert set(rows) == set(demo.learners) | set(demo.broken) | set(demo.partly)
    assert result.checked == len(rows) and result.reused == 0
    for name, slips in demo.learners.items():
        row = rows[name]
        assert row["status"] == "graded" and row["reason"] == ""
        assert row["max"] == "8"  # the eight parameters, a point each
        assert (row["total"] == row["max"]) == (not slips), (name, slips, row)
    for name, kind in demo.broken.items():
        row = rows[name]
        assert (row["status"], row["total"]) == ("failed", "0"), row
        for needle in REASONS[kind]:
            assert needle in row["reason"], (kind, row["reason"])
    for name, formula in demo.partly.items():  # zero only for the formula that fails
        row = rows[name]
        assert (row["status"], row[formula], row["total"]) == ("graded", "0", "7"), row
        results = json.loads((root / "out" / "submissions" / name / "results.json").read_text())
        (failed,) = (t for t in results["tests"] if t["name"].startswith(formula))
        assert failed["output"].startswith("error: ") and "ZeroDivisionError" in failed["output"]


def test_gradescope_results_per_submission(graded) -> None:
    root, demo, _ = graded
    for name, slips in demo.learners.items():
        results = json.loads((root / "out" / "submissions" / name / "results.json").read_text())
        assert len(results["tests"]) == 8
        assert results["score"] == sum(t["score"] for t in results["tests"])
        named = {k for t in results["tests"] for k in re.findall(r"mistake ([\w+]+)", t["output"])}
        assert {k for pair in named for k in pair.split("+")} == slips


def test_class_report_counts_the_mistakes_the_generator_made(graded) -> None:
    root, demo, result = graded
    truth: dict[str, set[str]] = {}
    for name, slips in demo.learners.items():
        for k in slips:
            truth.setdefault(k, set()).add(name)
    summary = result.summary
    assert summary.checked == len(demo.learners) + len(demo.partly)
    assert {c.mistake: set(c.submissions) for c in summary.mistakes} == truth
    counts = [len(c.submissions) for c in summary.mistakes]
    assert counts == sorted(counts, reverse=True)  # most common first
    page = html.unescape((root / "out" / "class_report.html").read_text())
    for k, names in truth.items():
        share = f"{100 * len(names) / summary.checked:.0f} %"
        of = f"{len(names)} of {summary.checked}"
        assert re.search(rf"{share}</td><td[^>]*>{of}</td><td><code>{k}</code>", page)


def test_second_run_rechecks_only_what_changed(graded, tmp_path: Path) -> None:
    root, demo, first = graded
    subs, out = tmp_path / "subs", tmp_path / "out"
    shutil.copytree(root / "subs", subs)
    shutil.copytree(root / "out", out)
    again = grade_class(subs, out, rubric=Rubric(limits=LIMITS))
    assert (again.checked, again.reused) == (0, len(first.summary.grades))
    assert _rows(out) == _rows(root / "out")
    (subs / "learner03.py").write_text((subs / "learner02.py").read_text())  # now right
    partial = parse_rubric({"partial": {k: 0.5 for k in demo.learners["learner04.py"]}})
    third = grade_class(subs, out, rubric=Rubric(limits=LIMITS, partial=partial.partial))
    assert (third.checked, third.reused) == (1, len(first.summary.grades) - 1)
    rows = _rows(out)
    assert rows["learner03.py"]["total"] == "8"
    if demo.learners["learner04.py"]:  # re-scored with partial credit, not re-checked
        assert float(rows["learner04.py"]["total"]) > float(
            _rows(root / "out")["learner04.py"]["total"]
        )


def test_cli(graded, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root, _, _ = graded
    out = tmp_path / "out"
    shutil.copytree(root / "out", out)
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("[limits]\n" + "".join(f"{k} = {v}\n" for k, v in LIMITS.as_dict().items()))
    code = main(["grade", str(root / "subs"), "--out", str(out), "--rubric", str(rubric),
                 "--no-progress"])  # fmt: skip
    said = capsys.readouterr().out
    assert code == 0 and "0 checked now" in said and "class_report.html" in said
    rubric.write_text("[points]\nthetaX = 1\n" + rubric.read_text())
    assert main(["grade", str(root / "subs"), "--out", str(out), "--rubric", str(rubric)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "points.thetaX" in err and "did you mean" in err
    assert main(["grade", str(root / "subs"), "--out", str(root / "subs" / "o")]) == 2
    assert "inside the submissions folder" in capsys.readouterr().err


@pytest.mark.parametrize("width", [1280, 390], ids=["laptop", "phone"])
def test_class_report_in_a_browser(graded, tmp_path: Path, width: int) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium: apt-get install -y chromium")
    root, demo, _ = graded
    page = (root / "out" / "class_report.html").read_text()
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    run = _chromium(browser, tmp_path / "profile", f"--window-size={width},900",
                    "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())  # fmt: skip
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, run.stderr[-2000:]
    r = json.loads(html.unescape(found.group(1)))
    assert r["images"] == 3 and r["loaded"] == 3 and r["fit"] == 3
    assert r["page_width"] <= r["viewport"]  # wide tables scroll in their own box
    assert r["rows"] == len(demo.learners) + len(demo.broken) + len(demo.partly)
    shown = {row[2]: row[1] for row in r["mistakes"]}  # mistake -> "n of 7"
    truth = {}
    for slips in demo.learners.values():
        for k in slips:
            truth[k] = truth.get(k, 0) + 1
    checked = len(demo.learners) + len(demo.partly)
    assert shown == {k: f"{n} of {checked}" for k, n in truth.items()}


PROBE = """
<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const width = document.documentElement.clientWidth;
  const tables = [...document.querySelectorAll("table")];
  const cells = (t) => [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.innerText));
  const result = {
    images: imgs.length,
    loaded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
    fit: imgs.filter((i) => i.getBoundingClientRect().right <= width + 1).length,
    page_width: document.documentElement.scrollWidth,
    viewport: width,
    mistakes: cells(tables[0]),
    rows: tables[tables.length - 1].tBodies[0].rows.length,
  };
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>
"""
