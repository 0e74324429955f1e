"""The JAX side of `vs_frameworks.py`: the same three training runs, written the usual way.

Each ``run_*`` function takes the case's data (NumPy arrays, put on the device once),
the handgrad model whose initial weights it copies, the list of per-epoch batch orders
(the same index arrays handgrad uses), and ``mode``:

* ``"step"``: one ``jax.jit``-compiled training step per batch, called from a Python
  loop that reads the loss (and the MLP's correct count) back as Python numbers every
  step and checks it is finite, exactly as the handgrad and PyTorch loops do;
* ``"scan"``: the whole epoch as one compiled ``lax.scan`` over the full batches (the
  last, smaller batch, if any, runs through the step function); the per-step losses
  come back as one array per epoch and are summed and checked there.

Both compile ahead of time (``jit(...).lower(...).compile()``) before the first timed
epoch; that compile time is returned apart (``compile_seconds``) and not in the epochs.
Parameters are donated to the step so XLA updates them in place. The batch rows are
gathered inside the compiled function from the dataset on the device.

Idiomatic, not tuned: plain ``jax.numpy`` models and losses, SGD and Adam written as
their formulas (``torch.optim.Adam``'s, which optax uses too), ε and the dropout masks
from ``jax.random`` keyed by the step number. Imported only inside a JAX worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_platforms", "cpu")


def _compile(fn: Callable, *args, donate: tuple[int, ...] = (0,)):
    """``fn`` compiled for ``args``' shapes, and the seconds it took."""
    start = time.perf_counter()
    compiled = jax.jit(fn, donate_argnums=donate).lower(*args).compile()
    return compiled, time.perf_counter() - start


def _epochs(orders, batch_size: int, state, step, scan, mode: str, extra_metrics=False):
    """Run the timed epochs of ``step(state, idx, t) -> (state, loss[, correct])`` or, in
    ``"scan"`` mode, of ``scan(state, idx_matrix, t0) -> (state, losses[, corrects])``
    for the full batches plus ``step`` for the rest; returns per-epoch seconds, the
    final state and the last epoch's mean loss (and training accuracy)."""
    seconds, stats, t = [], {}, 0
    for order in orders:
        n = order.shape[0]
        full = n - n % batch_size
        start = time.perf_counter()
        total, correct = 0.0, 0
        if mode == "scan":
            idx = jnp.asarray(order[:full].reshape(-1, batch_size))
            out = scan(state, idx, t)
            state, losses = out[0], np.asarray(out[1])
            if not np.isfinite(losses).all():
                raise RuntimeError("JAX loss became non-finite")
            total += float(losses.sum()) * batch_size
            if extra_metrics:
                correct += int(np.asarray(out[2]).sum())
            t += idx.shape[0]
            rest = [order[full:]] if full < n else []
        else:
            rest = [order[i : i + batch_size] for i in range(0, n, batch_size)]
        for idx in rest:
            out = step(state, jnp.asarray(idx), t)
            state, loss = out[0], float(out[1])
            if not np.isfinite(loss):
                raise RuntimeError(f"JAX loss became {loss}")
            total += loss * idx.shape[0]
            if extra_metrics:
                correct += int(out[2])
            t += 1
        jax.block_until_ready(state)
        seconds.append(time.perf_counter() - start)
        stats = {"train_loss": total / n}
        if extra_metrics:
            stats["train_acc"] = correct / n
    return seconds, state, stats


def _scan_of(step: Callable) -> Callable:
    """The epoch as ``lax.scan`` of ``step`` over the rows of an index matrix."""

    def scan(state, idx, t0):
        def body(carry, row_t):
            row, t = row_t
            new, *metrics = step(carry, row, t)
            return new, tuple(metrics)

        ts = t0 + jnp.arange(idx.shape[0])
        state, metrics = jax.lax.scan(body, state, (idx, ts))
        return (state, *metrics)

    return scan


def _run(step, state, orders, batch_size: int, mode: str, extra_metrics=False):
    """Compile ``step`` (and its scan) for the case's shapes, then run the timed epochs."""
    idx0 = jnp.zeros(batch_size, jnp.int32)
    compiled_step, compile_s = _compile(step, state, idx0, 0)
    steps = {batch_size: compiled_step}

    def step_any(s, idx, t):  # the last batch may be smaller: its own compiled step
        if idx.shape[0] not in steps:
            steps[idx.shape[0]] = _compile(step, s, idx, t)[0]
        return steps[idx.shape[0]](s, idx, t)

    scan = None
    if mode == "scan":
        n = orders[0].shape[0]
        idx = jnp.zeros((n // batch_size, batch_size), jnp.int32)
        scan, scan_s = _compile(_scan_of(step), state, idx, 0)
        compile_s += scan_s
    last = orders[0].shape[0] % batch_size
    if last:  # compile the smaller last batch's step before timing, too
        start = time.perf_counter()
        steps[last] = _compile(step, state, jnp.zeros(last, jnp.int32), 0)[0]
        compile_s += time.perf_counter() - start
    seconds, state, stats = _epochs(orders, batch_size, state, step_any, scan, mode, extra_metrics)
    return {"seconds": seconds, "compile_seconds": compile_s, **stats}, state


# --- MLP ---------------------------------------------------------------------------------
def run_mlp(data, hg_model, orders, batch_size: int, lr: float, mode: str) -> dict:
    """784-50-10 ReLU MLP, SGD, softmax cross-entropy; metrics: last epoch's loss, training
    and test accuracy."""
    x, y = jnp.asarray(data.train.x), jnp.asarray(data.train.y.astype(np.int32))
    lin1, lin2 = hg_model.layers[0], hg_model.layers[-1]
    params = tuple(
        jnp.asarray(a) for a in (lin1.weight.data, lin1.bias.data, lin2.weight.data, lin2.bias.data)
    )

    def logits_of(p, xb):
        W1, b1, W2, b2 = p
        return jax.nn.relu(xb @ W1.T + b1) @ W2.T + b2

    def loss_of(p, xb, yb):
        logits = logits_of(p, xb)
        logp = jax.nn.log_softmax(logits)
        return -jnp.take_along_axis(logp, yb[:, None], axis=1).mean(), logits

    def step(p, idx, t):
        xb, yb = x[idx], y[idx]
        (loss, logits), grads = jax.value_and_grad(loss_of, has_aux=True)(p, xb, yb)
        correct = jnp.sum(logits.argmax(axis=1) == yb)
        return tuple(a - lr * g for a, g in zip(p, grads, strict=True)), loss, correct

    result, params = _run(step, params, orders, batch_size, mode, extra_metrics=True)
    pred = np.asarray(jax.jit(logits_of)(params, jnp.asarray(data.test.x)).argmax(axis=1))
    return {**result, "test_acc": float((pred == data.test.y).mean())}


# --- Adam, as torch.optim.Adam / optax.adam -----------------------------------------------
def _adam(lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
    def init(params):
        def zeros():
            return tuple(jnp.zeros_like(a) for a in params)

        return (params, zeros(), zeros())

    def update(state, grads, t):
        params, m, v = state
        t = t + 1
        m = tuple(b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True))
        v = tuple(b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True))
        c1, c2 = 1 - b1**t, 1 - b2**t
        params = tuple(
            p - lr * (mi / c1) / (jnp.sqrt(vi / c2) + eps)
            for p, mi, vi in zip(params, m, v, strict=True)
        )
        return (params, m, v)

    return init, update


# --- VAE ---------------------------------------------------------------------------------
def run_vae(data, hg_vae, orders, batch_size: int, lr: float, mode: str) -> dict:
    """784-400-20-400-784 VAE, Bernoulli decoder, Adam; metric: last epoch's mean loss."""
    x = jnp.asarray(data.train.x)
    latent = hg_vae.latent
    layers = [*hg_vae.encoder.layers[::2], *hg_vae.decoder.layers[::2]]
    params = tuple(jnp.asarray(a) for lin in layers for a in (lin.weight.data, lin.bias.data))
    key = jax.random.key(0)
    init, update = _adam(lr)

    def loss_of(p, xb, eps):
        e1, c1, e2, c2, d1, g1, d2, g2 = p
        stats = jax.nn.relu(xb @ e1.T + c1) @ e2.T + c2
        mu, logvar = stats[:, :latent], stats[:, latent:]
        z = mu + jnp.exp(0.5 * logvar) * eps
        logits = jax.nn.relu(z @ d1.T + g1) @ d2.T + g2
        rec = jnp.sum(jax.nn.softplus(logits) - xb * logits)  # BCE with logits, summed
        kl = 0.5 * jnp.sum(mu * mu + jnp.exp(logvar) - 1 - logvar)
        return (rec + kl) / xb.shape[0]

    def step(state, idx, t):
        xb = x[idx]
        eps = jax.random.normal(jax.random.fold_in(key, t), (idx.shape[0], latent))
        loss, grads = jax.value_and_grad(loss_of)(state[0], xb, eps)
        return update(state, grads, t), loss

    result, _ = _run(step, init(params), orders, batch_size, mode)
    return result


# --- multi-task network ------------------------------------------------------------------
def run_multitask(data, hg_net, orders, batch_size: int, lr: float, mode: str) -> dict:
    """SGD on L = mean ½‖ŷA − yA‖² + CE(z2B, yB) with dropout p; metric: last epoch's loss."""
    x, yA = jnp.asarray(data.x_train), jnp.asarray(data.yA_train)
    yB = jnp.asarray(data.labels_train.astype(np.int32))
    names = ("theta1A", "b1A", "theta2A", "b2A", "theta1B", "b1B", "theta2B", "b2B")
    params = tuple(jnp.asarray(hg_net.params[n].data) for n in names)
    keep = 1.0 - hg_net.p
    key = jax.random.key(1)

    def loss_of(p, xb, yAb, yBb, mask):
        th1A, b1A, th2A, b2A, th1B, b1B, th2B, b2B = p
        x2A = (jnp.sin(xb @ th1A.T + b1A) * mask) @ th2A.T + b2A
        x1B = xb @ th1B.T
        xBNs = jax.nn.relu(x1B - x1B.mean(axis=0) + b1B)
        logp = jax.nn.log_softmax((x2A + xBNs) @ th2B.T + b2B)
        la = 0.5 * jnp.sum((x2A - yAb) ** 2, axis=1).mean()
        lb = -jnp.take_along_axis(logp, yBb[:, None], axis=1).mean()
        return la + lb

    def step(p, idx, t):
        shape = (idx.shape[0], th_hidden)
        mask = jax.random.bernoulli(jax.random.fold_in(key, t), keep, shape) / keep
        loss, grads = jax.value_and_grad(loss_of)(p, x[idx], yA[idx], yB[idx], mask)
        return tuple(a - lr * g for a, g in zip(p, grads, strict=True)), loss

    th_hidden = hg_net.n_hidden
    result, _ = _run(step, params, orders, batch_size, mode)
    return result
