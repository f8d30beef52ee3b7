"""A short real training run under the protocol beats mean imputation on breast."""

import numpy as np
import pytest

from hexagan_core.experiment import RunOptions, load_dataset, run_experiment, run_experiments


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
