"""Numbers in a CSV file: one rule, decided once per file from cells that cannot be read otherwise.

A number is written with a decimal point and, optionally, commas between groups of three digits
(``61,832.15``), or with a decimal comma and, optionally, points between groups of three digits
(``61.832,15``); either may carry a sign and an exponent (``-1.5e3``), and ``inf`` counts as a
number. A cell that reads under one of the two conventions only is evidence for it: ``1.5``,
``0.832``, ``1,234,567`` and ``61,832.15`` for the decimal point; ``1,5``, ``1.234.567`` and
``61.832,15`` for the decimal comma. The file's convention is the one its evidence names:

- evidence for both is an error naming a cell of each;
- a cell that reads under both with different values (``61,832`` is 61832 or 61.832) takes the
  file's convention; in a file without evidence it is an error naming its column;
- cells such as ``12`` or ``1e5`` read the same under both and need no evidence.

Only columns whose every present cell is a number under one convention or the other count as
evidence; any other column is text. What was decided is said in a note whenever a cell held a
comma or a thousands separator.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from hexagan_core.data._dataset import DataError

__all__ = ["looks_numeric", "parse_numbers"]

POINT, COMMA = ".", ","
_EXPONENT = r"(?:[eE][+-]?\d+)?"
_INFINITY = re.compile(r"[+-]?inf(?:inity)?", re.IGNORECASE | re.ASCII)
# The readings under the decimal-point convention ...
_PLAIN = re.compile(rf"[+-]?(?:\d+(?:\.\d*)?|\.\d+){_EXPONENT}", re.ASCII)
_COMMA_GROUPS = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?", re.ASCII)
# ... and under the decimal-comma convention (a leading 0 cannot start a group of thousands).
_INTEGER = re.compile(rf"[+-]?\d+{_EXPONENT}", re.ASCII)
_DECIMAL_COMMA = re.compile(rf"[+-]?(?:\d+,\d+|,\d+){_EXPONENT}", re.ASCII)
_POINT_GROUPS = re.compile(r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d*)?", re.ASCII)
_NAMES = {POINT: "a decimal point", COMMA: "a decimal comma"}


# Each convention's forms in order: a pattern, then the replacements that make it Python's float.
_FORMS = {
    POINT: ((_PLAIN, ()), (_COMMA_GROUPS, ((",", ""),))),
    COMMA: (
        (_INTEGER, ()),
        (_DECIMAL_COMMA, ((",", "."),)),
        (_POINT_GROUPS, ((".", ""), (",", "."))),
    ),
}


def _read(cell: str, decimal: str) -> float:
    """The value of one cell under one convention; NaN when it is not a number under it."""
    for pattern, replacements in _FORMS[decimal]:
        if pattern.fullmatch(cell):
            for old, new in replacements:
                cell = cell.replace(old, new)
            return float(cell)  # Python's exact reading of a decimal number
    if _INFINITY.fullmatch(cell):
        return float(cell.lower().replace("infinity", "inf"))
    return np.nan


def _readings(values: pd.Series) -> pd.DataFrame:
    """Each present cell's value under either convention (NaN where it is not a number)."""
    present = values.dropna().astype(str)
    codes, distinct = pd.factorize(present)
    cells = distinct.tolist()  # each distinct text read once
    readings = {}
    for decimal in (POINT, COMMA):
        readings[decimal] = np.array([_read(c, decimal) for c in cells], dtype=np.float64)[codes]
    return pd.DataFrame(readings, index=present.index)


def looks_numeric(values: pd.Series) -> pd.Series:
    """Whether each present cell of `values` is a number under either convention."""
    readings = _readings(values)
    return readings.notna().any(axis=1)


def parse_numbers(
    table: pd.DataFrame, name: str, notes: list[str], *, strict: bool = False
) -> dict[str, pd.Series]:
    """The columns of `table` whose present cells are all numbers, as float64 (NaN = missing).

    `table` holds text cells (NaN = missing); its index counts the file's data rows from 0. The
    decimal mark is decided once for all of its columns (see the module docstring), and a note
    says what was decided when a cell held a comma or a thousands separator. DataError for
    conflicting evidence, for an ambiguous column and, with `strict`, for a column with a cell
    that is not a number.
    """
    numeric = {}
    for column in table.columns:
        reading = _readings(table[column])
        unreadable = reading.isna().all(axis=1)
        if not unreadable.any():
            numeric[column] = reading
        elif strict:
            row = unreadable.idxmax()
            raise DataError(
                f"{name}, {_where(column, row)}: {table.at[row, column]!r} is not a number, and "
                "the model reads this column as numbers"
            )
    decimal = _decide(numeric, table, name)
    parsed, separated = {}, []
    for column, reading in numeric.items():
        if decimal is None:  # every cell reads the same under both conventions, or none decides
            differ = reading[POINT] != reading[COMMA]
            if differ.any():
                raise DataError(_ambiguous(name, column, table.at[differ.idxmax(), column]))
        chosen = reading[decimal or POINT]
        marks = "[,.]" if decimal == COMMA else ","
        if table.loc[chosen.index, column].astype(str).str.contains(marks).any():
            separated.append(column)
        values = pd.Series(np.nan, index=table.index, dtype=np.float64, name=column)
        values[chosen.index] = chosen.to_numpy(dtype=np.float64)
        parsed[column] = values
    if separated:  # only in a decided file: an undecided one reads no comma and no group
        column, row = _evidence(numeric, decimal)
        other = COMMA if decimal == POINT else POINT
        notes.append(
            f"numbers: {_NAMES[decimal]} and {other!r} as a thousands separator, decided by "
            f"{table.at[row, column]!r} in column {column!r}; read so in column(s) "
            + ", ".join(map(repr, separated))
        )
    return parsed


def _where(column: str, row: object) -> str:
    return f"column {column!r}, data row {int(row) + 1}"


def _evidence(readings: dict[str, pd.DataFrame], decimal: str) -> tuple[str, object] | None:
    """The first (column, row) whose cell is a number under `decimal` only, or None."""
    other = COMMA if decimal == POINT else POINT
    for column, reading in readings.items():
        only = reading[decimal].notna() & reading[other].isna()
        if only.any():
            return column, only.idxmax()
    return None


def _decide(readings: dict[str, pd.DataFrame], table: pd.DataFrame, name: str) -> str | None:
    """The file's decimal mark from its evidence; None when no cell decides."""
    point, comma = _evidence(readings, POINT), _evidence(readings, COMMA)
    if point and comma:
        (p_column, p_row), (c_column, c_row) = point, comma
        raise DataError(
            f"{name} mixes number formats: {table.at[p_row, p_column]!r} "
            f"({_where(p_column, p_row)}) needs a decimal point and "
            f"{table.at[c_row, c_column]!r} ({_where(c_column, c_row)}) a decimal comma; "
            "use one decimal mark in the whole file"
        )
    if point:
        return POINT
    return COMMA if comma else None


def _ambiguous(name: str, column: str, cell: str) -> str:
    """Why `cell`, which reads as two different numbers under the two conventions, is refused."""
    point, comma = _read(cell, POINT), _read(cell, COMMA)
    mark = COMMA if COMMA in cell else POINT
    as_point, as_comma = "a decimal point", "a thousands separator"
    if mark == COMMA:
        as_point, as_comma = "a thousands separator", "a decimal comma"
    return (
        f"column {column!r} of {name} is ambiguous: {cell!r} is {point:g} if {mark!r} is "
        f"{as_point} and {comma:g} if it is {as_comma}, and no number in the file decides "
        "which; drop the thousands separators, or give a decimal part a fourth digit"
    )
