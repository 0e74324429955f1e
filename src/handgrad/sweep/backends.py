"""Where trials run: a local process pool, or Ray tasks on a cluster.

Both backends take the same trials and yield a `TrialResult` per trial as it finishes,
in completion order. Each trial runs `handgrad.sweep.trials.run_trial` in a worker
process whose BLAS/OpenMP libraries are limited to ``threads`` threads (set in the
environment before the worker imports NumPy), so N parallel trials do not
oversubscribe the cores. A trial is deterministic given its seed, so both backends
produce the same numbers.

local  `concurrent.futures.ProcessPoolExecutor` with the "spawn" start method. Workers
       ignore Ctrl-C; the driver, on Ctrl-C or SIGTERM, cancels what has not started
       and sends SIGTERM to the workers, whose runs stop at once with their last
       epoch's checkpoint intact (`handgrad.training.loop.run_epochs`).
ray    one Ray task (1 CPU) per trial, on the cluster at ``address`` or on a local Ray
       instance started for the sweep. The sweep folder and the data must be on a
       filesystem every node sees at the same path, and handgrad installed on every
       node. Ray is optional (``pip install 'handgrad[ray]'``) and imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from handgrad.errors import HandgradError
from handgrad.sweep.trials import Trial, TrialResult, run_trial

BACKENDS = ("local", "ray")
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
RAY_MISSING = "the ray backend needs Ray; install it with pip install 'handgrad[ray]'"


def default_jobs() -> int:
    """Parallel trials by default: one per core available to this process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that limit NumPy's BLAS/OpenMP pools to ``threads``."""
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Within the block, ``os.environ`` has ``values`` (restored after)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _ignore_sigint() -> None:
    """Pool worker initializer: Ctrl-C is the driver's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while workers are spawned, so they start with it ignored.

    (The initializer alone leaves a window: a worker still importing would die with a
    traceback.) Only possible in the main thread; elsewhere the initializer does it.
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _trial_in_worker(trial: Trial, out: str, data_dir: str | None) -> TrialResult:
    """`run_trial` in a pool worker; a SIGTERM (the driver stopping) ends the worker.

    The run stops at once with its last checkpoint intact, and the worker exits rather
    than take the next queued trial.
    """
    try:
        return run_trial(trial, out, data_dir)
    except KeyboardInterrupt:
        os._exit(128 + signal.SIGTERM)


def run_local(
    trials: list[Trial], out: str, data_dir: str | None, jobs: int
) -> Iterator[TrialResult]:
    """Run ``trials`` on ``jobs`` worker processes of this machine; yield their results."""
    if not trials:
        return
    jobs = max(1, min(jobs, len(trials)))
    threads = max(1, default_jobs() // jobs)
    with _environment(thread_env(threads)), _sigint_ignored():  # inherited by the workers
        executor = ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint
        )
        futures: dict[Future, Trial] = {
            executor.submit(_trial_in_worker, t, out, data_dir): t for t in trials
        }
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield _local_result(future, futures[future])
    except BaseException:  # Ctrl-C, SIGTERM, or the consumer stopped early
        _terminate_workers(executor)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _local_result(future: Future, trial: Trial) -> TrialResult:
    try:
        return future.result()
    except BrokenProcessPool:  # killed (out of memory?) or stopped by SIGTERM
        died = "a worker process died (killed or out of memory?); run the sweep again"
        return TrialResult(trial.id, "failed", 0.0, error=died)


def _terminate_workers(executor: ProcessPoolExecutor) -> None:
    """SIGTERM every worker process: a running trial stops after its last checkpoint.

    The executor has no public way to do this before Python 3.14's terminate_workers.
    """
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(ProcessLookupError, AttributeError):
            process.terminate()


def import_ray() -> Any:
    """The ``ray`` module, or a one-line `HandgradError` saying how to install it.

    Ray's ``uv run`` hook (workers re-run the driver's ``uv run`` command, which fails
    outside the project folder) is turned off unless RAY_ENABLE_UV_RUN_RUNTIME_ENV is
    set: workers use this Python, which already has handgrad.
    """
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # read when ray is imported
    try:
        import ray
    except ImportError:
        raise HandgradError(RAY_MISSING) from None
    return ray


def run_ray(
    trials: list[Trial],
    out: str,
    data_dir: str | None,
    *,
    address: str | None = None,
    jobs: int | None = None,
) -> Iterator[TrialResult]:
    """Run each trial as a Ray task; yield results as they finish.

    Connects to the cluster at ``address`` ("auto": the one started on this machine
    with ``ray start``), or starts a local instance with ``jobs`` CPUs (default: all)
    when ``address`` is None; an already initialised Ray is used as it is. Only a Ray
    started here is shut down at the end.
    """
    ray = import_ray()
    if not trials:
        return
    started = not ray.is_initialized()
    if started:
        options: dict[str, Any] = {"address": address, "logging_level": logging.ERROR}
        if address is None:
            options.update(num_cpus=jobs or default_jobs(), include_dashboard=False)
        try:
            with _environment(thread_env(1)):  # inherited by a local instance's workers
                ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as e:
            what = f"connect to Ray at {address}" if address else "start a local Ray instance"
            message = " ".join(str(e).split())[:200]
            raise HandgradError(f"cannot {what} ({message}); check --address") from None
    task = ray.remote(num_cpus=1, max_retries=0)(run_trial)
    if address is not None:  # a cluster's workers get the limit through the runtime env
        task = task.options(runtime_env={"env_vars": thread_env(1)})
    refs = {task.remote(t, out, data_dir): t for t in trials}
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield _ray_result(ray, done[0], refs[done[0]])
    except BaseException:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref)  # SIGINT to a running task: it stops after its checkpoint
        raise
    finally:
        if started:
            ray.shutdown()


def _ray_result(ray: Any, ref: Any, trial: Trial) -> TrialResult:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as e:
        message = " ".join(str(e).split())[:300]
        return TrialResult(trial.id, "failed", 0.0, error=f"Ray: {message}")
