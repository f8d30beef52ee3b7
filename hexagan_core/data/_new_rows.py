"""New rows for a fitted model: a CSV file read by the model's schema, for transform and predict.

The model decides what its columns are, so nothing is typed afresh: no column or row is
dropped, a numeric column stays numeric (a cell that is not a number is an error naming it)
and a categorical column keeps the model's categories. Every row of the file comes back, in
order, and the columns the model does not use pass through exactly as they were read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from hexagan_core.data._csv import clean_cells, finite_or_missing, read_table
from hexagan_core.data._dataset import DataError
from hexagan_core.data._encoding import TableEncoder
from hexagan_core.data._numbers import parse_numbers

__all__ = ["NewRows", "read_new_rows"]


@dataclass
class NewRows:
    """A file's rows for a fitted model, from `read_new_rows`."""

    table: pd.DataFrame
    """Every row and column of the file, each cell as read ('' where empty)."""
    features: pd.DataFrame
    """The model's columns typed as at fit: NaN where the model sees a missing value."""
    unseen: pd.DataFrame
    """True where a cell of the model's columns holds a category the model never saw: the model
    sees it as missing, and the output keeps it as read."""
    integer_columns: list[str]
    """The model's numeric columns that held whole numbers at fit."""
    notes: list[str]

    @property
    def unused(self) -> list[str]:
        """The file's columns that the model does not use, in the file's order."""
        return [c for c in self.table.columns if c not in self.features.columns]

    def filled(self, imputed: pd.DataFrame) -> pd.DataFrame:
        """The file with the model's columns from `imputed` (the model's columns, row for row)
        except the unseen categories, which stay as read; the other columns as read."""
        out = self.table.copy()
        for column in self.features.columns:
            values = imputed[column].reset_index(drop=True)
            if column in self.integer_columns and _whole(values):
                values = values.astype(np.int64)  # written as 3, not 3.0
            out[column] = values.where(~self.unseen[column], self.table[column])
        return out

    def spread(self, spread: pd.DataFrame) -> pd.DataFrame:
        """The file's shape with `spread` (the model's columns, row for row) in the model's
        columns, except the unseen categories, kept as read: 0 there and in the other columns,
        whose cells are not imputed either."""
        out = pd.DataFrame(0.0, index=self.table.index, columns=self.table.columns)
        for column in self.features.columns:
            values = spread[column].reset_index(drop=True).set_axis(self.table.index)
            out[column] = values.where(~self.unseen[column].to_numpy(), 0.0)
        return out

    def beside(self, predictions: pd.DataFrame) -> pd.DataFrame:
        """The columns the model does not use, then `predictions` row for row; a prediction
        column whose name the file already uses is called 'predicted <name>'."""
        out = self.table[self.unused].copy()
        for column in predictions.columns:
            name = f"predicted {column}" if column in out.columns else column
            out[name] = predictions[column].to_numpy()
        return out


def _whole(values: pd.Series) -> bool:
    numbers = values.to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))


def read_new_rows(
    source: str | Path | bytes | BinaryIO, encoder: TableEncoder, *, name: str | None = None
) -> NewRows:
    """Read a CSV file of new rows by the schema of a fitted `encoder`.

    Every row is kept (an empty one too: the model fills it). Numbers follow the one rule of
    `hexagan_core.data._numbers`, decided from the model's numeric columns of this file; an
    infinite value is missing. DataError names a column the model needs that the file lacks,
    and a cell of a numeric column that is not a number. Notes say which columns pass through
    and what the model cannot read.
    """
    table = read_table(source, name=name)
    name, notes, cells = table.name, table.notes, table.cells.apply(clean_cells)
    columns = encoder.columns_in_
    absent = [c for c in columns if c not in cells.columns]
    if absent:
        raise DataError(
            f"column {absent[0]!r} is missing from {name}; the model needs the columns "
            + ", ".join(map(repr, columns))
        )
    numeric = [c for c in columns if c not in encoder.categorical_]
    numbers = parse_numbers(cells[numeric], name, notes, strict=True)
    features, unseen = {}, {}
    for column in columns:
        if column in numbers:
            features[column] = finite_or_missing(column, numbers[column], notes)
            unseen[column] = np.zeros(len(cells), dtype=bool)
            continue
        levels = {str(level): level for level in encoder.categorical_[column]}
        values = cells[column]
        features[column] = values.map(levels).astype(object).to_numpy()
        unseen[column] = (values.notna() & ~values.isin(list(levels))).to_numpy()
        if unseen[column].any():
            examples = ", ".join(map(repr, pd.unique(values[unseen[column]])[:3]))
            notes.append(
                f"column {column!r}: {int(unseen[column].sum())} cells hold categories the model "
                f"never saw ({examples}); the model reads them as missing, the output keeps them"
            )
    features = pd.DataFrame(features, columns=columns)
    empty = features.isna().all(axis=1)
    if empty.any():
        notes.append(
            f"{int(empty.sum())} row(s) have no value the model can read; it fills them entirely"
        )
    rows = NewRows(table.cells, features, pd.DataFrame(unseen), encoder.integer_columns_, notes)
    if rows.unused:
        notes.append(
            "columns the model does not use, passed through as read: "
            + ", ".join(map(repr, rows.unused))
        )
    return rows
