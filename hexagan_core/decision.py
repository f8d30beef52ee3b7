"""How C's class probabilities become a class: argmax, or a rule chosen on validation rows.

On rare classes argmax rarely predicts the minority, and F1 suffers; the most consistent fix
for F1 is a decision threshold tuned on validation data (van den Goorbergh et al. 2022, Elor
and Averbuch-Elor 2022). `choose_rule` picks one from C's probabilities on labelled validation
rows: with two classes, the threshold on the minority class's probability that maximises F1;
with more, per-class weights on the probabilities that maximise macro F1. Training chooses it
at the end (`train.fit(..., decision_rule="val_f1")`); the model keeps it, saves it in
model.json and applies it in `predict`. `predict_proba` stays the raw probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hexagan_core import metrics
from hexagan_core.validation import Interval, check_param, parameter_error

__all__ = ["DECISION_RULES", "MIN_ROWS_PER_CLASS", "DecisionRule", "choose_rule"]

DECISION_RULES = ("argmax", "val_f1")
"""How a trained model decides: argmax, or the rule `choose_rule` picks on validation F1."""

MIN_ROWS_PER_CLASS = 5
"""Fewest labelled validation rows of every class for a tuned rule; argmax below. With fewer,
each row of the rare class is more than 20 % of its recall, so the F1-maximising threshold is
set by one or two rows' probabilities and says little about new rows."""

# Multiclass weights, ordered by distance from 1 (on a log scale): ties keep the weight
# nearest to argmax's, since only a strict gain replaces the current weight.
_WEIGHTS = (1.0, 0.8, 1.25, 0.6, 1.67, 0.4, 2.5, 0.25, 4.0)
_ROUNDS = 3  # of coordinate ascent; on 3-10 classes the weights settle in one or two


@dataclass(frozen=True)
class DecisionRule:
    """The class of each row from its probabilities: argmax (no fields set); with two classes,
    `positive` where its probability is above `threshold`; with more, the argmax of the
    probabilities times `weights`."""

    threshold: float | None = None
    positive: int | None = None
    weights: tuple[float, ...] | None = None

    @property
    def kind(self) -> str:
        """'argmax', 'threshold' or 'weights'."""
        if self.threshold is not None:
            return "threshold"
        return "argmax" if self.weights is None else "weights"

    def predict(self, proba: np.ndarray) -> np.ndarray:
        """The class codes of the rows of `proba` (n, K)."""
        proba = np.asarray(proba, dtype=np.float64)
        if self.kind == "threshold":
            return np.where(proba[:, self.positive] > self.threshold, self.positive,
                            1 - self.positive)  # fmt: skip
        if self.kind == "weights":
            return (proba * np.asarray(self.weights)).argmax(axis=1)
        return proba.argmax(axis=1)

    def to_dict(self) -> dict[str, Any]:
        """The rule as model.json stores it (`from_dict` reads it back)."""
        if self.kind == "threshold":
            return {"rule": "threshold", "positive": self.positive, "threshold": self.threshold}
        if self.kind == "weights":
            return {"rule": "weights", "weights": list(self.weights)}
        return {"rule": "argmax"}

    @classmethod
    def from_dict(cls, values: Any, n_classes: int, owner: str) -> DecisionRule:
        """The rule in `values` (`to_dict`'s form) for a model of `n_classes` classes;
        ValueError naming `owner` (the file) when it is not one."""
        kinds = {"argmax": {"rule"}, "threshold": {"rule", "positive", "threshold"},
                 "weights": {"rule", "weights"}}  # fmt: skip
        kind = values.get("rule") if isinstance(values, dict) else None
        if kind not in kinds or set(values) != kinds[kind]:
            raise parameter_error("decision_rule", owner, "{'rule': 'argmax'}, a threshold "
                                  "or weights, as DecisionRule.to_dict writes", values)  # fmt: skip
        if kind == "threshold":
            if n_classes != 2:
                raise parameter_error("decision_rule", owner, "a threshold only with 2 classes",
                                      values)  # fmt: skip
            check_param(values["positive"], "positive", owner, Interval("int", 0, 1))
            check_param(values["threshold"], "threshold", owner, Interval("float", 0, 1))
            return cls(threshold=float(values["threshold"]), positive=int(values["positive"]))
        if kind == "weights":
            if n_classes < 3:
                raise parameter_error("decision_rule", owner, "weights only with 3 classes or "
                                      "more", values)  # fmt: skip
            weights = values["weights"]
            if not isinstance(weights, list) or len(weights) != n_classes:
                raise parameter_error("weights", owner, f"a list of {n_classes} weights", weights)
            positive_finite = Interval("float", 0, math.inf, closed="neither")
            for weight in weights:
                check_param(weight, "weights", owner, positive_finite)
            return cls(weights=tuple(float(w) for w in weights))
        return cls()


def choose_rule(y_true: np.ndarray, proba: np.ndarray,
                min_rows: int = MIN_ROWS_PER_CLASS) -> DecisionRule:  # fmt: skip
    """The rule that maximises F1 (binary, of the minority class) or macro F1 on the labelled
    rows of `y_true` (-1: unlabelled) and their probabilities `proba` (n, K); argmax when a
    class has fewer than `min_rows` labelled rows, or when no rule does better than argmax."""
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=np.float64)
    labelled = y_true >= 0
    y_true, proba = y_true[labelled], proba[labelled]
    if np.bincount(y_true, minlength=proba.shape[1]).min() < min_rows:
        return DecisionRule()
    if proba.shape[1] == 2:
        return _best_threshold(y_true, proba)
    return _best_weights(y_true, proba)


def _best_threshold(y_true: np.ndarray, proba: np.ndarray) -> DecisionRule:
    """The threshold on the minority class's probability with the best F1; ties: the nearest
    0.5. The candidates are the midpoints between consecutive distinct probabilities (each
    distinct split of the rows once, the boundary as far from both rows as it can be: a fixed
    grid misses splits where C's probabilities crowd, as they do near 0 for a rare class),
    half the lowest (every row positive) and 0.5 itself, which is argmax."""
    positive = metrics.positive_class(y_true)
    scores = proba[:, positive]
    distinct = np.unique(scores)
    candidates = np.concatenate([[distinct[0] / 2, 0.5], (distinct[:-1] + distinct[1:]) / 2])
    # Rows above each candidate, all and positive: F1 = 2 TP / (predicted + actual positives).
    predicted = len(scores) - np.searchsorted(np.sort(scores), candidates, side="right")
    positives = np.sort(scores[y_true == positive])
    true_positives = len(positives) - np.searchsorted(positives, candidates, side="right")
    f1 = 2 * true_positives / (predicted + len(positives))
    best = np.flatnonzero(f1 == f1.max())
    threshold = float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])
    return DecisionRule() if threshold == 0.5 else DecisionRule(threshold, positive)


def _best_weights(y_true: np.ndarray, proba: np.ndarray) -> DecisionRule:
    """Per-class weights on the probabilities by coordinate ascent on macro F1 from argmax's
    (all 1); a weight changes only for a strict gain, so the result is never worse than argmax
    on these rows, and argmax itself when nothing beats it."""
    n_classes = proba.shape[1]

    def macro_f1(weights: np.ndarray) -> float:
        return metrics.f1(y_true, (proba * weights).argmax(axis=1), n_classes=n_classes)

    weights = np.ones(n_classes)
    best = macro_f1(weights)
    for _ in range(_ROUNDS):
        before = best
        for k in range(n_classes):
            for weight in _WEIGHTS:
                trial = weights.copy()
                trial[k] = weight
                score = macro_f1(trial)
                if score > best:
                    best, weights = score, trial
        if best == before:
            break
    return DecisionRule() if (weights == 1).all() else DecisionRule(weights=tuple(weights))
