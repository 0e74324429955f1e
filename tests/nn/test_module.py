"""The layer contract, for every layer of the catalogue; Module state; Sequential."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest

from handgrad import nn
from handgrad.checks.layers import LAYER_CASES, LayerCase
from handgrad.errors import HandgradError

CASES = pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.name)
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def _run(case: LayerCase, dtype, seed: int = 0, m: int = 3):
    rng = np.random.default_rng(seed)
    module = case.make(dtype, rng)
    x = case.input(m, dtype, rng)
    y = module.forward(x)
    dy = rng.standard_normal(y.shape).astype(dtype)
    return module, x, y, dy


@CASES
@DTYPES
def test_dtype_is_preserved(case, dtype):
    module, _, y, dy = _run(case, dtype)
    assert y.dtype == dtype
    assert module.backward(dy).dtype == dtype
    for name, p in module.named_parameters():
        assert p.data.dtype == dtype and p.grad.dtype == dtype, name
    for m in module.modules():
        for name, buf in m.buffers().items():
            assert buf.dtype == dtype, name


@CASES
def test_same_seed_same_numbers(case):
    a, _, ya, dya = _run(case, np.float32, seed=9)
    b, _, yb, dyb = _run(case, np.float32, seed=9)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(a.backward(dya), b.backward(dyb))
    for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_array_equal(pa.grad, pb.grad)


@CASES
def test_gradients_accumulate_over_two_backward_calls(case):
    module, _, _, dy = _run(case, np.float64)
    dy2 = np.random.default_rng(1).standard_normal(dy.shape)
    module.zero_grad()
    module.backward(dy)
    module.backward(dy2)
    accumulated = [p.grad.copy() for p in module.parameters()]
    module.zero_grad()
    module.backward(dy + dy2)  # backward is linear in dy
    for a, p in zip(accumulated, module.parameters(), strict=True):
        np.testing.assert_allclose(a, p.grad, rtol=1e-12, atol=1e-14)
    module.zero_grad()
    assert all(not p.grad.any() for p in module.parameters())


@CASES
def test_backward_shape_mismatch_names_layer_and_both_shapes(case):
    module, _, y, _ = _run(case, np.float32)
    bad = np.zeros((y.shape[0] + 1, y.shape[1]), dtype=np.float32)
    with pytest.raises(HandgradError) as err:
        module.backward(bad)
    msg = str(err.value)
    assert str(bad.shape) in msg and str(y.shape) in msg and ".backward" in msg


@CASES
def test_forward_saves_only_its_named_residuals(case):
    """The contract: what backward needs is one named record, ``residuals`` (a NamedTuple),
    not hidden attributes; forward and backward add nothing else to the module."""
    module = case.make(np.float64, np.random.default_rng(0))
    before = {id(m): set(vars(m)) for m in module.modules()}
    x = case.input(3, np.float64, np.random.default_rng(1))
    y = module.forward(x)
    module.backward(np.ones_like(y))
    for m in module.modules():
        assert set(vars(m)) - before[id(m)] <= {"residuals"}, m
        if m is not module or not isinstance(module, nn.Sequential):
            assert isinstance(m.residuals, tuple) and m.residuals._fields, m


@CASES
def test_input_grad_false_skips_dx_and_accumulates_the_same(case):
    a = case.make(np.float64, np.random.default_rng(0))
    b = case.make(np.float64, np.random.default_rng(0))
    x = case.input(3, np.float64, np.random.default_rng(1))
    dy = np.random.default_rng(2).standard_normal(a.forward(x).shape)
    b.forward(x)
    a.backward(dy)
    assert b.backward(dy, input_grad=False) is None
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)


@CASES
def test_backward_before_forward_raises(case):
    module = case.make(np.float32, np.random.default_rng(0))
    with pytest.raises(HandgradError, match="before forward"):
        module.backward(np.zeros((2, 3), dtype=np.float32))


def _net(seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Linear(4, 5, rng=rng), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2, rng=rng)
    )


def test_named_parameters_and_parameters():
    net = _net()
    names = [n for n, _ in net.named_parameters()]
    assert names == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.gamma",
        "layers.1.beta",
        "layers.3.weight",
        "layers.3.bias",
    ]
    assert [id(p) for p in net.parameters()] == [id(p) for _, p in net.named_parameters()]
    assert nn.ReLU().parameters() == []


def test_state_dict_round_trip_includes_buffers():
    a, b = _net(0), _net(1)
    x = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32)
    a.forward(x)  # moves the running statistics
    state = a.state_dict()
    assert set(state) == {n for n, _ in a.named_parameters()} | {
        "layers.1.running_mean",
        "layers.1.running_var",
    }
    b.load_state_dict(state)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    state["layers.0.weight"][...] = 0  # a copy, not a view
    assert a[0].weight.data.any()


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda s: s.pop("layers.1.gamma"), r"missing \['layers.1.gamma'\]"),
        (lambda s: s.update(extra=np.zeros(1)), r"unexpected \['extra'\]"),
        (lambda s: s.update({"layers.0.bias": np.zeros(3)}), r"layers.0.bias has shape \(3,\)"),
        (
            lambda s: s.update({"layers.0.bias": np.zeros(5, dtype=complex)}),
            "layers.0.bias has dtype complex128",
        ),
    ],
)
def test_load_state_dict_mismatch_raises_and_changes_nothing(edit, match):
    net, state = _net(0), _net(1).state_dict()
    before = net.state_dict()
    edit(state)
    with pytest.raises(HandgradError, match=match):
        net.load_state_dict(state)
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_train_and_eval_reach_every_submodule():
    net = _net()
    assert net.eval() is net
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    assert len(list(net.modules())) == 5


def test_sequential_is_the_composition():
    net = _net()
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    h = x
    for layer in net.layers:
        h = layer.forward(h)
    np.testing.assert_array_equal(net.forward(x), h)
    dy = np.ones_like(h)
    g = dy
    for layer in reversed(net.layers):
        g = layer.backward(g)
    net.zero_grad()
    dx = net.backward(dy)
    np.testing.assert_allclose(dx, g, rtol=1e-6)
    assert len(net) == 4 and isinstance(net[2], nn.ReLU)
    assert repr(net).startswith("Sequential(Linear(4→5), BatchNorm1d(5), ReLU()")


def test_sequential_rejects_non_layers():
    with pytest.raises(HandgradError, match="item 1 is a ufunc, not a layer"):
        nn.Sequential(nn.ReLU(), np.tanh)


def test_input_must_be_an_array():
    with pytest.raises(HandgradError, match="NumPy array, got list"):
        nn.Linear(2, 2).forward([[1.0, 2.0]])


def test_sequential_backward_matches_autograd(oracle):
    """The chained backward of Linear → Tanh → Linear against autograd on the composition."""
    rng = np.random.default_rng(4)
    net = nn.Sequential(
        nn.Linear(3, 4, rng=rng, dtype=np.float64),
        nn.Tanh(),
        nn.Linear(4, 2, rng=rng, dtype=np.float64),
    )
    oracle(
        net,
        rng.standard_normal((5, 3)),
        lambda x, w1, b1, w2, b2: anp.tanh(x @ w1.T + b1) @ w2.T + b2,
    )


def test_parameter_zero_grad_is_lazy_but_exact():
    from handgrad.nn.module import Parameter

    p = Parameter(np.ones((2, 3), dtype=np.float32))
    p.grad[...] = 5
    p.zero_grad()
    np.testing.assert_array_equal(p.grad, np.zeros((2, 3)))  # reading fills the zeros
    p.grad += 1
    p.zero_grad()
    out = p.take_zeroed_grad()  # the marked array, stale 1s in it, for a caller to overwrite
    assert out is not None and p.take_zeroed_grad() is None  # taken once: no longer marked
    out[...] = 3
    np.testing.assert_array_equal(p.grad, np.full((2, 3), 3))
    assert p.grad.dtype == np.float32


def test_a_zeroed_gradient_is_written_over_and_a_live_one_added_to():
    """`add_product` / `add_row_sum` write the first contribution after zero_grad straight
    into the gradient (whatever stale numbers it held) and add the next ones."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    p, q = nn.Parameter(np.zeros((3, 2))), nn.Parameter(np.zeros(2))
    p.grad[...], q.grad[...] = 7.0, 7.0  # stale
    p.zero_grad()
    q.zero_grad()
    p.add_product(a, b)
    q.add_row_sum(b)
    np.testing.assert_array_equal(p.grad, a @ b)
    np.testing.assert_array_equal(q.grad, b.sum(axis=0))
    p.add_product(a, b)
    q.add_row_sum(b)
    np.testing.assert_allclose(p.grad, 2 * (a @ b))
    np.testing.assert_allclose(q.grad, 2 * b.sum(axis=0))
