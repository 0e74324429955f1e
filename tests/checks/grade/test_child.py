"""run_limited and the child's own limits, on tiny Python one-liners (each well under 3 s)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

from handgrad.checks.grade import child
from handgrad.checks.grade.child import OUTPUT, WALL, run_limited
from handgrad.checks.grade.runner import child_environment


def _run(code: str, tmp_path: Path, wall: float = 60.0, cap: int = 1 << 16):
    return run_limited(
        [sys.executable, "-c", code],
        wall_seconds=wall,
        output_bytes=cap,
        cwd=tmp_path,
        env=child_environment(tmp_path),
    )


def _limited(code: str, cpu: float = 1, memory: float = 1024, write: float = 1) -> str:
    """``code`` run after the child limits itself as the grader's worker does."""
    return (
        f"from handgrad.checks.grade.limits import apply; apply({cpu}, {memory}, {write})\n" + code
    )


def test_output_and_exit_code_come_back(tmp_path: Path) -> None:
    run = _run("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)", tmp_path)
    assert (run.returncode, run.stdout, run.stderr, run.stopped) == (3, b"out\n", b"err\n", None)


def test_wall_time_limit_kills_the_whole_group(tmp_path: Path) -> None:
    # the child starts a grandchild that would outlive it, then sleeps; both are killed
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    start = time.monotonic()
    run = _run(code, tmp_path, wall=1.5)
    assert run.stopped == WALL and run.returncode == -signal.SIGKILL
    assert time.monotonic() - start < 10
    grandchild = int(run.stdout.split()[0])
    time.sleep(0.2)
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in _state(grandchild)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "Z"


def test_output_flood_is_cut_at_the_cap(tmp_path: Path) -> None:
    run = _run("import sys\nwhile True:\n    sys.stdout.write('x' * 1000)\n", tmp_path, cap=50_000)
    assert run.stopped == OUTPUT
    assert len(run.stdout) + len(run.stderr) == 50_000


def test_closed_pipes_do_not_hide_an_endless_loop(tmp_path: Path) -> None:
    run = _run("import os\nos.close(1); os.close(2)\nwhile True:\n    pass\n", tmp_path, wall=1)
    assert run.stopped == WALL


def test_cpu_limit_stops_an_endless_loop(tmp_path: Path) -> None:
    run = _run(_limited("while True:\n    pass\n", cpu=1), tmp_path)
    assert run.returncode == -signal.SIGXCPU and run.stopped is None


def test_memory_limit_makes_a_huge_allocation_fail(tmp_path: Path) -> None:
    code = _limited("try:\n    b = bytearray(20 * 10**9)\nexcept MemoryError:\n    print('no')\n")
    run = _run(code, tmp_path)
    assert (run.returncode, run.stdout) == (0, b"no\n")


def test_file_size_limit_stops_a_huge_write(tmp_path: Path) -> None:
    run = _run(_limited("open('big', 'wb').write(b'x' * 5_000_000)", write=1), tmp_path)
    assert run.returncode == 1 and b"File too large" in run.stderr  # Python ignores SIGXFSZ
    assert (tmp_path / "big").stat().st_size <= 1024 * 1024


def test_stop_all_kills_the_running_children(tmp_path: Path) -> None:
    runs = []
    worker = threading.Thread(
        target=lambda: runs.append(_run("import time; time.sleep(60)", tmp_path, wall=60))
    )
    worker.start()
    deadline = time.monotonic() + 10
    while not child._live and time.monotonic() < deadline:
        time.sleep(0.01)
    child.stop_all()  # what the grader does on Ctrl-C
    worker.join(timeout=10)
    assert not worker.is_alive() and runs[0].returncode == -signal.SIGKILL
