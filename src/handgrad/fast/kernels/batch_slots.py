"""The rows of a compiled training loop's coming batches, gathered into a ring of three
slots as the loop goes (`handgrad.fast.kernels.mlp_sgd`, ``vae_adam``): batch s + 2 is
gathered during step s, by one thread or, two threads at once, half of its rows each.
It replaces no formula (it only copies rows), so it is a helper, not a kernel."""

from __future__ import annotations

from handgrad.fast.compiled import jit


@jit
def gather_slot(a, index, s, batch, me, pair, buf):
    """Batch s's rows a[index[s·batch …]] into buf[s mod 3] (the last batch may be
    shorter; past it, nothing): all of them on one thread, the first (me = 0) or second
    half of them with ``pair``. a (N, …) any rows (an image's pixels, a label), index
    (n,) the chunk's rows of it, buf (3, batch, …)."""
    n = index.shape[0]
    r0 = s * batch
    if r0 >= n:
        return
    m = min(batch, n - r0)
    lo, hi = (0, m) if not pair else ((0, m // 2) if me == 0 else (m // 2, m))
    slot = s % 3
    for i in range(lo, hi):
        buf[slot, i] = a[index[r0 + i]]


HELPERS = (gather_slot,)
"""Compiled functions called by other modules' kernels, not formulas of their own."""
