"""The one rule for numbers in a CSV file (hexagan_core.data._numbers), through read_csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hexagan_core.data import DataError, read_csv


def _read(text: str, name: str = "n.csv"):
    return read_csv(text.encode(), name=name)


def _number_notes(dataset) -> list[str]:
    return [note for note in dataset.notes if note.startswith("numbers:")]


def test_thousands_separators_with_a_decimal_point():
    # '61,832.15' can only be a decimal point with ',' between thousands: it decides the file,
    # so '61,832' is 61832 (not 61.832) and the column is kept, not dropped as text.
    ds = _read('amount,n\n"61,832",1\n"61,832.15",2\n"1,234,567",3\n"12",4\n')
    assert ds.features["amount"].tolist() == [61832.0, 61832.15, 1234567.0, 12.0]
    assert _number_notes(ds) == [
        "numbers: a decimal point and ',' as a thousands separator, decided by '61,832.15' in "
        "column 'amount'; read so in column(s) 'amount'"
    ]


def test_evidence_in_another_column_decides():
    ds = _read('a,b\n"61,832",0.5\n"1,234",1.25\n')
    assert ds.features["a"].tolist() == [61832.0, 1234.0]
    assert "decided by '0.5' in column 'b'" in _number_notes(ds)[0]


def test_decimal_comma_with_point_thousands():
    ds = _read("a;b;c\n1.234,5;0,25;1.234\n2.000.000;-1,5;7\n")
    assert ds.features["a"].tolist() == [1234.5, 2000000.0]
    assert ds.features["b"].tolist() == [0.25, -1.5]
    assert ds.features["c"].tolist() == [1234, 7]  # '.' separates thousands in this file
    (note,) = _number_notes(ds)
    assert note.startswith("numbers: a decimal comma and '.' as a thousands separator")
    assert note.endswith("read so in column(s) 'a', 'b', 'c'")


@pytest.mark.parametrize("cell", ["61,832", "1.234", "-1,000"])
def test_an_undecided_separator_is_an_error_naming_the_column(cell):
    with pytest.raises(DataError, match=rf"column 'x' of n\.csv is ambiguous: '{cell}' is"):
        _read(f'x,y\n"{cell}",1\n"2",2\n')


def test_conflicting_evidence_is_an_error_naming_both_cells():
    message = (
        r"n\.csv mixes number formats: '1\.5' \(column 'a', data row 2\) needs a decimal point "
        r"and '2,5' \(column 'b', data row 1\) a decimal comma"
    )
    with pytest.raises(DataError, match=message):
        _read('a,b\n7,"2,5"\n1.5,3\n')


def test_plain_numbers_need_no_decision_and_no_note():
    ds = _read("a,b,c\n1,1e3,inf\n-2,+5,-Infinity\n3,.5,4\n")
    assert ds.features["a"].tolist() == [1, -2, 3]
    assert ds.features["b"].tolist() == [1000.0, 5.0, 0.5]
    assert _number_notes(ds) == []
    assert "column 'c': 2 infinite values set to missing" in ds.notes


def test_observed_values_are_read_exactly():
    values = [0.1, 1 / 3, 2.5e-300, 123456789.123456789, -7.0e15]
    ds = _read("v\n" + "".join(f"{v!r}\n" for v in values))
    np.testing.assert_array_equal(ds.features["v"].to_numpy(), values)


@pytest.mark.parametrize("cell", ["1 234", "1'234", "12abc", "0x1F", "1_000", "١٢"])
def test_other_forms_are_text(cell):
    rows = "".join(f'{i},"{cell}"\n' for i in range(3))
    ds = _read("a,b\n" + rows)
    assert ds.features["b"].dtype == pd.CategoricalDtype([cell])
