"""scikit-learn shells: fit/transform/predict on DataFrames and arrays, save/load."""

import numpy as np
import pandas as pd
import pytest

from hexagan_core.estimators import HexaGANClassifier, HexaGANImputer
from hexagan_core.model import HexaGANModel

FAST = {"iterations": 40, "batch_size": 32, "eval_every": 20, "device": "cpu"}


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


def test_imputer_on_arrays_returns_arrays(table):
    frame, _ = table
    x = frame[["a", "b"]].to_numpy()
    filled = HexaGANImputer(**FAST).fit_transform(x)
    assert isinstance(filled, np.ndarray) and filled.shape == x.shape
    assert not np.isnan(filled).any()
    assert np.array_equal(filled[~np.isnan(x)], x[~np.isnan(x)])
    with pytest.raises(ValueError, match="X has 3 features, but HexaGANImputer was fitted with 2"):
        HexaGANImputer(**FAST).fit(x).transform(np.zeros((2, 3)))


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


def test_unfitted_and_bad_labels_are_refused(table):
    frame, _ = table
    with pytest.raises(ValueError, match="not fitted yet"):
        HexaGANImputer().transform(frame)
    with pytest.raises(ValueError, match="at least 2 classes"):
        HexaGANClassifier(**FAST).fit(frame, np.ones(len(frame)))
    with pytest.raises(ValueError, match="'alpha1'"):
        HexaGANImputer(alpha1=-1.0, device="cpu").fit(frame)


def test_save_and_load_give_identical_imputations_and_predictions(table, tmp_path):
    frame, y = table
    clf = HexaGANClassifier(**FAST).fit(frame, y)
    clf.save(tmp_path / "model")
    loaded = HexaGANClassifier.load(tmp_path / "model", device="cpu")
    np.testing.assert_array_equal(clf.predict_proba(frame), loaded.predict_proba(frame))
    imputer = HexaGANImputer(**FAST).fit(frame)
    imputer.save(tmp_path / "imputer")
    reloaded = HexaGANImputer.load(tmp_path / "imputer", device="cpu")
    pd.testing.assert_frame_equal(imputer.transform(frame), reloaded.transform(frame))
    model, _ = HexaGANModel.load(tmp_path / "model", device="cpu")
    assert model.history == clf.model_.history


def test_loading_a_directory_that_is_not_a_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a saved HexaGAN model: config.json is missing"):
        HexaGANClassifier.load(tmp_path)
