"""New rows for a fitted model (hexagan_core.data.read_new_rows): typed by the model's schema,
every row kept in order, the columns the model does not use passed through as read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hexagan_core.data import DataError, TableEncoder, read_csv, read_new_rows

FIT_CSV = "id,f0,f1,colour,y\n" + "".join(
    f"{100 + i},{i % 5},{i * 0.5},{['red', 'blue'][i % 2]},{i % 2}\n" for i in range(20)
)


@pytest.fixture(scope="module")
def encoder() -> TableEncoder:
    """The encoder of a model fitted on FIT_CSV: f0 (whole numbers), f1, colour; id dropped."""
    dataset = read_csv(FIT_CSV.encode(), label="y", name="fit.csv")
    assert list(dataset.features.columns) == ["f0", "f1", "colour"]
    return TableEncoder().fit(dataset.features)


def test_every_row_is_kept_in_order_and_unused_columns_pass_through(encoder):
    # Row 2 is empty, 'id' a counter and 'extra' free text: read_csv would drop all three.
    text = "id,f0,f1,colour,extra,y\n1,3,1.5,red,NA, a \n,,,,,\n3,,2.5,blue,?,b\n"
    rows = read_new_rows(text.encode(), encoder, name="new.csv")
    assert rows.unused == ["id", "extra", "y"]
    assert rows.table["extra"].tolist() == ["NA", "", "?"]  # as read: not even stripped
    assert rows.table["y"].tolist() == [" a ", "", "b"]
    expected = pd.DataFrame(
        {"f0": [3.0, np.nan, np.nan], "f1": [1.5, np.nan, 2.5],
         "colour": ["red", np.nan, "blue"]}  # fmt: skip
    )
    pd.testing.assert_frame_equal(rows.features, expected, check_dtype=False)
    assert "1 row(s) have no value the model can read; it fills them entirely" in rows.notes
    assert (
        "columns the model does not use, passed through as read: 'id', 'extra', 'y'"
        in rows.notes
    )


def test_columns_are_typed_by_the_schema_not_afresh(encoder):
    # One row; f0 empty, f1 a counter, colour one level: read afresh, each would be dropped or
    # re-typed and the model would miss its column.
    rows = read_new_rows(b"f0,f1,colour\n,7,red\n", encoder, name="one.csv")
    assert rows.features["f0"].isna().all() and rows.features["f1"].tolist() == [7.0]
    assert rows.features["colour"].tolist() == ["red"]


def test_filled_writes_the_model_columns_and_keeps_the_rest(encoder):
    rows = read_new_rows(b"id,f0,f1,colour\nA7,,1.5,green\nB2,4,,red\n", encoder, name="n.csv")
    imputed = pd.DataFrame({"f0": [2.0, 4.0], "f1": [1.5, 3.25], "colour": ["blue", "red"]})
    out = rows.filled(imputed)
    assert list(out.columns) == ["id", "f0", "f1", "colour"]
    assert out["id"].tolist() == ["A7", "B2"]
    assert out["f0"].tolist() == [2, 4] and out["f0"].dtype == np.int64  # whole at fit
    assert out["f1"].tolist() == [1.5, 3.25]
    assert out["colour"].tolist() == ["green", "red"]  # an unseen category stays as read
    assert any(
        note.startswith("column 'colour': 1 cells hold categories the model never saw ('green')")
        for note in rows.notes
    )
    assert rows.features["colour"].isna().tolist() == [True, False]  # the model sees missing


def test_predictions_go_beside_the_unused_columns(encoder):
    rows = read_new_rows(b"id,f0,f1,colour,y\n1,1,1,red,1\n2,2,2,blue,0\n", encoder, name="n")
    predictions = pd.DataFrame({"y": ["0", "1"], "p(0)": [0.9, 0.2], "p(1)": [0.1, 0.8]})
    out = rows.beside(predictions)
    assert list(out.columns) == ["id", "y", "predicted y", "p(0)", "p(1)"]
    assert out["y"].tolist() == ["1", "0"] and out["predicted y"].tolist() == ["0", "1"]


def test_a_missing_model_column_is_named(encoder):
    with pytest.raises(DataError, match=r"column 'f1' is missing from n\.csv; the model needs"):
        read_new_rows(b"f0,colour\n1,red\n", encoder, name="n.csv")


def test_text_in_a_numeric_column_is_named(encoder):
    message = r"^n\.csv, column 'f1', data row 2: 'abc' is not a number"
    with pytest.raises(DataError, match=message):
        read_new_rows(b"f0,f1,colour\n1,2,red\n1,abc,red\n", encoder, name="n.csv")


def test_new_rows_follow_the_number_rule(encoder):
    rows = read_new_rows(b'f0,f1,colour\n"1,000",0.5,red\n', encoder, name="n.csv")
    assert rows.features["f0"].tolist() == [1000.0]
    with pytest.raises(DataError, match="column 'f0' of n.csv is ambiguous"):
        read_new_rows(b'f0,f1,colour\n"1,000",2,red\n', encoder, name="n.csv")
    rows = read_new_rows(b"f0,f1,colour\n1,inf,red\n", encoder, name="n.csv")
    assert rows.features["f1"].isna().all()
    assert "column 'f1': 1 infinite values set to missing" in rows.notes
