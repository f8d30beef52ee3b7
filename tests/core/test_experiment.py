"""A short real training run under the protocol beats mean imputation on breast."""

import numpy as np
import pytest

from hexagan_core.experiment import RunOptions, load_dataset, run_experiment


@pytest.fixture(scope="module")
def breast_run():
    options = RunOptions(data="breast", missing_rate=0.2, seed=0, iterations=600,
                         baselines=["mean"], device="cpu")
    return run_experiment(options)


def test_short_breast_run_beats_mean_imputation(breast_run):
    results = breast_run.report["results"]
    assert results["hexagan"]["rmse"] < 0.85 * results["mean"]["rmse"]
    assert results["hexagan"]["f1"] > 0.85


def test_model_is_selected_on_validation_reports_only(breast_run):
    history = breast_run.model.history
    assert history and all("val_rmse" in r for r in history)
    selected = breast_run.report["selected_iteration"]
    assert selected == min(history, key=lambda r: r["val_rmse"])["iteration"]


def test_imputed_table_fills_real_gaps_and_keeps_observed_values(breast_run):
    table = breast_run.imputed_table()
    source = breast_run.experiment.dataset.features
    assert table.shape == (len(source), source.shape[1] + 1)  # + the label column
    features = table[source.columns]
    np.testing.assert_allclose(features.to_numpy(float), source.to_numpy(float))  # no real NaN


def test_unknown_dataset_and_label_on_builtin_are_refused():
    with pytest.raises(ValueError, match="neither a built-in dataset"):
        load_dataset("no-such-set")
    with pytest.raises(ValueError, match="--label applies to CSV files"):
        load_dataset("breast", label="target")


def test_networks_can_be_selected_on_validation_f1():
    options = RunOptions(data="breast", missing_rate=0.2, seed=0, iterations=150,
                         device="cpu", select_on="val_f1", label_missing_rate=0.5)
    run = run_experiment(options)
    history = run.model.history
    best = max(history, key=lambda r: r["val_f1"])["val_f1"]
    first_best = next(r["iteration"] for r in history if r["val_f1"] == best)
    assert run.report["selected_iteration"] == first_best


def test_bad_selection_criterion_is_refused():
    with pytest.raises(ValueError, match="select_on must be one of"):
        run_experiment(RunOptions(data="breast", iterations=1, select_on="val_auc"))
