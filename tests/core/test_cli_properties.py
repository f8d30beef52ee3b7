"""Property: for any messy CSV, `fit` succeeds or exits 2 with one line, and `transform` on the
same file returns exactly its rows, with every observed value unchanged (hypothesis)."""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hexagan_core.cli import main
from hexagan_core.persist import load_pipeline

MISSING = ("", "NA", "?", "nan", " ")
KINDS = ("float", "int", "category", "thousands", "id", "empty", "text", "inf", "mixed")


@dataclass
class MessyCsv:
    text: str
    truth: dict[str, list[object]]
    """Each column's values: a number, a str, or None where the cell is missing."""
    n_rows: int
    delimiter: str


def _cell(value: object, decimal_comma: bool) -> str:
    if isinstance(value, float):
        text = repr(value)
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def _values(kind: str, n_rows: int) -> st.SearchStrategy[list]:
    """A column of one kind: numbers, categories, an identifier, text, or nothing."""
    def each(elements: st.SearchStrategy) -> st.SearchStrategy[list]:
        return st.lists(elements, min_size=n_rows, max_size=n_rows)

    return {
        "float": each(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)),
        "int": each(st.integers(-50, 50)),
        "category": each(st.sampled_from("abc")),
        # written '1,234,567.5': a decimal point and ',' between thousands
        "thousands": each(st.integers(10**5, 10**8).map(lambda v: v + 0.5)),
        "id": st.permutations(range(100, 100 + n_rows)),
        "empty": st.just([None] * n_rows),
        "text": st.just([f"note {i} here" for i in range(n_rows)]),
        "inf": each(st.sampled_from([1.5, 2.25, float("inf")])),
        "mixed": each(st.sampled_from([0.5, 7.25, "n/k"])),
    }[kind]


@st.composite
def messy_csvs(draw) -> MessyCsv:
    n_rows = draw(st.integers(12, 24))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=2, max_size=5))
    truth: dict[str, list[object]] = {}
    for k, kind in enumerate(kinds):
        column = draw(_values(kind, n_rows))
        if kind not in ("id", "text"):
            holes = draw(st.sets(st.integers(0, n_rows - 1), max_size=n_rows // 3))
            column = [None if i in holes else v for i, v in enumerate(column)]
        truth[f"c{k}_{kind}"] = column
    more = n_rows - 2  # after one row of each class
    labels = st.lists(st.sampled_from(["yes", "no", None]), min_size=more, max_size=more)
    truth["y"] = ["yes", "no", *draw(labels)]
    decimal_comma = "thousands" not in kinds and draw(st.booleans())
    delimiter = ";" if decimal_comma else ","
    lines = [delimiter.join(truth)]
    for i in range(n_rows):
        cells = []
        for name, column in truth.items():
            value = column[i]
            if value is None:
                cells.append(draw(st.sampled_from(MISSING)))
            elif name.endswith("thousands"):
                cells.append(f'"{value:,.1f}"')
            else:
                cells.append(_cell(value, decimal_comma))
        lines.append(delimiter.join(cells))
    return MessyCsv("\n".join(lines) + "\n", truth, n_rows, delimiter)


def _run(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(args)
    return code, err.getvalue()


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(messy_csvs())
def test_fit_and_transform_keep_rows_and_values(csv):
    with tempfile.TemporaryDirectory() as folder:
        path, model, out = Path(folder, "messy.csv"), Path(folder, "model"), Path(folder, "o.csv")
        path.write_text(csv.text, encoding="utf-8")
        code, err = _run(["fit", str(path), "--label", "y", "--iterations", "2",
                          "--device", "cpu", "--quiet", "--save", str(model)])  # fmt: skip
        if code != 0:
            assert code == 2
            assert err.startswith("error: ") and err.count("\n") == 1, err
            event("fit refused")
            return
        event("fit succeeded")
        event(f"decimal {'comma' if csv.delimiter == ';' else 'point'}")
        code, err = _run(["transform", str(model), str(path), "--output", str(out)])
        assert code == 0, err
        encoder = load_pipeline(model, device="cpu").encoder
        written = pd.read_csv(out, dtype=str, keep_default_na=False)
        given_cells = pd.read_csv(path, dtype=str, keep_default_na=False, sep=csv.delimiter)

    assert len(written) == csv.n_rows
    assert list(written.columns) == list(csv.truth)
    for name, values in csv.truth.items():
        cells, given_column = written[name].tolist(), given_cells[name].tolist()
        if name not in encoder.columns_in_:
            assert cells == given_column, name  # passed through exactly as read
            continue
        for cell, given_cell, value in zip(cells, given_column, values, strict=True):
            if value is None or value == float("inf"):
                assert cell != "", name  # a missing cell of the model's columns is filled
            elif name in encoder.categorical_:
                assert cell == given_cell.strip(), (name, cell, given_cell)
            else:
                assert float(cell) == value, (name, cell, value)
