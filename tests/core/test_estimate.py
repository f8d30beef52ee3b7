"""The duration said before training: timed iterations of the real algorithm, and its text."""

from __future__ import annotations

import time

import pytest

from hexagan_core.config import preset
from hexagan_core.estimate import DurationEstimate, _duration_text, estimate_duration
from hexagan_core.experiment import RunOptions, prepare_experiment
from hexagan_core.train import fit


@pytest.fixture(scope="module")
def breast_train():
    train = prepare_experiment(RunOptions(data="breast", seed=0)).train
    return train.x_input, train.y_input


def test_the_estimate_is_near_the_time_training_takes(breast_train):
    """Within a factor of two of the measured training (the busy 2-core machine: 5.1 s said,
    4.4 s taken for 300 iterations; 25.6 s said, 22.5 s taken for 'paper')."""
    x, y = breast_train
    config = preset("default", iterations=300, eval_every=300)
    estimate = estimate_duration(config, x, y, device="cpu")
    start = time.perf_counter()
    fit(config, x, y, device="cpu")
    taken = time.perf_counter() - start
    assert (estimate.iterations, estimate.probed) == (300, 20)
    assert taken / 2 < estimate.seconds < taken * 2


def test_slow_iterations_end_the_probe_early_and_warm_up_counts(breast_train):
    x, y = breast_train
    config = preset("official", iterations=100, pretrain_iterations=50)
    estimate = estimate_duration(config, x, y, device="cpu", max_probe_seconds=0.0)
    assert (estimate.iterations, estimate.probed) == (150, 2)  # at least two are timed
    short = estimate_duration(preset("default", iterations=3), x, y, device="cpu")
    assert (short.iterations, short.probed) == (3, 3)  # never more than training runs
    with pytest.raises(ValueError, match="probe_iterations must be at least 2"):
        estimate_duration(config, x, y, device="cpu", probe_iterations=1)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (42.3, "43 s"), (59.4, "1 min"), (150, "2 min 30 s"), (154, "2 min 30 s"),
     (3594, "59 min 50 s"), (3599, "1 h"), (3900, "1 h 5 min"), (7200, "2 h")],
)  # fmt: skip
def test_durations_read_to_the_precision_that_matters(seconds, text):
    assert _duration_text(seconds) == text


def test_the_estimate_reads_as_one_sentence():
    assert str(DurationEstimate(150.0, 10_000, 20)) == (
        "about 2 min 30 s for 10,000 iterations (timed on 20)"
    )
