"""Every compiled kernel equals the readable formula it declares (`handgrad.fast.kernels`):
float64 to 1e-12, float32 within rounding, optimisers bit for bit; and every compiled
function of a kernel module is named by a declaration."""

from __future__ import annotations

import numbers

import numba
import numpy as np
import pytest

from handgrad.fast import kernels

MODULES = kernels.modules()
DECLARED = [
    pytest.param(k, id=f"{m.__name__.rsplit('.', 1)[1]}:{i}")
    for m in MODULES
    for i, k in enumerate(getattr(m, "KERNELS", ()))
]
RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def compiled_functions(module) -> list[str]:
    """Names of the Numba functions defined in ``module`` (not imported into it)."""
    return [
        name
        for name, value in vars(module).items()
        if isinstance(value, numba.core.registry.CPUDispatcher)
        and value.py_func.__module__ == module.__name__
    ]


def test_the_package_has_its_kernel_modules():
    names = {m.__name__.rsplit(".", 1)[1] for m in MODULES}
    assert {"linear_relu", "softmax_xent", "bernoulli_nll", "adam", "sgd"} <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_every_compiled_function_is_declared_with_the_formula_it_replaces(module):
    declared = {k.__name__ for d in getattr(module, "KERNELS", ()) for k in d.kernels}
    helpers = {h.__name__ for h in getattr(module, "HELPERS", ())}  # called by kernels
    undeclared = set(compiled_functions(module)) - declared - helpers
    assert not undeclared, f"{module.__name__}: no KERNELS declaration names {undeclared}"
    for d in getattr(module, "KERNELS", ()):
        assert d.replaces and d.kernels


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kernel", DECLARED)
def test_kernel_equals_the_readable_formula(kernel, dtype, seed):
    inputs = kernel.example(np.random.default_rng(seed), dtype)
    want, got = kernel.formula(*inputs), kernel.run(*inputs)
    assert got.keys() == want.keys(), kernel.replaces
    for name in want:
        g, w = np.asarray(got[name]), np.asarray(want[name])
        if kernel.exact or isinstance(want[name], numbers.Integral):
            np.testing.assert_array_equal(g, w, err_msg=f"{kernel.replaces}: {name}")
            continue
        rtol = RTOL[dtype]  # atol: entries that cancel towards 0 (sums of signed terms)
        atol = rtol * max(1.0, float(np.abs(w).max(initial=0.0)))
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{kernel.replaces}: {name}")


def test_a_kernel_without_a_declaration_fails_the_check(tmp_path, monkeypatch):
    """The check above is not vacuous: a module defining a compiled function and no
    declaration is reported."""
    source = "from handgrad.fast.compiled import jit\n\n@jit\ndef triple(x):\n    return 3 * x\n"
    (tmp_path / "rogue_kernel.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    import rogue_kernel

    assert compiled_functions(rogue_kernel) == ["triple"]
    with pytest.raises(AssertionError, match="no KERNELS declaration names"):
        test_every_compiled_function_is_declared_with_the_formula_it_replaces(rogue_kernel)
