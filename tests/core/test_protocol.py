"""The experimental protocol: splits, removal, train-only encoding and scaling, label hiding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hexagan_core.data import Dataset, load_builtin
from hexagan_core.protocol import Experiment, prepare, scarcity_note


@pytest.fixture(scope="module")
def breast() -> Dataset:
    return load_builtin("breast")


@pytest.fixture(scope="module")
def holey_breast(breast) -> Dataset:
    """Breast with 5 % of its cells really missing."""
    features = breast.features.copy()
    holes = np.random.default_rng(0).random(features.shape) < 0.05
    return Dataset(
        name="holey breast",
        features=features.mask(holes),
        labels=breast.labels.copy(),
        class_names=list(breast.class_names),
        label_name=breast.label_name,
        notes=[],
    )


@pytest.fixture(scope="module")
def experiment(holey_breast) -> Experiment:
    return prepare(holey_breast, label_missing_rate=0.3, seed=3)


def _splits(experiment: Experiment):
    return experiment.train, experiment.val, experiment.test


def test_shapes_and_disjoint_splits(experiment, holey_breast):
    n_rows, n_columns = holey_breast.features.shape
    assert experiment.n_features == n_columns == len(experiment.feature_names)
    assert experiment.n_classes == 2
    rows = [split.rows for split in _splits(experiment)]
    assert [len(r) for r in rows] == [n_rows - 85 - 114, 85, 114]  # 15 % and 20 % of 569
    np.testing.assert_array_equal(np.sort(np.concatenate(rows)), np.arange(n_rows))
    for split in _splits(experiment):
        for x in (split.x_input, split.x_true):
            assert x.dtype == np.float32 and x.shape == (len(split.rows), n_columns)
        assert split.removed.dtype == bool and split.removed.shape == split.x_true.shape


def test_scaler_and_encoder_see_only_blanked_training_rows(experiment, holey_breast):
    train = experiment.train
    # Observed training inputs span [0, 1] exactly in every column.
    np.testing.assert_array_equal(np.nanmin(train.x_input, axis=0), 0.0)
    np.testing.assert_array_equal(np.nanmax(train.x_input, axis=0), 1.0)
    # The scaler's minimum is that of the training rows without their removed cells...
    original = holey_breast.features.to_numpy()[train.rows]
    np.testing.assert_allclose(
        experiment.scaler.data_min_, np.nanmin(np.where(train.removed, np.nan, original), axis=0)
    )
    # ...so the other splits, and the removed training values, may leave [0, 1].
    others = np.concatenate([experiment.val.x_true, experiment.test.x_true, train.x_true])
    assert np.nanmin(others) < 0.0 or np.nanmax(others) > 1.0


def test_removed_entries(experiment, holey_breast):
    source_missing = holey_breast.features.isna().to_numpy()
    total_removed = sum(int(s.removed.sum()) for s in _splits(experiment))
    assert abs(total_removed - 0.2 * (~source_missing).sum()) <= 1
    for split in _splits(experiment):
        # x_true is missing exactly where the source is; removal only hits observed cells.
        np.testing.assert_array_equal(np.isnan(split.x_true), source_missing[split.rows])
        assert not (split.removed & np.isnan(split.x_true)).any()
        np.testing.assert_array_equal(
            np.isnan(split.x_input), split.removed | np.isnan(split.x_true)
        )
        # Every split is scored, at about the same rate.
        rate = split.removed.sum() / (~source_missing[split.rows]).sum()
        assert rate == pytest.approx(0.2, abs=0.02)


def test_label_hiding_only_on_train(experiment, holey_breast):
    for split in _splits(experiment):
        np.testing.assert_array_equal(split.y_true, holey_breast.labels[split.rows])
    train = experiment.train
    hidden = train.y_input == -1
    assert hidden.sum() == round(0.3 * len(train.rows))
    np.testing.assert_array_equal(train.y_input[~hidden], train.y_true[~hidden])
    for split in (experiment.val, experiment.test):
        np.testing.assert_array_equal(split.y_input, split.y_true)


def test_round_trip_to_original_units(experiment, holey_breast):
    for split in _splits(experiment):
        restored = experiment.to_original_units(split.x_true)
        original = holey_breast.features.iloc[split.rows]
        assert list(restored.columns) == list(original.columns)
        observed = original.notna().to_numpy()
        # float32 keeps about 7 significant digits of the scaled value: compare in range units.
        error = (restored.to_numpy() - original.to_numpy()) / experiment.scaler.data_range_
        assert np.abs(error[observed]).max() < 1e-6


def test_seed_reproducible(holey_breast):
    first = prepare(holey_breast, mechanism="mar", label_missing_rate=0.2, seed=5)
    again = prepare(holey_breast, mechanism="mar", label_missing_rate=0.2, seed=5)
    other = prepare(holey_breast, mechanism="mar", label_missing_rate=0.2, seed=6)
    for a, b in zip(_splits(first), _splits(again), strict=True):
        for field in ("x_input", "x_true", "removed", "y_true", "y_input", "rows"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(first.train.rows, other.train.rows)
    assert not np.array_equal(_dataset_removed(first), _dataset_removed(other))


def _dataset_removed(experiment: Experiment) -> np.ndarray:
    """The removed mask of all splits, in dataset row order."""
    removed = np.zeros((len(experiment.dataset.features), experiment.n_features), dtype=bool)
    for split in _splits(experiment):
        removed[split.rows] = split.removed
    return removed


@pytest.mark.parametrize("mechanism", ["mar", "mnar"])
def test_other_mechanisms_hit_the_rate(breast, mechanism):
    experiment = prepare(breast, mechanism=mechanism, missing_rate=0.3)
    removed = np.concatenate([s.removed for s in _splits(experiment)])
    assert removed.mean() == pytest.approx(0.3, abs=0.01)


def test_imbalance_subsampling(breast):
    experiment = prepare(breast, imbalance_ratio=5.0, seed=1)
    kept_labels = breast.labels[experiment.kept_rows]
    # Benign (357 rows) stays whole; malignant keeps round(357 / 5) = 71 of its 212 rows.
    assert (kept_labels == 1).sum() == 357 and (kept_labels == 0).sum() == 71
    rows = np.concatenate([s.rows for s in _splits(experiment)])
    np.testing.assert_array_equal(np.sort(rows), experiment.kept_rows)
    for split in _splits(experiment):
        np.testing.assert_array_equal(split.y_true, breast.labels[split.rows])
        assert (split.y_true == 0).sum() > 0


def _small_categorical(with_labels: bool = True) -> Dataset:
    rng = np.random.default_rng(0)
    n = 80
    features = pd.DataFrame(
        {
            "size": rng.normal(10.0, 2.0, n),
            "count": rng.integers(0, 20, n),
            "colour": rng.choice(["red", "green", "blue"], n).astype(object),
        }
    )
    features.loc[[3, 40], "colour"] = np.nan  # really missing
    labels = rng.integers(0, 2, n).astype(np.int64) if with_labels else None
    return Dataset(
        name="toy",
        features=features,
        labels=labels,
        class_names=["no", "yes"] if with_labels else [],
        label_name="target" if with_labels else None,
        notes=[],
    )


@pytest.mark.parametrize("mechanism", ["mcar", "mnar"])
def test_categorical_column_removed_as_a_block(mechanism):
    dataset = _small_categorical()
    experiment = prepare(dataset, missing_rate=0.3, mechanism=mechanism)
    assert experiment.feature_names == [
        "size",
        "count",
        "colour=blue",
        "colour=green",
        "colour=red",
    ]
    cells_removed = 0
    for split in _splits(experiment):
        block = split.removed[:, 2:]
        # The three one-hot columns of a cell are removed (and blanked) together.
        assert (block == block[:, :1]).all()
        assert np.isnan(split.x_input[:, 2:][block]).all()
        truth = split.x_true[:, 2:]
        source_missing = np.isin(split.rows, [3, 40])
        assert np.isnan(truth[source_missing]).all() and not np.isnan(truth[~source_missing]).any()
        cells_removed += int(split.removed[:, :2].sum() + block[:, 0].sum())
        restored = experiment.to_original_units(split.x_true)
        original = dataset.features.iloc[split.rows].reset_index(drop=True)
        kept = ~source_missing
        assert (restored["colour"][kept] == original["colour"][kept]).all()
        np.testing.assert_array_equal(restored["count"], original["count"])
    assert abs(cells_removed - 0.3 * (80 * 3 - 2)) <= 1


def test_dataset_without_labels():
    experiment = prepare(_small_categorical(with_labels=False), missing_rate=0.1)
    assert experiment.n_classes == 0
    assert experiment.train.y_true is None and experiment.test.y_input is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"missing_rate": 1.0}, r"'missing_rate' parameter of prepare .* Got 1.0 instead"),
        ({"missing_rate": -0.2}, r"'missing_rate' parameter of prepare .* Got -0.2 instead"),
        ({"mechanism": "MCAR"}, r"'mechanism' parameter of prepare .* Got 'MCAR' instead"),
        ({"label_missing_rate": 1.5}, r"'label_missing_rate' parameter .* Got 1.5 instead"),
        ({"imbalance_ratio": 0.5}, r"'imbalance_ratio' parameter .* Got 0.5 instead"),
        ({"seed": -1}, r"'seed' parameter of prepare .* Got -1 instead"),
        ({"val_fraction": 0.0}, r"'val_fraction' parameter"),
    ],
)
def test_bad_parameters(breast, kwargs, match):
    with pytest.raises(ValueError, match=match):
        prepare(breast, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"imbalance_ratio": 2.0}, "imbalance_ratio"),
        ({"label_missing_rate": 0.1}, "label_missing_rate"),
    ],
)
def test_label_options_need_labels(kwargs, name):
    with pytest.raises(ValueError, match=rf"'{name}' parameter of prepare needs a label column"):
        prepare(_small_categorical(with_labels=False), **kwargs)


@pytest.mark.parametrize(
    ("b_observed", "a_missing", "expected"),
    [
        # 20 training rows; column b observed in the first `b_observed`, column a missing in
        # the last `a_missing` (empty rows: those missing both).
        (10, 5, None),  # both rules met exactly: 10 values in b, 5 of 20 rows (25 %) empty
        (9, 5, "1 of 2 columns keep fewer than 10 observed values in the 20 training rows "
               "('b': 9)"),
        (10, 6, "6 of the 20 training rows (30%) keep none, more than 25%"),
    ],
)  # fmt: skip
def test_scarcity_note_states_the_rule_it_breaks(breast, b_observed, a_missing, expected):
    experiment = prepare(breast, missing_rate=0.95, seed=0)
    x = np.ones((20, 2))
    x[b_observed:, 1] = np.nan
    x[20 - a_missing :, 0] = np.nan
    experiment.train.x_input = x
    experiment.encoder.feature_names_out_ = ["a", "b"]
    note = scarcity_note(experiment)
    if expected is None:
        assert note is None
    else:
        assert note.startswith("missing rate 0.95 leaves too few observed values to learn from")
        assert expected in note and note.count(";") == 1  # the one rule broken, then advice


def test_breast_at_the_usual_rate_gets_no_scarcity_note(breast):
    assert scarcity_note(prepare(breast, missing_rate=0.2, seed=0)) is None
