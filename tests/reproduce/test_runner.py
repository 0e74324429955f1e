"""handgrad.reproduce (plan, parts, runner) and ``handgrad reproduce``, end to end at tiny
sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handgrad.checks.formulas import derived_gradients
from handgrad.cli import main
from handgrad.errors import HandgradError
from handgrad.experiments import mlp, multitask, vae
from handgrad.reproduce import checks, plan
from handgrad.reproduce import runner as rp
from handgrad.reproduce.results import FAILED, PASSED, RESULT_FILE, SKIPPED, ReproduceResult
from handgrad.training.runs import read_json

CHECKS = ("checks-layers", "checks-network", "checks-formulas")


def _no_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make MNIST unfindable wherever it may be on this machine."""
    monkeypatch.setattr(rp, "find_dataset", lambda name, data_dir=None: None)


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> ReproduceResult:
    """Every part of the smoke plan, with the real MNIST."""
    out = tmp_path_factory.mktemp("reproduce")
    return rp.reproduce(out, plan.smoke_plan(), data_dir=shared_data, download=False, log=print)


def test_every_part_runs_and_passes(everything: ReproduceResult) -> None:
    keys = [p.key for p in everything.parts]
    assert keys == [p.key for p in plan.plan_parts(plan.smoke_plan())]
    assert {"mlp", "vae-mnist", "multitask", *CHECKS} <= set(keys)
    assert [p.key for p in everything.parts if p.status != PASSED] == []
    assert everything.exit_code == 0


def test_each_part_leaves_its_config_and_summary(everything: ReproduceResult) -> None:
    for part in everything.parts:
        d = everything.out / part.directory
        assert read_json(d / "config.json")
        assert read_json(d / "summary.json")
        assert part.seconds > 0
    # the quick VAE runs record the subset they trained on, and ran on exactly that
    toy = next(p for p in everything.parts if p.key == "vae-gauss-full")
    assert toy.data == {"n_train": 500, "n_test": 200}
    assert read_json(everything.out / "vae-mnist" / "config.json")["latent"] == 4


def test_result_file_round_trips(everything: ReproduceResult) -> None:
    raw = json.loads((everything.out / RESULT_FILE).read_text())
    assert raw["exit_code"] == 0 and raw["mode"] == "quick"
    again = ReproduceResult.load(everything.out)
    assert again.parts == everything.parts
    assert (everything.out / "report.html").is_file()
    assert (everything.out / "report.md").is_file()


def test_verdict_messages_quote_the_runs_numbers(everything: ReproduceResult) -> None:
    mlp = next(p for p in everything.parts if p.key == "mlp")
    acc = read_json(everything.out / "mlp" / "summary.json")["test_acc"]
    assert f"{acc:.2%}" in mlp.message


def test_the_mnist_vae_reports_its_iwae_likelihood_beside_the_elbo(
    everything: ReproduceResult,
) -> None:
    evaluation = read_json(everything.out / "vae-mnist" / "evaluation.json")
    scale = vae.REPRODUCE["smoke"]
    assert evaluation["iwae_k"] == scale.iwae_k and evaluation["n_test"] == scale.iwae_images
    nll, neg_elbo = evaluation["test_neg_log_likelihood"], evaluation["test_neg_elbo"]
    assert nll < neg_elbo
    part = next(p for p in everything.parts if p.key == "vae-mnist")
    assert f"{nll:.2f}" in part.message and f"{neg_elbo:.2f}" in part.message
    report = (everything.out / "report.md").read_text()
    assert f"IWAE k = {scale.iwae_k}" in report and f"{nll:.2f}" in report


def test_missing_mnist_skips_only_its_parts_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_mnist(monkeypatch)
    (tmp_path / "empty").mkdir()
    result = rp.reproduce(
        tmp_path / "out",
        plan.smoke_plan(),
        data_dir=tmp_path / "empty",
        download=False,
        only=("checks-network", "mlp", "vae-mnist"),
        log=lambda line: None,
    )
    status = {p.key: p.status for p in result.parts}
    assert status == {"checks-network": "passed", "mlp": "skipped", "vae-mnist": "skipped"}
    skipped = [p for p in result.parts if p.status == SKIPPED]
    for part in skipped:
        assert "handgrad data download --dataset mnist" in part.message
        assert str(tmp_path / "empty" / "mnist") in part.message
        assert part.directory is None
    assert result.exit_code == 0
    assert "skipped" in (tmp_path / "out" / "report.md").read_text()


def test_a_failing_part_fails_the_run_but_not_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(multitask, "train_multitask", broken)
    result = rp.reproduce(
        tmp_path, plan.smoke_plan(), only=("multitask", "checks-network"), log=lambda line: None
    )
    status = {p.key: p.status for p in result.parts}
    assert status == {"checks-network": "passed", "multitask": "failed"}
    failed = next(p for p in result.parts if p.key == "multitask")
    assert failed.message == "RuntimeError: boom"
    assert "boom" in (tmp_path / "multitask" / "error.txt").read_text()
    assert result.exit_code == 1


def test_a_missed_criterion_fails_the_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, _ = multitask.REPRODUCE["smoke"]
    monkeypatch.setitem(multitask.REPRODUCE, "smoke", (config, 1.01))
    result = rp.reproduce(tmp_path, plan.smoke_plan(), only=("multitask",), log=lambda line: None)
    assert result.parts[0].status == FAILED
    assert "< 101%" in result.parts[0].message
    assert result.exit_code == 1


def test_refuses_to_mix_into_an_existing_reproduction(tmp_path: Path) -> None:
    rp.reproduce(tmp_path, plan.smoke_plan(), only=("checks-network",), log=lambda line: None)
    with pytest.raises(HandgradError, match="--overwrite"):
        rp.reproduce(tmp_path, plan.smoke_plan(), only=("checks-network",), log=lambda line: None)
    again = rp.reproduce(
        tmp_path, plan.smoke_plan(), only=("checks-layers",), overwrite=True, log=lambda line: None
    )
    assert [p.key for p in again.parts] == ["checks-layers"]


def test_unknown_part_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(HandgradError, match=r"unknown part.*checks-layers"):
        rp.reproduce(tmp_path, plan.smoke_plan(), only=("nope",), log=lambda line: None)


def test_reference_formulas_agree_with_finite_differences() -> None:
    results = checks.check_reference_formulas((1, 3), seed=1)
    assert set(results) == {"theta1A", "b1A", "theta2A", "b2A", "theta1B", "b1B", "theta2B", "b2B"}
    assert all(r["passed"] for r in results.values())
    assert max(r["fd_max_rel_err"] for r in results.values()) < 1e-6


def test_formula_check_catches_a_wrong_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    # the (1 − 1/m) slip of report 003 in ∂L/∂θ1B: only θ1B may fail, and only for m ≥ 2
    monkeypatch.setattr(
        checks, "derived_gradients", lambda q: derived_gradients(q, frozenset({"bn_factor"}))
    )
    results = checks.check_reference_formulas((1, 3))
    assert [k for k, r in results.items() if not r["passed"]] == ["theta1B"]
    assert results["theta1B"]["fd_max_rel_err"] > 1e-3


def test_plans_differ_where_they_should() -> None:
    quick, full = plan.quick_plan(), plan.full_plan()
    assert quick.mode == "quick" and full.mode == "full" and plan.smoke_plan().mode == "quick"
    reference, min_acc = mlp.REPRODUCE["full"]
    assert (reference.epochs, reference.hidden, reference.batch_size) == (60, [50], 16)
    assert min_acc == 0.90
    quick_mlp, _ = mlp.REPRODUCE["quick"]
    assert quick_mlp.epochs < reference.epochs and quick_mlp.train_subset > 0
    assert vae.REPRODUCE["full"].toy_sizes is None and vae.REPRODUCE["full"].mnist_sizes is None
    assert set(vae.REPRODUCE["full"].toy_max_gap) == set(vae.TOY_DATASETS)
    # every scale lists the same parts, in the same order
    keys = {s: [p.key for p in plan.plan_parts(plan.Plan(s))] for s in ("full", "quick", "smoke")}
    assert keys["full"] == keys["quick"] == keys["smoke"]


def test_cli_reproduce_quick_without_mnist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _no_mnist(monkeypatch)
    monkeypatch.setattr(plan, "quick_plan", plan.smoke_plan)  # the CLI's --quick, but smaller
    out = tmp_path / "out"
    code = main(
        ["reproduce", "--quick", "--out", str(out), "--data-dir", str(tmp_path), "--no-download"]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "[1/9] 2.1 Gradients of the basic layers" in text
    assert "skipped" in text and "ok: see" in text
    assert (out / "report.html").is_file()
    result = ReproduceResult.load(out)
    assert {p.key for p in result.parts if p.status == SKIPPED} == {"mlp", "vae-mnist"}
