"""scikit-learn estimators: fit/transform/predict on DataFrames and arrays, parameters, clone,
scikit-learn's estimator checks, save/load."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_classifiers_train, parametrize_with_checks

from hexagan_core.config import HexaGANConfig, preset
from hexagan_core.estimators import HexaGANClassifier, HexaGANImputer
from hexagan_core.model import HexaGANModel

FAST = {"config": HexaGANConfig(iterations=40, batch_size=32, eval_every=20), "device": "cpu"}

# The least training that runs every network: scikit-learn's checks fit about a hundred times.
TINY = {"iterations": 5, "device": "cpu"}

ESTIMATORS = [HexaGANImputer, HexaGANClassifier]


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 120
    latent = rng.normal(size=n)
    frame = pd.DataFrame({
        "a": latent + 0.1 * rng.normal(size=n),
        "b": 2 * latent + 0.1 * rng.normal(size=n),
        "count": rng.integers(0, 5, size=n),
        "colour": rng.choice(["red", "green"], size=n),
    })
    y = np.where(latent > 0.5, "yes", "no").astype(object)
    holes = rng.random((n, 4)) < 0.15
    return frame.mask(holes), y


def test_imputer_fills_dataframes_and_keeps_observed_cells(table):
    frame, _ = table
    imputer = HexaGANImputer(**FAST).fit(frame)
    filled = imputer.transform(frame)
    assert list(filled.columns) == list(frame.columns)
    assert filled.notna().all().all()
    observed = frame.notna()
    pd.testing.assert_frame_equal(filled[observed.all(axis=1)], frame[observed.all(axis=1)],
                                  check_dtype=False)
    assert set(filled["colour"]) <= {"red", "green"}
    assert (filled["count"] == filled["count"].round()).all()  # integer column stays integral
    new_rows = frame.iloc[:5].copy()
    assert imputer.transform(new_rows).notna().all().all()  # inductive: no refit needed
    assert list(imputer.feature_names_in_) == list(frame.columns)


def test_imputer_on_arrays_returns_arrays(table):
    frame, _ = table
    x = frame[["a", "b"]].to_numpy()
    imputer = HexaGANImputer(**FAST)
    filled = imputer.fit_transform(x)
    assert isinstance(filled, np.ndarray) and filled.shape == x.shape
    assert not np.isnan(filled).any()
    assert np.array_equal(filled[~np.isnan(x)], x[~np.isnan(x)])
    assert imputer.n_features_in_ == 2 and not hasattr(imputer, "feature_names_in_")
    with pytest.raises(ValueError, match="X has 3 features, but HexaGANImputer is expecting 2"):
        imputer.transform(np.zeros((2, 3)))


def test_classifier_with_string_labels_and_unlabelled_rows(table):
    frame, y = table
    y = y.copy()
    y[::4] = None  # a quarter unlabelled
    clf = HexaGANClassifier(**FAST).fit(frame, y)
    assert list(clf.classes_) == ["no", "yes"]
    proba = clf.predict_proba(frame)
    assert proba.shape == (len(frame), 2) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert set(clf.predict(frame)) <= {"no", "yes"}
    assert clf.transform(frame).shape[0] == len(frame)  # hidden vectors


def test_classifier_keeps_the_type_of_integer_labels_and_skips_minus_one(table):
    frame, _ = table
    y = np.resize([0, 1, 2, -1], len(frame))
    clf = HexaGANClassifier(**FAST).fit(frame, y)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.predict(frame).dtype == clf.classes_.dtype


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_params_round_trip_through_get_params_set_params_and_clone(estimator_class):
    config = HexaGANConfig(iterations=7)
    estimator = estimator_class(config=config, seed=3, device="cpu")
    assert estimator.get_params() == {
        "config": config, "preset": "default", "iterations": None, "seed": 3, "device": "cpu",
        "callback": None,
    }  # fmt: skip
    assert estimator.set_params(iterations=9, seed=None) is estimator
    assert (estimator.iterations, estimator.seed, estimator.config) == (9, None, config)
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == estimator.get_params()


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_clone_of_a_fitted_estimator_is_unfitted_with_equal_params(estimator_class, table):
    frame, y = table
    estimator = estimator_class(**FAST).fit(frame, y)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    assert not hasattr(copy, "pipeline_") and not hasattr(copy, "n_features_in_")
    with pytest.raises(NotFittedError):
        copy.transform(frame)


def test_iterations_and_seed_override_the_config_and_the_preset(table):
    frame, _ = table
    config = HexaGANConfig(iterations=3, batch_size=16, eval_every=3, alpha1=5.0)
    imputer = HexaGANImputer(config=config, iterations=2, seed=7, device="cpu").fit(frame)
    assert imputer.model_.config == config.replace(iterations=2, seed=7)
    assert imputer.config is config  # fit leaves the parameters as given
    paper = HexaGANImputer(preset="paper", iterations=2, device="cpu").fit(frame)
    assert paper.model_.config == preset("paper", iterations=2)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"config": {"iterations": 5}}, "The 'config' parameter of HexaGANImputer must be a "
                                        "HexaGANConfig or None. Got {'iterations': 5} instead."),
        ({"preset": "fast"}, "The 'preset' parameter of HexaGANImputer must be one of 'default'"),
        ({"config": HexaGANConfig(), "preset": "paper"}, "a 'config' or a 'preset', not both"),
        ({"iterations": 0}, "The 'iterations' parameter of HexaGANImputer must be an int in "
                            "the range [1, 10000000] or None. Got 0 instead."),
        ({"seed": 1.5}, "The 'seed' parameter of HexaGANImputer must be an int"),
        ({"device": 0}, "The 'device' parameter of HexaGANImputer must be a str. Got 0"),
        ({"callback": "print"}, "The 'callback' parameter of HexaGANImputer must be a callable"),
        ({"config": HexaGANConfig(alpha1=-1.0)}, "The 'alpha1' parameter of HexaGANConfig"),
    ],
)
def test_bad_parameters_are_stored_by_the_constructor_and_refused_by_fit(params, message, table):
    frame, _ = table
    imputer = HexaGANImputer(**params)
    assert all(getattr(imputer, name) is value for name, value in params.items())
    with pytest.raises(ValueError, match=re.escape(message)):
        imputer.fit(frame)


def test_unfitted_bad_labels_and_infinite_values_are_refused(table):
    frame, _ = table
    with pytest.raises(NotFittedError, match="not fitted yet"):
        HexaGANImputer().transform(frame)
    with pytest.raises(ValueError, match="at least 2 classes among labelled rows. Got 1 class"):
        HexaGANClassifier(**FAST).fit(frame, np.ones(len(frame)))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        HexaGANClassifier(**FAST).fit(frame, np.linspace(0, 1, len(frame)))
    with pytest.raises(ValueError, match="requires y to be passed"):
        HexaGANClassifier(**FAST).fit(frame, None)
    infinite = frame.assign(a=np.inf)
    for X in (infinite, infinite[["a", "b"]].to_numpy()):
        with pytest.raises(ValueError, match="Input X contains infinity"):
            HexaGANImputer(**FAST).fit(X)


def _expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    if not isinstance(estimator, HexaGANClassifier):
        return {}
    return {
        "check_classifiers_train": (
            "TINY's 5 iterations learn nothing yet; a trained configuration meets this check's "
            "accuracy bar in test_a_trained_classifier_passes_check_classifiers_train."
        ),
        "check_classifiers_classes": (
            "its last problem labels one class -1, which marks an unlabelled row here (as in "
            "scikit-learn's SelfTrainingClassifier), leaving a single class."
        ),
        "check_methods_sample_order_invariance": (
            "the networks compute in float32 and a row's result depends slightly on its place "
            "in the matrix products (BLAS blocking): reordered rows differ by about 1e-7 "
            "relative, the check's tolerance."
        ),
    }


@parametrize_with_checks(
    [HexaGANImputer(**TINY), HexaGANClassifier(**TINY)],
    expected_failed_checks=_expected_failed_checks,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_a_trained_classifier_passes_check_classifiers_train():
    trained = HexaGANConfig(iterations=50, batch_size=16, eval_every=50, lr_c=3e-2)
    check_classifiers_train("HexaGANClassifier", HexaGANClassifier(config=trained, device="cpu"))


def test_save_and_load_give_identical_imputations_and_predictions(table, tmp_path):
    frame, y = table
    clf = HexaGANClassifier(**FAST).fit(frame, y)
    clf.save(tmp_path / "model")
    loaded = HexaGANClassifier.load(tmp_path / "model", device="cpu")
    np.testing.assert_array_equal(clf.predict_proba(frame), loaded.predict_proba(frame))
    np.testing.assert_array_equal(clf.predict(frame), loaded.predict(frame))
    assert loaded.get_params()["config"] == clf.model_.config
    imputer = HexaGANImputer(**FAST).fit(frame)
    imputer.save(tmp_path / "imputer")
    reloaded = HexaGANImputer.load(tmp_path / "imputer", device="cpu")
    pd.testing.assert_frame_equal(imputer.transform(frame), reloaded.transform(frame))
    np.testing.assert_array_equal(reloaded.feature_names_in_, frame.columns)
    model, _ = HexaGANModel.load(tmp_path / "model", device="cpu")
    assert model.history == clf.model_.history


def test_a_model_fitted_on_an_array_loads_without_feature_names(table, tmp_path):
    frame, _ = table
    x = frame[["a", "b"]].to_numpy()
    imputer = HexaGANImputer(**FAST).fit(x)
    reloaded = HexaGANImputer.load(imputer.save(tmp_path / "imputer"), device="cpu")
    assert reloaded.n_features_in_ == 2 and not hasattr(reloaded, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        np.testing.assert_array_equal(reloaded.transform(x), imputer.transform(x))


def test_loading_a_directory_that_is_not_a_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a saved HexaGAN model: config.json is missing"):
        HexaGANClassifier.load(tmp_path)
