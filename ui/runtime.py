"""Process-wide workers: the one JobManager, the background hidden-space projections and the
loaded shipped model.

All live in `st.cache_resource`, so every session shares them; they are thread-safe, and a
session only reaches the jobs whose ids it holds (ui.state). No function that runs in a worker
thread calls Streamlit.
"""

from __future__ import annotations

import io
import json
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from hexagan_core import pretrained
from hexagan_core.embed import embed, hidden_space_points
from hexagan_core.experiment import RunResult
from hexagan_core.jobs import JobManager, JobSnapshot

__all__ = [
    "EmbeddingTask",
    "config_json",
    "discard_embedding",
    "embedding_task",
    "imputed_csv",
    "job_manager",
    "model_zip",
    "predictions_csv",
    "snapshot",
    "spread_csv",
    "start_exploring_mnist",
    "view_key",
]


@st.cache_resource
def job_manager() -> JobManager:
    """The process's JobManager (one per process, shared by all sessions)."""
    return JobManager()


def snapshot(job_id: str | None) -> JobSnapshot | None:
    """The job's snapshot, or None when there is no id or the process does not know it."""
    if not job_id:
        return None
    try:
        return job_manager().snapshot(job_id)
    except KeyError:
        return None


# --- the shipped MNIST model ---------------------------------------------------------------------


class _ShippedModels:
    """The shipped models loaded so far, each once per process and folder version (a second
    click is instant; a model replaced on disk is read again). A failed load is not kept, so
    the next click tries again. Thread-safe: the loads run in job threads."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, int], RunResult] = {}
        self._lock = threading.Lock()

    def get(self, directory: Path) -> RunResult:
        saved = directory / "model.json"
        if not saved.is_file():
            raise FileNotFoundError(f"{saved} does not exist (the model is not installed).")
        key = (str(directory), saved.stat().st_mtime_ns)
        with self._lock:  # one load at a time: two quick clicks load it once
            if key not in self._results:
                self._results[key] = pretrained.explore_mnist(directory)
            return self._results[key]

    def key_of(self, result: RunResult) -> str | None:
        """'shipped:<folder>:<version>' for a model loaded here, else None."""
        with self._lock:
            for (directory, version), loaded in self._results.items():
                if loaded is result:
                    return f"shipped:{directory}:{version}"
        return None


@st.cache_resource
def _shipped_models() -> _ShippedModels:
    return _ShippedModels()


def start_exploring_mnist() -> str:
    """Start a job that loads the shipped MNIST model with real digits to explore it on
    (`pretrained.explore_mnist` on `pretrained.SHIPPED_MNIST`); return its id. It ends
    "finished" like a training job, so the explore pages show it."""
    directory, models = Path(pretrained.SHIPPED_MNIST), _shipped_models()
    return job_manager().start_loading(lambda: models.get(directory))


def view_key(job_id: str, result: RunResult) -> str:
    """The key the pages cache a result's views under (samples, projections): its job id; for
    the shipped model, which every click's job shares, the loaded model's own, so that its
    views are computed once per process."""
    return _shipped_models().key_of(result) or job_id


# --- the hidden-space projections ---------------------------------------------------------------


@dataclass
class EmbeddingTask:
    """One projection of one trained model, computed in a worker thread."""

    method: str
    started: float = field(default_factory=time.monotonic)
    progress: float = 0.0
    n_points: int | None = None
    finished: float | None = None
    future: Future | None = None

    @property
    def done(self) -> bool:
        return self.future is not None and self.future.done()

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def error(self) -> str | None:
        if not self.done or self.future is None:
            return None
        exc = self.future.exception()
        return None if exc is None else f"{type(exc).__name__}: {' '.join(str(exc).split())}"

    def points(self) -> pd.DataFrame | None:
        if not self.done or self.future is None or self.future.exception() is not None:
            return None
        return self.future.result()


class _EmbeddingTasks:
    """{(job id, method): task}, newest last, at most `max_tasks`; one worker (2-core boxes)."""

    def __init__(self, max_tasks: int = 16) -> None:
        self._tasks: OrderedDict[tuple[str, str], EmbeddingTask] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hexagan-embed")
        self._max = max_tasks

    def get_or_start(self, key: tuple[str, str], run: Callable[[EmbeddingTask], Any]):
        with self._lock:
            task = self._tasks.get(key)
            if task is not None:
                self._tasks.move_to_end(key)
                return task
            task = EmbeddingTask(method=key[1])
            task.future = self._pool.submit(run, task)
            self._tasks[key] = task
            while len(self._tasks) > self._max:
                self._tasks.popitem(last=False)
            return task


    def discard(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._tasks.pop(key, None)


@st.cache_resource
def _embedding_tasks() -> _EmbeddingTasks:
    return _EmbeddingTasks()


def embedding_task(job_id: str, method: str, result: RunResult) -> EmbeddingTask:
    """The projection of this job's model by `method`, started in the background if new."""

    def run(task: EmbeddingTask) -> pd.DataFrame:  # worker thread: no Streamlit here
        try:
            task.started = time.monotonic()
            points = hidden_space_points(result, n_generated_per_class=100, max_points=3000)
            task.n_points = len(points)

            _check_spread(points)

            def report(fraction: float) -> None:
                task.progress = float(fraction)

            return embed(points, method=method, seed=0, progress=report)
        finally:
            task.finished = time.monotonic()

    return _embedding_tasks().get_or_start((job_id, method), run)


def _check_spread(points: pd.DataFrame) -> None:
    """Refuse hidden vectors that are all the same: scikit-learn's t-SNE divides by their spread
    (PCA initialisation) and then crashes the whole process in its Barnes-Hut code."""
    hidden = points[[c for c in points.columns if str(c).startswith("h") and str(c)[1:].isdigit()]]
    values = hidden.to_numpy(dtype=float)
    if len(values) and np.isfinite(values).all() and float(np.ptp(values, axis=0).max()) <= 1e-12:
        raise ValueError(
            "every hidden vector is the same point (the encoder's units are inactive, which "
            "happens after very short training): there is nothing to project. Train longer."
        )


def discard_embedding(job_id: str, method: str) -> None:
    """Forget a (failed) projection so the next call starts it again."""
    _embedding_tasks().discard((job_id, method))


# --- downloads (called lazily, on click, from Streamlit's download thread) -----------------------


def imputed_csv(result: RunResult) -> bytes:
    """The dataset with its real missing cells filled by HexaGAN, as CSV."""
    return result.imputed_table().to_csv(index=False).encode("utf-8")


def spread_csv(result: RunResult) -> bytes:
    """How far the imputation models disagree on each cell of `imputed_csv`'s table, as CSV."""
    return result.spread_table().to_csv(index=False).encode("utf-8")


def predictions_csv(result: RunResult) -> bytes:
    """C's predicted class and class probabilities for every row of the dataset, as CSV."""
    features = result.experiment.dataset.features
    return result.pipeline().predict_table(features).to_csv(index=False).encode("utf-8")


def config_json(result: RunResult) -> bytes:
    return (json.dumps(result.report.get("config", {}), indent=2, sort_keys=True) + "\n").encode()


def model_zip(result: RunResult) -> bytes:
    """The saved model folder (JSON + tensors, loadable with `python -m hexagan_core predict`)."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="hexagan-model-") as folder:
        saved = Path(result.save(Path(folder) / "model"))
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(saved.rglob("*")):
                if path.is_file():
                    archive.write(path, Path("hexagan-model") / path.relative_to(saved))
    return buffer.getvalue()
