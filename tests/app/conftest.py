"""Fixtures of the AppTests: tiny finished training jobs shared by the page tests."""

from __future__ import annotations

import pytest
from apptest_support import train

from hexagan_core.config import preset


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
