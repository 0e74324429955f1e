"""VAE training runs: configuration, metrics, summary, figures; that a short run learns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.experiments.vae import (
    VAEConfig,
    VAEData,
    build_vae,
    covariance_error,
    evaluate,
    load_vae_data,
    train_vae,
)
from handgrad.training.experiment import RunOptions
from handgrad.training.runs import load_arrays, read_metrics
from tests.experiments.resume_check import (
    assert_mid_epoch_stop_resumes_bit_identically,
    assert_resume_is_bit_identical,
)

QUIET = RunOptions(log=lambda line: None)


def test_defaults_depend_on_the_dataset() -> None:
    toy = VAEConfig(dataset="gauss-diag").resolve()
    assert (toy.decoder, toy.latent, toy.hidden, toy.schedule) == (
        "gaussian",
        2,
        [64, 64],
        "cosine",
    )
    img = VAEConfig(dataset="mnist").resolve()
    assert (img.decoder, img.latent, img.hidden, img.epochs, img.lr, img.batch_size) == (
        "bernoulli",
        20,
        [400],
        10,
        1e-3,
        128,
    )
    assert VAEConfig(dataset="ring").resolve().warmup > 0
    mine = VAEConfig(dataset="mnist", latent=2, hidden=[64, 32], epochs=3).resolve()
    assert (mine.latent, mine.hidden, mine.epochs) == (2, [64, 32], 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, "epochs must be ≥ 1"),
        ({"decoder": "poisson"}, "unknown decoder"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"schedule": "step"}, "unknown schedule"),
        ({"beta": -1.0}, "beta must be"),
        ({"hidden": [0]}, "hidden must be"),
    ],
)
def test_bad_settings_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(HandgradError, match=match):
        VAEConfig(**kwargs).resolve()


def test_kl_warmup_schedule() -> None:
    cfg = VAEConfig(beta=2.0, warmup=3).resolve()
    assert [cfg.beta_at(e) for e in (1, 2, 3, 4, 9)] == [0.5, 1.0, 1.5, 2.0, 2.0]
    assert VAEConfig(warmup=0).resolve().beta_at(1) == 1.0


def test_covariance_error_is_relative_frobenius() -> None:
    cov = np.array([[4.0, 1.0], [1.0, 2.0]])
    x = np.random.default_rng(0).multivariate_normal([0, 0], cov, size=200_000)
    assert covariance_error(x, cov) < 0.01
    assert covariance_error(2 * x, cov) == pytest.approx(3.0, rel=0.02)  # ‖4Σ − Σ‖/‖Σ‖


def test_evaluate_is_deterministic_and_consistent() -> None:
    cfg = VAEConfig(dataset="gauss-full", hidden=[8]).resolve()
    data = load_vae_data(cfg)
    vae = build_vae(cfg, 2)
    a, b = evaluate(vae, data.test, seed=1), evaluate(vae, data.test, seed=1)
    assert a == b
    assert a["neg_elbo"] == pytest.approx(a["rec"] + a["kl"])
    assert sum(a["kl_per_dim"]) == pytest.approx(a["kl"], rel=1e-5)


def test_short_run_learns_gauss_diag_and_writes_the_run(tmp_path) -> None:
    cfg = VAEConfig(dataset="gauss-diag", hidden=[16], epochs=4, lr=5e-3)
    summary = train_vae(cfg, tmp_path, QUIET)
    rows = read_metrics(tmp_path)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    for key in ("train_neg_elbo", "train_rec", "train_kl", "test_neg_elbo", "test_kl", "seconds"):
        assert all(np.isfinite(r[key]) for r in rows), key
    # the entropy is the floor; four short epochs already come close to it
    # H = ½ log((2πe)² det Σ), det Σ = (5 · 1)²
    assert summary["entropy"] == pytest.approx(np.log(2 * np.pi * np.e) + 0.5 * np.log(25.0))
    assert 0 < summary["gap_to_entropy"] + 0.05 < 0.35
    assert summary["cov_rel_error"] < 0.15
    assert summary["test_true_nll"] == pytest.approx(summary["entropy"], abs=0.1)
    assert len(summary["kl_per_dim"]) == 2
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["test_neg_elbo"] == pytest.approx(summary["test_neg_elbo"])
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["hidden"] == [16] and config["decoder"] == "gaussian"
    for fig in ("samples.png", "latent.png", "loss_curves.png"):
        assert (tmp_path / fig).stat().st_size > 1000, fig
    vae = build_vae(cfg.resolve(), 2)
    vae.load_state_dict(load_arrays(tmp_path / "weights.npz"))
    assert evaluate(vae, load_vae_data(cfg.resolve()).test, seed=[0, 2])["neg_elbo"] == (
        pytest.approx(summary["test_neg_elbo"])
    )
    with pytest.raises(HandgradError, match="already holds a run"):
        train_vae(cfg, tmp_path, QUIET)


def _tiny_images() -> VAEData:
    """A stand-in for MNIST: 300 training and 100 test 4×4 images of uniform noise."""
    rng = np.random.default_rng(0)
    return VAEData(
        "mnist",
        rng.random((300, 16), dtype=np.float32),
        rng.random((100, 16), dtype=np.float32),
        test_labels=rng.integers(0, 10, 100),
        classes=[str(i) for i in range(10)],
        image_shape=(4, 4),
    )


def test_image_run_writes_grids_and_latent_scatter(tmp_path) -> None:
    data = _tiny_images()
    cfg = VAEConfig(dataset="mnist", latent=2, hidden=[8], epochs=2, batch_size=50)
    summary = train_vae(cfg, tmp_path, QUIET, data=data)
    assert summary["reference_neg_elbo_pytorch"] == 105.80
    assert "entropy" not in summary
    for fig in ("reconstructions.png", "samples.png", "latent.png", "loss_curves.png"):
        assert (tmp_path / fig).stat().st_size > 1000, fig
    with pytest.raises(HandgradError, match="batch-size"):
        train_vae(VAEConfig(dataset="mnist", batch_size=500), tmp_path / "b", QUIET, data=data)


def test_loads_real_mnist(shared_data) -> None:
    data = load_vae_data(VAEConfig(dataset="mnist").resolve(), shared_data)
    assert data.train.shape == (60000, 784) and data.test.shape == (10000, 784)
    assert data.train.dtype == np.float32 and 0 <= data.train.min() < data.train.max() <= 1
    assert data.image_shape == (28, 28) and data.test_labels.shape == (10000,)


@pytest.mark.parametrize("dataset", ["gauss-full", "ring"])
def test_resume_after_interruption_is_bit_identical(tmp_path, dataset) -> None:
    from handgrad.experiments.vae import EXPERIMENT

    cfg = VAEConfig(dataset=dataset, hidden=[8], epochs=3, warmup=2)
    assert_resume_is_bit_identical(EXPERIMENT, cfg, tmp_path)


def test_stop_inside_an_epoch_resumes_bit_identically(tmp_path, monkeypatch) -> None:
    from handgrad.experiments.vae import EXPERIMENT

    cfg = VAEConfig(dataset="gauss-full", hidden=[8], epochs=3, warmup=2, batch_size=256)
    assert_mid_epoch_stop_resumes_bit_identically(EXPERIMENT, cfg, tmp_path, monkeypatch)


@pytest.mark.parametrize("binarize", ["none", "dynamic"])
def test_fused_image_run_stops_inside_an_epoch_and_resumes_bit_identically(
    tmp_path, monkeypatch, binarize
) -> None:
    """The MNIST VAE's shape (one hidden layer each side, Adam) trains in the fused
    engine's compiled loop, chunk by chunk, with the grey levels or a fresh binarisation
    of each batch; a stop inside a chunk resumes exactly."""
    from handgrad.experiments.vae import EXPERIMENT

    data = _tiny_images()
    cfg = VAEConfig(dataset="mnist", latent=2, hidden=[8], epochs=2, batch_size=50,
                    engine="fused", binarize=binarize)  # fmt: skip
    assert_mid_epoch_stop_resumes_bit_identically(EXPERIMENT, cfg, tmp_path, monkeypatch, data=data)
    provenance = json.loads((tmp_path / "full/provenance.json").read_text())
    assert "compiled training loop" in json.dumps(provenance)


def test_iwae_training_on_dynamically_binarised_images_resumes_bit_identically(
    tmp_path, monkeypatch
) -> None:
    """The IWAE objective and the per-batch binarisation are both drawn so that a stop
    inside an epoch resumes exactly (the binarisation from (seed, epoch, step))."""
    from handgrad.experiments.vae import EXPERIMENT

    data = _tiny_images()
    cfg = VAEConfig(
        dataset="mnist", latent=2, hidden=[8], epochs=2, batch_size=50, iwae_k=3, binarize="dynamic"
    )
    assert_mid_epoch_stop_resumes_bit_identically(EXPERIMENT, cfg, tmp_path, monkeypatch, data=data)
    rows = read_metrics(tmp_path / "full")
    assert all("train_neg_iwae" in r and "train_neg_elbo" not in r for r in rows)
    assert rows[-1]["train_neg_iwae"] < rows[0]["train_neg_iwae"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dataset": "ring", "binarize": "dynamic"}, "for images"),
        ({"dataset": "mnist", "iwae_k": 5, "beta": 0.5}, "no β"),
    ],
)
def test_binarize_and_iwae_refuse_what_they_cannot_mean(kwargs: dict, match: str) -> None:
    with pytest.raises(HandgradError, match=match):
        VAEConfig(**kwargs).resolve()


def test_evaluate_estimates_a_likelihood_above_the_elbo(tmp_path) -> None:
    """evaluate --iwae on a 2-D run (data generated again from the config): the estimate
    of log p(x) lies above the ELBO and rises with k; evaluation.json holds it."""
    from handgrad.experiments.vae import EXPERIMENT
    from handgrad.training.experiment import EvaluateOptions

    cfg = VAEConfig(dataset="gauss-full", hidden=[8], epochs=2)
    summary = train_vae(cfg, tmp_path, QUIET)
    small, line = EXPERIMENT.evaluate_run(tmp_path, EvaluateOptions(iwae=2, progress=False))
    big, _ = EXPERIMENT.evaluate_run(tmp_path, EvaluateOptions(iwae=200, progress=False))
    assert big["test_neg_elbo"] == summary["test_neg_elbo"]  # the same ε seed, the same data
    assert big["test_neg_log_likelihood"] < small["test_neg_log_likelihood"]
    assert small["test_neg_log_likelihood"] < big["test_neg_elbo"]
    assert 0 < big["test_log_likelihood_se"] < 0.2
    assert json.loads((tmp_path / "evaluation.json").read_text()) == big
    assert "IWAE, k = 2" in line and "true density" in line
