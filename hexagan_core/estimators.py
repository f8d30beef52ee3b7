"""scikit-learn style shells over HexaGAN: HexaGANImputer and HexaGANClassifier.

Both take a DataFrame (numeric and categorical columns) or an array, with NaN for missing
entries. Constructors only store their arguments; `fit` validates them and learns the encoder,
the min-max scaler (on the rows given to fit) and the networks. `transform` is inductive: it
imputes new rows with the trained networks and never refits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hexagan_core.config import HexaGANConfig, preset
from hexagan_core.data import MinMaxScaler, TableEncoder
from hexagan_core.persist import Pipeline, load_pipeline
from hexagan_core.train import Callback, fit

__all__ = ["HexaGANImputer", "HexaGANClassifier"]


def _as_frame(X: Any) -> tuple[pd.DataFrame, bool]:
    """(X as a DataFrame, whether the caller gave a DataFrame)."""
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True), True
    array = np.asarray(X, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"X must be 2-D (rows x features). Got shape {array.shape}.")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]), False


class _HexaGANEstimator:
    def __init__(
        self,
        *,
        config: HexaGANConfig | None = None,
        preset: str = "default",
        device: str = "auto",
        callback: Callback | None = None,
        **overrides: Any,
    ):
        self.config = config
        self.preset = preset
        self.device = device
        self.callback = callback
        self.overrides = overrides

    def _config(self) -> HexaGANConfig:
        if self.config is not None:
            return self.config.replace(**self.overrides).validate()
        return preset(self.preset, **self.overrides)

    def _fit(self, X: Any, labels: np.ndarray | None, class_names: list[str]):
        frame, self._dataframe_in = _as_frame(X)
        encoder = TableEncoder().fit(frame)
        encoded = encoder.transform(frame)
        scaler = MinMaxScaler().fit(encoded)
        model = fit(
            self._config(),
            scaler.transform(encoded),
            labels,
            callback=self.callback,
            device=self.device,
        )
        self.pipeline_ = Pipeline(model, encoder, scaler, class_names)
        self.n_features_in_ = frame.shape[1]
        self.feature_names_in_ = list(frame.columns)
        return self

    def _check_fitted(self) -> Pipeline:
        if not hasattr(self, "pipeline_"):
            raise ValueError(f"This {type(self).__name__} is not fitted yet; call fit first.")
        return self.pipeline_

    def _matrix(self, X: Any) -> np.ndarray:
        pipeline = self._check_fitted()
        frame, _ = _as_frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but {type(self).__name__} was fitted with "
                f"{self.n_features_in_}."
            )
        if not isinstance(X, pd.DataFrame):
            frame.columns = self.feature_names_in_
        return pipeline.to_matrix(frame)

    def save(self, directory: str | Path) -> Path:
        """Save the fitted model (JSON + tensors; load with `load`)."""
        return self._check_fitted().save(directory)

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto"):
        """An estimator around the model saved in `directory`."""
        estimator = cls(device=device)
        estimator.pipeline_ = load_pipeline(directory, device=device)
        estimator.feature_names_in_ = estimator.pipeline_.columns
        estimator.n_features_in_ = len(estimator.feature_names_in_)
        estimator._dataframe_in = True
        return estimator

    @property
    def model_(self):
        return self._check_fitted().model


class HexaGANImputer(_HexaGANEstimator):
    """Missing-value imputation with HexaGAN's E, G_MI and D_MI (labels optional).

    Parameters
    ----------
    config : HexaGANConfig, default=None
        Full configuration; if None, the named `preset` is used.
    preset : str, default="default"
        One of hexagan_core.PRESETS.
    device : {"auto", "cpu", "cuda", "mps"}, default="auto"
    callback : callable, default=None
        Receives the training reports (see train.fit).
    **overrides
        Any HexaGANConfig field, for example ``iterations=500``.
    """

    def fit(self, X: Any, y: Any = None) -> HexaGANImputer:
        labels, classes = (None, []) if y is None else _encode_labels(y)
        return self._fit(X, labels, [str(c) for c in classes])

    def transform(self, X: Any, seed: int = 0) -> Any:
        """X with its missing entries filled; observed entries unchanged; same type as X."""
        pipeline = self._check_fitted()
        imputed = pipeline.to_table(pipeline.model.impute(self._matrix(X), seed=seed))
        frame, is_frame = _as_frame(X)
        if not is_frame:
            frame.columns = self.feature_names_in_
        filled = frame.where(frame.notna(), imputed)
        if isinstance(X, pd.DataFrame):
            filled.index = X.index
            return filled
        return filled.to_numpy(dtype=np.float64)

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.fit(X, y).transform(X)


class HexaGANClassifier(_HexaGANEstimator):
    """Classification from incomplete, imbalanced and partly labelled rows (all six networks).

    `y` may hold any hashable labels; -1 or NaN (None) marks an unlabelled row. See
    HexaGANImputer for the parameters.
    """

    def fit(self, X: Any, y: Any) -> HexaGANClassifier:
        labels, classes = _encode_labels(y)
        self.classes_ = np.array(classes, dtype=object)
        return self._fit(X, labels, [str(c) for c in classes])

    def predict_proba(self, X: Any, seed: int = 0) -> np.ndarray:
        return self._check_fitted().model.predict_proba(self._matrix(X), seed=seed)

    def predict(self, X: Any, seed: int = 0) -> np.ndarray:
        codes = self.predict_proba(X, seed=seed).argmax(axis=1)
        classes = getattr(self, "classes_", np.array(self.pipeline_.class_names))
        return classes[codes]

    def transform(self, X: Any, seed: int = 0) -> np.ndarray:
        """The hidden vectors h = E(x) of the rows of X."""
        return self._check_fitted().model.hidden(self._matrix(X), seed=seed)


def _encode_labels(y: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes 0..K-1 in sorted label order, -1 for unlabelled (-1, NaN or None)."""
    values = pd.Series(np.asarray(y, dtype=object))
    unlabelled = values.isna() | values.map(
        lambda v: isinstance(v, (int, float, np.number)) and v == -1
    )
    known = values[~unlabelled]
    try:
        classes = sorted(known.unique())
    except TypeError:  # mixed types: order by their text
        classes = sorted(known.unique(), key=str)
    if len(classes) < 2:
        raise ValueError(f"y must contain at least 2 classes among labelled rows. Got {classes}.")
    lookup = {c: i for i, c in enumerate(classes)}
    codes = np.array([-1 if u else lookup[v] for v, u in zip(values, unlabelled, strict=True)])
    return codes.astype(np.int64), classes
