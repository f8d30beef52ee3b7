"""A short real training run under the protocol beats mean imputation on breast."""

import numpy as np
import pytest

from hexagan_core.config import preset
from hexagan_core.control import RunControl
from hexagan_core.experiment import (
    RunOptions,
    fit_runs,
    load_dataset,
    prepare_experiment,
    run_experiment,
    run_experiments,
    score_baselines,
    training_config,
)
from hexagan_core.train import Validation, fit


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


def test_c_is_chosen_apart_by_default_on_validation_f1(breast_run):
    """The run's C is that of the report with the best validation F1 on the kept networks'
    imputations, whatever iteration the imputation networks come from."""
    history, report = breast_run.model.history, breast_run.report
    [chosen] = [r for r in history if r.get("best_classifier")]
    assert report["selected_classifier_iteration"] == chosen["iteration"]
    assert 0 < chosen["iteration"] <= 600 and report["selected_iteration"] is not None


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


def test_seeds_run_together_give_each_seed_its_own_run():
    """run_experiments trains the seeds' HexaGANs as one program; each run's test scores and
    report match run_experiment's for that seed (to float32 rounding)."""
    runs = [RunOptions(data="breast", missing_rate=0.2, seed=s, iterations=100, device="cpu",
                       baselines=["mean"]) for s in (0, 1)]  # fmt: skip
    together = run_experiments(runs)
    for options, result in zip(runs, together, strict=True):
        alone = run_experiment(options).report
        report = result.report
        assert report["seed"] == options.seed and report["split_rows"] == alone["split_rows"]
        assert report["selected_iteration"] == alone["selected_iteration"]
        for method in ("hexagan", "mean"):
            assert report["results"][method]["rmse"] == pytest.approx(
                alone["results"][method]["rmse"], rel=1e-3
            )
    assert together[0].report["results"]["hexagan"]["rmse"] != pytest.approx(
        together[1].report["results"]["hexagan"]["rmse"], rel=1e-6
    )  # different seeds, different splits and models


def test_runs_that_differ_in_more_than_the_seed_are_refused():
    with pytest.raises(ValueError, match="differ only in `seed`"):
        run_experiments([RunOptions(data="breast", seed=0), RunOptions(data="wine", seed=1)])


def test_baseline_params_reach_the_baseline_and_must_name_one():
    with pytest.raises(ValueError, match="baseline_params names 'mice', not among the baselines"):
        run_experiment(RunOptions(data="breast", baselines=["mean"],
                                  baseline_params={"mice": {"n_nearest_features": 5}}))
    options = RunOptions(data="breast", seed=0, iterations=1, device="cpu", baselines=["knn"],
                         baseline_params={"knn": {"n_neighbors": 1}})
    one_neighbour = run_experiment(options).report["results"]["knn"]["rmse"]
    options.baseline_params = {}
    five_neighbours = run_experiment(options).report["results"]["knn"]["rmse"]
    assert one_neighbour != five_neighbours


def test_training_config_is_the_given_config_or_the_preset_for_the_data():
    edited = preset("paper", lr=1e-3)
    options = RunOptions(data="breast", preset="paper", config=edited, seed=3, iterations=7)
    assert training_config(options) == ("paper", edited.replace(seed=3, iterations=7))
    options = RunOptions(data="breast", preset="paper", config=edited)
    assert training_config(options) == ("paper", edited)  # iterations None: the config's
    # No config: the preset, and 'default' stands for the convnets on MNIST.
    assert training_config(RunOptions(data="mnist", seed=2)) == ("mnist", preset("mnist", seed=2))
    assert training_config(RunOptions(data="wine")) == ("default", preset("default"))


def test_a_given_config_trains_and_is_reported():
    config = preset("default", eval_every=5, lr=5e-4)
    report = run_experiment(RunOptions(data="breast", config=config, iterations=10, seed=1,
                                       device="cpu")).report  # fmt: skip
    assert report["preset"] == "default" and report["iterations"] == 10
    assert report["config"] == config.replace(iterations=10, seed=1).to_dict()


def test_a_stopped_run_fits_no_more_baselines():
    options = RunOptions(data="breast", seed=0, baselines=["mean", "knn"])
    experiment = prepare_experiment(options)
    control = RunControl()
    assert list(score_baselines(options, experiment, ["mean"], "cpu", control)) == ["mean"]
    control.stop()
    assert score_baselines(options, experiment, ["mean", "knn"], "cpu", control) == {}


def test_runs_that_cannot_train_together_train_one_by_one_as_alone():
    """Different labelled-row counts: fit_runs trains each model alone, equal to `fit`."""
    experiments = [
        prepare_experiment(RunOptions(data="breast", seed=0, label_missing_rate=rate))
        for rate in (0.0, 0.5)
    ]
    config = preset("default", iterations=4, eval_every=2)
    models, seconds = fit_runs([config] * 2, experiments, device="cpu", select_best="val_rmse")
    assert len(models) == len(seconds) == 2 and all(s > 0 for s in seconds)
    for model, e in zip(models, experiments, strict=True):
        alone = fit(config, e.train.x_input, e.train.y_input, device="cpu", select_best="val_rmse",
                    validation=Validation(e.val.x_input, e.val.x_true, e.val.removed, e.val.y_true))
        np.testing.assert_array_equal(model.impute(e.test.x_input, seed=0),
                                      alone.impute(e.test.x_input, seed=0))  # fmt: skip
