"""How good G_CG's class-conditional samples are: recognisable (a judge's agreement) and varied
(their spread against real rows').

A judge, a logistic regression fitted on complete real rows with their labels, reads each sample
G_MI(G_CG(z, y)); agreement is the share it labels y (chance: one over the classes; its accuracy
on real held-out rows says how far it can be trusted). Spread is the mean pairwise Euclidean
distance between the samples of a class, over that between real rows of the class: about 1 for
samples as varied as the data, 0 when every noise vector gives the same sample (mode collapse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from hexagan_core.ensemble import TrainedModel
from hexagan_core.validation import Interval, check_param

__all__ = ["SampleJudge", "SampleQuality", "mean_pairwise_distance"]


def mean_pairwise_distance(rows: np.ndarray) -> float:
    """Mean Euclidean distance over the distinct pairs of `rows` (NaN for fewer than two)."""
    if len(rows) < 2:
        return float("nan")
    points = torch.as_tensor(np.asarray(rows, dtype=np.float64))
    n = len(points)
    return float(torch.cdist(points, points).sum() / (n * (n - 1)))


@dataclass
class SampleQuality:
    """Per class: the judge's agreement with the samples, their spread and the real rows'."""

    per_class: pd.DataFrame
    """Columns class, agreement, spread_generated, spread_real, spread_ratio."""
    judge_accuracy: float
    """The judge's accuracy on the real rows it was checked on (NaN where there were none)."""
    n_per_class: int

    @property
    def agreement(self) -> float:
        """Share of all samples labelled with their class."""
        return float(self.per_class["agreement"].mean())

    @property
    def spread_ratio(self) -> float:
        """Mean over classes of spread_generated / spread_real (NaN classes left out)."""
        return float(self.per_class["spread_ratio"].mean())

    def to_dict(self) -> dict:
        return {
            "agreement": self.agreement,
            "spread_ratio": self.spread_ratio,
            "judge_accuracy": self.judge_accuracy,
            "n_per_class": self.n_per_class,
            "per_class": self.per_class.to_dict(orient="records"),
        }


class SampleJudge:
    """A logistic regression on complete real rows (min-max scaled, as the model sees them),
    used to read generated samples. `max_rows`: a class-stratified subsample bounds its cost."""

    def __init__(self, max_rows: int = 10_000, seed: int = 0):
        self.max_rows, self.seed = max_rows, seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> SampleJudge:
        """Fit on rows `x` with labels `y` (rows with a NaN or a label -1 are left out)."""
        from sklearn.linear_model import LogisticRegression

        check_param(self.max_rows, "max_rows", "SampleJudge", Interval("int", 10))
        x, y = _complete(x, y)
        if len(np.unique(y)) < 2:
            raise ValueError("The judge needs complete labelled rows of at least two classes.")
        if len(y) > self.max_rows:
            rng = np.random.default_rng(self.seed)
            keep = np.sort(rng.choice(len(y), self.max_rows, replace=False))
            x, y = x[keep], y[keep]
        self.classifier_ = LogisticRegression(max_iter=300).fit(x, y)
        return self

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on the complete labelled rows of `x` (NaN where there are none)."""
        x, y = _complete(x, y)
        return float(self.classifier_.score(x, y)) if len(y) else float("nan")

    def assess(self, model: TrainedModel, x_real: np.ndarray, y_real: np.ndarray,
               per_class: int = 100, seed: int = 0) -> SampleQuality:  # fmt: skip
        """Agreement and spread of `per_class` samples of each class of `model`, against the
        real rows `x_real` (labels `y_real`: held out from the judge's rows, e.g. test rows;
        up to `per_class` complete rows per class set the real spread)."""
        check_param(per_class, "per_class", "SampleJudge.assess", Interval("int", 2, 100_000))
        x_real, y_real = _complete(x_real, y_real)
        rows = []
        for label in range(model.n_classes):
            samples, _ = model.sample(label, per_class, seed=seed)
            real = x_real[y_real == label][:per_class]
            generated_spread = mean_pairwise_distance(samples)
            real_spread = mean_pairwise_distance(real)
            rows.append({
                "class": label,
                "agreement": float(np.mean(self.classifier_.predict(samples) == label)),
                "spread_generated": generated_spread,
                "spread_real": real_spread,
                "spread_ratio": generated_spread / real_spread if real_spread > 0 else np.nan,
            })  # fmt: skip
        return SampleQuality(pd.DataFrame(rows), self.accuracy(x_real, y_real), per_class)


def _complete(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of `x` with no NaN and a known label (>= 0)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    keep = ~np.isnan(x).any(axis=1) & (y >= 0)
    return x[keep], y[keep].astype(np.int64)
