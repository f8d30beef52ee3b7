"""Fixtures of the AppTests: tiny finished training jobs shared by the page tests, and a tiny
stand-in for the shipped MNIST model."""

from __future__ import annotations

import pytest
from apptest_support import save_tiny_mnist_model, train

from hexagan_core.config import preset
from hexagan_core.pretrained import explore_mnist
from ui import runtime


@pytest.fixture(scope="session")
def breast_job() -> str:
    """A finished (tiny) training job on breast cancer, with the mean baseline."""
    return train(data="breast", baselines=["mean"])


@pytest.fixture(scope="session")
def digits_job() -> str:
    """A finished (tiny) training job on scikit-learn's 8x8 digits, 30 % of pixels hidden."""
    return train(data="digits", max_rows=300, missing_rate=0.3, iterations=30,
                 config=preset("default", eval_every=10))


@pytest.fixture(scope="session")
def unlabelled_csv_job(tmp_path_factory) -> str:
    """A finished job on a CSV without a label column (imputation only)."""
    path = tmp_path_factory.mktemp("csv") / "plain.csv"
    rows = "\n".join(f"{i},{i * 2 % 7},{'' if i % 5 else 3}" for i in range(60))
    path.write_text(f"a,b,c\n{rows}\n")
    return train(data=str(path), iterations=20, config=preset("default", eval_every=10))


@pytest.fixture(scope="session")
def tiny_mnist_model(tmp_path_factory):
    """The folder of a stand-in for the shipped MNIST model (2 iterations on 200 digits)."""
    return save_tiny_mnist_model(tmp_path_factory.mktemp("shipped") / "mnist")


@pytest.fixture(scope="session")
def shipped_job(tiny_mnist_model) -> str:
    """A finished loading job of the stand-in, shown on 600 digits, as Home's button loads."""
    manager = runtime.job_manager()
    job_id = manager.start_loading(lambda: explore_mnist(tiny_mnist_model, n_images=600))
    snap = manager.wait(job_id, timeout=120)
    assert snap.status == "finished", snap.error
    return job_id
