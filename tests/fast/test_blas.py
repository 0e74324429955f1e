"""The BLAS products compiled kernels call (`handgrad.fast.blas.product` over `gemm`) equal NumPy's
products, for every transposition, on views with their own leading dimensions."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast import blas
from handgrad.fast.blas import NO_TRANS, TRANS
from tests.fast.conftest import DTYPES, assert_close

pytestmark = pytest.mark.skipif(
    blas.available() is None, reason="NumPy's BLAS here is not an OpenBLAS this module calls"
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("ta", "tb"), [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_gemm_equals_numpy_on_views(dtype, ta, tb, rng):
    m, n, k = 5, 7, 3
    a = rng.standard_normal((k if ta else m, 4 + (m if ta else k))).astype(dtype)[:, 2:-2]
    b = rng.standard_normal((n if tb else k, 6 + (k if tb else n))).astype(dtype)[:, 3:-3]
    big = rng.standard_normal((m, n + 5)).astype(dtype)
    c = big[:, 1 : 1 + n]  # a view: its leading dimension is n + 5
    before = big.copy()
    op_a, op_b = (a.T if ta else a), (b.T if tb else b)
    expected = -0.5 * (op_a @ op_b) + 2.0 * c
    blas.product(blas.available().int, TRANS if ta else NO_TRANS, TRANS if tb else NO_TRANS,
             -0.5, a, b, 2.0, c)  # fmt: skip
    assert_close(c, expected, dtype, atol_scale=10)
    # nothing outside the view was written
    np.testing.assert_array_equal(big[:, :1], before[:, :1])
    np.testing.assert_array_equal(big[:, 1 + n :], before[:, 1 + n :])


def test_the_blas_found_is_the_one_numpy_loaded():
    import threadpoolctl

    info = blas.available()
    paths = [lib["filepath"] for lib in threadpoolctl.threadpool_info()]
    assert info.path in paths
    assert info.int.dtype in (np.int32, np.int64)


def test_one_thread_runs_blas_on_the_calling_thread_and_restores_the_count():
    info = blas.available()
    if info.set_threads is None:
        pytest.skip("this OpenBLAS has no thread-count setter")
    before = info.get_threads()
    info.set_threads(2)
    try:
        with blas.one_thread():
            assert info.get_threads() == 1
        assert info.get_threads() == 2
    finally:
        info.set_threads(before)


def test_numpys_openblas_is_told_apart_from_scipys(tmp_path):
    import os

    numpy_libs = os.path.dirname(os.path.realpath(np.__file__)) + ".libs"
    numpy_lib = {"internal_api": "openblas", "filepath": f"{numpy_libs}/libscipy_openblas64_.so"}
    scipy_lib = {"internal_api": "openblas", "filepath": "/x/scipy.libs/libscipy_openblas.so"}
    other = {"internal_api": "openblas", "filepath": "/usr/lib/libopenblas.so.0"}
    mkl = {"internal_api": "mkl", "filepath": "/x/libmkl_rt.so"}
    pick = blas._numpys_openblas
    assert pick([scipy_lib, numpy_lib]) == pick([numpy_lib, scipy_lib]) == numpy_lib["filepath"]
    assert pick([other, mkl]) == other["filepath"]  # the only OpenBLAS: a system NumPy's
    assert pick([other, scipy_lib]) is None  # two, neither NumPy's own: unknown
    assert pick([mkl]) is None
