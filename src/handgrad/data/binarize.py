"""Binarised images, as the likelihood literature trains and tests on (Burda et al. 2016).

Grey-level pixels p ∈ [0, 1] are read as Bernoulli probabilities: a binarised image is
one draw x ~ Bernoulli(p), pixel by pixel. *Dynamic* binarisation draws a fresh image
every time one is used in training (each batch of each epoch, `train_batch`), which
acts as data augmentation; the test set is binarised once, with a fixed seed
(`fixed_test_set`), so that every run is scored on the same binary images.
"""

from __future__ import annotations

import numpy as np

MODES = ("none", "dynamic")
TEST_SEED = 20160201  # one fixed seed: every run sees the same binarised test set


def bernoulli(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw x ~ Bernoulli(p), elementwise: 0/1 values (shape and dtype of p)."""
    return (rng.random(p.shape, dtype=p.dtype) < p).astype(p.dtype)


def train_batch(p: np.ndarray, seed: int, epoch: int, step: int) -> np.ndarray:
    """Batch ``step`` of ``epoch``, binarised by a generator of (seed, epoch, step): a
    fresh draw each time, and the same draw when a stopped run resumes there."""
    return bernoulli(p, np.random.default_rng([seed, 5, epoch, step]))


def fixed_test_set(p: np.ndarray) -> np.ndarray:
    """The test images binarised once, the same for every run (`TEST_SEED`)."""
    return bernoulli(p, np.random.default_rng(TEST_SEED))
