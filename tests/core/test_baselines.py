"""The baseline imputers and the classification pipeline, checked against numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import minmax_scale
from threadpoolctl import threadpool_limits

from hexagan_core.baselines import (
    IMPUTERS,
    ClassificationPipeline,
    GAINImputer,
    MeanImputer,
    make_imputer,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """numpy's BLAS on one thread, as torch's in conftest: on a busy 2-core machine OpenBLAS's
    spinning threads make MICE's many small regressions some 20 times slower."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield

MISSING_RATE = 0.2
# Small budgets for the contract tests; the accuracy tests use the defaults (GAIN: 1000 steps).
FAST = {"gain": {"iterations": 200}, "missforest": {"n_estimators": 10}}


def hide(full: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """MCAR: each entry hidden with probability MISSING_RATE; returns (X with NaN, hidden mask)."""
    hidden = rng.random(full.shape) < MISSING_RATE
    return np.where(hidden, np.nan, full), hidden


def rmse_hidden(estimate: np.ndarray, full: np.ndarray, hidden: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate[hidden] - full[hidden]) ** 2)))


@pytest.fixture(scope="module")
def correlated() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """400 x 8 rows of a rank-2 Gaussian plus a little noise, min-max scaled, 20 % hidden."""
    rng = np.random.default_rng(42)
    latent = rng.normal(size=(400, 2))
    full = minmax_scale(latent @ rng.normal(size=(2, 8)) + 0.1 * rng.normal(size=(400, 8)))
    X, hidden = hide(full, rng)
    return full, X, hidden


# --- the contract, over every imputer --------------------------------------------------------


@pytest.mark.parametrize("name", IMPUTERS)
def test_imputer_fills_new_rows_and_keeps_observed(name, correlated):
    _, X, _ = correlated
    fit_rows, new_rows = X[:300], X[300:]
    before = new_rows.copy()
    imputer = make_imputer(name, **FAST.get(name, {})).fit(fit_rows)

    filled = imputer.transform(new_rows)

    observed = ~np.isnan(new_rows)
    assert filled.shape == new_rows.shape
    assert not np.isnan(filled).any()
    assert np.array_equal(filled[observed], new_rows[observed])  # bit for bit
    assert np.array_equal(new_rows, before, equal_nan=True)  # the input is not written to


@pytest.mark.parametrize("name", [n for n in IMPUTERS if n != "gain"])
def test_transform_of_a_row_does_not_depend_on_the_other_new_rows(name, correlated):
    # GAIN is left out: its input noise is drawn for the whole batch, so it depends on the order.
    _, X, _ = correlated
    imputer = make_imputer(name, **FAST.get(name, {})).fit(X[:300])
    assert np.allclose(imputer.transform(X[300:])[:10], imputer.transform(X[300:310]))


def test_fit_transform_equals_fit_then_transform(correlated):
    _, X, _ = correlated
    assert np.array_equal(
        make_imputer("knn").fit_transform(X), make_imputer("knn").fit(X).transform(X)
    )


def test_mean_imputer_uses_the_observed_column_means():
    X = np.array([[1.0, np.nan, np.nan], [np.nan, 0.4, np.nan], [0.2, 0.8, np.nan]])
    expected = np.array(
        [
            [1.0, (0.4 + 0.8) / 2, 0.0],  # a column never observed is filled with 0
            [(1.0 + 0.2) / 2, 0.4, 0.0],
            [0.2, 0.8, 0.0],
        ]
    )
    assert np.allclose(make_imputer("mean").fit_transform(X), expected)


def test_zero_imputer_fills_zero():
    X = np.array([[0.3, np.nan], [np.nan, 0.7]])
    assert np.array_equal(make_imputer("zero").fit_transform(X), [[0.3, 0.0], [0.0, 0.7]])


@pytest.mark.parametrize(
    ("name", "params"),
    [("knn", {}), ("mice", {}), ("missforest", {}), ("gain", {"iterations": 1000})],
)
def test_imputer_beats_the_column_mean_on_correlated_data(name, params, correlated):
    full, X, hidden = correlated
    mean_rmse = rmse_hidden(make_imputer("mean").fit_transform(X), full, hidden)

    rmse = rmse_hidden(make_imputer(name, **params).fit_transform(X), full, hidden)

    # The columns share two latent factors, so a model of the rows should be far better than mean.
    assert rmse < 0.6 * mean_rmse, (name, rmse, mean_rmse)


@pytest.mark.parametrize("name", ["mice", "missforest"])
def test_nearest_features_limit_the_regressions_and_are_checked(name, correlated):
    full, X, hidden = correlated
    mean_rmse = rmse_hidden(make_imputer("mean").fit_transform(X), full, hidden)
    limited = make_imputer(name, n_nearest_features=3).fit(X)

    assert limited.estimator_.n_nearest_features == 3  # sklearn draws 3 of the 7 other columns
    assert rmse_hidden(limited.transform(X), full, hidden) < 0.6 * mean_rmse
    with pytest.raises(ValueError, match="'n_nearest_features' .* or None. Got 0"):
        make_imputer(name, n_nearest_features=0).fit(X)


def test_classification_pipeline_passes_imputer_params(correlated):
    _, X, _ = correlated
    y = (np.nan_to_num(X[:, 0]) > 0.5).astype(int)
    pipeline = ClassificationPipeline(imputer="knn", imputer_params={"n_neighbors": 2}).fit(X, y)
    assert pipeline.imputer_.n_neighbors == 2


# --- GAIN -------------------------------------------------------------------------------------


def test_gain_is_reproducible_per_seed_and_leaves_the_global_rng_alone(correlated):
    _, X, _ = correlated
    state = torch.random.get_rng_state()

    first = GAINImputer(iterations=200, seed=3).fit_transform(X)
    again = GAINImputer(iterations=200, seed=3).fit_transform(X)
    other = GAINImputer(iterations=200, seed=4).fit_transform(X)

    assert np.array_equal(first, again)
    assert np.abs(first - other).max() > 1e-4
    assert torch.equal(torch.random.get_rng_state(), state)


def test_gain_transform_is_deterministic(correlated):
    _, X, _ = correlated
    gain = GAINImputer(iterations=50).fit(X[:300])
    assert np.array_equal(gain.transform(X[300:]), gain.transform(X[300:]))


@pytest.mark.parametrize(
    ("param", "value"),
    [("iterations", 0), ("batch_size", 1.5), ("hint_rate", 1.2), ("alpha", -1.0), ("lr", 0)],
)
def test_gain_rejects_bad_parameters(param, value, correlated):
    _, X, _ = correlated
    with pytest.raises(ValueError, match=f"'{param}' parameter of GAINImputer .* Got {value!r}"):
        GAINImputer(**{param: value}).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_gain_refuses_a_missing_device_instead_of_falling_back(correlated):
    _, X, _ = correlated
    with pytest.raises(ValueError, match="'device' parameter is 'cuda', but that device is not"):
        make_imputer("gain", device="cuda", iterations=1).fit(X)


# --- the factory and input checks ------------------------------------------------------------


def test_make_imputer_lists_the_names_on_an_unknown_one():
    with pytest.raises(ValueError, match="'median'.*'mean', 'zero', 'knn', 'mice', 'missforest'"):
        make_imputer("median")


def test_make_imputer_refuses_a_parameter_the_imputer_lacks():
    with pytest.raises(ValueError, match="n_neighbours for the 'knn' imputer"):
        make_imputer("knn", n_neighbours=3)


def test_make_imputer_passes_seed_only_where_it_is_used():
    assert make_imputer("mice", seed=7).seed == 7
    assert make_imputer("gain", seed=7, device="auto").get_params()["device"] == "auto"
    assert "seed" not in make_imputer("knn", seed=7).get_params()


def test_transform_refuses_a_different_column_count(correlated):
    _, X, _ = correlated
    imputer = MeanImputer().fit(X)
    with pytest.raises(ValueError, match="X has 7 features, but fit saw 8"):
        imputer.transform(X[:, :7])


# --- the classification pipeline ---------------------------------------------------------------


@pytest.fixture(scope="module")
def breast() -> dict[str, np.ndarray]:
    """Breast cancer, scaled, 20 % of entries hidden, 30 % held out, half the training labels -1."""
    rng = np.random.default_rng(0)
    data = load_breast_cancer()
    X, _ = hide(minmax_scale(data.data), rng)
    X_train, X_test, y_train, y_test = train_test_split(
        X, data.target, test_size=0.3, stratify=data.target, random_state=0
    )
    y_train = np.where(rng.random(len(y_train)) < 0.5, -1, y_train)
    return {"X": X_train, "y": y_train, "X_test": X_test, "y_test": y_test}


@pytest.mark.parametrize("imputer", ["mean", "mice"])
@pytest.mark.parametrize("balance", ["none", "smote"])
@pytest.mark.parametrize("semi_supervised", ["none", "self_training"])
def test_pipeline_combinations_classify_held_out_rows(imputer, balance, semi_supervised, breast):
    pipe = ClassificationPipeline(
        imputer=imputer, balance=balance, semi_supervised=semi_supervised, seed=0
    ).fit(breast["X"], breast["y"])

    proba = pipe.predict_proba(breast["X_test"])

    assert proba.shape == (len(breast["X_test"]), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(pipe.classes_, [0, 1])
    assert np.mean(pipe.predict(breast["X_test"]) == breast["y_test"]) > 0.85


def test_pipeline_imputes_with_all_rows_and_self_trains_on_the_unlabelled(breast):
    pipe = ClassificationPipeline(semi_supervised="self_training", classifier="logreg")
    pipe.fit(breast["X"], breast["y"])

    assert np.allclose(pipe.imputer_.statistics_, np.nanmean(breast["X"], axis=0))
    n_unlabelled = np.sum(breast["y"] == -1)
    # labeled_iter_: 0 for a row given a label, the round of its pseudo-label (> 0) for the others.
    rounds = pipe.classifier_.labeled_iter_
    assert np.sum(rounds == 0) == len(breast["y"]) - n_unlabelled
    assert np.sum(rounds > 0) > 0.5 * n_unlabelled


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("imputer", "median"),
        ("balance", "smoot"),
        ("semi_supervised", "co_training"),
        ("classifier", "svm"),
    ],
)
def test_pipeline_rejects_unknown_options(option, value, breast):
    with pytest.raises(ValueError, match=f"'{option}' parameter .* Got '{value}' instead"):
        ClassificationPipeline(**{option: value}).fit(breast["X"], breast["y"])


def test_pipeline_needs_two_labelled_classes(breast):
    y = np.where(breast["y"] == 1, -1, breast["y"])
    with pytest.raises(ValueError, match=r"at least 2 classes .* Got classes \[0\]"):
        ClassificationPipeline().fit(breast["X"], y)


def test_pipeline_needs_one_label_per_row(breast):
    with pytest.raises(ValueError, match=r"one label per row of X \(398\). Got shape \(397,\)"):
        ClassificationPipeline().fit(breast["X"], breast["y"][:-1])


def test_smote_needs_two_rows_of_each_class(breast):
    y = np.full(len(breast["y"]), -1)
    y[:20], y[20] = 0, 1
    with pytest.raises(ValueError, match="Got 1 in class 1"):
        ClassificationPipeline(balance="smote").fit(breast["X"], y)


def test_knn_distances_are_computed_in_bounded_chunks(monkeypatch):
    """The kNN imputer's peak memory stays below one full receivers x donors distance matrix
    (scikit-learn's default 1 GB chunks held several such temporaries: 2.7 GB on 20,000 rows),
    and chunking changes no imputed value."""
    import tracemalloc

    from hexagan_core import baselines

    rng = np.random.default_rng(0)
    donors = np.where(rng.random((2000, 4)) < 0.1, np.nan, rng.random((2000, 4)))
    receivers = rng.random((2000, 4))
    receivers[:, 0] = np.nan  # every row needs its neighbours
    imputer = make_imputer("knn").fit(donors)
    unchunked = imputer.estimator_.transform(receivers)
    monkeypatch.setattr(baselines, "KNN_WORKING_MEMORY_MB", 4)
    full_matrix_bytes = receivers.shape[0] * donors.shape[0] * 8  # 32 MB
    tracemalloc.start()
    try:
        imputed = imputer.transform(receivers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < full_matrix_bytes
    np.testing.assert_array_equal(imputed, unchunked)
