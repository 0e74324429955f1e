"""Faults of the machine during a run: one line, exit 1 (2 for a bad path), and the last
good state kept.

Where the tests may mount a tmpfs (`small_disk`: root on Linux), the disk really fills up
or turns read-only; everywhere, an injected `OSError` (`os.replace` raising ENOSPC, EROFS
or EACCES for one file) covers the same paths. After each fault the last checkpoint must
still load, and continuing must end bit-identical to a run that never failed. The data
side (permissions, downloads, the cache, named folders) is in tests/data/test_faults.py.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import cli_error, fill
from tests.experiments.resume_check import _assert_same_run

import handgrad.io
import handgrad.plots.multitask
from handgrad.cli import main
from handgrad.errors import mount_point
from handgrad.reproduce import plan as reproduce_plan
from handgrad.reproduce import runner as rp
from handgrad.training.checkpoint import CHECKPOINT_NAME, TrainingState
from handgrad.training.runs import load_arrays

TRAIN = ["train", "multitask", "--epochs", "4", "--hidden", "8"]
RUN_FILES = [".lock", "checkpoint.npz", "config.json", "curves.png", "history.jsonl"]
RUN_FILES += ["metrics.jsonl", "provenance.json", "summary.json", "weights.npz"]


# Drawing the curves takes most of a tiny run's time; these tests draw them for real.
REAL_FIGURES = {
    "test_ctrl_c_while_a_figure_is_written",
    "test_files_get_the_permissions_the_umask_allows",
}


@pytest.fixture(autouse=True)
def quick_figures(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """curves.png is 64 KiB of stand-in bytes, written like the real figure (atomically),
    except in `REAL_FIGURES`."""
    if request.node.originalname in REAL_FIGURES:
        return

    def plot_curves(history, path) -> None:
        with handgrad.io.atomic_write(path) as f:
            f.write(bytes(64 << 10))

    monkeypatch.setattr(handgrad.plots.multitask, "plot_curves", plot_curves)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run every faulty one must end equal to."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main([*TRAIN, "--out", str(out)]) == 0
    return out


def fail_replace(monkeypatch: pytest.MonkeyPatch, name: str, code: int, nth: int = 1) -> None:
    """The ``nth`` rename of a temporary file onto a file called ``name`` raises
    OSError(``code``), as the kernel would for a full or read-only disk."""
    real, seen = os.replace, []

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == name:
            seen.append(dst)
            if len(seen) == nth:
                raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(handgrad.io.os, "replace", replace)


def interrupt_while_writing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Ctrl-C arrives while the temporary file of ``name`` is written (before its fsync)."""
    real_create, real_fsync, fds = handgrad.io._create_temporary, os.fsync, set()

    def create(path: Path):
        fd, tmp = real_create(path)
        if path.name == name:
            fds.add(fd)
        return fd, tmp

    def fsync(fd: int) -> None:
        if fd in fds:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(handgrad.io, "_create_temporary", create)
    monkeypatch.setattr(handgrad.io.os, "fsync", fsync)


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def resumes_to_reference(run: Path, reference: Path, capsys: pytest.CaptureFixture) -> None:
    """The checkpoint of ``run`` loads, and ``--resume`` ends exactly like ``reference``."""
    assert "meta/epoch" in load_arrays(run / CHECKPOINT_NAME)
    assert main(["train", "multitask", "--resume", str(run)]) == 0
    capsys.readouterr()
    _assert_same_run(reference, run)
    assert no_temporaries(run)


# --- a real disk: full, then read-only --------------------------------------------------


def test_disk_full_while_checkpointing(small_disk, reference, monkeypatch, capsys):
    run = small_disk / "run"
    real_save = TrainingState.save

    def save(state: TrainingState, path: Path) -> None:
        if state.epoch == 3:  # the checkpoint of epoch 3 no longer fits
            fill(small_disk)
        real_save(state, path)

    monkeypatch.setattr(TrainingState, "save", save)
    cli_error(
        capsys,
        [*TRAIN, "--out", str(run)],
        1,
        f"no space left on {small_disk} while writing {run / CHECKPOINT_NAME}; ",
        f"the checkpoint after epoch 2 in {run} is intact; ",
        f"free space on {small_disk} and continue with `handgrad train multitask --resume {run}`",
    )
    assert sorted(p.name for p in run.iterdir()) == [
        ".lock",
        "checkpoint.npz",
        "config.json",
        "history.jsonl",
        "metrics.jsonl",
        "provenance.json",
    ]
    monkeypatch.setattr(TrainingState, "save", real_save)
    (small_disk / "filler").unlink()
    resumes_to_reference(run, reference, capsys)


def test_disk_full_while_writing_a_figure(small_disk, reference, monkeypatch, capsys):
    run = small_disk / "run"
    real_save = TrainingState.save

    def save(state: TrainingState, path: Path) -> None:
        real_save(state, path)
        if state.epoch == 4:  # room for the weights, not for the figure
            fill(small_disk, leave=32 << 10)

    monkeypatch.setattr(TrainingState, "save", save)
    cli_error(
        capsys,
        [*TRAIN, "--out", str(run)],
        1,
        f"no space left on {small_disk} while writing {run / 'curves.png'}",
        "the checkpoint after epoch 4",
        "--resume",
    )
    assert not (run / "curves.png").exists() and not (run / "summary.json").exists()
    monkeypatch.setattr(TrainingState, "save", real_save)
    (small_disk / "filler").unlink()
    resumes_to_reference(run, reference, capsys)


def test_read_only_disk(small_disk, reference, monkeypatch, capsys):
    run = small_disk / "run"
    fail_replace(monkeypatch, CHECKPOINT_NAME, errno.ENOSPC, nth=3)
    assert main([*TRAIN, "--out", str(run)]) == 1
    capsys.readouterr()
    monkeypatch.undo()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        cli_error(
            capsys,
            ["train", "multitask", "--resume", str(run)],
            1,
            f"{small_disk} is mounted read-only while locking {run}",
            f"the checkpoint after epoch 2 in {run} is intact",
            "remount it read-write",
        )
        cli_error(
            capsys,
            [*TRAIN, "--out", str(small_disk / "new")],
            1,
            f"{small_disk} is mounted read-only while creating the folder {small_disk / 'new'}",
        )
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    resumes_to_reference(run, reference, capsys)


# --- injected faults: every file a run writes ----------------------------------------------

INJECTED = [
    # (file, which write of it fails, errno, words of the problem, epoch kept)
    (CHECKPOINT_NAME, 3, errno.ENOSPC, "no space left on", 2),
    (CHECKPOINT_NAME, 3, errno.EROFS, "is mounted read-only", 2),
    (CHECKPOINT_NAME, 3, errno.EACCES, "permission denied on", 2),
    ("weights.npz", 1, errno.ENOSPC, "no space left on", 4),
    ("curves.png", 1, errno.ENOSPC, "no space left on", 4),
    ("summary.json", 1, errno.EDQUOT, "disk quota exceeded on", 4),
]


@pytest.mark.parametrize(
    ("name", "nth", "code", "problem", "epoch"), INJECTED, ids=[f"{c[0]}-{c[3]}" for c in INJECTED]
)
def test_injected_write_fault_keeps_the_last_checkpoint(
    tmp_path, reference, monkeypatch, capsys, name, nth, code, problem, epoch
):
    run = tmp_path / "run"
    fail_replace(monkeypatch, name, code, nth)
    cli_error(
        capsys,
        [*TRAIN, "--out", str(run)],
        1,
        problem,
        f"while writing {run / name}",
        f"the checkpoint after epoch {epoch} in {run} is intact",
        f"continue with `handgrad train multitask --resume {run}`",
    )
    assert not (run / name).exists() or name == CHECKPOINT_NAME
    assert no_temporaries(run)
    monkeypatch.undo()
    resumes_to_reference(run, reference, capsys)


@pytest.mark.parametrize(
    ("name", "kept", "again"),
    [
        ("config.json", "no partial config.json was left", []),
        (CHECKPOINT_NAME, "{run} holds no checkpoint yet", ["--overwrite"]),
    ],
)
def test_fault_before_any_checkpoint_says_so(
    tmp_path, reference, monkeypatch, capsys, name, kept, again
):
    run = tmp_path / "run"
    fail_replace(monkeypatch, name, errno.ENOSPC)
    cli_error(
        capsys,
        [*TRAIN, "--out", str(run)],
        1,
        "no space left on",
        kept.format(run=run),
        " ".join(["and run the command again", *(["with", *again] if again else [])]),
    )
    monkeypatch.undo()
    assert main([*TRAIN, "--out", str(run), *again]) == 0  # what the line said works
    capsys.readouterr()
    _assert_same_run(reference, run)


def test_a_failed_metrics_line_is_taken_back(tmp_path, reference, monkeypatch, capsys):
    """A half-written line would make metrics.jsonl unreadable: the append is undone."""
    run = tmp_path / "run"
    real_open, calls = open, []

    class Full:
        """A metrics file whose second append hits a full disk after 5 bytes."""

        def __init__(self, f):
            self.f = f

        def __getattr__(self, attr):
            return getattr(self.f, attr)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data: bytes) -> int:
            calls.append(data)
            if len(calls) == 2 and len(data) > 5:
                return self.f.write(data[:5])
            if len(calls) > 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(run))
            return self.f.write(data)

    def fake_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        return Full(f) if str(path).endswith("metrics.jsonl") and "a" in mode else f

    monkeypatch.setattr("builtins.open", fake_open)
    cli_error(capsys, [*TRAIN, "--out", str(run)], 1, f"appending to {run / 'metrics.jsonl'}")
    monkeypatch.undo()
    assert (run / "metrics.jsonl").read_text().count("\n") == 1  # epoch 1 only, whole
    resumes_to_reference(run, reference, capsys)


def test_unreadable_checkpoint(tmp_path, reference, monkeypatch, capsys):
    run = tmp_path / "run"
    fail_replace(monkeypatch, "weights.npz", errno.ENOSPC)
    assert main([*TRAIN, "--out", str(run)]) == 1
    capsys.readouterr()
    monkeypatch.undo()
    checkpoint = run / CHECKPOINT_NAME
    checkpoint.chmod(0)
    real_read = Path.read_bytes

    def read_bytes(self):  # root reads anyway: then the kernel's answer is injected
        if self == checkpoint:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    cli_error(
        capsys,
        ["train", "multitask", "--resume", str(run)],
        1,
        f"permission denied on {checkpoint} while reading {checkpoint}",
        f"{checkpoint} was not changed (unreadable now: whether it is whole is unknown)",
        f"make {checkpoint} readable for you",
        f"continue with `handgrad train multitask --resume {run}`",
    )
    monkeypatch.undo()
    checkpoint.chmod(0o644)
    resumes_to_reference(run, reference, capsys)


# --- paths in the way, a busy folder, Ctrl-C -----------------------------------------------


def test_output_path_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    for out in (blocker, blocker / "run"):
        cli_error(capsys, [*TRAIN, "--out", str(out)], 2, f"{blocker} is a file, not a folder")
    assert blocker.read_text() == "mine"


def _start_training(run: Path) -> subprocess.Popen:
    """A real, long training into ``run``, returned once its first epoch is logged."""
    argv = [sys.executable, "-m", "handgrad", "train", "multitask", "--epochs", "100000"]
    proc = subprocess.Popen(
        [*argv, "--hidden", "8", "--out", str(run)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not (run / "metrics.jsonl").is_file() or not (run / "metrics.jsonl").stat().st_size:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the first training did not start"
        time.sleep(0.05)
    return proc


def test_two_trainings_into_one_folder(tmp_path, reference, capsys):
    run = tmp_path / "run"
    first = _start_training(run)
    try:
        for argv in (
            [*TRAIN, "--out", str(run), "--overwrite"],
            ["train", "multitask", "--resume", str(run)],
        ):
            cli_error(capsys, argv, 2, f"{run} is in use by another training (pid {first.pid} on")
        assert first.poll() is None  # undisturbed
        first.send_signal(signal.SIGKILL)  # dies holding the lock: the lock file stays
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert (run / ".lock").is_file()
    assert main([*TRAIN, "--out", str(run), "--overwrite"]) == 0  # a stale lock never blocks
    capsys.readouterr()
    _assert_same_run(reference, run)


def test_ctrl_c_while_a_figure_is_written(tmp_path, reference, monkeypatch, capsys):
    run = tmp_path / "run"
    interrupt_while_writing(monkeypatch, "curves.png")
    assert main([*TRAIN, "--out", str(run)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interrupted") and "Traceback" not in err
    assert not (run / "curves.png").exists() and no_temporaries(run)
    monkeypatch.undo()
    resumes_to_reference(run, reference, capsys)


@pytest.fixture
def tiny_reproduce(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``handgrad reproduce --quick`` runs only the smoke plan's multi-task part."""
    monkeypatch.setattr(reproduce_plan, "quick_plan", reproduce_plan.smoke_plan)
    real = rp.plan_parts
    monkeypatch.setattr(
        rp, "plan_parts", lambda plan: [p for p in real(plan) if p.key == "multitask"]
    )
    return ["reproduce", "--quick", "--no-download", "--no-progress"]


def test_ctrl_c_while_the_report_is_written(tmp_path, tiny_reproduce, monkeypatch, capsys):
    out = tmp_path / "out"
    interrupt_while_writing(monkeypatch, "report.html")
    assert main([*tiny_reproduce, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interrupted") and "Traceback" not in err
    assert not (out / "report.html").exists() and no_temporaries(out)
    assert (out / rp.RESULT_FILE).is_file()  # the results the report is made from


def test_disk_full_while_the_report_is_written(tmp_path, tiny_reproduce, monkeypatch, capsys):
    out = tmp_path / "out"
    fail_replace(monkeypatch, "report.md", errno.ENOSPC)
    cli_error(
        capsys,
        [*tiny_reproduce, "--out", str(out)],
        1,
        f"no space left on {mount_point(out)} while writing {out / 'report.md'}",
        "no partial report.md was left",
        "and run it again with --overwrite",
    )
    assert (out / "report.html").is_file() and no_temporaries(out)


# --- permissions ---------------------------------------------------------------------------


@pytest.fixture
def umask():
    """Set the process umask within a test (``umask(mask)``), restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def test_files_get_the_permissions_the_umask_allows(tmp_path, umask, capsys):
    for mask, file_mode in [(0o027, 0o640), (0o002, 0o664)]:
        umask(mask)
        run = tmp_path / f"run-{mask:o}"
        assert main([*TRAIN, "--out", str(run)]) == 0
        assert sorted(p.name for p in run.iterdir()) == RUN_FILES
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in run.iterdir()}
        assert modes == dict.fromkeys(RUN_FILES, file_mode)
        assert stat.S_IMODE(run.stat().st_mode) == 0o777 & ~mask
    capsys.readouterr()


SWEEP = """
command = "multitask"
seeds = 1
[base]
epochs = 2
n_samples = 200
[grid]
p = [0.0]
"""


def test_sweep_results_fault_then_a_group_readable_sweep(tmp_path, umask, monkeypatch, capsys):
    umask(0o002)  # a shared sweep folder on a cluster: the group reads (and writes) it
    spec, out = tmp_path / "s.toml", tmp_path / "sweep"
    spec.write_text(SWEEP)
    fail_replace(monkeypatch, "results.csv", errno.ENOSPC)
    argv = ["sweep", str(spec), "--out", str(out), "--jobs", "1", "--no-plot"]
    cli_error(capsys, argv, 1, f"while writing {out / 'results.csv'}", "run the same sweep again")
    monkeypatch.undo()
    assert main(argv) == 0
    assert "1 finished" in capsys.readouterr().out  # the trial was kept
    for p in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o060 == 0o060, (p, oct(mode))
