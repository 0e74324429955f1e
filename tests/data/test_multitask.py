"""The synthetic two-task dataset: shapes, seeding, split, balance, and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.data.multitask import make_multitask
from handgrad.errors import HandgradError


def test_shapes_dtypes_and_split():
    d = make_multitask(500, n_features=6, n_targets=3, n_classes=5, test_fraction=0.2, seed=1)
    assert d.x_train.shape == (400, 6) and d.x_test.shape == (100, 6)
    assert d.yA_train.shape == (400, 3) and d.yA_test.shape == (100, 3)
    assert d.labels_train.shape == (400,) and d.labels_test.shape == (100,)
    assert d.x_train.dtype == d.yA_train.dtype == np.float32
    assert d.labels_train.dtype.kind == "i"
    assert (d.n_features, d.n_targets, d.n_classes) == (6, 3, 5)
    # the two splits hold different rows
    train_rows = {row.tobytes() for row in d.x_train}
    assert not any(row.tobytes() in train_rows for row in d.x_test)


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = (make_multitask(300, seed=s) for s in (4, 4, 5))
    for field in ("x_train", "yA_train", "labels_train", "x_test", "labels_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)


def test_targets_depend_on_x_and_classes_are_balanced():
    d = make_multitask(4000, n_classes=4, noise=0.0, seed=0, dtype=np.float64)
    labels = np.concatenate([d.labels_train, d.labels_test])
    share = np.bincount(labels, minlength=4) / labels.size
    assert share.min() > 0.15
    assert np.abs(d.yA_train).max() <= 1.0  # sin(·) without noise
    # the regression target is a function of x: a duplicated x gives the same yA
    again = make_multitask(4000, n_classes=4, noise=0.0, seed=0, dtype=np.float64)
    np.testing.assert_array_equal(d.yA_train, again.yA_train)
    # with noise the targets move, the labels (noise-free) do not
    noisy = make_multitask(4000, n_classes=4, noise=0.3, seed=0, dtype=np.float64)
    np.testing.assert_array_equal(noisy.labels_train, d.labels_train)
    assert np.std(noisy.yA_train - d.yA_train) == pytest.approx(0.3, rel=0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_features": 0}, "n_features"),
        ({"n_classes": 1}, "2 classes"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"n_samples": 2, "test_fraction": 0.1}, "empty train or test"),
        ({"noise": -1.0}, "noise"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(HandgradError, match=match):
        make_multitask(**{"n_samples": 100, **kwargs})
