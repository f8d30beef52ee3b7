"""The missing-rate study: the protocol per run, the summary, stopping, validation, the text."""

import re
import threading
import time

import numpy as np
import pandas as pd
import pytest

from hexagan_core.control import RunControl
from hexagan_core.experiment import load_dataset
from hexagan_core.protocol import prepare
from hexagan_core.study import (
    StudyOptions,
    StudyResult,
    plain_language_explanation,
    run_study,
    study_total_runs,
)

TINY = StudyOptions(
    rates=(0.2, 0.6),
    seeds=(0,),
    methods=("mean", "knn", "hexagan"),
    iterations=30,
    max_rows=200,
    device="cpu",
)


@pytest.fixture(scope="module")
def tiny_run():
    rows = []
    result = run_study(TINY, callback=rows.append)
    return result, rows


def test_tiny_study_has_one_row_per_run_in_order(tiny_run):
    result, streamed = tiny_run
    rows = result.rows
    assert list(rows.columns) == ["rate", "seed", "method", "rmse", "seconds"]
    # Per seed: HexaGAN at every rate first (one batched program), then each rate's baselines.
    assert list(zip(rows["rate"], rows["method"], strict=True)) == [
        (0.2, "hexagan"),
        (0.6, "hexagan"),
        (0.2, "mean"),
        (0.2, "knn"),
        (0.6, "mean"),
        (0.6, "knn"),
    ]
    assert (rows["seed"] == 0).all() and not result.stopped
    assert np.isfinite(rows["rmse"]).all() and (rows["rmse"] > 0).all()
    assert (rows["seconds"] >= 0).all()
    assert streamed == rows.to_dict("records")  # the callback saw every row as it finished
    assert study_total_runs(TINY) == len(rows) == 6


def test_rows_follow_the_cli_protocol(tiny_run):
    """The mean row equals mean imputation of the test split computed by hand."""
    result, _ = tiny_run
    dataset = load_dataset("breast", max_rows=200, seed=0)
    for rate in TINY.rates:
        experiment = prepare(dataset, missing_rate=rate, seed=0)
        train, test = experiment.train, experiment.test
        filled = np.where(np.isnan(test.x_input), np.nanmean(train.x_input, axis=0), test.x_input)
        error = (filled - test.x_true)[test.removed]
        expected = np.sqrt(np.mean(error**2))
        row = result.rows.query("rate == @rate and method == 'mean'")
        assert row["rmse"].item() == pytest.approx(expected, rel=1e-6)


def test_summary_mean_std_and_count():
    rows = pd.DataFrame(
        {
            "rate": [0.2, 0.2, 0.2, 0.5],
            "seed": [0, 1, 0, 0],
            "method": ["knn", "knn", "mean", "knn"],
            "rmse": [0.1, 0.3, 0.25, 0.4],
            "seconds": [1.0] * 4,
        }
    )
    summary = StudyResult(rows).summary()
    assert list(summary.columns) == ["rate", "method", "mean", "std", "n"]
    assert list(zip(summary["rate"], summary["method"], strict=True)) == [
        (0.2, "knn"),
        (0.2, "mean"),
        (0.5, "knn"),
    ]
    np.testing.assert_allclose(summary["mean"], [0.2, 0.25, 0.4])
    assert summary["std"][0] == pytest.approx(np.sqrt(((0.1 - 0.2) ** 2 + (0.3 - 0.2) ** 2) / 1))
    assert np.isnan(summary["std"][1])  # one seed: no spread
    assert summary["n"].tolist() == [2, 1, 1]
    assert StudyResult().summary().empty


def test_stop_between_runs_returns_partial_rows():
    control = RunControl()
    rows = []

    def callback(row):
        rows.append(row)
        if len(rows) == 2:
            control.stop()

    options = StudyOptions(
        rates=(0.2, 0.4, 0.6), seeds=(0, 1), methods=("mean", "knn"), max_rows=200, device="cpu"
    )
    result = run_study(options, callback=callback, control=control)
    assert result.stopped
    assert list(zip(result.rows["rate"], result.rows["method"], strict=True)) == [
        (0.2, "mean"),
        (0.2, "knn"),
    ]


def test_stop_during_hexagan_returns_at_once_without_its_row():
    control = RunControl()
    options = StudyOptions(
        rates=(0.2,), seeds=(0,), methods=("mean", "hexagan"), iterations=100_000, device="cpu"
    )
    timer = threading.Timer(0.5, control.stop)
    timer.start()
    start = time.perf_counter()
    result = run_study(options, control=control)
    assert time.perf_counter() - start < 10  # 100,000 iterations would take minutes
    assert result.stopped and result.rows.empty  # HexaGAN trains first; the stop ends the study


def test_pause_holds_the_study_between_runs():
    control, rows = RunControl(), []
    control.pause()
    options = StudyOptions(rates=(0.2,), seeds=(0,), methods=("mean",), device="cpu")
    worker = threading.Thread(target=lambda: rows.append(run_study(options, control=control)))
    worker.start()
    time.sleep(0.5)
    assert rows == []  # still waiting
    control.resume()
    worker.join(timeout=30)
    assert len(rows[0].rows) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rates": (0.2, 1.0)}, r"'rates' parameter .* Got 1\.0 in \(0\.2, 1\.0\)"),
        ({"rates": (0.0,)}, r"'rates' parameter .* Got 0\.0"),
        ({"rates": ()}, r"'rates' parameter .* non-empty tuple .* Got \(\)"),
        ({"rates": (0.2, 0.2)}, r"'rates' parameter .* distinct"),
        ({"methods": ("mean", "magic")}, r"'methods' parameter .* Got 'magic'"),
        ({"seeds": ()}, r"'seeds' parameter .* Got \(\)"),
        ({"seeds": (-1,)}, r"'seeds' parameter .* Got -1"),
        ({"mechanism": "random"}, r"'mechanism' parameter .* Got 'random'"),
        ({"iterations": 0}, r"'iterations' parameter .* Got 0"),
        ({"gain_iterations": 2.5}, r"'gain_iterations' parameter .* Got 2\.5"),
        ({"max_rows": 5}, r"'max_rows' parameter .* Got 5"),
        ({"device": "tpu"}, r"device must be one of .* Got 'tpu'"),
    ],
)
def test_invalid_options_are_refused_by_name(change, message):
    options = StudyOptions(**change)
    with pytest.raises(ValueError, match=message):
        run_study(options)
    with pytest.raises(ValueError, match=message):
        study_total_runs(options)


def _summary(values):
    """A summary of two seeds per point from {method: (rmse at 20%, rmse at 80%)}."""
    records = [
        {"rate": rate, "method": method, "mean": pair[i], "std": 0.01, "n": 2}
        for method, pair in values.items()
        for i, rate in enumerate((0.2, 0.8))
    ]
    return pd.DataFrame(records)


def _sentences(text):
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", text) if s]


def test_explanation_is_written_from_the_numbers():
    text = plain_language_explanation(
        _summary({"hexagan": (0.12, 0.20), "knn": (0.10, 0.30), "mean": (0.16, 0.25)})
    )
    assert "20% of the entries hidden, k-nearest neighbours fills them in best (RMSE 0.100" in text
    assert "with 80% hidden, HexaGAN takes over (RMSE 0.200)" in text
    # mean over methods: 0.38 / 3 = 0.127 -> 0.75 / 3 = 0.250, +97%
    assert "grows from 0.127 to 0.250 (+97%)" in text
    assert "HexaGAN ranks 2nd of 3 at 20% and 1st of 3 at 80%" in text
    assert "1 of 2 methods beat mean imputation" in text and ": HexaGAN." in text
    assert "differences smaller than the typical spread between seeds (0.010)" in text
    assert 3 <= len(_sentences(text)) <= 5


def test_explanation_changes_with_the_numbers():
    text = plain_language_explanation(
        _summary({"hexagan": (0.30, 0.40), "knn": (0.10, 0.15), "mean": (0.20, 0.35)})
    )
    assert "k-nearest neighbours is still best (RMSE 0.150)" in text
    assert "HexaGAN ranks 3rd of 3 at 20% and 3rd of 3 at 80%" in text
    assert "beat mean imputation" in text and ": k-nearest neighbours." in text
    assert 3 <= len(_sentences(text)) <= 5
    assert plain_language_explanation(StudyResult().summary()).startswith("No run")
    with pytest.raises(ValueError, match="mean"):
        plain_language_explanation(pd.DataFrame({"rate": [0.2]}))


def test_explanation_of_the_tiny_run(tiny_run):
    result, _ = tiny_run
    summary = result.summary()
    text = plain_language_explanation(summary)
    best_low = summary[summary["rate"] == 0.2].sort_values("mean").iloc[0]
    assert f"(RMSE {best_low['mean']:.3f} on a 0-1 scale)" in text
    assert 3 <= len(_sentences(text)) <= 5
