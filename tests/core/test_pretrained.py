"""The MNIST model shipped with the product: it loads safely, and its class-conditional samples
are recognisable and varied (checked on a few hundred samples against real digits)."""

import json

import numpy as np
import pytest
import torch

from hexagan_core.data import load_builtin
from hexagan_core.pretrained import SHIPPED_MNIST, explore_mnist
from hexagan_core.quality import SampleJudge

PER_CLASS = 30


@pytest.fixture(scope="module")
def shipped():
    return explore_mnist(n_images=1500)


def test_the_shipped_model_is_small_complete_and_recorded():
    weights = SHIPPED_MNIST / "weights.pt"
    assert weights.stat().st_size < 12 * 2**20
    state = torch.load(weights, weights_only=True)
    assert all(t.dtype == torch.float16 for t in state.values())
    extra = json.loads((SHIPPED_MNIST / "model.json").read_text())["extra"]
    assert extra["provenance"]["command"].startswith("python benchmarks/train_mnist_model.py")
    assert extra["provenance"]["git_commit"]
    assert (SHIPPED_MNIST / "README.md").is_file()


def test_explore_pairs_the_model_with_real_digits(shipped):
    experiment = shipped.experiment
    assert shipped.model.n_features == 784 and shipped.model.n_classes == 10
    assert experiment.dataset.image_shape == (28, 28)
    total = sum(len(s.rows) for s in (experiment.train, experiment.val, experiment.test))
    assert total == 1500
    removed = experiment.test.removed
    assert 0.45 < removed.mean() < 0.55
    assert np.isnan(experiment.test.x_input[removed]).all()


def test_the_shipped_samples_are_recognisable_and_varied(shipped):
    """Agreement >= 0.9 and spread >= 0.5 of real digits' (issue targets), on 300 samples; the
    judge is fitted on real digits other than those the spread is measured against."""
    dataset = load_builtin("mnist", download=False)
    x = shipped.experiment.scaler.transform(
        shipped.experiment.encoder.transform(dataset.features.iloc[:3000])
    )
    judge = SampleJudge().fit(x, dataset.labels[:3000])
    test = shipped.experiment.test
    quality = judge.assess(shipped.model, test.x_true, test.y_true, per_class=PER_CLASS)
    assert quality.judge_accuracy > 0.8
    assert quality.agreement >= 0.9, quality.per_class
    assert quality.spread_ratio >= 0.5, quality.per_class
