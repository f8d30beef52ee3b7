"""Data for the pages: cached loading, saved uploads, column summaries, the mask preview and
the duration estimate.

Uploads are saved as bytes to a private temporary folder (the engine's `RunOptions.data` takes a
path) and only ever parsed by `hexagan_core.data.read_csv`; nothing in them is executed. Loaded
datasets and prepared experiments are cached per process (`st.cache_resource`) and treated as
read-only by every page.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from hexagan_core.config import WIDE_FEATURES, HexaGANConfig, penalty_cost_note
from hexagan_core.data import Dataset
from hexagan_core.estimate import DurationEstimate, estimate_duration
from hexagan_core.experiment import load_dataset
from hexagan_core.protocol import Experiment, prepare
from ui.state import DataChoice, UploadedData

__all__ = [
    "Preview",
    "column_summary",
    "duration_estimate",
    "label_candidates",
    "load",
    "preview",
    "save_upload",
    "upload_dir",
]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
LABEL_NAMES = ("label", "target", "class", "y", "diagnosis", "outcome", "default")


def upload_dir() -> Path:
    """This process's folder for uploaded files (owner-only permissions)."""
    root = Path(os.environ.get("HEXAGAN_UPLOAD_DIR") or tempfile.gettempdir())
    folder = root / f"hexagan-studio-uploads-{os.getpid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _safe_file_name(name: str) -> str:
    stem = _SAFE_NAME.sub("_", Path(str(name)).name).strip("._") or "upload"
    stem = stem[:60]
    return stem if stem.lower().endswith((".csv", ".tsv", ".txt")) else f"{stem}.csv"


def save_upload(name: str, content: bytes) -> UploadedData:
    """Write the uploaded bytes to <upload_dir>/<sha256 prefix>/<sanitised name>; never run."""
    digest = hashlib.sha256(content).hexdigest()
    folder = upload_dir() / digest[:16]
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / _safe_file_name(name)
    if not path.is_file():
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(content)
        partial.replace(path)
    return UploadedData(name=str(name), path=str(path), size=len(content), digest=digest)


@st.cache_resource(max_entries=8, show_spinner="Loading the data…")
def load(source: str, label: str | None, max_rows: int | None, seed: int) -> Dataset:
    """The dataset exactly as a training run will load it (DataError/ValueError if bad)."""
    return load_dataset(source, label=label, max_rows=max_rows, seed=seed)


def label_candidates(dataset: Dataset) -> list[str]:
    """Columns that could be the label, most likely first (by name, then few distinct values).

    Every column of the file is one, the dropped ones too: a label with too many classes to be
    a feature must still be offered, and then refused with the reason."""
    features = dataset.features
    columns = [str(c) for c in (dataset.file_columns or features.columns)]
    by_name = [c for c in columns if c.strip().lower() in LABEL_NAMES]
    few = [
        c
        for c in columns
        if c not in by_name and c in features and features[c].nunique(dropna=True) <= 10
    ]
    rest = [c for c in columns if c not in by_name and c not in few]
    return by_name + few + rest


def column_summary(dataset: Dataset) -> pd.DataFrame:
    """One row per feature column: its type, distinct values and real missing share."""
    features = dataset.features
    rows = []
    for column in features.columns:
        values = features[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        missing = int(values.isna().sum())
        rows.append(
            {
                "column": str(column),
                "type": "numeric" if numeric else "categorical",
                "distinct": int(values.nunique(dropna=True)),
                "missing": missing,
                "missing_pct": 100.0 * missing / max(1, len(values)),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Preview:
    """What the protocol will hide, for the first rows, and the realised rates over all rows."""

    values: pd.DataFrame
    """The first rows in original units (real missing cells are NaN)."""
    status: pd.DataFrame
    """Same shape: "observed", "hidden" (removed by the protocol) or "missing" (in the file)."""
    hidden_cells: int
    observed_cells: int
    hidden_labels: int
    train_labels: int
    rows_kept: int
    split_rows: tuple[int, int, int]
    n_features: int
    """Columns of the matrix HexaGAN trains on (categorical columns one-hot encoded)."""

    @property
    def hidden_rate(self) -> float:
        return self.hidden_cells / self.observed_cells if self.observed_cells else 0.0

    @property
    def label_hidden_rate(self) -> float:
        return self.hidden_labels / self.train_labels if self.train_labels else 0.0


def _experiment_rows(experiment: Experiment) -> tuple[np.ndarray, np.ndarray]:
    """All kept rows in dataset order and their x_input (scaled, NaN where missing or hidden)."""
    splits = (experiment.train, experiment.val, experiment.test)
    rows = np.concatenate([s.rows for s in splits])
    x_input = np.concatenate([s.x_input for s in splits])
    order = np.argsort(rows, kind="stable")
    return rows[order], x_input[order]


@st.cache_resource(max_entries=4, show_spinner="Preparing the data…")
def _prepared(_dataset: Dataset, key: tuple, choice: DataChoice) -> Experiment:
    """`protocol.prepare` with the chosen settings (as the run will); `key` identifies the
    dataset."""
    return prepare(
        _dataset,
        missing_rate=choice.missing_rate,
        mechanism=choice.mechanism,
        label_missing_rate=choice.label_missing_rate,
        imbalance_ratio=choice.imbalance_ratio,
        seed=choice.seed,
    )


@st.cache_resource(max_entries=8, show_spinner="Preparing the preview…")
def preview(
    _dataset: Dataset, key: tuple, choice: DataChoice, n_rows: int = 12, max_columns: int = 14
) -> Preview:
    """What the protocol hides with the chosen settings; `key` identifies the dataset."""
    experiment = _prepared(_dataset, key, choice)
    rows, x_input = _experiment_rows(experiment)
    original = _dataset.features.iloc[rows].reset_index(drop=True)
    blanked = experiment.to_original_units(x_input)
    observed = original.notna().to_numpy()
    hidden = observed & blanked.isna().to_numpy()

    head = original.iloc[:n_rows, :max_columns]
    status = np.where(
        ~observed[:n_rows, :max_columns],
        "missing",
        np.where(hidden[:n_rows, :max_columns], "hidden", "observed"),
    )
    train = experiment.train
    labelled = 0 if train.y_true is None else int((train.y_true >= 0).sum())
    hidden_labels = (
        0 if train.y_true is None else int(((train.y_input < 0) & (train.y_true >= 0)).sum())
    )
    return Preview(
        values=head,
        status=pd.DataFrame(status, columns=head.columns),
        hidden_cells=int(hidden.sum()),
        observed_cells=int(observed.sum()),
        hidden_labels=hidden_labels,
        train_labels=labelled,
        rows_kept=len(rows),
        split_rows=(len(train.rows), len(experiment.val.rows), len(experiment.test.rows)),
        n_features=experiment.n_features,
    )


def penalty_note(choice: DataChoice, config: HexaGANConfig) -> str | None:
    """`penalty_cost_note` for the chosen data, from its encoded width (the cached preview, not
    loaded where no width would call for a note); None for data that cannot be used (the Data
    page and the run say why)."""
    if penalty_cost_note(config, WIDE_FEATURES) is None:
        return None
    try:
        return penalty_cost_note(config, chosen_preview(choice).n_features)
    except ValueError:
        return None


def chosen_preview(choice: DataChoice) -> Preview:
    """The preview of the chosen data and protocol (cached; ValueError for unusable data)."""
    dataset = load(choice.source, choice.label, choice.max_rows, choice.seed)
    return preview(dataset, _dataset_key(choice), choice)


def _dataset_key(choice: DataChoice) -> tuple:
    return (choice.source, choice.label, choice.max_rows, choice.seed)


@st.cache_data(max_entries=16, show_spinner="Timing a few training iterations…")
def duration_estimate(
    choice: DataChoice, config: HexaGANConfig, device: str
) -> DurationEstimate | None:
    """How long training `config` on the chosen data will take on `device`, from a few timed
    iterations on its training rows (`estimate.estimate_duration`, at most about a second of
    probing). None for data that cannot be used (the Data page and the run say why) and for
    engine 'compiled', whose probe would compile first (the run says how long, once compiled).
    """
    if config.engine == "compiled":
        return None
    try:
        dataset = load(choice.source, choice.label, choice.max_rows, choice.seed)
        train = _prepared(dataset, _dataset_key(choice), choice).train
        return estimate_duration(
            config, train.x_input, train.y_input, device=device, max_probe_seconds=1.0
        )
    except ValueError:
        return None
