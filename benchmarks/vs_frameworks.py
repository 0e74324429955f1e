"""handgrad vs PyTorch and JAX (CPU), side by side: same data, machine and batch order.

    uv run python benchmarks/vs_frameworks.py [--epochs 3] [--only mlp|vae|multitask]
                                              [--repeat 1] [--data-dir DIR] [--markdown]
                                              [--train-cli]

Cases (each trained for ``--epochs`` timed epochs; the median epoch is reported):

* ``mlp``: the reference run, 784-50-10 ReLU MLP on MNIST, SGD lr 0.1, batch 16;
  also run as a hand-fused plain-NumPy loop (the practical limit of NumPy at batch 16).
* ``vae``: the MNIST VAE 784-400-20-400-784 (Bernoulli decoder), Adam 1e-3, batch 128.
* ``multitask``: the multi-task network of the derivation at a realistic size (n=64
  inputs, h=256 task-A hidden units, a=16 task-A outputs, b=10 classes, dropout 0.5) on
  60 000 synthetic rows (`handgrad.data.multitask`), SGD lr 0.05, batch 64.

Equal work: every implementation starts from handgrad's initial weights, visits the
batches in the same order, and computes the per-step loss (and, for the MLP, accuracy)
the same way; the table shows each one's final loss / accuracy to prove it.

Every (case, implementation) runs in its own subprocess so that its peak memory is its
own: ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the peak resident set of the
process. We use it rather than tracemalloc because tracemalloc only sees allocations
made through Python's allocator (NumPy's arrays, but not PyTorch's C++ allocator nor
either library's own code and buffers), so it could not compare the two frameworks; the
RSS includes the interpreter, the libraries and the dataset, which the table lists
separately as the peak before training started ("setup").

Every implementation is timed on one core and on all the cores this process may use,
and the faster of the two is the one the ratios use ("best PyTorch", "best handgrad"):
on a busy machine a 2-thread BLAS or OpenMP pool can be many times slower than 1 thread.
The one-core worker is pinned by process affinity (``os.sched_setaffinity`` in the
child, before the interpreter starts, so before any framework is imported): thread
flags alone do not pin XLA, whose "1 thread" setting still used both cores. It also
gets one-thread pools, so none of them oversubscribes its core: PyTorch
``torch.set_num_threads(1)``; OPENBLAS_NUM_THREADS=1 (and MKL/OMP/Numba) in the
environment; XLA's single-threaded CPU flags. Rows are labelled by the cores the
worker was allowed, as it reports them (``os.sched_getaffinity``). handgrad runs with
each engine (``numpy``, the readable formulas; ``fused``, the compiled kernels of
`handgrad.fast`). JAX runs twice more: a jitted step per batch and
a whole-epoch ``lax.scan``; "best JAX" is the fastest of its four runs, and its compile
time is reported apart (``compile s``), not in the epochs (`_jax_cases`).

The arithmetic lower bound is the FLOPs of one epoch's matrix products (forward,
weight gradients and the input gradients training needs) divided by the GEMM throughput
this machine measures on a large float32 matrix product: no implementation can beat it.
For the VAE, each handgrad worker's epoch is split into estimated parts
(`vae_breakdown`): the matrix products timed alone at their shapes, the optimiser's
calls timed inside the loop (not apart in a compiled loop), the per-step overhead as
the same number of steps of a tiny VAE, and the elementwise and memory work as what
remains.

``--train-cli`` measures what users run: ``handgrad train vae --dataset mnist`` for
``--epochs`` epochs with ``--engine fused`` and ``--engine numpy``, back to back right
after the VAE's workers, and compares the ``seconds`` of its ``metrics.jsonl``
(evaluation excluded) with the benchmark's median epoch for the same engine on all
cores, as the command runs.

PyTorch and JAX are not dependencies of handgrad; install them into the venv to run
this script: ``uv pip install --find-links /opt/wheels torch==2.13.0`` and
``uv pip install "jax[cpu]==0.10.2"``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SEED = 0
RESULT_TAG = "RESULT "
PEERS_MISSING = (
    "{missing} not installed in this environment; install them (they are not handgrad "
    "dependencies) with:\n    uv pip install --find-links /opt/wheels torch==2.13.0\n"
    '    uv pip install "jax[cpu]==0.10.2"'
)
PEER_MODULES = {"torch": "PyTorch", "jax": "JAX"}


@dataclass(frozen=True)
class Case:
    """One benchmark: what is trained, how, and the targets: the best handgrad over the
    best of a peer ("torch", "jax", or "peers": the faster of the two) at most this."""

    name: str
    title: str
    batch_size: int
    lr: float
    layers: tuple[tuple[int, int], ...]  # (in, out) of each matrix product, in forward order
    no_input_grad: tuple[int, ...]  # layers fed with data: training needs no ∂L/∂x there
    targets: tuple[tuple[str, float], ...]
    metrics: tuple[str, ...]


CASES: dict[str, Case] = {
    "mlp": Case(
        "mlp",
        "MLP 784-50-10, SGD 0.1, batch 16",
        16,
        0.1,
        ((784, 50), (50, 10)),
        (0,),
        (("torch", 0.2), ("jax", 0.8)),
        ("train_loss", "test_acc"),
    ),
    "vae": Case(
        "vae",
        "VAE 784-400-20-400-784, Adam 1e-3, batch 128",
        128,
        1e-3,
        ((784, 400), (400, 40), (20, 400), (400, 784)),
        (0,),
        (("peers", 1.0),),  # issue 24: level with the faster peer (0.8 the stretch)
        ("train_loss",),
    ),
    "multitask": Case(
        "multitask",
        "multi-task n64 h256 a16 b10, SGD 0.05, batch 64",
        64,
        0.05,
        ((64, 256), (256, 16), (64, 16), (16, 10)),
        (0, 2),
        (("peers", 0.5),),
        ("train_loss",),
    ),
}
MULTITASK_SIZES = {"n_features": 64, "n_hidden": 256, "n_targets": 16, "n_classes": 10}
MULTITASK_ROWS = 60_000

FRAMEWORKS = {
    "handgrad": "handgrad, numpy engine",
    "fused": "handgrad, fused engine",
    "numpy": "hand-fused NumPy loop",
    "floor": "NumPy floor: products + optimiser update only",
    "torch": "PyTorch",
    "jaxstep": "JAX, jit per step",
    "jaxscan": "JAX, lax.scan per epoch",
}
THREAD_SETTINGS = ("1", "default")  # "1": pinned to one core; "default": every allowed core
# Environment of a one-core worker: BLAS (OpenBLAS, MKL), OpenMP, Numba and XLA pools of
# one thread.
ONE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


# --- data and the handgrad models (shared by every implementation) -------------------------
def default_data_dir() -> str | None:
    """$HANDGRAD_DATA, else ../shared/data next to the repository if it exists."""
    if os.environ.get("HANDGRAD_DATA"):
        return os.environ["HANDGRAD_DATA"]
    shared = REPO.parent / "shared" / "data"
    return str(shared) if shared.is_dir() else None


def load_case_data(case: Case, data_dir: str | None):
    if case.name == "multitask":
        from handgrad.data.multitask import make_multitask

        s = MULTITASK_SIZES
        return make_multitask(
            MULTITASK_ROWS,
            s["n_features"],
            s["n_targets"],
            s["n_classes"],
            test_fraction=1 / 6,
            seed=SEED,
        )
    from handgrad.data.mnist import load_dataset

    return load_dataset("mnist", data_dir, download=False)


def n_train(case: Case, data) -> int:
    return data.x_train.shape[0] if case.name == "multitask" else data.train.x.shape[0]


def build_handgrad_model(case: Case, data):
    """The handgrad model of the case, seeded; PyTorch and NumPy copy its initial weights."""
    if case.name == "mlp":
        from handgrad.experiments.mlp import MLPConfig, build_model

        return build_model(MLPConfig(seed=SEED), 784, 10)
    if case.name == "vae":
        from handgrad.models.vae import VAE

        return VAE(784, 20, (400,), decoder="bernoulli", rng=np.random.default_rng(SEED))
    from handgrad.models.multitask import MultiTaskNet

    s = MULTITASK_SIZES
    return MultiTaskNet(
        s["n_features"], s["n_hidden"], s["n_targets"], s["n_classes"], seed=SEED, dtype=np.float32
    )


def shuffle_rng() -> np.random.Generator:
    """The batch-order Generator of every implementation (as `train_mlp` seeds it)."""
    return np.random.default_rng([SEED, 1])


def epoch_orders(n: int, epochs: int) -> list[np.ndarray]:
    """The permutation of each epoch, exactly as `handgrad.training.batching.minibatches`
    draws them."""
    rng = shuffle_rng()
    return [rng.permutation(n) for _ in range(epochs)]


# --- handgrad ------------------------------------------------------------------------------
def run_handgrad(case: Case, data, model, epochs: int, engine: str = "numpy") -> dict:
    """Train with handgrad's own epoch loops (`handgrad.experiments`), optimisers and the
    given engine's training step (`handgrad.fast.engine`). With ``fused``, one untimed
    step of a copy of the model first loads (or, with an empty cache, compiles) the
    kernels: its seconds are ``compile_seconds``.

    The VAE runs the library's own epoch (`handgrad.experiments.vae._train_epoch`, the
    loop ``handgrad train vae`` runs) with ε from the model's own Generator (the
    library draws it from the shuffling one, which would change the batch order), and
    times the optimiser's updates apart where it steps batch by batch.
    """
    from handgrad.fast import engine as engines

    eng, extra = engines.get(engine), {}
    if engine == "fused":
        extra["compile_seconds"] = _warm_up(case, data, model, eng)
    if case.name == "mlp":
        return {**extra, **_handgrad_mlp(case, data, model, epochs, eng)}
    step = eng.step(model, None, case_optimizer(case, model))
    rng, seconds, loss = shuffle_rng(), [], 0.0
    if case.name == "multitask":
        from handgrad.experiments.multitask import train_epoch

        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            loss = train_epoch(step, data, case.batch_size, rng, epoch, None)
            seconds.append(time.perf_counter() - start)
        return {**extra, "seconds": seconds, "train_loss": loss}

    from handgrad.experiments.vae import _train_epoch

    x = data.train.x
    spent, optimiser = _time_updates(step), []
    for _ in range(epochs):
        start, before = time.perf_counter(), spent[0]
        terms = _train_epoch(step, x, case.batch_size, rng, noise=model.rng)
        seconds.append(time.perf_counter() - start)
        optimiser.append(spent[0] - before)
        loss = terms["train_neg_elbo"]
    steps = -(-x.shape[0] // case.batch_size)
    parts = vae_breakdown(case, eng, steps, seconds, optimiser if step_by_step(step) else None)
    return {**extra, "seconds": seconds, "train_loss": loss, "parts": parts}


def step_by_step(step) -> bool:
    """True if ``step`` trains batch by batch, calling its optimiser once per step (False:
    a compiled loop over many steps, `handgrad.fast.Step.train_chunk`)."""
    return not step.compiled_chunks()


def _time_updates(step) -> list[float]:
    """Wrap ``step``'s optimiser update in a timer: the returned list's one number grows
    by the seconds of each update (a compiled loop over many steps calls none)."""
    spent, update = [0.0], step._update

    def timed(optimizer, seed):
        start = time.perf_counter()
        update(optimizer, seed)
        spent[0] += time.perf_counter() - start

    step._update = timed
    return spent


def case_optimizer(case: Case, model):
    """The case's optimiser of ``model``: Adam for the VAE, plain SGD otherwise."""
    from handgrad.optim import SGD, Adam

    return (Adam if case.name == "vae" else SGD)(model.parameters(), lr=case.lr)


def vae_breakdown(case: Case, engine, steps: int, seconds, optimiser, repeats: int = 3) -> dict:
    """Estimated seconds of one epoch's parts (medians over epochs or ``repeats``):

    * ``products``: the case's matrix products alone, at their shapes (`run_products`);
    * ``optimiser``: the epoch's optimiser steps, timed inside the training loop; None
      (``optimiser`` None) for a compiled loop, whose updates cannot be timed apart;
    * ``overhead``: as many steps of a VAE 8-8-2-8-8 on 2 rows, trained by the same
      loop with the same engine: the per-step calls, with next to no arithmetic;
    * ``elementwise``: the rest of the epoch (elementwise chains, the batch gather, ε,
      and a compiled loop's updates).
    """
    from handgrad.experiments.vae import _train_epoch
    from handgrad.models.vae import VAE
    from handgrad.optim import Adam

    products = statistics.median(
        _timed(lambda: run_products(case, product_operands(case), steps)) for _ in range(repeats)
    )
    tiny = VAE(8, 2, (8,), decoder="bernoulli", rng=np.random.default_rng(SEED))
    step = engine.step(tiny, None, Adam(tiny.parameters()))
    xb = np.random.default_rng(SEED).random((2 * steps, 8), np.float32)
    rng = np.random.default_rng(SEED)

    def tiny_epoch() -> None:
        _train_epoch(step, xb, 2, rng)

    tiny_epoch()  # the kernels' first calls for these shapes
    overhead = statistics.median(_timed(tiny_epoch) for _ in range(repeats))
    epoch = statistics.median(seconds)
    opt = None if optimiser is None else statistics.median(optimiser)
    rest = epoch - products - (opt or 0.0) - overhead
    return {
        "epoch": epoch,
        "products": products,
        "elementwise": rest,
        "optimiser": opt,
        "overhead": overhead,
    }


def _warm_up(case: Case, data, model, engine) -> float:
    """Seconds of training a copy of the model on two rows, batch by batch and as one
    chunk (`handgrad.fast.Step.train_chunk`, a compiled loop where there is one): the
    kernels' loading from the disk cache, or their compilation."""
    import copy

    from handgrad.nn.losses import SoftmaxCrossEntropy

    start = time.perf_counter()
    twin = copy.deepcopy(model)
    loss = SoftmaxCrossEntropy() if case.name == "mlp" else None
    step = engine.step(twin, loss, case_optimizer(case, twin))
    kwargs = {"rng": np.random.default_rng(0)} if case.name == "vae" else {}
    if case.name == "mlp":
        rows = (data.train.x[:2], data.train.y[:2])
    elif case.name == "vae":
        rows = (data.train.x[:2],)
    else:
        rows = (data.x_train[:2], data.yA_train[:2], data.labels_train[:2])
    step.forward(*rows, **kwargs)
    step.update()
    step.train_chunk(rows, 2, np.arange(2) if step.gathers_rows else None, **kwargs)
    return time.perf_counter() - start


def _handgrad_mlp(case: Case, data, model, epochs: int, engine) -> dict:
    from tqdm import tqdm

    from handgrad.experiments.mlp import MLPConfig, _train_epoch, accuracy, build_optimizer
    from handgrad.nn.losses import SoftmaxCrossEntropy

    opt, _ = build_optimizer(MLPConfig(seed=SEED, lr=case.lr), model)
    step = engine.step(model, SoftmaxCrossEntropy(), opt)
    rng = shuffle_rng()
    x, y = data.train.x, data.train.y
    seconds, stats = [], {}
    for _ in range(epochs):
        with tqdm(total=-(-x.shape[0] // case.batch_size), disable=True) as bar:
            start = time.perf_counter()
            loss, acc = _train_epoch(step, x, y, case.batch_size, rng, bar)
            seconds.append(time.perf_counter() - start)
        stats = {"train_loss": loss, "train_acc": acc}
    return {"seconds": seconds, **stats, "test_acc": accuracy(model, data.test.x, data.test.y)}


# --- the hand-fused NumPy MLP ----------------------------------------------------------------
def run_numpy_mlp(case: Case, data, model, epochs: int) -> dict:
    """The MLP step written as one flat NumPy loop: no layers, lr folded into the gradient,
    in-place updates. The same per-step loss and accuracy bookkeeping as handgrad's loop."""
    lin1, lin2 = model.layers[0], model.layers[-1]
    W1, b1 = lin1.weight.data.copy(), lin1.bias.data.copy()
    W2, b2 = lin2.weight.data.copy(), lin2.bias.data.copy()
    x, y = data.train.x, data.train.y
    n, bs = x.shape[0], case.batch_size
    all_rows = np.arange(bs)
    seconds, stats = [], {}
    for order in epoch_orders(n, epochs):
        start = time.perf_counter()
        total, correct = 0.0, 0
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            xb, yb = x[idx], y[idx]
            m = idx.shape[0]
            rows = all_rows[:m]
            h = xb @ W1.T
            h += b1
            np.maximum(h, 0, out=h)
            z = h @ W2.T
            z += b2
            correct += np.count_nonzero(z.argmax(axis=1) == yb)
            z -= z.max(axis=1, keepdims=True)
            picked = z[rows, yb]
            np.exp(z, out=z)
            s = z.sum(axis=1)
            loss = float(np.log(s).sum() - picked.sum()) / m
            if not math.isfinite(loss):
                raise RuntimeError(f"NumPy MLP loss became {loss}")
            total += loss * m
            z /= s[:, None]
            z[rows, yb] -= 1
            z *= np.float32(case.lr / m)  # lr · ∂L/∂logits
            dh = z @ W2
            dh *= h > 0
            W2 -= z.T @ h
            b2 -= z.sum(axis=0)
            W1 -= dh.T @ xb
            b1 -= dh.sum(axis=0)
        seconds.append(time.perf_counter() - start)
        stats = {"train_loss": total / n, "train_acc": correct / n}
    h = np.maximum(data.test.x @ W1.T + b1, 0)
    pred = (h @ W2.T + b2).argmax(axis=1)
    return {"seconds": seconds, **stats, "test_acc": float((pred == data.test.y).mean())}


# --- the NumPy floor: products and update only -------------------------------------------------
def run_floor(case: Case, data, model, epochs: int) -> dict:
    """What an epoch costs if everything but the matrix products and the optimiser update
    were free: each step runs the case's products at their real shapes on random float32
    operands (forward, weight gradient, and ∂L/∂x except on data-fed layers) and then the
    handgrad optimiser's update of the model's parameters, as the library loop calls it."""
    from handgrad.fast import engine as engines

    rng = np.random.default_rng(SEED)
    steps = -(-n_train(case, data) // case.batch_size)
    layers = product_operands(case)
    for p in model.parameters():
        p.grad[...] = 1e-3 * rng.standard_normal(p.shape)
    step = engines.get("numpy").step(model, None, case_optimizer(case, model))
    step.seed = step.optimizer.grad_scale  # no forward here: the seed it would take
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in range(steps):
            run_products(case, layers, 1)
            step.apply()  # the training loops' NumPy update
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds}


def product_operands(case: Case) -> list[tuple[np.ndarray, ...]]:
    """Random float32 (input, weight, output gradient, weight gradient) of each layer."""
    rng, bs = np.random.default_rng(SEED), case.batch_size

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32)

    return [(rand(bs, i), rand(o, i), rand(bs, o), rand(o, i)) for i, o in case.layers]


def run_products(case: Case, layers: list[tuple[np.ndarray, ...]], steps: int) -> None:
    """``steps`` steps of the case's matrix products: forward, weight gradient, and ∂L/∂x
    except on data-fed layers."""
    for _ in range(steps):
        for j, (x, w, dy, grad) in enumerate(layers):
            x @ w.T
            np.matmul(dy.T, x, out=grad)
            if j not in case.no_input_grad:
                dy @ w


# --- PyTorch ---------------------------------------------------------------------------------
def run_torch(case: Case, data, model, epochs: int, threads: int) -> dict:
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _torch_cases

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    run = getattr(_torch_cases, f"run_{case.name}")
    orders = epoch_orders(n_train(case, data), epochs)
    result = run(data, model, orders, case.batch_size, case.lr)
    result["threads"] = torch.get_num_threads()
    return result


# --- JAX ---------------------------------------------------------------------------------------
def run_jax(case: Case, data, model, epochs: int, mode: str) -> dict:
    """A jitted step per batch (``mode="step"``) or a whole-epoch ``lax.scan`` ("scan")."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _jax_cases

    run = getattr(_jax_cases, f"run_{case.name}")
    orders = epoch_orders(n_train(case, data), epochs)
    return run(data, model, orders, case.batch_size, case.lr, mode)


# --- one worker process: one implementation of one case ----------------------------------
def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(case_name: str, impl: str, epochs: int, data_dir: str | None) -> dict:
    """Train ``impl`` ("framework-threads", e.g. "torch-1") on the case; timings and metrics."""
    case = CASES[case_name]
    framework, threads = impl.split("-")
    if framework == "torch":
        import torch  # noqa: F401  (imported before the setup peak is read)
    if framework.startswith("jax"):
        import jax  # noqa: F401
    data = load_case_data(case, data_dir)
    model = build_handgrad_model(case, data)
    setup_mb = peak_rss_mb()
    runners: dict[str, Callable[[], dict]] = {
        "handgrad": lambda: run_handgrad(case, data, model, epochs),
        "fused": lambda: run_handgrad(case, data, model, epochs, "fused"),
        "numpy": lambda: run_numpy_mlp(case, data, model, epochs),
        "floor": lambda: run_floor(case, data, model, epochs),
        "torch": lambda: run_torch(case, data, model, epochs, threads=int(threads == "1")),
        "jaxstep": lambda: run_jax(case, data, model, epochs, "step"),
        "jaxscan": lambda: run_jax(case, data, model, epochs, "scan"),
    }
    result = {"threads": os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count())}
    result.update(runners[framework]())
    result["cores"] = len(os.sched_getaffinity(0))
    result.update(setup_mb=setup_mb, peak_mb=peak_rss_mb(), n=n_train(case, data))
    return result


def allowed_cores(setting: str) -> set[int]:
    """The cores a worker of this thread setting may run on: the first core this process
    may use for "1", all of them otherwise."""
    cores = os.sched_getaffinity(0)
    return {min(cores)} if setting == "1" else set(cores)


def run_pinned(cmd: list[str], setting: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` in a child restricted to `allowed_cores` (set between fork and exec, so
    before the interpreter and any framework start) with, on one core, one-thread pools,
    and handgrad's OpenBLAS defaults (`handgrad.blas_env`: what ``import handgrad`` sets
    before NumPy loads; a worker imports NumPy first, so it gets them from here; they
    change nothing for PyTorch and JAX, which do not use OpenBLAS)."""
    from handgrad.blas_env import DEFAULTS

    cores = allowed_cores(setting)
    env = {**DEFAULTS, **os.environ, **(ONE_THREAD_ENV if setting == "1" else {})}
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        preexec_fn=lambda: os.sched_setaffinity(0, cores),
    )


def run_worker(case: str, impl: str, epochs: int, data_dir: str | None) -> dict:
    """Run `worker` in a fresh, pinned interpreter and parse its result line."""
    cmd = [sys.executable, __file__, "--worker", case, impl, "--epochs", str(epochs)]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    proc = run_pinned(cmd, impl.split("-")[1])
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{case}/{impl} worker failed:\n{proc.stderr.strip()}")
    return json.loads(lines[-1][len(RESULT_TAG) :])


# --- the pinning check: how many cores a worker's products really use -------------------------
PROBE_FRAMEWORKS = ("handgrad", "torch", "jax")


def probe(framework: str, seconds: float = 0.4, n: int = 1024) -> dict:
    """Import ``framework``, run its float32 n×n products for about ``seconds``, and
    report the cores this process may use and its CPU time over wall time while doing it
    (about the number of cores busy: 1.0 on one core, up to the core count otherwise)."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    if framework == "torch":
        import torch

        t = torch.from_numpy(a)
        matmul = lambda: torch.mm(t, t)  # noqa: E731
    elif framework == "jax":
        import jax

        x = jax.numpy.asarray(a)
        f = jax.jit(lambda u: u @ u)
        matmul = lambda: f(x).block_until_ready()  # noqa: E731
    else:
        import handgrad  # noqa: F401  (its BLAS is NumPy's)

        matmul = lambda: a @ a  # noqa: E731
    matmul()
    usage = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])  # noqa: E731
    cpu, start = usage(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        matmul()
    wall = time.perf_counter() - start
    return {"cores": len(os.sched_getaffinity(0)), "busy": (usage() - cpu) / wall}


def run_probe(framework: str, setting: str) -> dict:
    """`probe` in a fresh interpreter pinned as a worker of ``setting`` ("1" or "default")."""
    proc = run_pinned([sys.executable, __file__, "--probe", framework], setting)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{framework} probe failed:\n{proc.stderr.strip()}")
    return json.loads(lines[-1][len(RESULT_TAG) :])


def pinning_report() -> str:
    """One line per thread setting: each framework's allowed cores and busy cores."""
    lines = []
    for setting in THREAD_SETTINGS:
        parts = []
        for fw in PROBE_FRAMEWORKS:
            r = run_probe(fw, setting)
            parts.append(f"{fw} {r['cores']} allowed, {r['busy']:.2f} busy")
        lines.append(f"{setting}-thread setting: " + "; ".join(parts))
    return "\n".join(lines)


# --- what users run: the epoch `handgrad train vae` reports ------------------------------------
CLI_ENGINES = ("fused", "numpy")  # --engine of the command; the benchmark's worker of each
CLI_WORKER = {"fused": "fused-default", "numpy": "handgrad-default"}


# What each case's training command is: ``handgrad train …`` for the MLP and the VAE;
# for the multi-task network, whose sizes are not command-line options, the call that
# command makes (`Experiment.train`) with the case's sizes, in a fresh interpreter too.
MULTITASK_TRAIN = (
    "import sys; import numpy as np; from handgrad.experiments.multitask import EXPERIMENT, "
    "MultiTaskConfig; from handgrad.training.experiment import RunOptions; "
    "EXPERIMENT.train(MultiTaskConfig(n_samples={n}, n_features={n_features}, hidden={n_hidden}, "
    "n_targets={n_targets}, n_classes={n_classes}, optimizer='sgd', lr={lr}, batch_size={batch}, "
    "epochs=int(sys.argv[2]), engine=sys.argv[3], seed={seed}), sys.argv[1], "
    "RunOptions(progress=False, log=lambda line: None))"
)


def train_command(
    case: Case, engine: str, epochs: int, out: Path, data_dir: str | None
) -> list[str]:
    """The command a user runs to train ``case`` with ``engine`` for ``epochs`` into ``out``."""
    if case.name == "multitask":
        # the experiment holds out 20 % for testing, the benchmark 1/6: the same train rows
        n = round(n_train_rows_multitask() / 0.8)
        code = MULTITASK_TRAIN.format(n=n, lr=case.lr, batch=case.batch_size, seed=SEED,
                                      **MULTITASK_SIZES)  # fmt: skip
        return [sys.executable, "-c", code, str(out), str(epochs), engine]
    cmd = [sys.executable, "-m", "handgrad", "train", case.name, "--dataset", "mnist"]
    cmd += ["--epochs", str(epochs), "--engine", engine, "--out", str(out), "--no-progress"]
    return cmd + (["--data-dir", data_dir] if data_dir else [])


def n_train_rows_multitask() -> int:
    """The multi-task case's training rows (`load_case_data`'s split)."""
    return MULTITASK_ROWS - round(MULTITASK_ROWS / 6)


def train_cli_seconds(case: Case, engine: str, data_dir: str | None, epochs: int) -> list[float]:
    """Run `train_command` in a fresh interpreter (all cores, the user's environment) and
    return the ``seconds`` of each epoch in its ``metrics.jsonl`` (training only: the
    command excludes evaluation)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = train_command(case, engine, epochs, out, data_dir)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()}")
        lines = (out / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["seconds"] for line in lines]


def cli_comparison(case: str, engine: str, cli: Sequence[float], bench: Sequence[float]) -> str:
    """One line: the command's epochs against the benchmark's for the same engine, and
    whether their medians are within 10 %."""
    ratio = statistics.median(cli) / statistics.median(bench)
    verdict = "within 10 %" if abs(ratio - 1) <= 0.10 else "NOT within 10 %"
    epochs = ", ".join(f"{t:.3f}" for t in cli)
    return (
        f"handgrad train {case} --engine {engine}: epochs {epochs} s (median "
        f"{statistics.median(cli):.3f}) vs the benchmark's {engine} engine, all cores: "
        f"{statistics.median(bench):.3f} s; command / benchmark = {ratio:.2f} ({verdict})"
    )


# --- the arithmetic lower bound ----------------------------------------------------------------
def gemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best float32 GEMM throughput of this machine through NumPy, GFLOP/s (2n³ per product)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def epoch_flops(case: Case, n: int) -> float:
    """FLOPs of one epoch's matrix products: per row, 2·in·out for the forward product,
    the same for the weight gradient, and again for ∂L/∂x except on data-fed layers."""
    per_row = 0
    for i, (d_in, d_out) in enumerate(case.layers):
        per_row += (4 if i in case.no_input_grad else 6) * d_in * d_out
    return float(per_row) * n


# --- the table ---------------------------------------------------------------------------------
def format_metrics(result: dict, case: Case) -> str:
    parts = []
    for key in case.metrics:
        value = result.get(key)
        if value is None:
            continue
        parts.append(f"{key} {100 * value:.2f}%" if key.endswith("acc") else f"{key} {value:.4f}")
    return ", ".join(parts)


PEER_NAMES = {"torch": "PyTorch", "jax": "JAX", "peers": "the faster of PyTorch and JAX"}


def build_rows(
    case: Case, results: dict[str, dict], gflops: float, n: int
) -> tuple[list[list[str]], dict[str, float]]:
    """Table rows for one case, and the ratios that the targets are about."""
    medians = {impl: statistics.median(r["seconds"]) for impl, r in results.items()}
    best: dict[str, float] = {}
    for impl, t in medians.items():
        framework = impl.split("-")[0]
        best[framework] = min(t, best.get(framework, math.inf))
    best["jax"] = min(best.pop("jaxstep"), best.pop("jaxscan"))
    best["peers"] = min(best["torch"], best["jax"])

    def row(name: str, seconds: float, *rest: str) -> list[str]:
        vs = [f"{seconds / best[peer]:.2f}" for peer in ("torch", "jax")]
        return [case.name, name, f"{seconds:.3f}", *vs, *rest]

    rows = []
    for impl, r in results.items():
        framework, threads = impl.split("-")
        cores = r.get("cores", 1 if threads == "1" else os.cpu_count())
        count = f"{cores} core{'s' * (cores != 1)}" + (", 1 thread" if threads == "1" else "")
        compile_s = r.get("compile_seconds")
        rows.append(
            row(
                f"{FRAMEWORKS[framework]}, {count}",
                medians[impl],
                "" if compile_s is None else f"{compile_s:.2f}",
                f"{r['peak_mb']:.0f} (setup {r['setup_mb']:.0f})",
                format_metrics(r, case),
            )
        )
    flops = epoch_flops(case, n)
    bound = flops / (gflops * 1e9)
    name = f"arithmetic lower bound ({flops / 1e9:.1f} GFLOP @ {gflops:.0f} GFLOP/s)"
    rows.append(row(name, bound, "", "", ""))
    hg = best["fused"]
    ratios = {f"vs_{peer}": hg / best[peer] for peer in ("torch", "jax", "peers")}
    ratios.update(
        vs_bound=hg / bound,
        numpy_engine_vs_peers=best["handgrad"] / best["peers"],
        floor_vs_peers=best["floor"] / best["peers"],
    )
    if "numpy" in best:
        ratios["vs_numpy"] = hg / best["numpy"]
    return rows, ratios


HEADER = [
    "case",
    "implementation",
    "median s/epoch",
    "× best PyTorch",
    "× best JAX",
    "compile s",
    "peak RSS MB",
    "final",
]


PARTS = ("products", "elementwise", "optimiser", "overhead")
PARTS_HEADER = [
    "VAE epoch, handgrad",
    "median s/epoch",
    "matrix products",
    "elementwise & memory (rest)",
    "optimiser",
    "per-step overhead",
    "arithmetic bound",
]


def breakdown_rows(results: dict[str, dict], bound: float) -> list[list[str]]:
    """The estimated parts of each handgrad VAE worker's epoch (`vae_breakdown`): seconds
    and share of the epoch, beside the arithmetic bound."""
    rows = []
    for impl, r in results.items():
        if "parts" not in r:
            continue
        parts, framework = r["parts"], impl.split("-")[0]
        cores = r["cores"]
        name = f"{FRAMEWORKS[framework]}, {cores} core{'s' * (cores != 1)}"
        shares = [
            "in the loop" if parts[k] is None
            else f"{parts[k]:.3f} ({100 * parts[k] / parts['epoch']:.0f} %)"
            for k in PARTS
        ]  # fmt: skip
        rows.append([name, f"{parts['epoch']:.3f}", *shares, f"{bound:.3f}"])
    return rows


def render(
    rows: Sequence[Sequence[str]],
    markdown: bool,
    header: Sequence[str] = HEADER,
    right: range = range(2, 6),
) -> str:
    """The table; the ``right`` columns (numbers) right-aligned, the others left."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'>' if i in right else '<'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)])


def verdicts(ratios: dict[str, dict[str, float]]) -> list[str]:
    """One line per case: the fused engine's ratio to each target's peer, met or not."""
    lines = []
    for name, r in ratios.items():
        parts = []
        for peer, target in CASES[name].targets:
            ok = "met" if r[f"vs_{peer}"] <= target else "NOT met"
            parts.append(
                f"handgrad / {PEER_NAMES[peer]} = {r[f'vs_{peer}']:.2f} (target ≤ {target}: {ok})"
            )
        if "vs_numpy" in r:
            parts.append(f"/ hand-fused NumPy = {r['vs_numpy']:.2f}")
        parts.append(f"/ arithmetic bound = {r['vs_bound']:.1f}")
        parts.append(f"numpy engine / peers = {r['numpy_engine_vs_peers']:.2f}")
        parts.append(f"NumPy floor / peers = {r['floor_vs_peers']:.2f}")
        lines.append(f"{name}: " + "; ".join(parts))
    return lines


def implementations(case: str) -> list[str]:
    """Worker names "framework-threads" of a case: every framework at both thread settings."""
    frameworks = ["handgrad", "fused", *(["numpy"] if case == "mlp" else []), "floor"]
    frameworks += ["torch", "jaxstep", "jaxscan"]
    return [f"{fw}-{t}" for fw in frameworks for t in THREAD_SETTINGS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per case (default 3)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every implementation this many times, interleaved (round-robin), and "
        "take the median over all their epochs (default 1)",
    )
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--only", choices=sorted(CASES), help="run one case only")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--train-cli",
        action="store_true",
        help="after each case's workers, run its training command (`handgrad train mlp|vae "
        "--dataset mnist`; the multi-task network through the call that command makes) for "
        "as many epochs as --epochs, with --engine fused and --engine numpy, back to back, "
        "and compare the epoch seconds of its metrics.jsonl with the benchmark's for the "
        "same engine",
    )
    parser.add_argument("--worker", nargs=2, metavar=("CASE", "IMPL"), help=argparse.SUPPRESS)
    parser.add_argument("--probe", choices=PROBE_FRAMEWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(RESULT_TAG + json.dumps(probe(args.probe)), flush=True)
        return 0
    if args.epochs < 1 or args.repeat < 1:
        parser.error(f"--epochs and --repeat must be ≥ 1, got {args.epochs}, {args.repeat}")
    data_dir = args.data_dir or default_data_dir()
    if args.worker:
        case, impl = args.worker
        print(RESULT_TAG + json.dumps(worker(case, impl, args.epochs, data_dir)), flush=True)
        return 0
    missing = [name for mod, name in PEER_MODULES.items() if importlib.util.find_spec(mod) is None]
    if missing:
        print(PEERS_MISSING.format(missing=" and ".join(missing) + " is"), file=sys.stderr)
        return 2

    names = [args.only] if args.only else list(CASES)
    pinning = pinning_report()
    gflops = gemm_gflops()
    rows, ratios, parts, cli_lines = [], {}, [], []
    for name in names:
        results: dict[str, dict] = {}
        for repeat in range(args.repeat):
            for impl in implementations(name):
                print(f"… {name}: {impl} ({repeat + 1}/{args.repeat})", file=sys.stderr, flush=True)
                result = run_worker(name, impl, args.epochs, data_dir)
                if impl in results:
                    result["seconds"] = results[impl]["seconds"] + result["seconds"]
                    result["peak_mb"] = max(result["peak_mb"], results[impl]["peak_mb"])
                results[impl] = result
        case_rows, ratios[name] = build_rows(
            CASES[name], results, gflops, results["handgrad-1"]["n"]
        )
        rows += case_rows
        if name == "vae":
            bound = epoch_flops(CASES[name], results["handgrad-1"]["n"]) / (gflops * 1e9)
            parts = breakdown_rows(results, bound)
        for engine in CLI_ENGINES if args.train_cli else ():
            print(f"… {name}: handgrad train {name} --engine {engine}", file=sys.stderr, flush=True)
            cli_seconds = train_cli_seconds(CASES[name], engine, data_dir, args.epochs)
            bench_seconds = results[CLI_WORKER[engine]]["seconds"]
            cli_lines.append(cli_comparison(name, engine, cli_seconds, bench_seconds))
    print(
        f"{args.epochs} timed epochs × {args.repeat} interleaved repeats per case; median "
        f"seconds per epoch; {os.cpu_count()} CPU cores; NumPy {np.__version__}"
    )
    print("Cores each setting may use and keeps busy in a product loop (CPU s / wall s):")
    print(pinning)
    print(render(rows, args.markdown))
    if parts:
        print(
            "\nThe VAE epoch in parts, estimates (seconds, share of the epoch): the products "
            "timed alone at their shapes; the optimiser's calls timed in the loop (a "
            "compiled loop's are in it: 'in the loop'); the per-step overhead as the same "
            "steps of an 8-8-2-8-8 VAE on 2 rows, trained by the same loop; elementwise & "
            "memory the rest."
        )
        print(render(parts, args.markdown, PARTS_HEADER, range(1, 7)))
    print("\nRatios of the best (faster thread setting) of each implementation:")
    print("\n".join(verdicts(ratios)))
    if cli_lines:
        print("\nWhat users run (the `seconds` of metrics.jsonl, evaluation excluded):")
        print("\n".join(cli_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
