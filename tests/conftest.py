"""Shared fixtures: the offline dataset folder beside the checkout, tiny configs, seeded RNGs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"

# Tests never download: built-in datasets come from the shared folder or from installed packages.
os.environ.setdefault("HEXAGAN_DATA_DIR", str(SHARED_DATASETS))
os.environ["HEXAGAN_OFFLINE"] = "1"
torch.set_num_threads(1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"offline datasets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS
