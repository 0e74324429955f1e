"""A synthetic two-task dataset for the multi-task network: one regression, one classification.

Both targets are functions of the same input x ~ N(0, I_n) (n features), drawn with a
seeded Generator (same seed, same data):

* task A (regression, a outputs):  yA = sin(x W_A) + noise · ε,  W_A ~ N(0, 2/n) (n, a),
  ε ~ N(0, 1). The sin matches the task-A hidden activation, and W_A's scale puts the
  pre-activations at a standard deviation of about √2, where sin is clearly non-linear.
* task B (classification, b classes): u = x W_B + mix · sin(x W_A)[:, :2] with
  W_B ~ N(0, 1/n) (n, 2) maps x to a plane, partly through the noiseless task-A signal
  (the tasks are related, so task B profits from ŷA, which the network feeds into it
  through x⊕). The class is the sector of that plane the point falls in, optionally
  twisted into a spiral: label = ⌊b · (θ/2π + twist · ‖u‖)⌋ mod b with
  θ = atan2(u₂, u₁) + π ∈ [0, 2π). u is roughly isotropic, so the b classes are nearly
  balanced; through the sin the boundaries are curved in x. (With one task-A output the
  plane is x W_B alone.)

The rows are then split at random into a training set and a test set (``test_fraction``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgrad.errors import HandgradError


@dataclass
class MultiTaskData:
    """Train and test splits: x (m, n), yA (m, a) and integer labels (m,) in [0, b)."""

    x_train: np.ndarray
    yA_train: np.ndarray
    labels_train: np.ndarray
    x_test: np.ndarray
    yA_test: np.ndarray
    labels_test: np.ndarray
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_targets(self) -> int:
        return int(self.yA_train.shape[1])


def make_multitask(
    n_samples: int = 4000,
    n_features: int = 10,
    n_targets: int = 4,
    n_classes: int = 4,
    *,
    noise: float = 0.1,
    mix: float = 1.0,
    twist: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    dtype: np.dtype | type = np.float32,
) -> MultiTaskData:
    """Generate the dataset described in the module docstring (x and yA in ``dtype``)."""
    if n_features < 1 or n_targets < 1:
        raise HandgradError(
            f"need n_features ≥ 1 and n_targets ≥ 1, got {n_features} and {n_targets}"
        )
    if n_classes < 2:
        raise HandgradError(f"need at least 2 classes, got {n_classes}")
    if not 0.0 < test_fraction < 1.0:
        raise HandgradError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = round(n_samples * test_fraction)
    if n_test < 1 or n_samples - n_test < 1:
        raise HandgradError(
            f"{n_samples} samples leave an empty train or test split at test_fraction "
            f"{test_fraction}; use more samples"
        )
    if noise < 0:
        raise HandgradError(f"noise must be ≥ 0, got {noise}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, n_features))
    w_a = rng.standard_normal((n_features, n_targets)) * np.sqrt(2.0 / n_features)
    clean_a = np.sin(x @ w_a)
    y_a = clean_a + noise * rng.standard_normal((n_samples, n_targets))
    w_b = rng.standard_normal((n_features, 2)) / np.sqrt(n_features)
    u = x @ w_b + mix * clean_a[:, :2] if n_targets >= 2 else x @ w_b
    theta = np.arctan2(u[:, 1], u[:, 0]) + np.pi
    spiral = theta / (2 * np.pi) + twist * np.linalg.norm(u, axis=1)
    labels = np.floor(n_classes * spiral).astype(np.int64) % n_classes
    order = rng.permutation(n_samples)
    test, train = order[:n_test], order[n_test:]
    dtype = np.dtype(dtype)
    return MultiTaskData(
        x[train].astype(dtype),
        y_a[train].astype(dtype),
        labels[train],
        x[test].astype(dtype),
        y_a[test].astype(dtype),
        labels[test],
        n_classes,
    )
