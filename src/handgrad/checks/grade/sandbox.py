"""Where a submission's code runs: one sandbox per submission, and how it is started.

Three isolations (`ISOLATIONS`), chosen once per grading run by `prepare`:

``bwrap`` (the default) — bubblewrap (Debian package ``bubblewrap``) with new user, PID,
    network, IPC, UTS and cgroup namespaces, a cleared environment, and a filesystem
    holding only: the Python runtime (its standard library; every ``site-packages`` and
    ``dist-packages`` folder hidden), the system's shared libraries, NumPy at ``/site``,
    the harness at ``/harness`` (`harness` and the standalone modules it imports),
    the submission's scratch copy at ``/submission`` (read-only) and a private tmpfs at
    ``/tmp`` (the only writable place, size-capped: the root and /dev are remounted
    read-only, so no unbounded tmpfs is left to fill memory with). No other submission, no OUT, no
    rubric, no home folder. ``--die-with-parent`` and the PID namespace end every
    descendant with the harness: nothing outlives its grade.
``user`` — for containers that refuse namespaces (Gradescope's): the harness runs as a
    separate unprivileged user (`SANDBOX_USER`, else ``nobody``; its interpreter
    `SANDBOX_PYTHON`, else the grader's, must be readable by that user) in its own session, with
    a private HOME/TMPDIR, NumPy copied to a folder of its own (so the grader's
    site-packages need not be readable), and every process of that user killed after
    each submission. The grader must run as root and keep what it owns unreadable to
    others (the Gradescope bundle does). No network isolation.
``none`` — ``--trusted``: a plain child process as the grader's user (one's own files).

In every isolation the harness limits its CPU time, memory and file size itself before
the submission's code runs, and the grader enforces the wall time and the output cap
(`session`). `prepare` fails with one line naming what is missing (the package, root).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from handgrad.errors import HandgradError
from handgrad.sweep.backends import thread_env

ISOLATIONS = ("bwrap", "user", "none")
HARNESS_FILES = {  # name in the sandbox: module it is copied from
    "harness.py": "handgrad.checks.grade.harness",
    "wire.py": "handgrad.checks.grade.wire",
    "limits.py": "handgrad.checks.grade.limits",
    "call.py": "handgrad.checks.doctor.call",
    "source.py": "handgrad.checks.doctor.source",
    "notebook.py": "handgrad.checks.notebook",
}
DESCRIPTIONS = {
    "bwrap": "bubblewrap sandbox (new user, PID, network and IPC namespaces)",
    "user": "separate unprivileged user (no namespaces, no network isolation)",
    "none": "trusted: no sandbox (--trusted)",
}
SANDBOX_USER = "HANDGRAD_SANDBOX_USER"
SANDBOX_PYTHON = "HANDGRAD_SANDBOX_PYTHON"
TMPFS_BYTES = 64 * 1024 * 1024
SUBMISSION = "/submission"


@dataclass(frozen=True)
class Sandbox:
    """How this run starts a submission's harness (see the module doc)."""

    isolation: str
    root: Path  # the run's private folder: harness/, site/ (user isolation)
    python: str  # the interpreter, real path
    site: Path  # the folder holding numpy (and allowed packages)
    binds: tuple[tuple[str, str], ...] = field(default=())  # (host, sandbox) for /site

    @property
    def harness(self) -> Path:
        return self.root / "harness"

    def describe(self) -> str:
        return DESCRIPTIONS[self.isolation]


def prepare(isolation: str, root: Path, allowed: tuple[str, ...] = ()) -> Sandbox:
    """Set up ``isolation`` for a run in ``root``, an empty folder only the grader can
    write (one line if it can't)."""
    if isolation not in ISOLATIONS:
        raise HandgradError(f"unknown isolation {isolation!r}; choose one of bwrap, user, none")
    harness = root / "harness"
    harness.mkdir()
    for name, module in HARNESS_FILES.items():
        shutil.copyfile(importlib.util.find_spec(module).origin, harness / name)
    python = os.path.realpath(sys.executable)
    packages = ("numpy", *allowed)
    dirs = _package_dirs(packages)
    if isolation == "bwrap":
        _check_bwrap(python)
        binds = tuple((str(d), f"/site/{d.name}") for d in dirs)
        sandbox = Sandbox(isolation, root, python, Path("/site"), binds)
    elif isolation == "user":
        if os.geteuid() != 0:
            raise HandgradError(
                "--isolation user runs submissions as another user and needs root; "
                "install bubblewrap (Debian package 'bubblewrap') or grade as root"
            )
        site = root / "site"
        for d in dirs:
            shutil.copytree(d, site / d.name, symlinks=True)
        os.chmod(root, 0o711)  # the sandbox user may pass through, not list
        for path in (harness, site):
            os.chmod(path, 0o755)
        _readable(root)
        python = os.environ.get(SANDBOX_PYTHON) or python
        _check_user_python(python, site)
        sandbox = Sandbox(isolation, root, python, site)
    else:
        site = root / "site"
        site.mkdir()
        for d in dirs:
            (site / d.name).symlink_to(d)
        sandbox = Sandbox(isolation, root, python, site)
    return sandbox


def resolve(isolation: str) -> str:
    """``auto``: bwrap where it works, else user where the grader is root."""
    if isolation != "auto":
        return isolation
    if shutil.which("bwrap") and _bwrap_works(os.path.realpath(sys.executable)):
        return "bwrap"
    return "user" if os.geteuid() == 0 else "bwrap"


def _package_dirs(packages: tuple[str, ...]) -> list[Path]:
    dirs = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise HandgradError(f"rubric: sandbox.allow_imports: no installed package {name!r}")
        d = Path(next(iter(spec.submodule_search_locations))).resolve()
        dirs.append(d)
        libs = d.with_name(f"{d.name}.libs")  # a manylinux wheel's bundled libraries
        if libs.is_dir():
            dirs.append(libs)
    return dirs


def _readable(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, 0o755 if os.access(p, os.X_OK) else 0o644)


def _check_bwrap(python: str) -> None:
    if shutil.which("bwrap") is None:
        raise HandgradError(
            "bubblewrap is not installed: install the Debian package 'bubblewrap' "
            "(apt-get install bubblewrap), or pass --trusted to grade your own files unsandboxed"
        )
    if not _bwrap_works(python):
        raise HandgradError(
            "bubblewrap cannot create namespaces here (a container refusing them?); "
            "use --isolation user as root, or --trusted for your own files"
        )


@functools.cache
def _bwrap_works(python: str) -> bool:
    """Whether bwrap can make its namespaces here (tried once per process)."""
    argv = ["bwrap", *system_binds(python), "--unshare-all", "--", python, "-I", "-S", "-c", ""]
    try:
        return subprocess.run(argv, capture_output=True, timeout=30, env={}).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def system_binds(python: str) -> list[str]:
    """bwrap arguments for the Python runtime and shared libraries, read-only, with every
    site-packages/dist-packages folder hidden (so no installed library but NumPy imports)."""
    args: list[str] = []
    for top in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    prefix = os.path.realpath(sys.base_prefix)
    if not prefix.startswith("/usr/"):
        args += ["--ro-bind", prefix, prefix]
    for d in (
        *_package_folders(prefix),
        *_package_folders("/usr"),
        *_package_folders("/usr/local"),
    ):
        args += ["--tmpfs", d]
    if os.path.exists("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def _package_folders(prefix: str) -> list[str]:
    found = []
    for lib in ("lib", "lib64"):
        base = Path(prefix) / lib
        if not base.is_dir():
            continue
        for py in base.glob("python3*"):
            for sub in ("site-packages", "dist-packages"):
                if (py / sub).is_dir():
                    found.append(str(py / sub))
    if prefix == "/usr" and Path("/usr/lib/python3/dist-packages").is_dir():
        found.append("/usr/lib/python3/dist-packages")
    purelib = sysconfig.get_paths().get("purelib", "")
    if purelib.startswith(prefix + "/") and Path(purelib).is_dir() and purelib not in found:
        found.append(purelib)
    return found


def environment(home: str) -> dict[str, str]:
    """The whole environment of a harness: nothing of the grader's."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        **thread_env(1),
    }


@dataclass(frozen=True)
class Launch:
    """What `subprocess.Popen` needs to start one submission's harness."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    user: int | None = None
    group: int | None = None


def launch(sb: Sandbox, scratch: Path, file: Path, args: list[str]) -> Launch:
    """Start the harness on ``file`` (relative to ``scratch/submission``) with ``args``
    (its limits: CPU seconds, memory MB, file MB), and the count of processes its user
    has now (for its process limit).

    ``scratch`` is the submission's private host folder: ``submission/`` (its copy) and,
    outside bwrap, ``home/`` (its writable place).
    """
    work = scratch / "submission"
    uid = sandbox_user()[0] if sb.isolation == "user" else os.getuid()
    args = [*args, str(len(processes_of(uid)))]
    if sb.isolation == "bwrap":
        argv = [
            "bwrap",
            *system_binds(sb.python),
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--uid",
            "65534",
            "--gid",
            "65534",
            "--hostname",
            "sandbox",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            *(x for k, v in environment("/tmp").items() for x in ("--setenv", k, v)),
            *(x for host, inside in sb.binds for x in ("--ro-bind", host, inside)),
            "--ro-bind",
            str(sb.harness),
            "/harness",
            "--ro-bind",
            str(work),
            SUBMISSION,
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--size",
            str(TMPFS_BYTES),
            "--tmpfs",
            "/tmp",
            "--remount-ro",  # /dev's tmpfs (and /dev/shm): no memory to fill there
            "/dev",
            "--remount-ro",  # the sandbox's root: /tmp is the one writable place
            "/",
            "--chdir",
            "/tmp",
            "--",
            sb.python,
            "-I",
            "-S",
            "/harness/harness.py",
            "/site",
            *args,
            f"{SUBMISSION}/{file.as_posix()}",
        ]
        return Launch(argv, environment("/tmp"), str(scratch))
    home = scratch / "home"
    home.mkdir()
    argv = [sb.python, "-I", "-S", str(sb.harness / "harness.py"), str(sb.site), *args]
    argv.append(str(work / file))
    if sb.isolation == "none":
        return Launch(argv, environment(str(home)), str(home))
    uid, gid = sandbox_user()
    os.chown(home, uid, gid)
    os.chmod(scratch, 0o711)
    _readable(work)
    os.chmod(work, 0o755)
    return Launch(argv, environment(str(home)), str(home), uid, gid)


def _check_user_python(python: str, site: Path) -> None:
    """One line, before anything runs, if the sandbox user cannot run Python with NumPy."""
    uid, gid = sandbox_user()
    code = f"import sys; sys.path.insert(0, {str(site)!r}); import numpy"
    try:
        run = subprocess.run(
            [python, "-I", "-S", "-c", code],
            user=uid,
            group=gid,
            extra_groups=[],
            cwd="/",
            env=environment("/"),
            capture_output=True,
            timeout=60,
        )
        said = (
            run.stderr.decode(errors="replace").strip().splitlines()[-1:] if run.returncode else []
        )
        ok = run.returncode == 0
    except (OSError, subprocess.SubprocessError) as e:
        ok, said = False, [str(e)]
    if not ok:
        raise HandgradError(
            f"the sandbox user (uid {uid}) cannot run {python} with NumPy "
            f"({' '.join(said) or 'failed'}); install Python where every user can read it, "
            f"or name such an interpreter in {SANDBOX_PYTHON}"
        )


def sandbox_user() -> tuple[int, int]:
    """The uid and gid submissions run as in the ``user`` isolation."""
    name = os.environ.get(SANDBOX_USER, "nobody")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise HandgradError(f"no user {name!r} to run submissions as; set {SANDBOX_USER}") from None
    if entry.pw_uid == 0:
        raise HandgradError(f"{SANDBOX_USER}={name} is root; name an unprivileged user")
    return entry.pw_uid, entry.pw_gid


def processes_of(uid: int) -> list[int]:
    """The ids of the processes of ``uid`` now (from /proc)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.stat(entry.path).st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def kill_user_processes(uid: int) -> None:
    """SIGKILL every process of ``uid`` (the user isolation's "nothing outlives its grade")."""
    for _ in range(3):
        pids = processes_of(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
