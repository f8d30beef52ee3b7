"""A saved model directory: the trained networks plus how to get from a user's table to them.

Layout: config.json, model.json and weights.pt (see model.py; an ensemble of imputation
models holds a folder per member instead, see ensemble.py) plus preprocessing.json (the table
encoder, the min-max scaler and the class names). Everything is JSON or a tensor state
dict loaded with weights_only=True: loading a model never unpickles anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hexagan_core.data import MinMaxScaler, TableEncoder
from hexagan_core.ensemble import (
    TrainedModel,
    imputation_spread,
    load_model,
    mean_imputation,
    require_ensemble,
)
from hexagan_core.model import read_json

__all__ = ["Pipeline", "load_pipeline"]

_PREPROCESSING = "preprocessing.json"


@dataclass
class Pipeline:
    """A trained model with the preprocessing that maps original tables to its scaled space."""

    model: TrainedModel
    encoder: TableEncoder
    scaler: MinMaxScaler
    class_names: list[str]
    label_name: str | None = None
    named_columns: bool = True
    """Whether `columns` are the user's names; False when the table had none (an array, whose
    columns are named by their positions "0", "1", ...)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """What was saved with the model (`save`'s `extra`), as loaded."""

    @property
    def columns(self) -> list[str]:
        return list(self.encoder.columns_in_)

    def to_matrix(self, table: pd.DataFrame) -> np.ndarray:
        """The model's input for `table`: its known columns encoded and scaled (NaN = missing)."""
        missing = [c for c in self.columns if c not in table.columns]
        if missing:
            raise ValueError(
                f"Column {missing[0]!r} is missing from the input; the model needs the columns "
                f"{', '.join(self.columns)}."
            )
        return self.scaler.transform(self.encoder.transform(table[self.columns])).astype(np.float32)

    def to_table(self, matrix: np.ndarray) -> pd.DataFrame:
        """Scaled model-space rows back in original units, column names and order."""
        return self.encoder.inverse_transform(self.scaler.inverse_transform(matrix))

    def impute_table(self, table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
        """`table` with its missing cells filled; observed cells come back unchanged."""
        imputed = self.to_table(self.model.impute(self.to_matrix(table), seed=seed))
        original = table[self.columns].reset_index(drop=True)
        return original.where(original.notna(), imputed)

    def spread_table(self, table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
        """How far the imputation models disagree on each cell of `table` (`matrix_spread`)."""
        return self.matrix_spread(self.to_matrix(table), seed=seed)

    def matrix_spread(self, matrix: np.ndarray, seed: int = 0) -> pd.DataFrame:
        """How far the imputation models disagree on each missing cell of `matrix` (the model's
        input, scaled), in the original columns: for a numeric column the standard deviation of
        the members' values, in the column's units (`HexaGANEnsemble.impute_std` times its
        range); for a categorical column the share of members whose level differs from the
        imputed one. 0 at observed cells. ValueError for a single model: there is no spread."""
        imputations = require_ensemble(self.model).member_imputations(matrix, seed=seed)
        numeric = imputation_spread(imputations, matrix) * self.scaler.data_range_
        imputed = self.to_table(mean_imputation(imputations, matrix))
        members = [self.to_table(imputation) for imputation in imputations]
        spread, position = {}, 0
        for column in self.columns:
            if column in self.encoder.categorical_:
                chosen = imputed[column].to_numpy(dtype=object)
                differs = [member[column].to_numpy(dtype=object) != chosen for member in members]
                spread[column] = np.mean(differs, axis=0)
                position += len(self.encoder.categorical_[column])
            else:
                spread[column] = numeric[:, position]
                position += 1
        return pd.DataFrame(spread, columns=self.columns)

    def predict_table(self, table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
        """One row per input row: the predicted class (the model's decision rule) and each
        class's probability."""
        proba = self.model.predict_proba(self.to_matrix(table), seed=seed)
        out = pd.DataFrame(proba, columns=[f"p({name})" for name in self.class_names])
        codes = self.model.decision_rule.predict(proba)
        out.insert(0, self.label_name or "prediction", [self.class_names[i] for i in codes])
        return out

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None, *,
             critics: bool = True, half: bool = False) -> Path:  # fmt: skip
        """The model (its `save`, with `critics` and `half`) and its preprocessing."""
        directory = self.model.save(directory, extra, critics=critics, half=half)
        preprocessing = {
            "encoder": self.encoder.to_dict(),
            "scaler": self.scaler.to_dict(),
            "class_names": self.class_names,
            "label_name": self.label_name,
            "named_columns": self.named_columns,
        }
        (directory / _PREPROCESSING).write_text(json.dumps(preprocessing, indent=1), "utf-8")
        return directory


def load_pipeline(directory: str | Path, device: str = "auto") -> Pipeline:
    """The pipeline saved by Pipeline.save; ValueError if `directory` is not one."""
    directory = Path(directory)
    model, extra = load_model(directory, device=device)
    path = directory / _PREPROCESSING
    if not path.is_file():
        raise ValueError(f"{directory} is not a saved HexaGAN model: {_PREPROCESSING} is missing.")
    preprocessing = read_json(path)
    if not isinstance(preprocessing, dict):
        raise ValueError(f"{path}: expected a JSON object. Got {type(preprocessing).__name__}.")
    try:
        encoder = TableEncoder.from_dict(preprocessing["encoder"])
        scaler = MinMaxScaler.from_dict(preprocessing["scaler"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # from_dict reads what to_dict wrote; a hand-edited file fails inside it in these ways
        reason = f"{type(error).__name__}: {error}"
        raise ValueError(f"{path}: damaged encoder or scaler ({reason}).") from None
    pipeline = Pipeline(
        model=model,
        encoder=encoder,
        scaler=scaler,
        class_names=preprocessing.get("class_names"),
        label_name=preprocessing.get("label_name"),
        named_columns=preprocessing.get("named_columns", True),
        extra=extra,
    )
    _check_preprocessing(pipeline, path)
    return pipeline


def _check_preprocessing(pipeline: Pipeline, path: Path) -> None:
    """Refuse preprocessing that does not fit the model, naming the file and the first misfit."""
    n_features, n_classes = pipeline.model.n_features, pipeline.model.n_classes
    encoder, scaler, names = pipeline.encoder, pipeline.scaler, pipeline.class_names
    problem = None
    if not all(isinstance(column, str) for column in encoder.columns_in_):
        problem = "the encoder's column names must be text"
    elif encoder.n_features_out_ != n_features:
        problem = f"{encoder.n_features_out_} encoded features for a model of {n_features}"
    elif not scaler.data_min_.shape == scaler.data_range_.shape == (n_features,):
        problem = f"the scaler must have {n_features} minima and ranges"
    elif not (np.isfinite(scaler.data_min_).all() and (scaler.data_range_ > 0).all()
              and np.isfinite(scaler.data_range_).all()):  # fmt: skip
        problem = "the scaler's minima must be finite and its ranges finite and positive"
    elif not isinstance(names, list) or len(names) != n_classes:
        problem = f"class_names must list the model's {n_classes} classes"
    elif not all(isinstance(name, str) for name in names):
        problem = "class_names must be text"
    elif not isinstance(pipeline.label_name, str | None):
        problem = "label_name must be text or null"
    elif not isinstance(pipeline.named_columns, bool):
        problem = "named_columns must be true or false"
    if problem:
        raise ValueError(f"{path}: {problem}.")
