"""Inverted dropout's mask M = 1[u ≥ p] / (1 − p) from the float64 uniforms u that
`handgrad.nn.Dropout` draws (``rng.random``), drawn by a compiled PCG64.

NumPy's default Generator (`numpy.random.PCG64`) makes each float64 uniform from one
64-bit output: u = (x >> 11) · 2⁻⁵³, with x = XSL-RR(s) of the 128-bit LCG state
s ← s · A + c (mod 2¹²⁸). `pcg64_dropout_mask` runs that recurrence itself, in four
interleaved streams (each stepping by the jump A⁴, so four multiplications are in flight
instead of one chain), compares each x with p's exact integer threshold and writes the
mask; the Generator is then set to the state after the draws, as ``rng.random`` leaves
it. The same uniforms bit for bit, so the same masks and the same Generator afterwards
(the declaration below proves it, tests/fast/steps/test_multitask.py for the step):
35 µs for a 64×256 float32 mask against 43 µs for ``rng.random`` alone. Any other bit
generator draws with ``rng.random`` and `uniforms_mask` (`draw_dropout_mask`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel
from handgrad.nn.dropout import Dropout

_U64 = (1 << 64) - 1
_U128 = (1 << 128) - 1
MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645
"""A of PCG64's LCG (PCG_DEFAULT_MULTIPLIER_128, NumPy's `numpy.random.PCG64`)."""
LANES = 4


def _jump(k: int) -> tuple[int, int]:
    """(A^k, Σ_{i<k} A^i) mod 2¹²⁸: k steps of s ← s A + c are s ← s A^k + c Σ_{i<k} A^i."""
    a, b = 1, 0
    for _ in range(k):
        a, b = (a * MULTIPLIER) & _U128, (b * MULTIPLIER + 1) & _U128
    return a, b


_JUMP_A, _JUMP_SUM = _jump(LANES)
_CONSTANTS = (MULTIPLIER & _U64, MULTIPLIER >> 64, _JUMP_A & _U64, _JUMP_A >> 64)


@intrinsic
def _muladd128(typingctx, alo, ahi, blo, bhi, clo, chi):
    """(a · b + c) mod 2¹²⁸ for 128-bit a, b, c given as (low, high) uint64 halves;
    returns its (low, high) halves. LLVM's i128 arithmetic: one full 64×64 multiply and
    two low ones."""
    u64 = types.uint64
    sig = types.UniTuple(u64, 2)(u64, u64, u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i128, shift = ir.IntType(128), ir.Constant(ir.IntType(128), 64)
        wide = [builder.zext(v, i128) for v in args]
        a, b, c = (builder.or_(wide[i], builder.shl(wide[i + 1], shift)) for i in (0, 2, 4))
        r = builder.add(builder.mul(a, b), c)
        i64 = ir.IntType(64)
        halves = [builder.trunc(r, i64), builder.trunc(builder.lshr(r, shift), i64)]
        return context.make_tuple(builder, signature.return_type, halves)

    return sig, codegen


@jit
def _output(lo, hi):
    """PCG64's 64-bit output of state s = (lo, hi): XSL-RR(s), (hi ⊕ lo) rotated right
    by hi >> 58. Its float64 uniform is u = (XSL-RR(s) >> 11) · 2⁻⁵³."""
    x = hi ^ lo
    r = hi >> np.uint64(58)
    return (x >> r) | (x << ((np.uint64(64) - r) & np.uint64(63)))


@jit
def pcg64_dropout_mask(bits, state, keep_bits):
    """Dropout's mask from the next len(bits) uniforms u_i of a PCG64, written as the
    bits of its floats: bits[i] = keep_bits if u_i ≥ p else 0 (the bits of 1/(1 − p) and
    of +0.0), where u_i ≥ p ⟺ XSL-RR(s) ≥ threshold = ⌈p · 2⁵³⌉ · 2¹¹ exactly (u_i is the
    integer XSL-RR(s) >> 11 times 2⁻⁵³). Then state[:2] ← the state after the draws.

    bits (n,) unsigned, the mask's floats seen as integers of their width; state (11,)
    uint64: as (low, high) halves the state s, the increment c, the multiplier A, the
    jump A⁴ and c Σ_{i<4} Aⁱ (four steps are s ← s A⁴ + c Σ_{i<4} Aⁱ: stream k (k < 4)
    draws u_k, u_{k+4}, …), then the threshold. The comparisons give 0 or 1, so the loop
    has no branch on the random bits.
    """
    slo, shi, clo, chi, alo, ahi, jlo, jhi, dlo, dhi, threshold = state
    n = bits.shape[0]
    t = bits.dtype.type
    s0 = _muladd128(slo, shi, alo, ahi, clo, chi)  # u_i comes from the state after i + 1 steps
    s1 = _muladd128(s0[0], s0[1], alo, ahi, clo, chi)
    s2 = _muladd128(s1[0], s1[1], alo, ahi, clo, chi)
    s3 = _muladd128(s2[0], s2[1], alo, ahi, clo, chi)
    last = (slo, shi)
    i = 0
    while i + 4 <= n:
        bits[i] = keep_bits * t(_output(s0[0], s0[1]) >= threshold)
        bits[i + 1] = keep_bits * t(_output(s1[0], s1[1]) >= threshold)
        bits[i + 2] = keep_bits * t(_output(s2[0], s2[1]) >= threshold)
        bits[i + 3] = keep_bits * t(_output(s3[0], s3[1]) >= threshold)
        last = s3
        s0 = _muladd128(s0[0], s0[1], jlo, jhi, dlo, dhi)
        s1 = _muladd128(s1[0], s1[1], jlo, jhi, dlo, dhi)
        s2 = _muladd128(s2[0], s2[1], jlo, jhi, dlo, dhi)
        s3 = _muladd128(s3[0], s3[1], jlo, jhi, dlo, dhi)
        i += 4
    while i < n:  # the last n mod 4, one step at a time
        last = _muladd128(last[0], last[1], alo, ahi, clo, chi)
        bits[i] = keep_bits * t(_output(last[0], last[1]) >= threshold)
        i += 1
    state[0], state[1] = last


@jit
def uniforms_mask(u, p, keep_scale, mask):
    """mask = keep_scale · 1[u ≥ p] (Dropout's M from its uniforms). u (n,) float64,
    mask (n,)."""
    zero = mask.dtype.type(0)
    for i in range(u.shape[0]):
        mask[i] = keep_scale if u[i] >= p else zero


_UINT = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


@functools.lru_cache(maxsize=64)
def _mask_constants(p: float, dtype: np.dtype) -> tuple[int, int]:
    """(⌈p · 2⁵³⌉ · 2¹¹, the bits of 1/(1 − p) in ``dtype``) for `pcg64_dropout_mask`."""
    keep_bits = np.array(1.0 / (1.0 - p), dtype).view(_UINT[dtype])
    return math.ceil(p * 2.0**53) << 11, int(keep_bits)


def draw_dropout_mask(rng: np.random.Generator, p: float, mask: np.ndarray) -> None:
    """mask ← M = 1[u ≥ p] / (1 − p) in mask's dtype (float32 or float64, C-contiguous)
    for u = ``rng.random(mask.shape)``, as `handgrad.nn.Dropout` draws it, leaving ``rng``
    where that draw leaves it: by `pcg64_dropout_mask` for a PCG64 Generator, else by
    ``rng.random`` and `uniforms_mask`."""
    bits = rng.bit_generator
    if type(bits) is not np.random.PCG64:
        keep_scale = mask.dtype.type(1.0 / (1.0 - p))
        uniforms_mask(rng.random(mask.size), p, keep_scale, mask.reshape(-1))
        return
    threshold, keep_bits = _mask_constants(p, mask.dtype)
    state = bits.state
    s, c = state["state"]["state"], state["state"]["inc"]
    d = (c * _JUMP_SUM) & _U128
    halves = np.array([s & _U64, s >> 64, c & _U64, c >> 64, *_CONSTANTS, d & _U64, d >> 64,
                       threshold], np.uint64)  # fmt: skip
    pcg64_dropout_mask(mask.reshape(-1).view(_UINT[mask.dtype]), halves, keep_bits)
    state["state"]["state"] = int(halves[0]) | (int(halves[1]) << 64)
    bits.state = state


DRAWS = (((64, 256), 0.3), ((3, 5), 0.5), ((1, 2), 0.95), ((2, 3), 0.3), ((1, 1), 0.3))
"""The example's draws, one after the other: n mod 4 = 0, 3, 2, 2, 1; p·2⁵³ whole or not."""


def _example(rng, dtype):
    return (np.random.default_rng(int(rng.integers(1 << 32))), np.random.SFC64(5), dtype)


def _masks(pcg, other, dtype, draw):
    """The masks ``draw(rng, shape, p, dtype)`` gives for `DRAWS` from a copy of each
    Generator, and its next uniforms (where the draws left it)."""
    out = {}
    for bits in (pcg.bit_generator, other):
        rng = np.random.Generator(type(bits)())
        rng.bit_generator.state = bits.state
        name = type(bits).__name__
        for shape, p in DRAWS:
            out[f"{name} {shape} p={p}"] = draw(rng, shape, p, dtype)
        out[f"{name} next"] = rng.random(3)
    return out


def _dropout_draw(rng, shape, p, dtype):
    dropout = Dropout(p, rng=rng, uniforms=np.float64)
    dropout.forward(np.ones(shape, dtype))
    return dropout.residuals.mask


def _kernel_draw(rng, shape, p, dtype):
    mask = np.empty(shape, dtype)
    draw_dropout_mask(rng, p, mask)
    return mask


def _formula(pcg, other, dtype):
    return _masks(pcg, other, dtype, _dropout_draw)


def _run(pcg, other, dtype):
    return _masks(pcg, other, dtype, _kernel_draw)


HELPERS = (_output,)
"""Compiled functions called by the kernels above, not formulas of their own."""

KERNELS = (
    Kernel(
        (pcg64_dropout_mask, uniforms_mask),
        "Dropout's mask 1[u ≥ p] / (1 − p) from rng.random's float64 uniforms",
        _example,
        _formula,
        _run,
        exact=True,
    ),
)
