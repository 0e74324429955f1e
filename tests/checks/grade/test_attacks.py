"""The grader attacked as a learner who wants marks they did not earn would attack it.

One class is graded once (bubblewrap isolation, short limits): two honest learners and
one submission per attack. Each attacker knows everything a strong attacker could: the
absolute paths of its classmates' files, of OUT, of the rubric, the grader's source. The
tests then check the promises of the README's threat model: no attacker scores what its
formulas did not earn; the honest grades and maximum are those of the honest class
graded alone (and survive a re-run); every row is written; nothing leaks; nothing
outlives the run; nothing outside the sandbox was touched.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import socket
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from handgrad.checks.doctor.graph import draw_batches
from handgrad.checks.doctor.problems import PROBLEMS
from handgrad.checks.grade import Limits, cgroup, grade_class
from handgrad.checks.grade.cgroup import MAX_TASKS
from handgrad.checks.grade.demo import learner_source
from handgrad.checks.grade.outputs import csv_cell
from handgrad.checks.grade.rubric import load_rubric

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("bwrap") is None and not os.environ.get("CI"),
        reason="bubblewrap not installed (CI installs it: apt-get install bubblewrap)",
    ),
]

LIMITS = Limits(wall_seconds=15, cpu_seconds=5, memory_mb=1024, output_kb=256)
PARAMS = ("b2B", "theta2B", "b1B", "theta1B", "b2A", "theta2A", "b1A", "theta1A")
CANARY_ENV = "canary-env-31337"
CANARY_RUBRIC = "canary-rubric-4242"
MARKER = "handgrad-attack-marker-417"
HONEST = {"honest_right.py": frozenset(), "honest_slip.py": frozenset({"bn_factor"})}

ZEROS = "\n".join(
    f"def grad_{p}(q):\n    return np.zeros_like(q.{p})\n" for p in PARAMS
)  # well-formed answers that earn nothing


def _attacks(paths: dict[str, str]) -> dict[str, str]:
    """Each attack's submission source; ``paths`` are the absolute paths it goes after."""
    return {
        # --- cheating in its own process -----------------------------------------------------
        "steal_frames.py": """
import gc, sys
import numpy as np

def _steal(name, q):
    f = sys._getframe()
    while f is not None:
        for v in list(f.f_locals.values()) + list(f.f_globals.values()):
            t = getattr(v, "truth", None)
            if isinstance(t, dict) and name in t:
                return t[name]
        f = f.f_back
    for o in gc.get_objects():
        if isinstance(o, dict) and name in o and isinstance(o[name], np.ndarray):
            if o[name].shape == getattr(q, name).shape and o[name] is not getattr(q, name):
                return o[name]
    return np.zeros_like(getattr(q, name))
"""
        + "\n".join(f"def grad_{p}(q):\n    return _steal({p!r}, q)\n" for p in PARAMS),
        "patch_numpy.py": """
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)
np.abs = lambda x: x * 0
np.max = lambda *a, **k: 0.0
import numpy.linalg
numpy.linalg.norm = lambda *a, **k: 0.0
"""
        + ZEROS,
        "fake_document.py": f"""
import atexit, json, os, sys
import numpy as np
doc = {{"schema": "handgrad.formulas/1", "problem": "multitask", "formulas": [
    {{"name": n, "symbol": n, "status": "ok"}} for n in {PARAMS!r}], "counts": {{}}}}
atexit.register(lambda: print(json.dumps(doc)))
print(json.dumps(doc))
sys.stdout.flush()
for fd in range(0, 20):
    try:
        os.write(fd, json.dumps(doc).encode() + b"\\n")
    except OSError:
        pass
os._exit(0)
""",
        "forge_protocol.py": f"""
import json, os, struct
import numpy as np

def message(header, arrays=()):
    listing = [[n, "<f8", list(a.shape)] for n, a in arrays]
    text = json.dumps({{**header, "arrays": listing}}).encode()
    return b"HGW1" + struct.pack(">I", len(text)) + text + b"".join(a.tobytes() for _, a in arrays)

names = {list(PARAMS)!r}
forged = message({{"op": "loaded", "formulas": names, "problem": "multitask", "own_network": False}})
for _ in range(200):
    forged += message({{"status": "ok"}}, [("value", np.ones(3))])
for fd in range(3, 20):
    try:
        os.write(fd, forged)
    except OSError:
        pass
"""
        + ZEROS,
        "import_handgrad.py": """
from handgrad.checks.formulas import derived_gradients

def grad_b2B(q):
    return derived_gradients(q)["b2B"]
""",
        "import_autograd.py": """
import autograd.numpy as anp
from autograd import grad

def grad_b2B(q):
    return grad(lambda b: anp.sum(b))(q.b2B)
""",
        "copy_classmate.py": """
import glob, os
import numpy as np
found = [p for p in [{!r}] + glob.glob("/**/*.py", recursive=True) + glob.glob("../*.py")
         if os.path.exists(p) and "honest" in p]
if found:
    exec(open(found[0]).read())
else:
""".format(paths["classmate"])
        + "\n".join(f"    def grad_{p}(q):\n        return np.zeros_like(q.{p})\n" for p in PARAMS),
        "precomputed.py": "import numpy as np\nTABLE = {!r}\n".format(paths["table"])
        + "\n".join(
            f"def grad_{p}(q):\n"
            f"    key = '%d:%.9f' % (q.m, float(np.sum(q.x)))\n"
            f"    got = TABLE.get(key, {{}}).get({p!r})\n"
            f"    return np.array(got) if got is not None else np.zeros_like(q.{p})\n"
            for p in PARAMS
        ),
        # --- attacks on classmates, the outputs and the cache -------------------------------
        "daemon.py": """
import os, subprocess, sys, time
code = '''
import os, time
time.sleep(1.5)
for path in {!r}:
    try:
        with open(path, "w") as f:
            f.write("def grad_b2B(q):\\\\n    return 0*q.b2B\\\\n")
    except OSError:
        pass
time.sleep(60)
'''
subprocess.Popen([sys.executable, "-c", code, {!r}], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["/bin/sleep", "60"])
    os._exit(0)
import numpy as np
""".format([paths["classmate"], paths["csv"], paths["outcome"]], MARKER)
        + ZEROS,
        "write_outside.py": """
import os
for path in {!r}:
    try:
        with open(path, "w") as f:
            f.write("pwned")
    except OSError:
        pass
for path in ("/submission/daemon.py", "/harness/harness.py", "/site/numpy/__init__.py"):
    try:
        with open(path, "a") as f:
            f.write("pwned")
    except OSError:
        pass
import numpy as np
""".format([paths["pwned"], paths["csv"], paths["classmate"]])
        + ZEROS,
        # --- attacks on the grader -----------------------------------------------------------
        "kill_parent.py": """
import os, signal
for target in (os.getppid(), 1, -1):
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(target, sig)
        except OSError:
            pass
import numpy as np
"""
        + ZEROS,
        "stop_itself.py": "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\n",
        "huge_reply.py": "import numpy as np\n"
        + "\n".join(f"def grad_{p}(q):\n    return np.ones(5 * 10**6)\n" for p in PARAMS),
        "ignore_alarm.py": """
import signal
import numpy as np
signal.signal(signal.SIGALRM, signal.SIG_IGN)

def grad_b2B(q):
    while True:
        signal.setitimer(signal.ITIMER_REAL, 0)
""",
        "invent_formulas.py": "import numpy as np\n"
        + ZEROS
        + "\n".join(
            f"def grad_{n}(q):\n    return np.zeros(3)\n"
            for n in ("bonus", "extra_credit", "z2B", "xplus", "yhatA")
        ),
        # --- leaks ---------------------------------------------------------------------------
        "leak.py": """
import glob, os, socket
import numpy as np
seen = []
for path in %r:
    try:
        seen.append(open(path).read()[:300])
    except OSError as e:
        seen.append(type(e).__name__)
try:
    s = socket.create_connection(("127.0.0.1", %d), timeout=2)
    s.sendall(b"leak")
    seen.append("connected")
except OSError as e:
    seen.append("no network")
seen += [repr(dict(os.environ)), repr(os.listdir("/")), repr(glob.glob("/*/*"))]
seen += [repr(os.listdir(d)) for d in ("/root", "/home", "/tmp", "..") if os.path.isdir(d)]
TEXT = " | ".join(seen)

def grad_b2B(q):
    raise ValueError(TEXT)

def grad_theta2B(q):
    raise RuntimeError("\\x1b[2J\\x1b[31m=HYPERLINK(\\"http://x\\")\\r\\n,fake,row\\x07" + TEXT[:50])
"""
        % ([paths["rubric"], paths["classmate"], "/proc/1/environ", "/etc/passwd"], paths["port"]),
        "=cmd|' calc'!A0.py": "import numpy as np\n" + ZEROS,
        "fork_bomb.py": """
import os, time
children, start = 0, time.monotonic()
for _ in range(5000):  # until the process limit stops it (or 5 s: then it was not stopped)
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
    except OSError:
        break
    if time.monotonic() - start > 5:
        break
import numpy as np

def grad_b1A(q):
    raise RuntimeError(f"forked {children}")
"""
        + ZEROS.replace("def grad_b1A", "def _unused_b1A"),
        "fill_memory.py": """
import os
written = {}
for folder in ("/dev/shm", "/dev", "/", "/tmp", "/submission"):
    written[folder] = 0
    for i in range(300):  # up to 3 GB in each
        try:
            with open(os.path.join(folder, f"fill{i}"), "wb") as f:
                f.write(b"0" * 10**7)
            written[folder] += 10
        except OSError:
            break
import numpy as np

def grad_b1A(q):
    raise RuntimeError("written MB " + " ".join(f"{k}={v}" for k, v in written.items()))
"""
        + ZEROS.replace("def grad_b1A", "def _unused_b1A"),
    }


def _truth_table() -> dict[str, dict[str, list]]:
    """What the doctor's batches would hold if it used the public default seed 0."""
    problem = PROBLEMS["multitask"]
    table = {}
    for b in draw_batches(problem, 0):
        key = "%d:%.9f" % (b.m, float(np.sum(b.q.x)))
        table[key] = {p: b.truth[p].tolist() for p in PARAMS}
    return table


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


def _honest_class(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, slips in HONEST.items():
        (folder / name).write_text(learner_source(slips))


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("attacked")
    rubric_path = root / "rubric.toml"
    rubric_path.write_text(f'problem = "multitask"\n[hints.text]\nno_mask = "{CANARY_RUBRIC}"\n')
    rubric = dataclasses.replace(load_rubric(rubric_path), limits=LIMITS)
    alone, subs, out = root / "alone", root / "subs", root / "out"
    _honest_class(alone)
    _honest_class(subs)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    paths = {
        "classmate": str(subs / "honest_right.py"),
        "csv": str(out / "grades.csv"),
        "outcome": str(out / "submissions" / "honest_right.py" / "outcome.json"),
        "rubric": str(rubric_path),
        "pwned": str(root / "pwned"),
        "table": _truth_table(),
        "port": server.getsockname()[1],
    }
    for name, source in _attacks(paths).items():
        (subs / name).write_text(source)
    before = {n: (subs / n).read_bytes() for n in HONEST}
    os.environ["HANDGRAD_CANARY"] = CANARY_ENV
    try:
        result = grade_class(subs, out, rubric=rubric, jobs=2)
    finally:
        del os.environ["HANDGRAD_CANARY"]
    csv_after_run = (out / "grades.csv").read_bytes()
    time.sleep(3)  # what a detached process would do after the run, it would have done now
    reference = grade_class(alone, root / "out_alone", rubric=rubric, jobs=2)
    try:
        connection = server.accept()
    except BlockingIOError:
        connection = None
    server.close()
    return {
        "root": root,
        "subs": subs,
        "out": out,
        "result": result,
        "reference": reference,
        "before": before,
        "csv_after_run": csv_after_run,
        "connection": connection,
        "rubric": rubric,
    }


def test_every_submission_has_a_row_and_no_attacker_scores(attacked) -> None:
    rows = _rows(attacked["out"])
    assert set(rows) == {csv_cell(p.name) for p in attacked["subs"].iterdir()}
    attackers = {n: r for n, r in rows.items() if n not in HONEST}
    assert len(attackers) >= 16
    for name, row in attackers.items():
        assert row["total"] == "0", (name, row)
        assert row["max"] == "8", (name, row)  # the problem's parameters, whatever was defined


def test_honest_grades_are_those_of_the_honest_class_alone(attacked) -> None:
    rows = _rows(attacked["out"])
    alone = _rows(attacked["root"] / "out_alone")
    for name in HONEST:
        assert rows[name] == alone[name]
    assert rows["honest_right.py"]["total"] == "8"
    assert rows["invent_formulas.py"]["max"] == "8"
    invented = json.loads(
        (attacked["out"] / "submissions" / "invent_formulas.py" / "results.json").read_text()
    )
    assert "note: grad_bonus names no quantity of multitask; ignored" in invented["output"]
    header = next(csv.reader(open(attacked["out"] / "grades.csv")))
    assert header[1:9] == list(PARAMS)  # no invented column


def test_reasons_name_what_the_attack_did(attacked) -> None:
    rows = _rows(attacked["out"])
    said = {n: r["reason"] for n, r in rows.items()}
    assert "imports handgrad, a library that computes gradients" in said["import_handgrad.py"]
    assert "imports autograd, a library that computes gradients" in said["import_autograd.py"]
    assert "before the check finished" in said["fake_document.py"] or (
        "broke the protocol" in said["fake_document.py"]
    )
    assert "wall-time limit" in said["stop_itself.py"]
    assert rows["kill_parent.py"]["status"] == "graded"  # its signals reached nothing outside
    results = json.loads(
        (attacked["out"] / "submissions" / "huge_reply.py" / "results.json").read_text()
    )
    assert "far too large" in json.dumps(results) or "limit" in said["huge_reply.py"]


def test_nothing_outside_the_sandbox_was_touched(attacked) -> None:
    subs = attacked["subs"]
    for name, data in attacked["before"].items():
        assert (subs / name).read_bytes() == data
    assert not (attacked["root"] / "pwned").exists()
    assert (attacked["out"] / "grades.csv").read_bytes() == attacked["csv_after_run"]
    assert attacked["connection"] is None  # no submission reached the network


def test_nothing_outlives_the_run(attacked) -> None:
    assert _processes_with(MARKER) == []
    assert not [
        pid
        for pid in _processes_with("/bin/sleep")
        if b"60" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_nothing_leaks_into_feedback(attacked) -> None:
    out = attacked["out"]
    texts = [(out / "grades.csv").read_text(), (out / "class_report.html").read_text()]
    texts += [p.read_text() for p in (out / "submissions").glob("*/results.json")]
    everything = "\n".join(texts)
    for secret in (CANARY_ENV, CANARY_RUBRIC, str(attacked["root"]), "honest_right.py\\n"):
        assert secret not in everything.replace(str(out), "OUT"), secret
    leak = (out / "submissions" / "leak.py" / "results.json").read_text()
    assert "honest" not in leak and "/root" not in leak.replace('"/root"', "")
    assert "\x1b" not in everything and "\x07" not in everything


def test_no_fork_bomb_and_no_tmpfs_fills_memory(attacked) -> None:
    said = {}
    for name in ("fork_bomb.py", "fill_memory.py"):
        results = json.loads((attacked["out"] / "submissions" / name / "results.json").read_text())
        said[name] = next(t["output"] for t in results["tests"] if t["name"].startswith("b1A"))
    assert "forked " in said["fork_bomb.py"], said["fork_bomb.py"]
    forked = int(said["fork_bomb.py"].split("forked ")[1].split()[0])
    # stopped by the process limit: the pids cgroup's where the grader can make one
    cap = MAX_TASKS if cgroup._find_base() is not None else 4999
    assert forked < cap, said["fork_bomb.py"]
    written = dict(kv.split("=") for kv in said["fill_memory.py"].split("written MB ")[1].split())
    assert written["/dev/shm"] == written["/dev"] == written["/"] == written["/submission"] == "0"
    assert int(written["/tmp"]) <= 64  # the sandbox's one writable place is capped


def test_csv_cells_are_never_formulas(attacked) -> None:
    for row in csv.reader(open(attacked["out"] / "grades.csv")):
        for cell in row:
            assert cell[:1] not in ("=", "+", "@") and "\n" not in cell, cell


def test_a_rerun_keeps_every_grade_and_rechecks_a_tampered_outcome(attacked) -> None:
    out = attacked["out"]
    first = _rows(out)
    forged = out / "submissions" / "patch_numpy.py" / "outcome.json"
    data = json.loads(forged.read_text())
    data["document"] = json.loads(
        (out / "submissions" / "honest_right.py" / "outcome.json").read_text()
    )["document"]
    forged.write_text(json.dumps(data))
    again = grade_class(attacked["subs"], out, rubric=attacked["rubric"], jobs=2)
    assert again.checked == 1  # only the tampered outcome, checked again
    assert _rows(out) == first


def test_the_precomputed_attack_would_work_with_a_known_seed(tmp_path, monkeypatch) -> None:
    """The secret seed is what defeats answers computed in advance: with the public seed 0
    the same file gets full marks (so the attack above is a real one)."""
    import handgrad.checks.grade.runner as runner

    paths = {k: str(tmp_path / k) for k in ("classmate", "csv", "outcome", "rubric", "pwned")}
    source = _attacks({**paths, "table": _truth_table(), "port": 1})["precomputed.py"]
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "precomputed.py").write_text(source)
    monkeypatch.setattr(runner.secrets, "randbits", lambda bits: 0)
    rubric = dataclasses.replace(load_rubric_text('problem = "multitask"'), limits=LIMITS)
    grade_class(tmp_path / "subs", tmp_path / "out", rubric=rubric, isolation="none")
    assert _rows(tmp_path / "out")["precomputed.py"]["total"] == "8"


def load_rubric_text(text: str):
    from handgrad.checks.grade.rubric import parse_rubric

    return parse_rubric(tomllib.loads(text))


USER_PYTHON = f"/usr/bin/python3.{sys.version_info.minor}"


@pytest.mark.skipif(os.geteuid() != 0, reason="the user isolation runs submissions as root")
@pytest.mark.skipif(
    not os.access(USER_PYTHON, os.X_OK), reason=f"no world-readable {USER_PYTHON} to run as"
)
def test_the_user_isolation_holds_too(tmp_path, monkeypatch) -> None:
    """Gradescope's containers refuse namespaces: the same attacks, as another user."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    _honest_class(subs)
    paths = {
        "classmate": str(subs / "honest_right.py"),
        "csv": str(out / "grades.csv"),
        "outcome": str(out / "submissions" / "honest_right.py" / "outcome.json"),
        "rubric": str(tmp_path / "rubric.toml"),
        "pwned": str(tmp_path / "pwned"),
        "table": {},
        "port": 1,
    }
    attacks = _attacks(paths)
    for name in ("daemon.py", "write_outside.py", "kill_parent.py", "leak.py", "steal_frames.py"):
        (subs / name).write_text(attacks[name])
    os.chmod(tmp_path, 0o755)  # as a class folder would be: readable, but not by submissions
    before = (subs / "honest_right.py").read_bytes()
    monkeypatch.setenv("HANDGRAD_SANDBOX_PYTHON", USER_PYTHON)
    rubric = dataclasses.replace(load_rubric_text('problem = "multitask"'), limits=LIMITS)
    result = grade_class(subs, out, rubric=rubric, isolation="user")
    time.sleep(2)
    rows = _rows(out)
    assert "unprivileged user" in result.isolation
    assert rows["honest_right.py"]["total"] == "8"
    assert (
        rows["honest_slip.py"]["total"] == _rows_alone(tmp_path, rubric)["honest_slip.py"]["total"]
    )
    for name in ("daemon.py", "write_outside.py", "kill_parent.py", "leak.py", "steal_frames.py"):
        assert rows[name]["total"] == "0", rows[name]
    assert (subs / "honest_right.py").read_bytes() == before
    assert not (tmp_path / "pwned").exists()
    assert _processes_with(MARKER) == []


def _rows_alone(tmp_path: Path, rubric) -> dict[str, dict[str, str]]:
    _honest_class(tmp_path / "alone")
    grade_class(tmp_path / "alone", tmp_path / "out_alone", rubric=rubric, isolation="none")
    return _rows(tmp_path / "out_alone")


def test_a_notebook_never_runs_outside_the_sandbox(tmp_path: Path) -> None:
    """A notebook whose `def grad_` hides past the discovery scan's first MiB is still
    code to run in the sandbox, and the grader's report reader never runs code itself."""
    marker = tmp_path / "ran-outside"
    markdown = "padding " + "x" * 1_200_000 + "\n"
    code = (
        f"import numpy as np\ntry:\n    open({str(marker)!r}, 'w').write('escaped')\n"
        "except OSError:\n    pass\n"
        "def grad_b2B(q):\n    return (q.yhatB - q.yB).sum(axis=0) / q.m\n"
    )
    cells = [
        {"cell_type": "markdown", "source": markdown, "metadata": {}},
        {"cell_type": "code", "source": code, "metadata": {}, "outputs": []},
    ]
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "eve.ipynb").write_text(json.dumps({"nbformat": 4, "metadata": {}, "cells": cells}))
    rubric = dataclasses.replace(load_rubric_text('problem = "multitask"'), limits=LIMITS)
    grade_class(subs, tmp_path / "out", rubric=rubric)
    assert not marker.exists()  # its open() ran in the sandbox, where that path is not
    assert _rows(tmp_path / "out")["eve.ipynb"]["b2B"] == "1"  # graded as code
