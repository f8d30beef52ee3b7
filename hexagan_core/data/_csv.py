"""Messy CSV files into a `Dataset`: encoding, delimiter, missing markers and column types.

Identifier columns, free text, dates and empty columns are dropped, each with a note; numbers
are read by the one rule of `_numbers`. `read_table` is the part shared with reading new rows for
a fitted model (`_new_rows`): the file's cells as text, every row.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from hexagan_core.data._dataset import DataError, Dataset, _encode_values
from hexagan_core.data._numbers import looks_numeric, parse_numbers

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "?", "#n/a"})
MAX_CATEGORY_LEVELS = 20
MAX_CLASSES = 50
_ID_NAMES = frozenset({"id", "index", "idx", "uuid", "guid", "key"})
# Names of a row index: row, rowid, row_id, rownames (R), row.names, row_number, row index, ...
_ROW_INDEX = re.compile(r"row[._\s]?(?:names?|ids?|num(?:ber)?s?|index)?")
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def read_csv(
    source: str | Path | bytes | BinaryIO,
    *,
    label: str | None = None,
    name: str | None = None,
) -> Dataset:
    """Read a user's CSV file into a :class:`Dataset`, typing and cleaning its columns.

    Parameters
    ----------
    source : str, Path, bytes or binary file-like
        A path, the raw bytes, or an open binary file (such as Streamlit's ``UploadedFile``).
    label : str, default=None
        Name of the class column; ``None`` reads an unlabelled table.
    name : str, default=None
        Display name; default the file's name.

    The delimiter (comma, semicolon, tab, pipe) and encoding (UTF-8 with or without BOM, UTF-16,
    else cp1252) are detected. ``NA``, ``N/A``, ``nan``, ``NULL``, ``?`` and empty cells are
    missing. Numbers follow one rule for the whole file (`hexagan_core.data._numbers`).
    Identifier columns, free text, dates, empty columns and empty rows are dropped with a note.
    """
    table = read_table(source, name=name)
    name, notes = table.name, table.notes
    cells = _drop_empty_rows(table.cells.apply(clean_cells), notes)
    if len(cells) == 0:
        raise DataError(f"{name} has no data row with a value")
    labels, class_names, label_name = None, [], None
    if label is not None:
        label_name = _find_label(cells, label, name)
        labels, class_names = _encode_label(cells.pop(label_name), label_name)
    features = _type_columns(cells, name, notes).reset_index(drop=True)
    if features.shape[1] == 0:
        dropped = "; ".join(n for n in notes if n.startswith("dropped column"))
        dropped = dropped or "the file has no column besides the label"
        raise DataError(f"no usable feature column in {name}: {dropped}")
    return Dataset(
        name=name,
        features=features,
        labels=labels,
        class_names=class_names,
        label_name=label_name,
        notes=notes,
        file_columns=list(table.cells.columns),
    )


@dataclass
class Table:
    """A CSV file's cells as text, every row in order ('' for an empty cell), and the notes on
    how it was read (encoding, delimiter, renamed duplicate columns)."""

    name: str
    cells: pd.DataFrame
    notes: list[str]


def read_table(source: str | Path | bytes | BinaryIO, *, name: str | None = None) -> Table:
    """Decode and split a CSV file without typing anything; DataError for what cannot be read."""
    raw, default_name = _read_source(source)
    name = name or default_name
    notes: list[str] = [f"source: {name}"]
    text = _decode(raw, name, notes)
    if not text.strip():
        raise DataError(f"{name} is empty")
    _refuse_nul(text, name)
    cells = _parse_table(text, name, notes)
    if len(cells) == 0:
        raise DataError(f"{name} has a header but no data rows")
    return Table(name=name, cells=cells, notes=notes)


def _read_source(source: str | Path | bytes | BinaryIO) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "uploaded.csv"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise DataError(f"file not found: '{path}'")
        return path.read_bytes(), path.name
    if hasattr(source, "read"):
        raw = source.getvalue() if hasattr(source, "getvalue") else source.read()
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        return bytes(raw), Path(str(getattr(source, "name", "") or "uploaded.csv")).name
    raise TypeError(
        "The 'source' parameter of read_csv must be a path, bytes or a binary file. "
        f"Got {type(source).__name__} instead."
    )


def _decode(raw: bytes, name: str, notes: list[str]) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        notes.append(f"{name} is UTF-16 encoded")
        return raw.decode("utf-16")
    utf16 = _utf16_without_bom(raw)
    if utf16 is not None:
        notes.append(f"{name} is UTF-16 ({utf16[-2:].upper()}) without a byte-order mark")
        try:
            return raw.decode(utf16)
        except UnicodeDecodeError as exc:
            raise DataError(f"{name} looks like UTF-16 but cannot be decoded: {exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
        notes.append(f"{name} is not valid UTF-8; decoded as cp1252 (Windows Western European)")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        notes.append(f"{name} is not valid UTF-8; decoded as latin-1")
    return text


def _utf16_without_bom(raw: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the file starts like text in UTF-16: in every pair of
    bytes the same one is mostly NUL (the high byte of ASCII) and the other never is."""
    sample = raw[: min(len(raw), 4096) // 2 * 2]
    if b"\x00" not in sample:
        return None
    first, second = sample[0::2], sample[1::2]
    for codec, high, low in (("utf-16-le", second, first), ("utf-16-be", first, second)):
        if high.count(0) >= len(high) / 2 and low.count(0) == 0:
            return codec
    return None


def _refuse_nul(text: str, name: str) -> None:
    """A NUL character is no text: in a label it would make a class of its own."""
    position = text.find("\x00")
    if position >= 0:
        line = text.count("\n", 0, position) + 1
        raise DataError(
            f"{name}, line {line}: a NUL character (\\x00), so this is not a text file in "
            "UTF-8, UTF-16 or cp1252; remove it or save the file as UTF-8 text"
        )


def _sniff_delimiter(text: str) -> str:
    """The candidate that splits the first lines (header included) into the same count > 1."""
    lines = [line for line in text[:65536].splitlines()[:50] if line.strip()]
    if len(lines) > 1 and len(text) > 65536:
        lines = lines[:-1]  # the last line may be cut off
    best, best_score = ",", (0.0, 1)
    for delimiter in (",", ";", "\t", "|"):
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode) / len(counts), mode)
        if mode > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _parse_table(text: str, name: str, notes: list[str]) -> pd.DataFrame:
    delimiter = _sniff_delimiter(text)
    try:
        raw = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, csv.Error) as exc:
        message = " ".join(str(exc).split())
        raise DataError(f"cannot parse {name} as a table: {message}") from None
    if delimiter != ",":
        notes.append(f"delimiter: {delimiter!r}")
    header = [_clean_name(value, i) for i, value in enumerate(raw.iloc[0].tolist())]
    table = raw.iloc[1:].reset_index(drop=True).fillna("")  # short rows: empty cells
    table.columns = _dedupe(header, notes)
    return table


def _clean_name(value: object, position: int) -> str:
    text = "" if pd.isna(value) else str(value).strip()
    return text or f"Unnamed: {position}"


def _dedupe(names: list[str], notes: list[str]) -> list[str]:
    originals, taken, result = set(names), set(), []
    for original in names:
        candidate, k = original, 0
        while candidate in taken or (candidate != original and candidate in originals):
            k += 1
            candidate = f"{original}.{k}"
        if candidate != original:
            notes.append(f"duplicate column name {original!r} renamed to {candidate!r}")
        taken.add(candidate)
        result.append(candidate)
    return result


def clean_cells(column: pd.Series) -> pd.Series:
    """Strip whitespace and turn the missing markers into NaN; values stay strings."""
    values = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    missing = values.str.lower().isin(MISSING_MARKERS)
    return values.astype(object).where(~missing, np.nan)


def _drop_empty_rows(table: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """The rows with a value; the index keeps counting the file's data rows (for messages)."""
    empty = table.isna().all(axis=1).to_numpy()
    if empty.any() and table.shape[1] > 0:
        notes.append(f"dropped {int(empty.sum())} empty row(s) with no value in any column")
        table = table.loc[~empty]
    return table


def _find_label(table: pd.DataFrame, label: str, name: str) -> str:
    wanted = str(label).strip()
    if wanted in table.columns:
        return wanted
    folded = [c for c in table.columns if c.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    raise DataError(
        f"label column {label!r} not found in {name}; available columns: "
        + ", ".join(map(repr, table.columns))
    )


def _encode_label(values: pd.Series, label_name: str) -> tuple[np.ndarray, list[str]]:
    codes, class_names = _encode_values(values)
    n_labelled = int((codes >= 0).sum())
    if n_labelled == 0:
        raise DataError(f"label column {label_name!r} is empty")
    if len(class_names) < 2:
        raise DataError(
            f"label column {label_name!r} has a single class ({class_names[0]!r}) among its "
            f"{n_labelled} labelled rows; a classifier needs at least 2 classes"
        )
    if len(class_names) > MAX_CLASSES:
        raise DataError(
            f"label column {label_name!r} has {len(class_names)} distinct values, more than "
            f"{MAX_CLASSES} classes; it looks like a regression target, not a class label"
        )
    return codes, class_names


def _looks_like_id_name(column: str) -> bool:
    lower = column.lower()
    return (
        lower in _ID_NAMES
        or _ROW_INDEX.fullmatch(lower) is not None
        or lower.startswith("unnamed:")
        or re.search(r"(?:^|[_\s.\-])(?:id|uuid|guid)$", lower) is not None
        or re.search(r"[a-z]ID$", column) is not None
    )


def _is_identifier(column: str, values: pd.Series, numbers: pd.Series | None) -> bool:
    """Unique, complete integers or strings that are named like an id or count the rows.

    Named like an id or a row index (R's ``rownames`` of a sampled table, say), unique integers
    are an identifier whatever their values; otherwise only a counter 0..n-1 or 1..n is."""
    n_rows = len(values)
    if values.isna().any() or values.nunique() != n_rows or n_rows < 2:
        return False
    if numbers is None:
        return _looks_like_id_name(column)
    array = numbers.to_numpy()
    if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
        return False  # unique measurements, not identifiers
    if _looks_like_id_name(column):
        return True
    # A row counter 0..n-1 or 1..n; with fewer than 10 rows that could be a coincidence.
    ordered = np.sort(array)
    return n_rows >= 10 and (
        np.array_equal(ordered, np.arange(n_rows))
        or np.array_equal(ordered, np.arange(1, n_rows + 1))
    )


def finite_or_missing(column: str, numbers: pd.Series, notes: list[str]) -> np.ndarray:
    """The numbers as float64 with the infinite ones (``inf``, or beyond float64 like ``1e999``)
    set to missing, and a note saying how many."""
    array = numbers.to_numpy(dtype=np.float64)
    infinite = np.isinf(array)
    if infinite.any():
        array = np.where(infinite, np.nan, array)
        notes.append(f"column {column!r}: {int(infinite.sum())} infinite values set to missing")
    return array


def _numeric_feature(column: str, numbers: pd.Series, notes: list[str]) -> pd.Series:
    array = finite_or_missing(column, numbers, notes)
    observed = array[~np.isnan(array)]
    whole = np.all(observed == np.round(observed)) and np.all(np.abs(observed) < 2**53)
    if whole and not np.isnan(array).any():
        return pd.Series(array.astype(np.int64), index=numbers.index, name=column)
    return pd.Series(array, index=numbers.index, name=column)


def _type_columns(table: pd.DataFrame, name: str, notes: list[str]) -> pd.DataFrame:
    """Numbers become float64/int64, few-level text becomes categorical; the rest is dropped."""
    numbers = parse_numbers(table, name, notes)
    kept: dict[str, pd.Series] = {}
    n_rows = len(table)
    for column in table.columns:
        values = table[column]
        present = values.dropna()
        if len(present) == 0:
            notes.append(f"dropped column {column!r}: entirely empty")
            continue
        parsed = numbers.get(column)
        if _is_identifier(column, values, parsed):
            notes.append(f"dropped column {column!r}: identifier (unique value in every row)")
            continue
        if parsed is not None:
            kept[column] = _numeric_feature(column, parsed, notes)
            continue
        n_levels = int(present.nunique())
        is_number = looks_numeric(present)
        mixed = ""
        if is_number.any():
            text = present[~is_number]
            mixed = (
                f"{int(is_number.sum())} numbers and {len(text)} text cells such as "
                f"{text.iloc[0]!r}"
            )
        if present.str.match(_DATE).all():
            notes.append(f"dropped column {column!r}: dates are not supported")
        elif n_levels <= MAX_CATEGORY_LEVELS and 2 * n_levels < n_rows:
            kept[column] = values.astype(pd.CategoricalDtype(sorted(present.unique())))
            if mixed:
                notes.append(f"column {column!r}: {mixed}; all read as categories")
        elif mixed:
            notes.append(f"dropped column {column!r}: mixed, {mixed}")
        else:
            notes.append(
                f"dropped column {column!r}: free text ({n_levels} distinct values; categories "
                f"need at most {MAX_CATEGORY_LEVELS} and fewer than half the rows)"
            )
    return pd.DataFrame(kept, index=table.index)
