"""Two compiled loops running side by side, meeting at a barrier: only for speed.

A kernel that splits each training step between two threads (the caller's and
`handgrad.fast.pair`'s worker, both running compiled code without the GIL) needs them
to wait for each other once per step, in well under a µs: a lock would cost tens.
`meet(flags, me, count)` is that barrier: thread ``me`` (0 or 1) says it has arrived
``count`` times, then waits until the other has too. ``flags`` is an int64 array of 16
zeros shared by the two threads (one cache line each); the stores and loads are atomic
with release and acquire order, so what one thread wrote before arriving is what the
other reads after leaving. A thread that waits long gives its core away
(``sched_yield``), so a third thread (the batch gatherer) cannot stall the pair.
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np

from handgrad.fast.compiled import jit

SPINS_BEFORE_YIELD = 2000
_YIELD = "handgrad_sched_yield"


@functools.cache
def available() -> bool:
    """True if the barrier's ``sched_yield`` is found and registered for compiled code."""
    try:
        from llvmlite import binding

        libc = ctypes.CDLL(None)
        binding.add_symbol(_YIELD, ctypes.cast(libc.sched_yield, ctypes.c_void_p).value)
        return True
    except Exception:  # not a POSIX libc: kernels keep their one-thread path
        return False


def _intrinsics():
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    def slot(context, builder, arr_ty, arr, index):
        ary = context.make_array(arr_ty)(context, builder, arr)
        return builder.gep(ary.data, [index])

    @intrinsic
    def load_acquire(typingctx, arr, index):
        """arr[index], an atomic load with acquire order (arr: int64 array)."""

        def codegen(context, builder, signature, args):
            ptr = slot(context, builder, signature.args[0], *args)
            return builder.load_atomic(ptr, "acquire", 8)

        return types.int64(arr, index), codegen

    @intrinsic
    def store_release(typingctx, arr, index, value):
        """arr[index] = value, an atomic store with release order (arr: int64 array)."""

        def codegen(context, builder, signature, args):
            ptr = slot(context, builder, signature.args[0], args[0], args[1])
            value = context.cast(builder, args[2], signature.args[2], types.int64)
            builder.store_atomic(value, ptr, "release", 8)
            return context.get_dummy_value()

        return types.void(arr, index, value), codegen

    @intrinsic
    def sched_yield(typingctx):
        """Give this thread's core to another runnable thread (POSIX ``sched_yield``)."""

        def codegen(context, builder, signature, args):
            fnty = ir.FunctionType(ir.IntType(32), [])
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, _YIELD), [])
            return context.get_dummy_value()

        return types.void(), codegen

    return load_acquire, store_release, sched_yield


load_acquire, store_release, sched_yield = _intrinsics()


def flags() -> np.ndarray:
    """A fresh barrier for `meet`: 16 int64 zeros (each thread's count on its own line)."""
    return np.zeros(16, np.int64)


def _meet(flags, me, count):
    """Thread ``me`` (0 or 1) has arrived ``count`` times; wait until the other has."""
    store_release(flags, 8 * me, count)
    spins = 0
    while load_acquire(flags, 8 * (1 - me)) < count:
        spins += 1
        if spins >= SPINS_BEFORE_YIELD:
            sched_yield()
            spins = 0


available()  # registered before any kernel calling `meet` is compiled or loaded
meet = jit(_meet)
