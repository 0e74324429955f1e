"""Smoke test of benchmarks/vs_frameworks.py on tiny MNIST-shaped data (seconds, not minutes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "vs_frameworks.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("vs_frameworks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["vs_frameworks"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    del sys.modules["vs_frameworks"]


def tiny_mnist(n: int = 320, n_test: int = 64) -> SimpleNamespace:
    """Random images in [0, 1] (n, 784) whose label is a linear function of the pixels."""
    rng = np.random.default_rng(3)
    x = rng.random((n + n_test, 784), dtype=np.float32)
    y = (x @ rng.standard_normal((784, 10)).astype(np.float32)).argmax(axis=1).astype(np.int64)
    split = lambda a, b: SimpleNamespace(x=x[a:b], y=y[a:b])  # noqa: E731
    return SimpleNamespace(train=split(0, n), test=split(n, n + n_test))


def test_handgrad_and_numpy_loops_do_the_same_work(bench):
    case, data = bench.CASES["mlp"], tiny_mnist()
    hg = bench.run_handgrad(case, data, bench.build_handgrad_model(case, data), 2)
    fused = bench.run_numpy_mlp(case, data, bench.build_handgrad_model(case, data), 2)
    assert len(hg["seconds"]) == len(fused["seconds"]) == 2
    # Same initial weights, same batch order, same update: the same training run.
    assert hg["train_loss"] == pytest.approx(fused["train_loss"], rel=1e-4)
    assert hg["train_acc"] == pytest.approx(fused["train_acc"], abs=2 / 320)
    assert hg["test_acc"] == pytest.approx(fused["test_acc"], abs=2 / 64)


def test_epoch_flops_counts_forward_weight_and_needed_input_gradients(bench):
    mlp = bench.CASES["mlp"]
    # Forward 2·in·out and weight gradient 2·in·out for both layers; ∂L/∂x only for layer 2.
    per_row = 4 * 784 * 50 + 6 * 50 * 10
    assert bench.epoch_flops(mlp, 1000) == per_row * 1000


def test_table_ratios_use_the_fastest_setting_of_each_peer(bench):
    case = bench.CASES["mlp"]

    def result(seconds: list[float], **extra) -> dict:
        return {"seconds": seconds, "setup_mb": 100.0, "peak_mb": 150.0, "test_acc": 0.9, **extra}

    results = {
        "handgrad-1": result([1.0, 3.0, 2.0], threads=1),
        "handgrad-default": result([9.0, 9.0, 9.0], threads=2),
        "fused-1": result([1.0, 1.0, 1.0], threads=1, compile_seconds=0.5),
        "fused-default": result([1.5, 1.5, 1.5], threads=2, compile_seconds=0.5),
        "numpy-1": result([2.0, 2.0, 2.0], threads=1),
        "numpy-default": result([2.5, 2.5, 2.5], threads=2),
        "floor-1": result([0.5, 0.5, 0.5], threads=1),
        "floor-default": result([0.6, 0.6, 0.6], threads=2),
        "torch-1": result([4.0, 4.0, 4.0], threads=1),
        "torch-default": result([8.0, 8.0, 8.0], threads=2),
        "jaxstep-1": result([6.0, 6.0, 6.0], threads=1, compile_seconds=2.0),
        "jaxstep-default": result([7.0, 7.0, 7.0], threads=2, compile_seconds=2.0),
        "jaxscan-1": result([3.0, 3.0, 3.0], threads=1, compile_seconds=3.0),
        "jaxscan-default": result([5.0, 5.0, 5.0], threads=2, compile_seconds=3.0),
    }
    rows, ratios = bench.build_rows(case, results, gflops=1.0, n=100)
    # Medians; for each framework the faster thread setting; JAX the faster of step and scan.
    assert ratios["vs_torch"] == pytest.approx(1.0 / 4.0)
    assert ratios["vs_jax"] == pytest.approx(1.0 / 3.0)
    assert ratios["vs_peers"] == pytest.approx(1.0 / 3.0)
    assert ratios["vs_numpy"] == pytest.approx(0.5)
    assert ratios["numpy_engine_vs_peers"] == pytest.approx(2.0 / 3.0)
    assert ratios["vs_bound"] == pytest.approx(1.0 / (bench.epoch_flops(case, 100) / 1e9))
    assert ratios["floor_vs_peers"] == pytest.approx(0.5 / 3.0)
    assert len(rows) == 15  # fourteen workers and the arithmetic bound
    assert rows[2][5] == "0.50" and rows[0][5] == ""  # compile seconds, where there are some
    table = bench.render(rows, markdown=True)
    assert table.count("\n") == 16 and table.startswith("| case |")
    assert bench.implementations("mlp") == list(results)
    lines = bench.verdicts({"mlp": ratios})
    assert "PyTorch = 0.25 (target ≤ 0.2: NOT met)" in lines[0]
    assert "JAX = 0.33 (target ≤ 0.8: met)" in lines[0]


def test_exits_2_with_a_message_when_a_peer_is_missing(bench, monkeypatch, capsys):
    real = importlib.util.find_spec
    # only JAX missing, whether or not PyTorch is installed here (CI installs neither)
    monkeypatch.setattr(
        bench.importlib.util,
        "find_spec",
        lambda name: None if name == "jax" else real("numpy" if name == "torch" else name),
    )
    assert bench.main(["--only", "mlp", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("JAX is not installed") and 'uv pip install "jax[cpu]==0.10.2"' in err


@pytest.mark.parametrize("name", ["mlp", "vae", "multitask"])
def test_fused_engine_does_the_same_work_as_the_numpy_engine(bench, name):
    case = bench.CASES[name]
    data = multitask_data() if name == "multitask" else tiny_mnist(n=260)
    numpy_run = bench.run_handgrad(case, data, bench.build_handgrad_model(case, data), 2)
    fused = bench.run_handgrad(case, data, bench.build_handgrad_model(case, data), 2, "fused")
    assert fused["compile_seconds"] > 0 and len(fused["seconds"]) == 2
    # Same weights, batches and formulas; float32 rounding (and, for the multi-task
    # network, the fused engine's own dropout draws) apart, the same training.
    rel = 0.05 if name == "multitask" else 1e-3
    assert fused["train_loss"] == pytest.approx(numpy_run["train_loss"], rel=rel)


EPOCH_FUNCTIONS = {
    "mlp": ("handgrad.experiments.mlp", "_train_epoch"),
    "vae": ("handgrad.experiments.vae", "_train_epoch"),
    "multitask": ("handgrad.experiments.multitask", "train_epoch"),
}


@pytest.mark.parametrize("name", ["mlp", "vae", "multitask"])
def test_the_benchmark_times_the_epoch_the_training_command_runs(bench, name, monkeypatch):
    """Each handgrad worker's timed epochs are calls of the experiment's own epoch
    function, the one ``handgrad train NAME`` runs in each epoch."""
    module_name, function = EPOCH_FUNCTIONS[name]
    module = importlib.import_module(module_name)
    real, calls = getattr(module, function), []

    def counted(*args, **kwargs):
        calls.append(args[0])  # the training step
        return real(*args, **kwargs)

    monkeypatch.setattr(module, function, counted)
    case = bench.CASES[name]
    data = multitask_data() if name == "multitask" else tiny_mnist(n=260)
    model = bench.build_handgrad_model(case, data)
    result = bench.run_handgrad(case, data, model, 2, "fused")
    timed = [step for step in calls if step.model is model]  # not the warm-up's copy
    assert len(result["seconds"]) == len(timed) == 2
    assert timed[0] is timed[1] and timed[0].engine == "fused"


def multitask_data():
    from handgrad.data.multitask import make_multitask

    s = SIZES
    return make_multitask(400, s["n_features"], s["n_targets"], s["n_classes"], seed=0)


SIZES = {"n_features": 64, "n_targets": 16, "n_classes": 10}


@pytest.mark.parametrize("name", ["mlp", "vae", "multitask"])
def test_numpy_floor_runs_the_products_and_updates_of_every_case(bench, name, monkeypatch):
    case = bench.CASES[name]
    if name == "multitask":
        data = SimpleNamespace(x_train=np.zeros((130, 64), dtype=np.float32))
    else:
        data = tiny_mnist(n=130)
    model = bench.build_handgrad_model(case, data)
    params = model.parameters()
    before = [p.data.copy() for p in params]
    result = bench.run_floor(case, data, model, 2)
    assert len(result["seconds"]) == 2 and all(t > 0 for t in result["seconds"])
    assert all(not np.array_equal(p.data, b) for p, b in zip(params, before, strict=True))


@pytest.mark.parametrize("framework", ["handgrad", "torch", "jax"])
def test_one_core_setting_pins_the_worker_to_one_core(bench, framework):
    # CI installs neither peer: their parts are skipped there, handgrad's always runs.
    if framework != "handgrad" and importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed (a benchmark-only peer)")
    one = bench.run_probe(framework, "1")
    # Allowed one core, and its products keep no more than that one busy.
    assert one["cores"] == 1 and one["busy"] < 1.2
    every = bench.run_probe(framework, "default")
    assert every["cores"] == len(bench.os.sched_getaffinity(0))


@pytest.mark.parametrize("engine", ["numpy", "fused"])
def test_vae_epoch_parts_add_up_to_the_epoch(bench, engine):
    case, data = bench.CASES["vae"], tiny_mnist(n=260)
    result = bench.run_handgrad(case, data, bench.build_handgrad_model(case, data), 2, engine)
    parts = result["parts"]
    assert all(parts[k] > 0 for k in ("products", "overhead"))
    # the numpy engine steps batch by batch, its optimiser timed apart; the fused engine
    # runs the MNIST VAE's shape as one compiled loop, its updates inside
    assert (parts["optimiser"] is None) == (engine == "fused")
    assert parts["optimiser"] is None or parts["optimiser"] > 0
    assert sum(parts[k] or 0.0 for k in bench.PARTS) == pytest.approx(parts["epoch"])
    results = {f"{'fused' if engine == 'fused' else 'handgrad'}-1": {**result, "cores": 1}}
    (row,) = bench.breakdown_rows(results, bound=0.5)
    assert row[0].endswith(", 1 core") and row[-1] == "0.500"
    assert (row[4] == "in the loop") == (engine == "fused")
    assert "matrix products" in bench.render([row], True, bench.PARTS_HEADER)


def test_cli_comparison_says_whether_the_command_is_within_ten_percent(bench):
    near = bench.cli_comparison("vae", "fused", [2.2, 2.0], [2.0, 2.0, 2.0])
    assert "command / benchmark = 1.05 (within 10 %)" in near
    far = bench.cli_comparison("mlp", "numpy", [3.8, 3.6], [2.0, 2.1, 2.0])
    assert "train mlp --engine numpy: epochs 3.800, 3.600 s" in far
    assert "1.85 (NOT within 10 %)" in far


def test_the_multitask_command_trains_the_cases_network_on_as_many_rows(bench, tmp_path):
    """The multi-task case's training command (the experiment's own call) trains the
    benchmark's sizes, optimiser and batch on the benchmark's number of training rows."""
    import json
    import subprocess

    case = bench.CASES["multitask"]
    cmd = bench.train_command(case, "fused", 1, tmp_path / "run", None)
    subprocess.run(cmd, check=True, capture_output=True)
    config = json.loads((tmp_path / "run/config.json").read_text())
    sizes = bench.MULTITASK_SIZES
    assert config["hidden"] == sizes["n_hidden"] and config["n_features"] == sizes["n_features"]
    assert (config["optimizer"], config["lr"], config["batch_size"]) == ("sgd", case.lr, 64)
    data = bench.load_case_data(case, None)
    from handgrad.experiments.multitask import MultiTaskConfig, make_data

    fields = {k: v for k, v in config.items() if k in MultiTaskConfig.__dataclass_fields__}
    assert make_data(MultiTaskConfig(**fields)).x_train.shape == data.x_train.shape
