"""Running two parts of a pass at once, one on the caller's thread and one on a worker
thread: only for speed.

The compiled kernels release the GIL (`handgrad.fast.compiled.jit`), so a kernel
called on the worker runs beside one called on the training thread, on the second core
that BLAS uses during the matrix products and that sits idle during the elementwise
passes and the optimiser update. Each element is computed by the same kernel either
way, so splitting a pass by rows or by elements changes no number (tests/fast prove it).

`both` runs serially where a second core would not help: one allowed core (the
benchmark's pinned rows), ``NUMBA_NUM_THREADS=1``, OpenBLAS's workers spinning long
after each product (`handgrad.blas_env.short_spin` false: NumPy imported before
handgrad, with OpenBLAS's default; a spinning worker holds the second core), or a
worker already busy with another thread's call.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

# A pass over fewer elements than this is not split: the hand-over (tens of µs) would
# cost more than the second core saves.
SPLIT_MIN = 1 << 15


def cores() -> int:
    """Cores this process may use for a pass: its affinity, capped by $NUMBA_NUM_THREADS."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    cap = os.environ.get("NUMBA_NUM_THREADS", "")
    return min(n, int(cap)) if cap.isdigit() and int(cap) > 0 else n


class _Worker:
    """One daemon thread that runs one call at a time, handed over with two locks."""

    def __init__(self) -> None:
        self.go, self.done, self.busy = threading.Lock(), threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.task: tuple[Callable, tuple] | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self._serve, name="handgrad-pair", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self.go.acquire()
            fn, args = self.task  # type: ignore[misc]
            self.task = None
            try:
                fn(*args)
            except BaseException as error:  # re-raised on the caller's thread
                self.error = error
            self.done.release()


_worker: _Worker | None = None
_enabled: bool | None = None
_start_lock = threading.Lock()


def _reset_after_fork() -> None:
    global _worker, _start_lock
    _worker, _start_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def enabled() -> bool:
    """True if `both` runs its two calls at once here (more than one core, and BLAS
    workers that sleep soon after a product)."""
    global _enabled
    if _enabled is None:
        from handgrad.blas_env import short_spin

        _enabled = cores() > 1 and short_spin()
    return _enabled


def both(here: Callable, here_args: tuple, there: Callable, there_args: tuple) -> None:
    """``there(*there_args)`` on the worker thread while ``here(*here_args)`` runs on this
    one; returns when both are done (an error of either is raised here). The two calls
    must not write the same memory."""
    if not (enabled() and _run_at_once(here, here_args, there, there_args)):
        there(*there_args)
        here(*here_args)


def at_once(here: Callable, here_args: tuple, there: Callable, there_args: tuple) -> bool:
    """As `both`, for two calls that wait for each other (`handgrad.fast.sync.meet`),
    which run one after the other would never return: runs them only if they can run at
    the same time (a second allowed core, the worker free) and returns True; else runs
    nothing and returns False. OpenBLAS's spin does not matter to such calls, whose
    products run on their own thread each."""
    return cores() > 1 and _run_at_once(here, here_args, there, there_args)


def _run_at_once(here: Callable, here_args: tuple, there: Callable, there_args: tuple) -> bool:
    """Both calls at once on this thread and the worker; False (nothing run) if the
    worker is busy with another thread's call."""
    global _worker
    if _worker is None:
        with _start_lock:
            if _worker is None:
                _worker = _Worker()
    worker = _worker
    if not worker.busy.acquire(blocking=False):  # another thread is using it
        return False
    try:
        worker.task = (there, there_args)
        worker.go.release()
        try:
            here(*here_args)
        finally:
            worker.done.acquire()
        if worker.error is not None:
            error, worker.error = worker.error, None
            raise error
    finally:
        worker.busy.release()
    return True


# A compiled loop whose steps have fewer multiply-adds than this runs on one thread: its
# two threads' meeting once per step (`handgrad.fast.sync.meet`) would cost more than the
# second core saves.
STEP_SPLIT_MIN_MACS = 1 << 17


def split_steps(run: Callable[[int, bool], int], macs: int) -> tuple[int, bool]:
    """``run(me, pair)`` — a compiled loop of training steps each split in two halves
    (me = 0 or 1) that meet once per step — on two threads at once where a step has at
    least `STEP_SPLIT_MIN_MACS` multiply-adds and `at_once` can run them, else
    ``run(0, False)`` (both halves on this thread). Either way each BLAS call inside
    runs on the thread making it (`handgrad.fast.blas.one_thread`). Returns (what
    thread 0's run returned, whether two threads ran)."""
    from handgrad.fast.blas import one_thread

    with one_thread():
        if macs >= STEP_SPLIT_MIN_MACS:
            result = [0]

            def here() -> None:
                result[0] = run(0, True)

            if at_once(here, (), run, (1, True)):
                return result[0], True
        return run(0, False), False
