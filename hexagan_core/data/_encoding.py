"""Tables to matrices and back: one-hot `TableEncoder` and the min-max `MinMaxScaler`.

Both follow the fit/transform contract and save their fitted state as JSON-ready dicts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from hexagan_core.data._dataset import DataError

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _is_categorical(values: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values)


def _check_fitted(estimator: object, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise ValueError(
            f"This {type(estimator).__name__} instance is not fitted yet; call 'fit' first."
        )


class TableEncoder:
    """One-hot encode categorical columns and pass numeric ones through as float64.

    A missing cell gives NaN in its output column, or in every column of its one-hot block.

    Attributes
    ----------
    columns_in_ : list of str
        The columns seen at fit, in order.
    feature_names_out_ : list of str
        Output column names: ``col`` for numeric columns, ``col=level`` for one-hot columns.
    n_features_out_ : int
        Number of output columns.
    categorical_ : dict of str to list
        Categories of each categorical column, in block order.
    integer_columns_ : list of str
        Numeric columns whose observed values were all whole numbers at fit.
    """

    def fit(self, features: pd.DataFrame) -> TableEncoder:
        """Learn the columns, their categories and which numeric columns hold whole numbers."""
        features = self._check_frame(features, "fit")
        if features.shape[1] == 0:
            raise DataError("TableEncoder.fit got a DataFrame with no columns")
        duplicated = features.columns[features.columns.duplicated()]
        if len(duplicated):
            raise DataError(f"column {duplicated[0]!r} appears more than once")
        self.columns_in_ = [str(c) for c in features.columns]
        self.categorical_: dict[str, list] = {}
        self.integer_columns_: list[str] = []
        self._dtypes = dict(zip(self.columns_in_, features.dtypes, strict=True))
        names, source = [], []
        for position, column in enumerate(self.columns_in_):
            values = features[column]
            if _is_categorical(values):
                levels = self._categories(values)
                self.categorical_[column] = levels
                names += [f"{column}={level}" for level in levels]
                source += [position] * len(levels)
                continue
            observed = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=np.float64)
            if len(observed) and np.all(observed == np.round(observed)):
                self.integer_columns_.append(column)
            names.append(column)
            source.append(position)
        self.feature_names_out_ = names
        self.n_features_out_ = len(names)
        self._source = np.asarray(source, dtype=np.intp)
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """Encode ``features`` into a float64 matrix (n, n_features_out_) with NaN where missing."""
        _check_fitted(self, "columns_in_")
        features = self._check_frame(features, "transform")
        missing = [c for c in self.columns_in_ if c not in features.columns]
        if missing:
            raise DataError(f"column {missing[0]!r} seen at fit is missing from the data")
        blocks = []
        for column in self.columns_in_:
            values = features[column]
            if column in self.categorical_:
                blocks.append(self._one_hot(column, values))
                continue
            try:
                numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise DataError(f"column {column!r} must be numeric, as it was at fit") from None
            blocks.append(numbers[:, None])
        return np.hstack(blocks) if blocks else np.empty((len(features), 0))

    def inverse_transform(self, matrix: np.ndarray) -> pd.DataFrame:
        """Decode a matrix back to the fit columns and dtypes; each block to its argmax category."""
        _check_fitted(self, "columns_in_")
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self.n_features_out_:
            raise ValueError(
                f"inverse_transform expects a 2-D matrix with {self.n_features_out_} columns. "
                f"Got shape {matrix.shape} instead."
            )
        columns = {}
        for position, column in enumerate(self.columns_in_):
            block = matrix[:, self._source == position]
            if column in self.categorical_:
                columns[column] = self._decode_block(column, block)
            else:
                columns[column] = self._decode_numeric(column, block[:, 0])
        return pd.DataFrame(columns)

    def expand_mask(self, cell_mask: np.ndarray) -> np.ndarray:
        """Map a (n, n_columns_in) cell mask to (n, n_features_out_): each block copies its cell."""
        _check_fitted(self, "columns_in_")
        mask = np.asarray(cell_mask)
        if mask.ndim != 2 or mask.shape[1] != len(self.columns_in_):
            raise ValueError(
                f"expand_mask expects a 2-D mask with {len(self.columns_in_)} columns. "
                f"Got shape {mask.shape} instead."
            )
        if mask.dtype != bool:
            if not np.isin(mask, (0, 1)).all():
                raise ValueError("expand_mask expects a boolean mask (or 0/1 values).")
            mask = mask.astype(bool)
        return mask[:, self._source]

    def to_dict(self) -> dict:
        """The fitted state as JSON-ready data (saved models never pickle)."""
        _check_fitted(self, "columns_in_")
        return {
            "columns_in": self.columns_in_,
            "categorical": {
                c: [_json_scalar(v) for v in levels] for c, levels in self.categorical_.items()
            },
            "integer_columns": self.integer_columns_,
            "dtypes": {c: _dtype_to_json(d) for c, d in self._dtypes.items()},
        }

    @classmethod
    def from_dict(cls, state: dict) -> TableEncoder:
        """The encoder whose fitted state `to_dict` returned."""
        encoder = cls()
        encoder.columns_in_ = list(state["columns_in"])
        encoder.categorical_ = {c: list(v) for c, v in state["categorical"].items()}
        encoder.integer_columns_ = list(state["integer_columns"])
        encoder._dtypes = {c: _dtype_from_json(d) for c, d in state["dtypes"].items()}
        names, source = [], []
        for position, column in enumerate(encoder.columns_in_):
            levels = encoder.categorical_.get(column)
            names += [f"{column}={level}" for level in levels] if levels else [column]
            source += [position] * (len(levels) if levels else 1)
        encoder.feature_names_out_, encoder.n_features_out_ = names, len(names)
        encoder._source = np.asarray(source, dtype=np.intp)
        return encoder

    @staticmethod
    def _check_frame(features: pd.DataFrame, method: str) -> pd.DataFrame:
        if not isinstance(features, pd.DataFrame):
            raise TypeError(
                f"TableEncoder.{method} expects a pandas DataFrame. "
                f"Got {type(features).__name__} instead."
            )
        return features.rename(columns=str)

    @staticmethod
    def _categories(values: pd.Series) -> list:
        if isinstance(values.dtype, pd.CategoricalDtype):
            return list(values.cat.categories)
        present = pd.unique(values.dropna())
        try:
            return sorted(present)
        except TypeError:  # mixed types: order by their text
            return sorted(present, key=str)

    def _one_hot(self, column: str, values: pd.Series) -> np.ndarray:
        levels = self.categorical_[column]
        codes = pd.Index(levels, dtype=object).get_indexer(values.astype(object).to_numpy())
        unseen = (codes < 0) & values.notna().to_numpy()
        if unseen.any():
            examples = ", ".join(map(repr, pd.unique(values[unseen])[:5]))
            warnings.warn(
                f"column {column!r}: {int(unseen.sum())} cells with categories unseen at fit "
                f"({examples}) are treated as missing",
                UserWarning,
                stacklevel=3,
            )
        block = (codes[:, None] == np.arange(len(levels))[None, :]).astype(np.float64)
        block[codes < 0] = np.nan
        return block

    def _decode_block(self, column: str, block: np.ndarray) -> pd.Series:
        levels = self.categorical_[column]
        dtype = self._dtypes[column]
        missing = np.isnan(block).all(axis=1)
        codes = np.where(missing, -1, np.argmax(np.where(np.isnan(block), -np.inf, block), axis=1))
        if isinstance(dtype, pd.CategoricalDtype):
            return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype))
        values = np.array(levels + [np.nan], dtype=object)[codes]
        if pd.api.types.is_bool_dtype(dtype) and missing.any():
            return pd.Series(values, dtype=object)  # bool cannot hold a missing value
        try:
            return pd.Series(values).astype(dtype)
        except (TypeError, ValueError):
            return pd.Series(values, dtype=object)

    def _decode_numeric(self, column: str, values: np.ndarray) -> pd.Series:
        dtype = self._dtypes[column]
        if column in self.integer_columns_:
            values = np.round(values)
        if pd.api.types.is_integer_dtype(dtype) and np.isnan(values).any():
            return pd.Series(values)  # an int dtype cannot hold NaN: keep float64
        return pd.Series(values).astype(dtype)


def _json_scalar(value: object) -> object:
    """A category level as a JSON value (numpy scalars become Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def _dtype_to_json(dtype: object) -> dict:
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "kind": "category",
            "ordered": bool(dtype.ordered),
            "categories": [_json_scalar(v) for v in dtype.categories],
        }
    return {"kind": str(dtype)}


def _dtype_from_json(state: dict) -> object:
    if state["kind"] == "category":
        return pd.CategoricalDtype(state["categories"], ordered=state["ordered"])
    return pd.api.types.pandas_dtype(state["kind"])


class MinMaxScaler:
    """Scale each column to [0, 1] using the observed minimum and maximum; NaN passes through.

    A constant column gets scale 1; an all-NaN column gets minimum 0 and scale 1. The networks
    compute in float32, so a column whose range overflows float64 is refused at fit, and a value
    that scales beyond float32's range (about 3.4e38) at transform, each with a DataError naming
    the column: such a value would otherwise become infinite or missing without a word.

    Attributes
    ----------
    data_min_ : ndarray of shape (n_features,)
    data_range_ : ndarray of shape (n_features,)
    feature_names_ : list of str or None
        The column names the messages use (None: their positions).
    """

    def fit(self, X: np.ndarray, feature_names: list[str] | None = None) -> MinMaxScaler:
        """Learn per-column nanmin and range from ``X`` (the training rows); `feature_names`
        name the columns in the errors of `fit` and `transform`."""
        X = self._check_array(X)
        self.feature_names_ = None if feature_names is None else [str(n) for n in feature_names]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns, overflow
            data_min = np.nanmin(X, axis=0) if len(X) else np.full(X.shape[1], np.nan)
            data_max = np.nanmax(X, axis=0) if len(X) else np.full(X.shape[1], np.nan)
            data_range = data_max - data_min
        empty = np.isnan(data_min)
        overflow = np.flatnonzero(~empty & ~np.isfinite(data_range))
        if overflow.size:
            j = overflow[0]
            raise DataError(
                f"{self._column(j)} spans {data_min[j]:g} to {data_max[j]:g}, a range beyond "
                "float64's; divide the column by a power of ten"
            )
        self.data_min_ = np.where(empty, 0.0, data_min)
        self.data_range_ = np.where(empty | (data_range == 0), 1.0, data_range)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scale ``X`` with the fitted minimum and range."""
        X = self._check_array(X, fitted=True)
        with np.errstate(over="ignore"):
            scaled = (X - self.data_min_) / self.data_range_
        beyond = ~np.isnan(X) & ~(np.abs(scaled) <= _FLOAT32_MAX)
        if beyond.any():
            i, j = np.argwhere(beyond)[0]
            low, high = self.data_min_[j], self.data_min_[j] + self.data_range_[j]
            raise DataError(
                f"{self._column(j)}: {X[i, j]:g} is so far outside the fitted range {low:g} to "
                f"{high:g} that scaled it exceeds float32, the networks' precision; rescale the "
                "column or blank the value"
            )
        return scaled

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`."""
        return self._check_array(X, fitted=True) * self.data_range_ + self.data_min_

    def to_dict(self) -> dict:
        _check_fitted(self, "data_min_")
        return {
            "data_min": self.data_min_.tolist(),
            "data_range": self.data_range_.tolist(),
            "feature_names": self.feature_names_,
        }

    @classmethod
    def from_dict(cls, state: dict) -> MinMaxScaler:
        scaler = cls()
        scaler.data_min_ = np.asarray(state["data_min"], dtype=np.float64)
        scaler.data_range_ = np.asarray(state["data_range"], dtype=np.float64)
        scaler.feature_names_ = state.get("feature_names")  # absent in models saved before
        return scaler

    def _column(self, position: int) -> str:
        names = getattr(self, "feature_names_", None)
        return f"column {names[position]!r}" if names else f"column {position}"

    def _check_array(self, X: np.ndarray, fitted: bool = False) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"MinMaxScaler expects a 2-D array. Got shape {X.shape} instead.")
        if fitted:
            _check_fitted(self, "data_min_")
            if X.shape[1] != len(self.data_min_):
                raise ValueError(
                    f"X has {X.shape[1]} columns, but MinMaxScaler was fitted with "
                    f"{len(self.data_min_)} columns."
                )
        return X
