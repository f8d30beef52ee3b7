"""The Samples page's data: digit grids, imputation triplets, generated rows, the samples'
quality, and the summary of a shipped model."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from sklearn.linear_model import LogisticRegression

from hexagan_core.config import preset
from hexagan_core.experiment import RunOptions, RunResult, run_experiment
from hexagan_core.explore import (
    digit_grid,
    generated_rows,
    imputation_triplets,
    is_shipped,
    real_vs_generated,
    sample_quality,
    shipped_model_summary,
)
from hexagan_core.model import HexaGANModel, resolve_device
from hexagan_core.networks import build_networks


def _run(data, **kwargs):
    options = RunOptions(
        data=data, iterations=20, device="cpu", config=preset("default", eval_every=10),
        **kwargs,
    )
    return run_experiment(options)


@pytest.fixture(scope="module")
def digits():
    return _run("digits", max_rows=300, missing_rate=0.3)


@pytest.fixture(scope="module")
def breast():
    return _run("breast")


def _unlabelled_model(n_features):
    config = preset("default", iterations=1)
    return HexaGANModel(config, build_networks(config, n_features, 0), resolve_device("cpu"))


def test_digit_grid_shape_and_range(digits):
    grid = digit_grid(digits.model, per_class=4, seed=3, image_shape=(8, 8))
    assert grid.shape == (10, 4, 8, 8)
    assert grid.min() >= 0.0 and grid.max() <= 1.0
    x, _ = digits.model.sample(7, 4, seed=3)  # row c holds model.sample(c, per_class, seed)
    np.testing.assert_allclose(grid[7], x.reshape(4, 8, 8))


def test_digit_grid_in_pixel_intensities(digits):
    experiment = digits.experiment
    grid = digit_grid(digits.model, per_class=2, image_shape=(8, 8), experiment=experiment)
    x, _ = digits.model.sample(0, 2, seed=0)
    expected = np.clip(experiment.scaler.inverse_transform(x) / 16.0, 0, 1)
    np.testing.assert_allclose(grid[0], expected.reshape(2, 8, 8), rtol=1e-6)


def test_digit_grid_refuses_wrong_shapes_and_unlabelled_models(digits):
    with pytest.raises(ValueError, match=r"image_shape \(28, 28\) has 784 pixels.*64 features"):
        digit_grid(digits.model, image_shape=(28, 28))
    with pytest.raises(ValueError, match="trained without labels"):
        digit_grid(_unlabelled_model(64), image_shape=(8, 8))
    with pytest.raises(ValueError, match="'per_class' parameter must be an int >= 1. Got 0"):
        digit_grid(digits.model, per_class=0, image_shape=(8, 8))


def test_imputation_triplets_show_the_test_rows(digits):
    experiment = digits.experiment
    triplets = imputation_triplets(digits, n=3, seed=0)
    assert len(triplets) == 3
    source = experiment.dataset.features.to_numpy() / 16.0
    for original, masked, imputed in triplets:
        assert original.shape == masked.shape == imputed.shape == (8, 8)
        # The original is the dataset row itself, in [0, 1].
        matches = np.flatnonzero(np.isclose(source, original.ravel(), atol=1e-5).all(axis=1))
        assert len(matches) >= 1
        hidden = np.isnan(masked)
        assert hidden.any() and not np.isnan(imputed).any()
        np.testing.assert_allclose(imputed[~hidden], masked[~hidden])
        np.testing.assert_allclose(masked[~hidden], original[~hidden], atol=1e-5)
        assert imputed.min() >= 0.0 and imputed.max() <= 1.0
    # The rows come from the test split, and every one has a removed pixel.
    test = experiment.test
    masked_rows = [np.isnan(m).ravel() for _, m, _ in triplets]
    assert all((m == np.isnan(test.x_input)).all(axis=1).any() for m in masked_rows)


def test_imputation_triplets_need_images(breast):
    with pytest.raises(ValueError, match="'breast' is not an image dataset"):
        imputation_triplets(breast)


def test_generated_rows_per_class_in_original_units(breast):
    rows = generated_rows(breast, per_class=5, seed=0)
    features = breast.experiment.dataset.features
    assert list(rows.columns) == [*features.columns, "class"]
    assert rows["class"].value_counts().to_dict() == {"malignant": 5, "benign": 5}
    # G_MI ends in a sigmoid: in original units every value lies in the training range.
    scaler = breast.experiment.scaler
    values = rows[features.columns].to_numpy()
    low, high = scaler.data_min_, scaler.data_min_ + scaler.data_range_
    assert ((values >= low - 1e-9) & (values <= high + 1e-9)).all()
    x, _ = breast.model.sample(1, 5, seed=0)
    expected = breast.experiment.to_original_units(x).to_numpy()
    np.testing.assert_allclose(values[5:], expected)
    with pytest.raises(ValueError, match="trained without labels"):
        generated_rows(RunResult(breast.experiment, _unlabelled_model(30), {}))


def test_real_vs_generated_long_format(breast):
    column = "mean radius"
    out = real_vs_generated(breast, column, per_class=20, seed=0)
    assert list(out.columns) == ["value", "class", "source"]
    generated = out[out["source"] == "generated"]
    real = out[out["source"] == "real"]
    assert generated["class"].value_counts().to_dict() == {"malignant": 20, "benign": 20}
    assert real["class"].value_counts().to_dict() == {"malignant": 20, "benign": 20}
    # Real values are the training rows' own values where the cell was not removed.
    experiment = breast.experiment
    train = experiment.train
    position = list(experiment.feature_names).index(column)
    seen = ~np.isnan(train.x_input[:, position])
    allowed = experiment.dataset.features[column].to_numpy()[train.rows[seen]]
    assert np.isin(real["value"].to_numpy(), allowed).all()
    x, _ = breast.model.sample(0, 20, seed=0)
    expected = experiment.to_original_units(x)[column].to_numpy()
    np.testing.assert_allclose(generated["value"].to_numpy()[:20], expected)
    with pytest.raises(ValueError, match="Unknown column 'radius'"):
        real_vs_generated(breast, "radius")


def test_sample_quality_judges_with_training_rows_against_test_rows(digits):
    experiment, model = digits.experiment, digits.model
    quality = sample_quality(digits, per_class=5, seed=2)
    frame = quality.per_class
    assert list(frame["class"]) == list(range(10))
    # Agreement: a share of 5 samples; the judge is a logistic regression on the training split.
    assert np.isin(frame["agreement"] * 5, np.arange(6)).all()
    judge = LogisticRegression(max_iter=300).fit(experiment.train.x_true, experiment.train.y_true)
    for label in (0, 7):
        samples, _ = model.sample(label, 5, seed=2)
        expected = np.mean(judge.predict(samples) == label)
        assert frame.loc[label, "agreement"] == pytest.approx(expected)
    # The judge's accuracy is on the test split's rows, which also set the real spread.
    test = experiment.test
    assert quality.judge_accuracy == pytest.approx(judge.score(test.x_true, test.y_true))
    real = test.x_true[test.y_true == 3][:5]
    assert frame.loc[3, "spread_real"] == pytest.approx(pdist(real).mean())
    samples, _ = model.sample(3, 5, seed=2)
    assert frame.loc[3, "spread_generated"] == pytest.approx(pdist(samples).mean(), rel=1e-5)
    assert frame.loc[3, "spread_ratio"] == pytest.approx(
        frame.loc[3, "spread_generated"] / frame.loc[3, "spread_real"]
    )
    assert quality.agreement == pytest.approx(frame["agreement"].mean())


def test_sample_quality_of_a_table_and_its_refusals(breast):
    quality = sample_quality(breast, per_class=10, seed=0)
    assert list(quality.per_class["class"]) == [0, 1] and quality.n_per_class == 10
    assert 0.5 < quality.judge_accuracy <= 1.0  # breast cancer is nearly linearly separable
    with pytest.raises(ValueError, match="trained without labels"):
        sample_quality(RunResult(breast.experiment, _unlabelled_model(30), {}))
    with pytest.raises(ValueError, match="'per_class' parameter of SampleJudge.assess"):
        sample_quality(breast, per_class=1)


def _shipped(result, report, notes):
    dataset = replace(result.experiment.dataset, notes=notes)
    return RunResult(replace(result.experiment, dataset=dataset), result.model, report)


METRICS = {
    "train_images": 54_000, "missing_rate": 0.5, "label_missing_rate": 0.5, "iterations": 10_000,
    "device": "cuda", "train_seconds": 754.0, "test_images": 10_000, "test_rmse_pixels": 0.1234,
    "knn_test_rmse_pixels": 0.2101, "test_accuracy": 0.9712, "selected_iteration": None,
    "samples": {"agreement": 0.8125, "spread_ratio": 0.734, "judge_accuracy": 0.92},
}  # fmt: skip


def test_a_shipped_model_is_summarised_from_its_saved_metrics(digits):
    note = "the shipped model, trained on the official training images; shown on 3,000 digits"
    shipped = _shipped(digits, {"shipped_model": "/m", "metrics": METRICS}, [note, "other"])
    assert is_shipped(shipped) and not is_shipped(digits)
    assert shipped_model_summary(digits) is None
    assert shipped_model_summary(shipped) == (
        "The shipped model, trained on the official training images; shown on 3,000 digits. "
        "Training: 54,000 images, 50% of the pixels and 50% of the labels hidden, 10,000 "
        "iterations on cuda in 13 min. Scored when saved, on the 10,000 official test images: "
        "pixel RMSE 0.123 on the removed pixels (kNN 0.210), C's accuracy 97.1%, samples' "
        "agreement 0.81 (chance 0.10), spread ratio 0.73."
    )


def test_a_shipped_model_with_partial_metrics_still_gets_a_summary(digits):
    partial = {"iterations": 600, "test_accuracy": "n/a", "samples": {"agreement": float("nan")}}
    shipped = _shipped(digits, {"shipped_model": "/m", "metrics": partial}, [])
    assert shipped_model_summary(shipped) == "The shipped model. Training: 600 iterations."
    bare = _shipped(digits, {"shipped_model": "/m"}, ["shown on 5 digits"])
    assert shipped_model_summary(bare) == "Shown on 5 digits."
