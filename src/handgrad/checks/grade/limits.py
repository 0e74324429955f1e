"""The resource limits of one submission's process, and how the process applies them.

A submission runs in a child process (`handgrad.checks.grade.child`) that the grader
watches from outside: it enforces ``wall_seconds`` (kills the process group) and
``output_kb`` (reads stdout and stderr with a byte cap, kills on excess). The child
enforces the rest on itself, with `apply` run before it loads the submission:

    cpu_seconds   RLIMIT_CPU: SIGXCPU at the limit, SIGKILL a second later
    memory_mb     RLIMIT_AS: any allocation beyond it fails (MemoryError in Python)
    write_mb      RLIMIT_FSIZE: no file may grow beyond it (Python, which ignores
                  SIGXFSZ, raises OSError "File too large")
    (core dumps)  RLIMIT_CORE = 0: a killed process leaves no core file
    (processes)   RLIMIT_NPROC: at most `EXTRA_PROCESSES` more processes of this user
                  than exist when the submission starts (no fork bomb)

Standalone (the standard library only): the harness applies them inside the sandbox
(`handgrad.checks.grade.sandbox`), which is what keeps a submission from the grader's
files, the network and its classmates.
"""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass, fields

MIB = 1024 * 1024
EXTRA_PROCESSES = 64


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; every field is a positive number (see the module doc)."""

    wall_seconds: float = 120.0
    cpu_seconds: float = 60.0
    memory_mb: float = 2048.0
    output_kb: float = 1024.0
    write_mb: float = 16.0

    @property
    def output_bytes(self) -> int:
        """How many bytes stdout and stderr together may carry."""
        return int(self.output_kb * 1024)

    def process_args(self) -> list[str]:
        """The CPU, memory and file-size limits as the arguments `apply` is run with in
        the child process (the harness, the report reader)."""
        return [str(v) for v in (self.cpu_seconds, self.memory_mb, self.write_mb)]

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def apply(
    cpu_seconds: float, memory_mb: float, write_mb: float, processes: int | None = None
) -> None:
    """Limit the calling process: CPU time, address space, file size, no core dumps, and
    (``processes``: the user's count now, from outside) how many more processes."""
    cpu = max(1, round(cpu_seconds))
    _lower(resource.RLIMIT_CPU, cpu, cpu + 1)
    memory = int(memory_mb * MIB)
    _lower(resource.RLIMIT_AS, memory, memory)
    size = int(write_mb * MIB)
    _lower(resource.RLIMIT_FSIZE, size, size)
    _lower(resource.RLIMIT_CORE, 0, 0)
    if processes is not None:
        most = processes + EXTRA_PROCESSES
        _lower(resource.RLIMIT_NPROC, most, most)


def _lower(kind: int, soft: int, hard: int) -> None:
    """Set a limit, never above the hard limit the process already has (that would fail)."""
    _, current = resource.getrlimit(kind)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(kind, (soft, hard))
