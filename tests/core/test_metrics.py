"""Metrics on hand-computed examples and against scikit-learn on random data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    roc_auc_score,
)

from hexagan_core import metrics

X_TRUE = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, np.nan, 9.0]])
X_IMPUTED = np.array([[1.0, 4.0, 3.0], [5.0, 5.0, 3.0], [0.0, 0.0, 0.0]])
# Errors on the masked entries: row 0: +2; row 1: +1 and -3; row 2: none (its NaN is not scored).
MASK = np.array([[False, True, False], [True, False, True], [False, False, False]])


def test_hand_computed_imputation_scores():
    scores = metrics.imputation_scores(X_TRUE, X_IMPUTED, MASK)
    assert scores["rmse"] == pytest.approx(math.sqrt((2**2 + 1**2 + 3**2) / 3))
    # Rows 0 and 1 only; the official code would also average in row 2 as 0 (dividing by 3).
    assert scores["rmse_row"] == pytest.approx((math.sqrt(2**2 / 1) + math.sqrt((1 + 9) / 2)) / 2)
    assert scores["mae"] == pytest.approx((2 + 1 + 3) / 3)
    assert scores["rmse"] != pytest.approx(scores["rmse_row"])


def test_per_row_and_global_rmse_weigh_rows_differently():
    # One row with one large error, one row with many small ones.
    x_true = np.zeros((2, 4))
    x_imputed = np.array([[4.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    mask = np.array([[True, False, False, False], [True, True, True, True]])
    assert metrics.rmse(x_true, x_imputed, mask) == pytest.approx(math.sqrt((16 + 4) / 5))
    assert metrics.rmse_per_row(x_true, x_imputed, mask) == pytest.approx((4 + 1) / 2)


def test_imputation_scores_match_sklearn(rng):
    x_true = rng.random((50, 6))
    x_imputed = x_true + rng.normal(0, 0.1, x_true.shape)
    mask = rng.random(x_true.shape) < 0.3
    assert metrics.rmse(x_true, x_imputed, mask) == pytest.approx(
        math.sqrt(mean_squared_error(x_true[mask], x_imputed[mask]))
    )
    assert metrics.mae(x_true, x_imputed, mask) == pytest.approx(
        mean_absolute_error(x_true[mask], x_imputed[mask])
    )
    full = np.ones_like(mask)
    # With every entry masked, per-row RMSE is the mean of the per-row RMSEs.
    per_row = np.sqrt(((x_true - x_imputed) ** 2).mean(axis=1)).mean()
    assert metrics.rmse_per_row(x_true, x_imputed, full) == pytest.approx(per_row)


def test_empty_mask_gives_nan():
    empty = np.zeros_like(MASK)
    for score in metrics.imputation_scores(X_TRUE, X_IMPUTED, empty).values():
        assert math.isnan(score)


def test_shape_mismatch_and_nan_truth():
    with pytest.raises(ValueError, match=r"same shape, got \(3, 3\) and \(3, 2\)"):
        metrics.rmse(X_TRUE, X_IMPUTED[:, :2], MASK)
    with pytest.raises(ValueError, match=r"x_true and mask .* got \(3, 3\) and \(2, 3\)"):
        metrics.mae(X_TRUE, X_IMPUTED, MASK[:2])
    nan_masked = MASK.copy()
    nan_masked[2, 1] = True
    with pytest.raises(ValueError, match="x_true has NaN at 1 masked entries"):
        metrics.rmse_per_row(X_TRUE, X_IMPUTED, nan_masked)
    with pytest.raises(ValueError, match="mask must be a boolean array"):
        metrics.rmse(X_TRUE, X_IMPUTED, MASK.astype(int))


def test_positive_class():
    assert metrics.positive_class(np.array([0, 0, 0, 1, 1, 2, 2, -1, -1, -1])) == 2
    assert metrics.positive_class(np.array([0, 0, 1, 1])) == 1
    with pytest.raises(ValueError, match="at least one label"):
        metrics.positive_class(np.array([-1, -1]))


def test_hand_computed_classification():
    y_true = np.array([0, 0, 0, 1, 1])
    y_pred = np.array([0, 1, 0, 1, 0])
    # Positive = minority class 1: TP 1, FP 1, FN 1 -> F1 = 2 * 1 / (2 * 1 + 1 + 1).
    assert metrics.f1(y_true, y_pred, n_classes=2) == pytest.approx(2 / 4)
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(3 / 5)
    # Positives score 0.35 and 0.8, negatives 0.1 and 0.4: 3 of 4 pairs ordered correctly.
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    proba = np.column_stack([1 - p1, p1])
    assert metrics.roc_auc(np.array([0, 0, 1, 1]), proba, positive=1) == pytest.approx(3 / 4)


def test_binary_scores_match_sklearn(rng):
    y_true = (rng.random(200) < 0.3).astype(np.int64)
    p1 = np.clip(0.3 * y_true + rng.random(200) * 0.7, 0, 1)
    proba = np.column_stack([1 - p1, p1])
    y_pred = proba.argmax(axis=1)
    scores = metrics.classification_scores(y_true, proba)
    assert scores["f1"] == pytest.approx(f1_score(y_true, y_pred, pos_label=1))
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y_true, p1))
    assert scores["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    # The other class as positive.
    assert metrics.f1(y_true, y_pred, n_classes=2, positive=0) == pytest.approx(
        f1_score(y_true, y_pred, pos_label=0)
    )
    assert metrics.roc_auc(y_true, proba, positive=0) == pytest.approx(
        roc_auc_score(y_true == 0, proba[:, 0])
    )


def test_multiclass_scores_match_sklearn(rng):
    y_true = rng.integers(0, 4, 300)
    logits = rng.normal(size=(300, 4)) + 1.5 * np.eye(4)[y_true]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_pred = proba.argmax(axis=1)
    scores = metrics.classification_scores(y_true, proba)
    assert scores["f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y_true, proba, multi_class="ovr"))
    assert scores["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))


def test_unlabelled_rows_ignored_and_single_class_nan(rng):
    y_true = rng.integers(0, 2, 100)
    proba = rng.dirichlet([1, 1], 100)
    with_missing = np.concatenate([y_true, [-1, -1, -1]])
    padded = np.concatenate([proba, [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]])
    assert metrics.classification_scores(with_missing, padded) == pytest.approx(
        metrics.classification_scores(y_true, proba)
    )
    assert math.isnan(metrics.roc_auc(np.zeros(5, dtype=np.int64), rng.dirichlet([1, 1], 5)))
    unlabelled = metrics.classification_scores(np.full(3, -1), padded[-3:])
    assert all(math.isnan(v) for v in unlabelled.values())


def test_classification_shape_mismatch():
    with pytest.raises(ValueError, match=r"y_true and y_pred .* got \(3,\) and \(2,\)"):
        metrics.accuracy(np.array([0, 1, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"same number of rows, got shapes \(3,\) and \(2, 2\)"):
        metrics.roc_auc(np.array([0, 1, 1]), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="label 2 but proba has only 2 columns"):
        metrics.roc_auc(np.array([0, 1, 2]), np.full((3, 2), 0.5))


def test_log_loss_matches_scikit_learn():
    from sklearn.metrics import log_loss as sklearn_log_loss

    y = np.array([0, 2, 1, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.0, 1.0, 0.0]])
    assert metrics.log_loss(y, proba) == pytest.approx(sklearn_log_loss(y, proba, labels=[0, 1, 2]))
    with pytest.raises(ValueError, match="same shape"):
        metrics.log_loss(y[:3], proba)
