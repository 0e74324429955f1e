"""Matrix products callable from compiled kernels: the BLAS NumPy itself uses.

A compiled loop of many small training steps (`handgrad.fast.kernels.mlp_epoch`) spends
its time in two products per step; calling them through NumPy from Python costs a few
µs each, and a kernel that wrote them itself would run at a fraction of BLAS's speed.
So the kernel calls the ``cblas_?gemm`` of the OpenBLAS that NumPy loaded, through
`gemm`, a Numba intrinsic that emits a call to a symbol this module registers with
LLVM (``handgrad_sgemm_i64`` …: the address of the library's own function). The
machine code names the symbol, not an address, so it can be cached on disk and linked
again in the next process, where `available` registers the symbol anew.

Only OpenBLAS is looked for (NumPy's wheels bundle it, with 64-bit integers and
``scipy_`` names); elsewhere `available` returns None and the kernels' callers keep
their NumPy path. BLAS integers are 32- or 64-bit depending on the build: a kernel takes
``blas_int``, a zero of that type (`BlasInfo.int`), so each width compiles (and caches)
its own machine code.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from handgrad.fast.compiled import jit

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enums
_CANDIDATES = (  # (symbol prefix, suffix, 64-bit integers) as OpenBLAS builds name them
    ("scipy_cblas_", "64_", True),
    ("cblas_", "64_", True),
    ("scipy_cblas_", "", None),
    ("cblas_", "", None),
)


@dataclass(frozen=True)
class BlasInfo:
    """The BLAS found: its file, ``int``, a zero of its integer type (pass it to a
    kernel as ``blas_int``), and its thread-count getter and setter (None if absent)."""

    path: str
    int: np.integer
    get_threads: Callable[[], int] | None = None
    set_threads: Callable[[int], None] | None = None


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Within the block, each BLAS call runs on the thread that makes it (a compiled
    loop that splits its steps over two threads itself must not have each of them wake
    BLAS's own workers too); the thread count is restored after."""
    info = available()
    if info is None or info.get_threads is None or info.set_threads is None:
        yield
        return
    before = info.get_threads()
    if before == 1:
        yield
        return
    info.set_threads(1)
    try:
        yield
    finally:
        info.set_threads(before)


def _symbol(width: int, dtype: str) -> str:
    return f"handgrad_{'s' if dtype == 'float32' else 'd'}gemm_i{width}"


@functools.cache
def available() -> BlasInfo | None:
    """The OpenBLAS NumPy uses, its gemm registered for compiled kernels; None if there
    is none this module can call (another BLAS, or no ``cblas_?gemm`` symbol), or if it
    cannot tell which of several loaded OpenBLAS libraries is NumPy's (SciPy brings its
    own; a product through another library would round otherwise than NumPy's)."""
    try:
        import threadpoolctl
        from llvmlite import binding

        np.ones((2, 2)) @ np.ones((2, 2))  # NumPy's BLAS is loaded once it has been used
        path = _numpys_openblas(threadpoolctl.threadpool_info())
        if path is None:
            return None
        lib = ctypes.CDLL(path)
        names, wide = _names(lib)
        if names is None:
            return None
        if wide is None:  # unsuffixed: the build's configuration says
            config = getattr(lib, _affixed("openblas_get_config", names["sgemm"]), None)
            if config is None:
                return None
            config.restype = ctypes.c_char_p
            wide = b"USE64BITINT" in config()
        width = 64 if wide else 32
        for dtype, kind in (("float32", "sgemm"), ("float64", "dgemm")):
            address = ctypes.cast(getattr(lib, names[kind]), ctypes.c_void_p).value
            binding.add_symbol(_symbol(width, dtype), address)
        return BlasInfo(path, np.int64(0) if wide else np.int32(0),
                        *_thread_count(lib, names["sgemm"]))  # fmt: skip
    except Exception:  # no threadpoolctl answer, no llvmlite: the NumPy path stays
        return None


def _numpys_openblas(libraries: list[dict]) -> str | None:
    """The file of NumPy's OpenBLAS among threadpoolctl's loaded ``libraries``: the one
    NumPy's wheel bundles (in ``numpy.libs`` or the numpy folder), else the only OpenBLAS
    loaded; None if that is not clear."""
    paths = [lib["filepath"] for lib in libraries if lib.get("internal_api") == "openblas"]
    numpy_dir = os.path.dirname(os.path.realpath(np.__file__))
    bundled = [p for p in paths if os.path.realpath(p).startswith((numpy_dir + ".libs", numpy_dir))]
    if len(bundled) == 1:
        return bundled[0]
    return paths[0] if len(paths) == 1 else None


def _affixed(name: str, sgemm: str) -> str:
    """``name`` with the prefix and suffix the library's ``sgemm`` symbol has."""
    prefix = "scipy_" if sgemm.startswith("scipy_") else ""
    return f"{prefix}{name}{'64_' if sgemm.endswith('64_') else ''}"


def _names(lib: ctypes.CDLL) -> tuple[dict[str, str] | None, bool | None]:
    """The library's gemm symbols by kind ("sgemm", "dgemm") and whether their integers
    are 64-bit (None: unknown from the name); (None, None) if it has none of them."""
    for prefix, suffix, wide in _CANDIDATES:
        names = {kind: f"{prefix}{kind}{suffix}" for kind in ("sgemm", "dgemm")}
        if all(hasattr(lib, name) for name in names.values()):
            return names, wide
    return None, None


def _thread_count(lib: ctypes.CDLL, sgemm: str) -> tuple[Callable | None, Callable | None]:
    """OpenBLAS's ``openblas_get_num_threads`` and ``openblas_set_num_threads``, named as
    its ``sgemm`` is (prefix and suffix), or (None, None)."""
    names = tuple(_affixed(f"openblas_{verb}_num_threads", sgemm) for verb in ("get", "set"))
    if not all(hasattr(lib, n) for n in names):
        return None, None
    get, put = (getattr(lib, n) for n in names)
    get.restype, put.restype = ctypes.c_int, None
    put.argtypes = [ctypes.c_int]
    return get, put


def _gemm_intrinsic():
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def gemm(typingctx, blas_int, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
             ldc):  # fmt: skip
        """C ← alpha · op(A) op(B) + beta · C, row-major, on the arrays' first elements
        (views: a slice's data pointer; leading dimensions given): ``cblas_?gemm``."""
        if not (isinstance(a, types.Array) and a.dtype in (types.float32, types.float64)):
            return None
        dtype = a.dtype
        sig = types.void(blas_int, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

        def codegen(context, builder, signature, args):
            width = blas_int.bitwidth
            iw, i32 = ir.IntType(width), ir.IntType(32)
            fl = context.get_value_type(dtype)
            ptr = fl.as_pointer()
            fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, iw, iw, iw, fl, ptr, iw, ptr,
                                                   iw, fl, ptr, iw])  # fmt: skip
            fn = cgutils.get_or_insert_function(builder.module, fnty, _symbol(width, str(dtype)))
            _, ta, tb, m_, n_, k_, al, av, lda_, bv, ldb_, be, cv, ldc_ = args
            tys = signature.args

            blas_integer = types.int64 if width == 64 else types.int32

            def whole(i, value):  # a BLAS integer
                return context.cast(builder, value, tys[i], blas_integer)

            def data(i, value):  # an array's data pointer
                return context.make_array(tys[i])(context, builder, value).data

            call = [
                ir.Constant(i32, ROW_MAJOR),
                context.cast(builder, ta, tys[1], types.int32),
                context.cast(builder, tb, tys[2], types.int32),
                whole(3, m_), whole(4, n_), whole(5, k_),
                context.cast(builder, al, tys[6], dtype),
                data(7, av), whole(8, lda_), data(9, bv), whole(10, ldb_),
                context.cast(builder, be, tys[11], dtype),
                data(12, cv), whole(13, ldc_),
            ]  # fmt: skip
            builder.call(fn, call)
            return context.get_dummy_value()

        return sig, codegen

    return gemm


gemm = _gemm_intrinsic()


def _ld(a):
    """The leading dimension (row stride in elements) of a row-major 2-D view."""
    return a.strides[0] // a.itemsize


def _product(bi, ta, tb, alpha, a, b, beta, c):
    """c ← alpha · op(a) op(b) + beta · c (op: transposed if ``ta``/``tb`` is TRANS), the
    sizes and leading dimensions taken from the views: `gemm` as kernels call it."""
    m, n = c.shape
    k = a.shape[0] if ta == TRANS else a.shape[1]
    gemm(bi, ta, tb, m, n, k, alpha, a, ld(a), b, ld(b), beta, c, ld(c))


ld = jit(_ld)
product = jit(_product)
available()  # registered before a kernel calling `gemm` is compiled or loaded
