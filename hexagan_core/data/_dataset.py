"""The table every loader returns, the error every bad input raises, and the class-code rule.

`Dataset` holds features in original units and integer class codes; `DataError` is the one-line
ValueError for data a user got wrong. `_encode_values` turns a label column into codes the same
way for built-in datasets and CSV files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


class DataError(ValueError):
    """Bad user data; message is one line naming the file/column/value."""


@dataclass
class Dataset:
    """A table ready for HexaGAN: features in original units, integer class codes, notes.

    ``features`` holds NaN where a value is missing; ``labels`` holds -1 where a label is missing.
    """

    name: str
    features: pd.DataFrame
    labels: np.ndarray | None
    class_names: list[str]
    label_name: str | None
    notes: list[str]
    image_shape: tuple[int, int] | None = None
    file_columns: list[str] | None = None
    """Every column of the source file in order, the dropped ones and the label included (None
    for a built-in dataset: its features' and label's)."""

    @property
    def n_classes(self) -> int:
        """Number of classes (0 when the dataset has no label column)."""
        return 0 if self.labels is None else len(self.class_names)


def _encode_values(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes in sorted order of the distinct values (-1 for missing) and their string forms."""
    values = values.astype(object)
    present = values.notna().to_numpy()
    numeric = pd.to_numeric(values[present], errors="coerce")
    if len(numeric) and numeric.notna().all():
        observed = numeric.to_numpy(dtype=np.float64)
        levels = np.unique(observed)
        names = [_number_name(level) for level in levels]
    else:
        observed = values[present].astype(str).to_numpy()
        levels = np.unique(observed)
        names = [str(level) for level in levels]
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[present] = np.searchsorted(levels, observed)
    return codes, names


def _number_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
