"""Helpers for the AppTests: run one page with state preset, re-run it while jobs work, and
save a tiny stand-in for the shipped MNIST model.

Each page is run on its own (`AppTest.from_file(page)`), with the state an earlier page would
have left written through `ui.state.preset_session` (STYLE.md section 5). Jobs run for real, in
the process-wide JobManager that the pages also use, on tiny budgets.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `pytest` without `python -m`: make the pages' imports resolve
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from hexagan_core.config import preset  # noqa: E402
from hexagan_core.data import Dataset, load_builtin  # noqa: E402
from hexagan_core.experiment import RunOptions  # noqa: E402
from hexagan_core.persist import Pipeline  # noqa: E402
from hexagan_core.protocol import prepare  # noqa: E402
from hexagan_core.train import fit  # noqa: E402
from ui import runtime  # noqa: E402
from ui.state import preset_session  # noqa: E402

PAGE_TIMEOUT_S = 60


def page_test(page: str, **state) -> AppTest:
    """An AppTest of pages/<page>.py with `ui.state.preset_session(**state)` applied."""
    at = AppTest.from_file(str(REPO / "pages" / f"{page}.py"), default_timeout=PAGE_TIMEOUT_S)
    preset_session(at.session_state, **state)
    return at


def rerun_until(at: AppTest, done: Callable[[AppTest], bool], timeout: float = 120.0) -> AppTest:
    """Re-run the page (as its fragment would) until `done(at)`, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError(f"page did not reach the expected state in {timeout:.0f} s")
        time.sleep(0.5)


def wait_for_job(job_id: str, timeout: float = 180.0):
    """The job's final snapshot (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        snap = runtime.job_manager().snapshot(job_id)
        if snap.done:
            return snap
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {snap.status} after {timeout:.0f} s")
        time.sleep(0.2)


def train(**options) -> str:
    """Start a training job in the pages' JobManager, wait for it, return its id."""
    base = {"iterations": 60, "device": "cpu", "config": preset("default", eval_every=20)}
    job_id = runtime.job_manager().start_training(RunOptions(**{**base, **options}))
    snap = wait_for_job(job_id)
    assert snap.status == "finished", snap.error
    return job_id


TINY_MNIST_METRICS = {
    "train_images": 150, "missing_rate": 0.5, "label_missing_rate": 0.5, "iterations": 2,
    "device": "cpu", "train_seconds": 3.0, "test_images": 10_000, "test_rmse_pixels": 0.3,
    "knn_test_rmse_pixels": 0.2, "test_accuracy": 0.25,
    "samples": {"agreement": 0.1, "spread_ratio": 0.01, "judge_accuracy": 0.85},
}  # fmt: skip
"""Made-up metrics saved with the stand-in, as `pretrained.train_mnist_model` saves real ones."""


def save_tiny_mnist_model(directory: Path) -> Path:
    """A stand-in for the shipped MNIST model, saved as the real one is (no critics, float16):
    the 'mnist' preset trained for 2 iterations on 200 digits. It can be explored like the real
    one; its quality is beside the point."""
    digits = load_builtin("mnist", download=False)
    rows = np.random.default_rng(0).choice(len(digits.features), 200, replace=False)
    dataset = Dataset(
        name="mnist", features=digits.features.iloc[rows].reset_index(drop=True),
        labels=digits.labels[rows], class_names=digits.class_names,
        label_name=digits.label_name, notes=[], image_shape=digits.image_shape,
    )  # fmt: skip
    experiment = prepare(dataset, missing_rate=0.5, label_missing_rate=0.5, seed=0)
    train = experiment.train
    model = fit(preset("mnist", iterations=2, eval_every=1), train.x_input, train.y_input,
                device="cpu")  # fmt: skip
    pipeline = Pipeline(model, experiment.encoder, experiment.scaler, dataset.class_names,
                        dataset.label_name)  # fmt: skip
    return pipeline.save(directory, extra={"metrics": TINY_MNIST_METRICS}, critics=False,
                         half=True)  # fmt: skip
