"""The dashboard's session state: the only module that spells session-state keys and URL params.

Pages read and write state through the typed getters and setters below, never through
``st.session_state[...]`` directly. What a user chose on one page (the data, the training
settings) lives in plain dataclasses here, so it survives page switches; widget values do not
(Streamlit forgets a widget's key when its page is left), so forms draw their widgets from these
values (each widget's `value=` comes from here; its key keeps its identity).

Job ids live only in this session and in the URL (``?job=...`` for training, ``?study=...`` for
the missing-rate study), so a reload or a second tab with the same URL reattaches to the job, and
no user can list or see another user's jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, replace
from typing import Any

import streamlit as st

from hexagan_core.config import HexaGANConfig, preset
from hexagan_core.study import StudyOptions

__all__ = [
    "DataChoice",
    "TrainChoice",
    "UploadedData",
    "data_choice",
    "set_data_choice",
    "train_choice",
    "set_train_choice",
    "uploaded_data",
    "set_uploaded_data",
    "train_job_id",
    "set_train_job_id",
    "study_job_id",
    "study_options",
    "set_study_options",
    "set_study_job_id",
    "preset_session",
    "samples_seed",
    "next_samples_seed",
    "widget_key",
    "forget_widgets",
]


# --- what the user chose ------------------------------------------------------------------------


@dataclass(frozen=True)
class DataChoice:
    """The data and the protocol's knobs chosen on the Data page (or by a one-click start)."""

    source: str = "breast"
    """A built-in dataset name or the path of a saved upload (what RunOptions.data takes)."""
    display_name: str = "breast"
    """What the pages call the data (the built-in name or the uploaded file's name)."""
    label: str | None = None
    """The label column of a CSV (None: no label, or a built-in with its own labels)."""
    is_upload: bool = False
    missing_rate: float = 0.2
    mechanism: str = "mcar"
    label_missing_rate: float = 0.0
    imbalance_ratio: float | None = None
    max_rows: int | None = None
    seed: int = 0
    """Seed of the split, of the masks and of training (RunOptions.seed)."""

    def with_(self, **changes: Any) -> DataChoice:
        return replace(self, **changes)


@dataclass(frozen=True)
class TrainChoice:
    """The Train page's settings: a preset, the edited config, the device and the baselines."""

    preset_name: str = "default"
    """The preset chosen on the page."""
    base_preset: str = "default"
    """The preset `config` started from: the chosen one, or the one it stands for on the data
    ('default' on MNIST is 'mnist', `experiment.preset_for_data`)."""
    config: HexaGANConfig = HexaGANConfig()
    """What trains: the base preset with the form's edits."""
    device: str = "auto"
    baselines: tuple[str, ...] = ("mean", "knn", "mice")

    def with_(self, **changes: Any) -> TrainChoice:
        return replace(self, **changes)


@dataclass(frozen=True)
class UploadedData:
    """A CSV the user uploaded, saved to a temporary file (its bytes are parsed, never run)."""

    name: str
    path: str
    size: int
    digest: str


# --- session-state keys (spelled here only) -----------------------------------------------------

_DATA_CHOICE = "data_choice"
_TRAIN_CHOICE = "train_choice"
_UPLOAD = "uploaded_data"
_TRAIN_JOB = "train_job_id"
_STUDY_JOB = "study_job_id"
_SAMPLES_SEED = "samples_seed"
_STUDY_OPTIONS = "study_options"
_WIDGET_PREFIX = "w"

# URL query parameters.
_TRAIN_JOB_PARAM = "job"
_STUDY_JOB_PARAM = "study"


def data_choice() -> DataChoice:
    value = st.session_state.get(_DATA_CHOICE)
    return value if isinstance(value, DataChoice) else DataChoice()


def set_data_choice(choice: DataChoice) -> None:
    st.session_state[_DATA_CHOICE] = choice


def train_choice() -> TrainChoice:
    value = st.session_state.get(_TRAIN_CHOICE)
    if isinstance(value, TrainChoice):
        return value
    return TrainChoice(config=preset("default"))


def set_train_choice(choice: TrainChoice) -> None:
    st.session_state[_TRAIN_CHOICE] = choice


def uploaded_data() -> UploadedData | None:
    value = st.session_state.get(_UPLOAD)
    return value if isinstance(value, UploadedData) else None


def set_uploaded_data(upload: UploadedData | None) -> None:
    st.session_state[_UPLOAD] = upload


# --- jobs: session first, then the URL; the URL always shows the current job --------------------


def _job_id(state_key: str, param: str) -> str | None:
    job_id = st.session_state.get(state_key)
    if not job_id:
        job_id = st.query_params.get(param) or None
        if job_id:
            st.session_state[state_key] = job_id
    if job_id and st.query_params.get(param) != job_id:
        st.query_params[param] = job_id
    return job_id


def _set_job_id(state_key: str, param: str, job_id: str | None) -> None:
    st.session_state[state_key] = job_id
    if job_id:
        st.query_params[param] = job_id
    elif param in st.query_params:
        del st.query_params[param]


def train_job_id() -> str | None:
    """The training job of this session (or of the URL's ``?job=``), shown in the URL."""
    return _job_id(_TRAIN_JOB, _TRAIN_JOB_PARAM)


def set_train_job_id(job_id: str | None) -> None:
    _set_job_id(_TRAIN_JOB, _TRAIN_JOB_PARAM, job_id)


def study_job_id() -> str | None:
    """The missing-rate study of this session (or of the URL's ``?study=``)."""
    return _job_id(_STUDY_JOB, _STUDY_JOB_PARAM)


def set_study_job_id(job_id: str | None) -> None:
    _set_job_id(_STUDY_JOB, _STUDY_JOB_PARAM, job_id)


def study_options() -> StudyOptions:
    """The last settings of the missing-rate study form (its defaults at first)."""
    value = st.session_state.get(_STUDY_OPTIONS)
    return value if isinstance(value, StudyOptions) else StudyOptions()


def set_study_options(options: StudyOptions) -> None:
    st.session_state[_STUDY_OPTIONS] = options


def samples_seed() -> int:
    return int(st.session_state.get(_SAMPLES_SEED, 0))


def next_samples_seed() -> int:
    st.session_state[_SAMPLES_SEED] = samples_seed() + 1
    return samples_seed()


def preset_session(
    session: MutableMapping[str, Any],
    *,
    data: DataChoice | None = None,
    train: TrainChoice | None = None,
    train_job: str | None = None,
    study_job: str | None = None,
) -> None:
    """Write state as the earlier pages would have (AppTest's `at.session_state`, STYLE.md 5)."""
    for key, value in (
        (_DATA_CHOICE, data),
        (_TRAIN_CHOICE, train),
        (_TRAIN_JOB, train_job),
        (_STUDY_JOB, study_job),
    ):
        if value is not None:
            session[key] = value


# --- widgets ------------------------------------------------------------------------------------


def widget_key(page: str, name: str) -> str:
    """The key of widget `name` on `page` (unique per page, as STYLE.md section 4 asks)."""
    return f"{_WIDGET_PREFIX}.{page}.{name}"


def forget_widgets(page: str, names: Iterable[str] | None = None) -> None:
    """Drop the page's widget values (or only `names`) so they are seeded again."""
    if names is not None:
        keys = [widget_key(page, name) for name in names]
    else:
        prefix = f"{_WIDGET_PREFIX}.{page}."
        keys = [k for k in st.session_state if str(k).startswith(prefix)]
    for key in keys:
        if key in st.session_state:
            del st.session_state[key]
