"""Masks hit their rates, hide only observed entries, and depend on the data as advertised."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from hexagan_core import masks


def _table(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A correlated 500 x 20 table with about 10 % of its entries really missing."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((500, 20)) @ rng.standard_normal((20, 20)) + 5.0
    observed = rng.random(values.shape) > 0.1
    values[~observed] = np.nan
    return values, observed


@pytest.mark.parametrize("mechanism", masks.MECHANISMS)
@pytest.mark.parametrize("rate", [0.1, 0.2, 0.5])
def test_realised_rate_and_subset_of_observed(mechanism, rate):
    values, observed = _table()
    remove = masks.remove_mask(mechanism, values, observed, rate, np.random.default_rng(1))
    assert remove.dtype == bool and remove.shape == values.shape
    assert not (remove & ~observed).any()
    assert remove.sum() / observed.sum() == pytest.approx(rate, abs=0.01)


@pytest.mark.parametrize("mechanism", masks.MECHANISMS)
def test_same_seed_same_mask_and_zero_rate_hides_nothing(mechanism):
    values, observed = _table()
    first = masks.remove_mask(mechanism, values, observed, 0.3, np.random.default_rng(7))
    again = masks.remove_mask(mechanism, values, observed, 0.3, np.random.default_rng(7))
    other = masks.remove_mask(mechanism, values, observed, 0.3, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()
    assert not masks.remove_mask(mechanism, values, observed, 0.0, np.random.default_rng(7)).any()


def test_mcar_hides_exactly_the_rounded_count():
    observed = np.ones((7, 3), dtype=bool)
    observed[0] = False  # 18 observed entries; 0.25 * 18 = 4.5 rounds to 4
    remove = masks.mcar(observed, 0.25, np.random.default_rng(0))
    assert remove.sum() == 4 and not remove[0].any()


@pytest.mark.parametrize("mechanism", ["mar", "mnar"])
def test_empty_column_left_alone(mechanism):
    values, observed = _table()
    values[:, 3], observed[:, 3] = np.nan, False
    remove = masks.remove_mask(mechanism, values, observed, 0.2, np.random.default_rng(0))
    assert not remove[:, 3].any()
    assert remove.sum() / observed.sum() == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("mechanism", ["mcar", "mnar"])
def test_nothing_observed_nothing_hidden(mechanism):
    values = np.full((4, 3), np.nan)
    observed = np.zeros((4, 3), dtype=bool)
    remove = masks.remove_mask(mechanism, values, observed, 0.5, np.random.default_rng(0))
    assert remove.shape == (4, 3) and not remove.any()


def test_mar_predictors_never_hidden_and_hiding_follows_them():
    rng = np.random.default_rng(3)
    values = rng.standard_normal((2000, 10))
    observed = np.ones(values.shape, dtype=bool)
    remove = masks.mar(values, observed, 0.2, np.random.default_rng(4))
    predictors = np.flatnonzero(~remove.any(axis=0))
    masked = np.flatnonzero(remove.any(axis=0))
    assert predictors.size == 3  # 30 % of 10 columns
    # The masked columns carry the whole 20 %: each loses 0.2 * 10 / 7 of its entries.
    np.testing.assert_allclose(remove[:, masked].mean(axis=0), 0.2 * 10 / 7, atol=0.03)

    def held_out_auc(hidden: np.ndarray, column: int) -> float:
        # Fit on the first half of the rows, score the second half: hiding must be predictable.
        half = values.shape[0] // 2
        model = LogisticRegression().fit(values[:half, predictors], hidden[:half, column])
        score = model.decision_function(values[half:, predictors])
        return roc_auc_score(hidden[half:, column], score)

    mar_auc = np.mean([held_out_auc(remove, j) for j in masked])
    mcar = masks.mcar(observed, 0.2, np.random.default_rng(4))
    mcar_auc = np.mean([held_out_auc(mcar, j) for j in masked])
    assert mar_auc > 0.7
    assert abs(mcar_auc - 0.5) < 0.05


def test_mar_caps_at_what_the_masked_columns_hold():
    values, observed = _table()
    remove = masks.mar(values, observed, 0.9, np.random.default_rng(0))
    masked = remove.any(axis=0)
    # 0.9 of all observed entries exceeds the 70 % of columns that may be masked: all are hidden.
    np.testing.assert_array_equal(remove[:, masked], observed[:, masked])
    assert masked.sum() == 14


def test_mar_needs_two_columns():
    values = np.arange(10.0).reshape(10, 1)
    with pytest.raises(ValueError, match="at least two columns"):
        masks.mar(values, np.ones((10, 1), dtype=bool), 0.2, np.random.default_rng(0))


def test_mnar_hides_larger_values():
    values, observed = _table()
    remove = masks.mnar(values, observed, 0.2, np.random.default_rng(0))
    z = (values - np.nanmean(values, axis=0)) / np.nanstd(values, axis=0)
    assert z[remove].mean() > z[observed & ~remove].mean() + 0.5
    # Every column loses its own 20 %.
    np.testing.assert_allclose(remove.sum(axis=0) / observed.sum(axis=0), 0.2, atol=0.05)


@pytest.mark.parametrize("mechanism", ["mar", "mnar"])
def test_values_near_the_float64_limit_give_the_same_masks(mechanism):
    # Standardising squares the values: near 1e308 that overflowed, and every logit was NaN.
    values, observed = _table()
    scale = 2.0**1000  # a power of two: the scaled table is the same table, exactly
    expected = masks.remove_mask(mechanism, values, observed, 0.2, np.random.default_rng(3))
    huge = masks.remove_mask(mechanism, values * scale, observed, 0.2, np.random.default_rng(3))
    np.testing.assert_array_equal(huge, expected)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan"), "0.2", True])
def test_invalid_rate(rate):
    values, observed = _table()
    rng = np.random.default_rng(0)
    for mechanism in masks.MECHANISMS:
        with pytest.raises(ValueError, match=rf"'rate' parameter of {mechanism}.*Got {rate!r}"):
            masks.remove_mask(mechanism, values, observed, rate, rng)
    with pytest.raises(ValueError, match=r"'rate' parameter of hide_labels"):
        masks.hide_labels(np.zeros(10, dtype=np.int64), rate, rng)


def test_invalid_mechanism_and_shapes():
    values, observed = _table()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"'mechanism' parameter .* Got 'mcra' instead"):
        masks.remove_mask("mcra", values, observed, 0.2, rng)
    with pytest.raises(ValueError, match=r"same shape, got \(500, 20\) and \(500, 19\)"):
        masks.mnar(values, observed[:, 1:], 0.2, rng)
    with pytest.raises(ValueError, match="'observed' parameter of mcar must be a boolean"):
        masks.mcar(observed.astype(int), 0.2, rng)


def test_hide_labels_rate_per_class_and_rows():
    labels = np.repeat(np.arange(3), [300, 150, 50]).astype(np.int64)
    labels[:10] = -1  # already missing: never counted, never changed
    hidden = masks.hide_labels(labels, 0.4, np.random.default_rng(0))
    assert (hidden[:10] == -1).all()
    newly = (hidden == -1) & (labels >= 0)
    assert newly.sum() == round(0.4 * 490)
    for label, count in [(0, 290), (1, 150), (2, 50)]:
        assert newly[labels == label].sum() == pytest.approx(0.4 * count, abs=1)
    np.testing.assert_array_equal(hidden[hidden >= 0], labels[hidden >= 0])

    rows = np.arange(200, 500)
    hidden = masks.hide_labels(labels, 0.5, np.random.default_rng(0), rows=rows)
    assert (hidden[:200] == labels[:200]).all()
    assert (hidden[rows] == -1).sum() == 150


def test_hide_labels_keeps_one_labelled_row_per_class():
    labels = np.array([0] * 20 + [1] * 2, dtype=np.int64)
    hidden = masks.hide_labels(labels, 0.9, np.random.default_rng(0))
    assert (hidden == 1).sum() == 1  # round(0.9 * 2) = 2 would leave class 1 unlabelled
    assert (hidden == 0).sum() == 2  # 0.9 * 20 = 18 hidden
    assert (masks.hide_labels(labels, 0.0, np.random.default_rng(0)) == labels).all()


def test_subsample_imbalance_ratio():
    labels = np.repeat([0, 1, 2], [400, 300, 200]).astype(np.int64)
    labels[::50] = -1
    keep = masks.subsample_imbalance(labels, 10.0, np.random.default_rng(0))
    assert (np.diff(keep) > 0).all()
    kept = labels[keep]
    # Class 2 is the minority: round(392 / 10) = 39 of its rows stay; all other rows stay.
    assert (kept == 2).sum() == 39
    assert (kept == 0).sum() == (labels == 0).sum() and (kept == -1).sum() == 18
    assert (kept == 0).sum() / (kept == 2).sum() == pytest.approx(10.0, rel=0.02)

    chosen = masks.subsample_imbalance(labels, 4.0, np.random.default_rng(0), minority=1)
    assert (labels[chosen] == 1).sum() == round(392 / 4)
    # Already more imbalanced than asked: keep everything.
    everything = masks.subsample_imbalance(labels, 1.5, np.random.default_rng(0))
    np.testing.assert_array_equal(everything, np.arange(labels.size))


@pytest.mark.parametrize("ratio", [0.5, float("nan"), float("inf")])
def test_subsample_imbalance_invalid(ratio):
    labels = np.array([0, 0, 1], dtype=np.int64)
    with pytest.raises(ValueError, match=r"'ratio' parameter of subsample_imbalance"):
        masks.subsample_imbalance(labels, ratio, np.random.default_rng(0))


def test_subsample_imbalance_bad_minority():
    labels = np.array([0, 0, 1], dtype=np.int64)
    with pytest.raises(ValueError, match=r"'minority' parameter .* Got 5 instead"):
        masks.subsample_imbalance(labels, 2.0, np.random.default_rng(0), minority=5)
