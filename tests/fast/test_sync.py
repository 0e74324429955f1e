"""Two compiled loops meeting at `handgrad.fast.sync.meet`: after each meeting, each
reads what the other wrote before it, every time, and neither runs ahead."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast import pair, sync
from handgrad.fast.compiled import jit

pytestmark = pytest.mark.skipif(
    pair.cores() < 2 or not sync.available(), reason="needs two cores and sched_yield"
)


@jit
def _exchange(flags, me, rounds, mine, seen):
    """Round r: write r·(me + 1) in this thread's slot, meet, read the other's slot (it
    must hold r·(other + 1)), meet again before the next write."""
    other = 1 - me
    for r in range(1, rounds + 1):
        mine[me] = r * (me + 1)
        sync.meet(flags, me, 2 * r - 1)
        seen[me, r - 1] = mine[other]
        sync.meet(flags, me, 2 * r)


def test_each_thread_sees_the_others_write_of_the_same_round():
    rounds = 20000
    mine, seen, flags = np.zeros(2, np.int64), np.zeros((2, rounds), np.int64), sync.flags()
    ran = pair.at_once(_exchange, (flags, 0, rounds, mine, seen),
                       _exchange, (flags, 1, rounds, mine, seen))  # fmt: skip
    assert ran
    r = np.arange(1, rounds + 1)
    np.testing.assert_array_equal(seen[0], 2 * r)  # thread 0 read thread 1's writes
    np.testing.assert_array_equal(seen[1], r)


def test_at_once_runs_nothing_when_the_worker_cannot_take_the_call(monkeypatch):
    monkeypatch.setattr(pair, "cores", lambda: 1)
    called: list[int] = []
    assert not pair.at_once(called.append, (1,), called.append, (2,))
    assert called == []
