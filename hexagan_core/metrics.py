"""Imputation and classification scores as pure functions of (truth, estimate, mask).

Imputation scores compare `x_true` and `x_imputed` on the entries where `mask` is True (the
artificially removed ones). RMSE comes in two forms (docs/hexagan.md section 7.3): the global one of
GAIN and the per-row one of the official HexaGAN code. Classification scores skip rows whose
label is -1 (missing) and use scikit-learn wherever it has the metric.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

__all__ = [
    "accuracy",
    "classification_scores",
    "f1",
    "imputation_scores",
    "log_loss",
    "mae",
    "positive_class",
    "rmse",
    "rmse_per_row",
    "roc_auc",
]


def _check_same_shape(a: np.ndarray, b: np.ndarray, names: str) -> None:
    """Raise a ValueError giving both shapes unless `a` and `b` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{names} are expected to have the same shape, got {a.shape} and {b.shape}."
        )


def _masked_errors(
    x_true: np.ndarray, x_imputed: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Validated (errors, mask): x_imputed - x_true where masked, 0 elsewhere."""
    x_true = np.asarray(x_true, dtype=np.float64)
    x_imputed = np.asarray(x_imputed, dtype=np.float64)
    mask = np.asarray(mask)
    _check_same_shape(x_true, x_imputed, "x_true and x_imputed")
    _check_same_shape(x_true, mask, "x_true and mask")
    if mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array, got dtype {mask.dtype}.")
    for name, x in (("x_true", x_true), ("x_imputed", x_imputed)):
        n_nan = int(np.isnan(x[mask]).sum())
        if n_nan:
            raise ValueError(f"{name} has NaN at {n_nan} masked entries; they cannot be scored.")
    return np.where(mask, x_imputed - x_true, 0.0), mask


def rmse(x_true: np.ndarray, x_imputed: np.ndarray, mask: np.ndarray) -> float:
    """Global RMSE over the masked entries, as GAIN: sqrt(sum(m * (x - x̂)²) / sum(m)).

    nan when the mask is empty.
    """
    errors, mask = _masked_errors(x_true, x_imputed, mask)
    n = mask.sum()
    return float(np.sqrt((errors**2).sum() / n)) if n else float("nan")


def rmse_per_row(x_true: np.ndarray, x_imputed: np.ndarray, mask: np.ndarray) -> float:
    """Per-row RMSE as in the official HexaGAN code, for 2-D inputs.

    The mean, over the rows with at least one masked entry, of sqrt(mean squared error on that
    row's masked entries). The official code also averages in rows without masked entries as 0,
    which shrinks the score with the share of complete rows; they are left out here. nan when
    the mask is empty.
    """
    errors, mask = _masked_errors(x_true, x_imputed, mask)
    if errors.ndim != 2:
        raise ValueError(f"rmse_per_row expects 2-D inputs, got shape {errors.shape}.")
    counts = mask.sum(axis=1)
    scored = counts > 0
    if not scored.any():
        return float("nan")
    row_rmse = np.sqrt((errors[scored] ** 2).sum(axis=1) / counts[scored])
    return float(row_rmse.mean())


def mae(x_true: np.ndarray, x_imputed: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute error over the masked entries; nan when the mask is empty."""
    errors, mask = _masked_errors(x_true, x_imputed, mask)
    n = mask.sum()
    return float(np.abs(errors).sum() / n) if n else float("nan")


def imputation_scores(
    x_true: np.ndarray, x_imputed: np.ndarray, mask: np.ndarray
) -> dict[str, float]:
    """{"rmse": global RMSE, "rmse_row": per-row RMSE, "mae": MAE} on the masked entries."""
    return {
        "rmse": rmse(x_true, x_imputed, mask),
        "rmse_row": rmse_per_row(x_true, x_imputed, mask),
        "mae": mae(x_true, x_imputed, mask),
    }


def _labelled(y_true: np.ndarray, other: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """y_true (1-D integers) and the matching rows of `other`, without rows labelled -1."""
    y_true = np.asarray(y_true)
    other = np.asarray(other)
    if y_true.ndim != 1 or not np.issubdtype(y_true.dtype, np.integer):
        raise ValueError(
            f"y_true must be a 1-D integer array, got shape {y_true.shape} "
            f"and dtype {y_true.dtype}."
        )
    if other.ndim == 1:
        _check_same_shape(y_true, other, f"y_true and {name}")
    elif other.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"y_true and {name} are expected to have the same number of rows, "
            f"got shapes {y_true.shape} and {other.shape}."
        )
    keep = y_true >= 0
    return y_true[keep], other[keep]


def positive_class(labels: np.ndarray) -> int:
    """The least frequent class among `labels` >= 0; ties go to the larger code."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels[labels >= 0], return_counts=True)
    if classes.size == 0:
        raise ValueError("positive_class needs at least one label >= 0 in 'labels'. Got none.")
    return int(classes[np.flatnonzero(counts == counts.min())[-1]])


def f1(
    y_true: np.ndarray, y_pred: np.ndarray, *, n_classes: int, positive: int | None = None
) -> float:
    """F1 score: binary (n_classes == 2) of the `positive` class, else macro over the classes.

    `positive` defaults to positive_class(y_true), the minority class, as label 1 is in the
    official code's breast data. Rows with y_true == -1 are skipped; nan if none is left.
    """
    y_true, y_pred = _labelled(y_true, y_pred, "y_pred")
    if y_true.size == 0:
        return float("nan")
    if n_classes == 2:
        positive = positive_class(y_true) if positive is None else positive
        score = f1_score(y_true, y_pred, pos_label=positive, average="binary", zero_division=0)
        return float(score)
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def roc_auc(y_true: np.ndarray, proba: np.ndarray, *, positive: int | None = None) -> float:
    """ROC AUC from class probabilities `proba` of shape (n, K).

    Two columns: the AUC of the `positive` class's column (default positive_class(y_true)).
    More: the one-vs-rest AUC averaged over the classes present in y_true (scikit-learn's
    multi_class="ovr", average="macro" when all are present). Rows with y_true == -1 are skipped;
    nan when fewer than two classes are present.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise ValueError(f"proba must be 2-D (n_rows, n_classes), got shape {proba.shape}.")
    y_true, proba = _labelled(y_true, proba, "proba")
    present = np.unique(y_true)
    if present.size < 2:
        return float("nan")
    if present.max() >= proba.shape[1]:
        raise ValueError(
            f"y_true has label {present.max()} but proba has only {proba.shape[1]} columns."
        )
    if proba.shape[1] == 2:
        positive = positive_class(y_true) if positive is None else positive
        if positive not in (0, 1):
            raise ValueError(
                "The 'positive' parameter of roc_auc must be 0 or 1 for two columns of proba. "
                f"Got {positive!r} instead."
            )
        return float(roc_auc_score(y_true == positive, proba[:, positive]))
    return float(np.mean([roc_auc_score(y_true == c, proba[:, c]) for c in present]))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of correct predictions; rows with y_true == -1 are skipped, nan if none is left."""
    y_true, y_pred = _labelled(y_true, y_pred, "y_pred")
    return float(accuracy_score(y_true, y_pred)) if y_true.size else float("nan")


def log_loss(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-probability of the true class, probabilities clipped to [1e-7, 1]."""
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    _check_same_shape(y_true, proba[:, 0], "y_true and proba's rows")
    picked = proba[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


def classification_scores(
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    positive: int | None = None,
    y_pred: np.ndarray | None = None,
) -> dict[str, float]:
    """{"f1", "roc_auc", "accuracy"} from class probabilities (n, K): F1 and accuracy of the
    predicted classes `y_pred` (default: the argmax of `proba`), ROC-AUC of the probabilities.

    Rows with y_true == -1 are ignored.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise ValueError(f"proba must be 2-D (n_rows, n_classes), got shape {proba.shape}.")
    if y_pred is None:
        y_pred = proba.argmax(axis=1)
    return {
        "f1": f1(y_true, y_pred, n_classes=proba.shape[1], positive=positive),
        "roc_auc": roc_auc(y_true, proba, positive=positive),
        "accuracy": accuracy(y_true, y_pred),
    }
