"""scikit-learn estimators over HexaGAN: HexaGANImputer and HexaGANClassifier.

Both take a DataFrame (numeric and categorical columns) or an array, with NaN for missing
entries. Constructors only store their arguments, so `get_params`, `set_params` and
`sklearn.base.clone` work; `fit` validates them, resolves the training configuration (the
`config`, or the named `preset`, with `iterations` and `seed` applied when given) and learns the
encoder, the min-max scaler (on the rows given to fit) and the networks. `transform` is
inductive: it imputes new rows with the trained networks and never refits.
"""

from __future__ import annotations

import dataclasses
import numbers
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils import Tags, assert_all_finite
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from hexagan_core.config import NUMERIC_CONSTRAINTS, PRESETS, HexaGANConfig, preset
from hexagan_core.data import MinMaxScaler, TableEncoder
from hexagan_core.ensemble import TrainedModel
from hexagan_core.persist import Pipeline, load_pipeline
from hexagan_core.train import Callback, fit
from hexagan_core.validation import check_param, parameter_error

__all__ = ["HexaGANImputer", "HexaGANClassifier"]

# The HexaGANConfig fields that are also estimator parameters; None keeps the config's value.
_CONFIG_OVERRIDES = ("iterations", "seed")


class _HexaGANEstimator(BaseEstimator):
    """The shared shell: parameters, input checks, training and persistence."""

    def __init__(
        self,
        *,
        config: HexaGANConfig | None = None,
        preset: str = "default",
        iterations: int | None = None,
        seed: int | None = None,
        device: str = "auto",
        callback: Callback | None = None,
    ) -> None:
        self.config = config
        self.preset = preset
        self.iterations = iterations
        self.seed = seed
        self.device = device
        self.callback = callback

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN marks the missing entries HexaGAN learns to fill
        return tags

    def _training_config(self) -> HexaGANConfig:
        """The configuration the parameters describe; ValueError naming a bad parameter."""
        owner = type(self).__name__
        if self.config is not None and not isinstance(self.config, HexaGANConfig):
            raise parameter_error("config", owner, "a HexaGANConfig or None", self.config)
        check_param(self.preset, "preset", owner, tuple(PRESETS))
        if self.config is not None and self.preset != "default":
            raise ValueError(
                f"{owner} takes a 'config' or a 'preset', not both: build the config from the "
                f"preset with hexagan_core.preset({self.preset!r}, ...). Got preset="
                f"{self.preset!r} and a config."
            )
        for name in _CONFIG_OVERRIDES:
            rule = dataclasses.replace(NUMERIC_CONSTRAINTS[name], allow_none=True)
            check_param(getattr(self, name), name, owner, rule)
        if not isinstance(self.device, str):
            raise parameter_error("device", owner, "a str", self.device)
        if self.callback is not None and not callable(self.callback):
            raise parameter_error("callback", owner, "a callable or None", self.callback)
        base = preset(self.preset) if self.config is None else self.config
        overrides = {
            name: value for name in _CONFIG_OVERRIDES if (value := getattr(self, name)) is not None
        }
        return base.replace(**overrides).validate()

    def _fit(self, X: Any, y: Any) -> np.ndarray:
        """Train on X and the optional labels y; return the classes of y (none without y)."""
        config = self._training_config()
        frame = self._frame(X, reset=True)
        if y is None:
            labels, classes = None, np.array([])
        else:
            check_consistent_length(frame, y)
            labels, classes = _encode_labels(y)
        encoder = TableEncoder().fit(frame)
        encoded = encoder.transform(frame)
        scaler = MinMaxScaler().fit(encoded, feature_names=encoder.feature_names_out_)
        model = fit(
            config,
            scaler.transform(encoded),
            labels,
            callback=self.callback,
            device=self.device,
        )
        self.pipeline_ = Pipeline(
            model,
            encoder,
            scaler,
            [str(c) for c in classes],
            named_columns=hasattr(self, "feature_names_in_"),
        )
        return classes

    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """X as a DataFrame after scikit-learn's checks of its shape and feature names.

        At fit (`reset`) this records `n_features_in_`, and `feature_names_in_` when X is a
        DataFrame with string column names. Afterwards the columns are matched by position:
        the checks have already refused a DataFrame whose names differ from those seen by fit.
        """
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            frame = X.reset_index(drop=True)
        else:
            # Infinities are refused below, with those of DataFrames.
            array = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite=False)
            frame = pd.DataFrame(array)
        numeric = frame.select_dtypes("number").to_numpy(dtype=np.float64, na_value=np.nan)
        assert_all_finite(numeric, allow_nan=True, input_name="X")
        if not reset:
            frame.columns = self.pipeline_.columns
        return frame

    def _fitted_frame(self, X: Any) -> pd.DataFrame:
        """X checked against what fit saw, with the fitted columns' names."""
        check_is_fitted(self)
        return self._frame(X, reset=False)

    def _model_input(self, X: Any) -> np.ndarray:
        """X encoded and scaled as at fit: the networks' input (NaN = missing)."""
        frame = self._fitted_frame(X)
        return self.pipeline_.to_matrix(frame)

    def save(self, directory: str | Path) -> Path:
        """Save the fitted model (JSON + tensors; load with `load`)."""
        check_is_fitted(self)
        return self.pipeline_.save(directory)

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> Self:
        """A fitted estimator around the model saved in `directory`, with that model's config."""
        pipeline = load_pipeline(directory, device=device)
        estimator = cls(config=pipeline.model.config, device=device)
        estimator.pipeline_ = pipeline
        estimator.n_features_in_ = len(pipeline.columns)
        if pipeline.named_columns:
            estimator.feature_names_in_ = np.asarray(pipeline.columns, dtype=object)
        return estimator

    @property
    def model_(self) -> TrainedModel:
        check_is_fitted(self)
        return self.pipeline_.model


class HexaGANImputer(TransformerMixin, _HexaGANEstimator):
    """Missing-value imputation with HexaGAN's E, G_MI and D_MI (labels optional).

    Parameters
    ----------
    config : HexaGANConfig, default=None
        Every training hyperparameter. None: the named `preset`. Give one or the other.
    preset : str, default="default"
        One of hexagan_core.PRESETS, used when `config` is None.
    iterations : int, default=None
        Outer iterations of training; None keeps those of the config or preset.
    seed : int, default=None
        Seed of every random draw of training; None keeps the config's or preset's.
    device : {"auto", "cpu", "cuda", "mps"}, default="auto"
        Where the networks train and run; "auto" prefers CUDA, then MPS.
    callback : callable, default=None
        Receives the training reports (see hexagan_core.train.fit).

    Attributes
    ----------
    pipeline_ : hexagan_core.persist.Pipeline
        The trained networks with the table encoder and the min-max scaler.
    model_ : hexagan_core.model.HexaGANModel or hexagan_core.ensemble.HexaGANEnsemble
        The trained networks (``pipeline_.model``): an ensemble of the config's n_imputations
        models when that is more than 1, which imputes by their mean.
    n_features_in_ : int
        Number of columns seen by `fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen by `fit`; defined only when X was a DataFrame with string names.
    """

    def fit(self, X: Any, y: Any = None) -> Self:
        """Learn from X (NaN = missing). Labels `y` are optional (-1, NaN or None marks an
        unlabelled row); given them, the classifier networks train too."""
        self._fit(X, y)
        return self

    def transform(self, X: Any, seed: int = 0) -> Any:
        """X with its missing entries filled; observed entries unchanged; same type as X."""
        frame = self._fitted_frame(X)
        filled = self.pipeline_.impute_table(frame, seed=seed)
        if isinstance(X, pd.DataFrame):
            filled.columns, filled.index = X.columns, X.index
            return filled
        return filled.to_numpy(dtype=np.float64)


class HexaGANClassifier(ClassifierMixin, TransformerMixin, _HexaGANEstimator):
    """Classification from incomplete, imbalanced and partly labelled rows (all six networks).

    `y` may hold any hashable labels; -1 or NaN (None) marks an unlabelled row. The parameters
    are HexaGANImputer's.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of the labelled rows, sorted.
    pipeline_, model_, n_features_in_, feature_names_in_
        As HexaGANImputer's.
    """

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        # transform gives the hidden vectors, the networks' float32 output whatever X's dtype.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def fit(self, X: Any, y: Any) -> Self:
        """Learn from X (NaN = missing) and labels y (-1, NaN or None marks an unlabelled row)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        self.classes_ = self._fit(X, y)
        return self

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> Self:
        estimator = super().load(directory, device=device)
        estimator.classes_ = np.asarray(estimator.pipeline_.class_names)
        return estimator

    def predict_proba(self, X: Any, seed: int = 0) -> np.ndarray:
        matrix = self._model_input(X)
        return self.pipeline_.model.predict_proba(matrix, seed=seed)

    def predict(self, X: Any, seed: int = 0) -> np.ndarray:
        proba = self.predict_proba(X, seed=seed)  # first: it checks that the model is fitted
        return self.classes_[self.pipeline_.model.decision_rule.predict(proba)]

    def transform(self, X: Any, seed: int = 0) -> np.ndarray:
        """The hidden vectors h = E(x) of the rows of X."""
        matrix = self._model_input(X)
        return self.pipeline_.model.hidden(matrix, seed=seed)


def _encode_labels(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..K-1 in sorted label order (-1 for unlabelled rows: -1, NaN or None), and the K
    labels."""
    values = pd.Series(column_or_1d(y, warn=True), dtype=object)
    is_minus_one = values.map(lambda v: isinstance(v, numbers.Number) and v == -1)
    unlabelled = (values.isna() | is_minus_one).to_numpy()
    # From a list numpy infers the labels' type: numbers stay numbers (so a regression target is
    # refused by name below), and labels of mixed types become text, sorted as text.
    labelled = np.asarray(values[~unlabelled].tolist())
    classes = np.unique(labelled)
    if len(classes) < 2:
        raise ValueError(
            "y must contain at least 2 classes among labelled rows. "
            f"Got {len(classes)} class(es): {classes.tolist()}."
        )
    check_classification_targets(labelled)
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[~unlabelled] = np.searchsorted(classes, labelled)
    return codes, classes
