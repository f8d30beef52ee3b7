"""Data page: built-in datasets, CSV uploads (good and bad), the protocol's knobs and preview."""

import io

import numpy as np
import pandas as pd
import pytest
from apptest_support import page_test
from sklearn.datasets import load_breast_cancer

from ui import data as data_ui
from ui.state import widget_key


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _percent(text: str) -> float:
    return float(text.rstrip("%"))


def _upload(at, name: str, content: bytes):
    at.run()
    at.radio(key=widget_key("data", "source")).set_value("Upload a CSV").run()
    at.file_uploader[0].upload(name, content, "text/csv").run()
    return at


def _breast_csv(rows: int = 200) -> bytes:
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data.iloc[:rows, :8].copy()
    frame = frame.mask(np.random.default_rng(0).random(frame.shape) < 0.1)
    frame["target"] = np.asarray(bunch.target_names)[bunch.target[:rows]]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def test_builtin_default_shows_columns_and_what_will_be_hidden():
    at = page_test("data").run()
    assert not at.exception
    assert _metric(at, "Rows") == "569"
    assert _metric(at, "Feature columns") == "30"
    assert _metric(at, "Missing in the file") == "0.0%"
    # 20 % MCAR of 569 x 30 observed cells: the realised share is within a point of it.
    assert abs(_percent(_metric(at, "Entries hidden")) - 20.0) < 1.0
    assert _metric(at, "Train / validation / test") == "370 / 85 / 114"
    assert len(at.dataframe) == 2  # the column summary and the marked preview


def test_missing_rate_and_labels_sliders_change_the_preview():
    at = page_test("data").run()
    at.slider(key=widget_key("data", "missing_rate")).set_value(50)
    at.slider(key=widget_key("data", "label_missing_rate")).set_value(40)
    at.run()
    assert not at.exception
    assert abs(_percent(_metric(at, "Entries hidden")) - 50.0) < 1.0
    assert abs(_percent(_metric(at, "Labels hidden")) - 40.0) < 1.5


def test_imbalance_subsamples_the_minority_class():
    at = page_test("data").run()
    at.toggle(key=widget_key("data", "imbalance")).set_value(True).run()
    at.number_input(key=widget_key("data", "imbalance_ratio")).set_value(10.0)
    at.run()
    assert not at.exception
    # breast: 357 benign; minority malignant cut to about 357 / 10.
    assert int(_metric(at, "Rows used").replace(",", "")) < 400


def test_another_builtin_dataset():
    at = page_test("data").run()
    at.selectbox(key=widget_key("data", "builtin")).set_value("wine").run()
    assert not at.exception
    assert _metric(at, "Rows") == "178"
    assert _metric(at, "Feature columns") == "13"


def test_csv_upload_is_saved_parsed_and_its_label_recognised():
    content = _breast_csv()
    at = _upload(page_test("data"), "my data.csv", content)
    assert not at.exception
    assert not at.error
    label = next(s for s in at.selectbox if s.label.startswith("Label column"))
    assert label.value == "target"  # guessed from its name
    assert _metric(at, "Rows") == "200"
    assert _metric(at, "Feature columns") == "8"
    assert _metric(at, "Classes") == "2"
    assert 5.0 < _percent(_metric(at, "Missing in the file")) < 15.0
    saved = list(data_ui.upload_dir().rglob("my_data.csv"))
    assert any(path.read_bytes() == content for path in saved)


def test_csv_without_label_column_only_imputes():
    rows = "\n".join(f"{i},{'' if i % 4 == 0 else i % 7}" for i in range(30))
    at = _upload(page_test("data"), "plain.csv", f"a,b\n{rows}\n".encode())
    label = next(s for s in at.selectbox if s.label.startswith("Label column"))
    label.set_value("(no label column)").run()
    assert not at.exception
    assert _metric(at, "Classes") == "no label"
    assert _metric(at, "Labels hidden") == "—"
    assert not at.error


def test_too_few_rows_to_split_is_reported_not_raised():
    at = _upload(page_test("data"), "tiny.csv", b"a,b\n1,2\n3,\n5,6\n7,8\n")
    label = next(s for s in at.selectbox if s.label.startswith("Label column"))
    label.set_value("(no label column)").run()
    assert not at.exception
    assert any("at least 10 rows" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"a,b,c\n", "no data rows"),
        (b"id\n1\n2\n3\n", "no usable feature column"),
    ],
)
def test_bad_csv_shows_the_error_and_the_page_stays_usable(content, message):
    at = _upload(page_test("data"), "bad.csv", content)
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    at.radio(key=widget_key("data", "source")).set_value("Built-in dataset").run()
    assert not at.exception
    assert not at.error
    assert _metric(at, "Rows") == "569"


def test_a_label_with_one_class_is_reported_not_raised():
    frame = pd.DataFrame({"x": range(30), "z": [i % 4 for i in range(30)], "target": "yes"})
    at = _upload(page_test("data"), "one_class.csv", frame.to_csv(index=False).encode())
    assert not at.exception
    assert any("target" in e.value for e in at.error), [e.value for e in at.error]


def test_large_builtin_datasets_start_subsampled():
    at = page_test("data").run()
    at.selectbox(key=widget_key("data", "builtin")).set_value("mnist").run()
    assert not at.exception
    assert not at.error
    assert _metric(at, "Rows") == "5,000"  # not all 70,000 images: the toggle can undo it
    assert _metric(at, "Feature columns") == "784"
    assert _metric(at, "Classes") == "10"
    assert len(at.dataframe[1].value.columns) == 14  # the preview shows the first columns only


def test_what_reading_the_file_dropped_or_changed_is_in_an_open_box():
    rows = "".join(f"{i},{i % 5},{'inf' if i == 3 else i * 0.5},\n" for i in range(1, 31))
    header = "row_id,target,v,<b>[x](http://e.test)</b>\n"  # markup in a column's name
    at = _upload(page_test("data"), "drops.csv", (header + rows).encode())
    assert not at.exception
    (box,) = [box for box in at.info if "What reading the data did" in box.value]
    assert "dropped column 'row\\_id'\\: identifier" in box.value
    assert "column 'v'\\: 1 infinite values set to missing" in box.value
    # User text is escaped: no tag or link is ever rendered.
    assert "'\\<b\\>\\[x\\](http\\://e.test)\\</b\\>'\\: entirely empty" in box.value
    assert not at.expander  # nothing to open first


def test_a_label_with_too_many_classes_is_offered_and_refused_with_the_reason():
    # 1,000 distinct text values: dropped as free text, the column used to vanish from the list.
    rows = "".join(f"{i % 7},{i * 0.5},class {i}\n" for i in range(1000))
    at = _upload(page_test("data"), "many.csv", ("a,b,species\n" + rows).encode())
    label = next(s for s in at.selectbox if s.label.startswith("Label column"))
    assert "species" in label.options
    label.set_value("species").run()
    assert not at.exception
    assert any("1000 distinct values" in e.value for e in at.error), [e.value for e in at.error]


def test_values_beyond_float64_are_refused_by_name_not_hidden():
    # The scaler overflowed: observed cells became missing and the preview said 40.8 % hidden.
    rows = "".join(f"{[1e308, -1e308, i][i % 3]!r},{i % 4},{'ab'[i % 2]}\n" for i in range(30))
    at = _upload(page_test("data"), "huge.csv", ("big,small,target\n" + rows).encode())
    assert not at.exception
    assert any("column 'big' spans" in e.value for e in at.error), [e.value for e in at.error]
    assert not [m for m in at.metric if m.label == "Entries hidden"]
