"""The experimental protocol every method is scored with: split, hide, encode, scale.

`prepare` turns a `Dataset` into an `Experiment` of three `Split`s in min-max space, in seven
steps. The random ones (marked *) all draw from one `numpy.random.default_rng(seed)`, in this
order:

1. * imbalance subsampling of the minority class, when `imbalance_ratio` is given;
2. * the class-stratified train/validation/test split, seeded with an integer drawn from it;
3. * the artificial removal of `missing_rate` of the observed cells, on the original columns
   and over all rows, so the validation and test rows are scored too;
4. the encoder, fitted on the training rows with the removed cells blanked;
5. x_true (all values) and x_input (removed cells blanked) encoded, the removal mask expanded
   to the one-hot blocks;
6. the min-max scaler, fitted on the training rows of x_input; both matrices scaled;
7. * the hiding of `label_missing_rate` of the training labels.

So no information from the validation or test rows, nor any removed value, reaches the encoder
or the scaler.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hexagan_core.data import Dataset, MinMaxScaler, TableEncoder, stratified_split
from hexagan_core.masks import (
    MECHANISMS,
    RATES,
    hide_labels,
    remove_mask,
    subsample_imbalance,
)
from hexagan_core.validation import Interval, check_param

__all__ = ["Experiment", "Split", "prepare", "scarcity_note"]

MIN_OBSERVED_PER_COLUMN = 10
"""Fewest observed values a column should keep in the training rows, after the protocol's
removal: below it, the column's min-max range and every method's estimate of it rest on a
handful of values (e.g. 95 % hidden from 19 training rows left one per column: RMSE 1.56)."""
MAX_EMPTY_ROW_SHARE = 0.25
"""Largest share of the training rows that may have no observed value at all: such a row gives
every method nothing to impute it from."""


@dataclass
class Split:
    """One part of an `Experiment`, in scaled min-max space (float32)."""

    x_input: np.ndarray
    """What methods see: NaN where a value is really missing or was artificially removed."""
    x_true: np.ndarray
    """Ground truth: NaN only where the source itself had no value."""
    removed: np.ndarray
    """Bool, True at the artificially removed entries: the ones imputation is scored on."""
    y_true: np.ndarray | None
    """Int64 class codes, -1 where the source label is missing; None without a label column."""
    y_input: np.ndarray | None
    """`y_true` with the hidden training labels set to -1 (validation and test: equal)."""
    rows: np.ndarray
    """Indices of these rows in the dataset."""


@dataclass
class Experiment:
    """A dataset prepared by `prepare`: the fitted encoder and scaler and the three splits."""

    dataset: Dataset
    encoder: TableEncoder
    scaler: MinMaxScaler
    missing_rate: float
    mechanism: str
    label_missing_rate: float
    imbalance_ratio: float | None
    seed: int
    train: Split
    val: Split
    test: Split
    kept_rows: np.ndarray
    """Dataset rows kept after imbalance subsampling (all rows without it)."""

    def to_original_units(self, x_scaled: np.ndarray) -> pd.DataFrame:
        """Undo the scaling and the encoding: a DataFrame with the dataset's columns."""
        x = self.scaler.inverse_transform(np.asarray(x_scaled, dtype=np.float64))
        return self.encoder.inverse_transform(x)

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns (``col=level`` for one-hot columns)."""
        return list(self.encoder.feature_names_out_)

    @property
    def n_features(self) -> int:
        """Number of encoded columns."""
        return int(self.encoder.n_features_out_)

    @property
    def n_classes(self) -> int:
        """Number of classes (0 without a label column)."""
        return self.dataset.n_classes


def _check_parameters(
    dataset: Dataset,
    missing_rate: float,
    mechanism: str,
    label_missing_rate: float,
    imbalance_ratio: float | None,
    seed: int,
) -> None:
    """Raise a ValueError naming the first bad parameter of `prepare`."""
    check_param(missing_rate, "missing_rate", "prepare", RATES)
    check_param(label_missing_rate, "label_missing_rate", "prepare", RATES)
    check_param(mechanism, "mechanism", "prepare", MECHANISMS)
    ratios = Interval("float", 1.0, closed="left", allow_none=True)
    check_param(imbalance_ratio, "imbalance_ratio", "prepare", ratios)
    check_param(seed, "seed", "prepare", Interval("int", 0))
    if dataset.labels is None:
        for name, value, unused in (
            ("imbalance_ratio", imbalance_ratio, None),
            ("label_missing_rate", label_missing_rate, 0.0),
        ):
            if value != unused:
                raise ValueError(
                    f"The '{name}' parameter of prepare needs a label column, and dataset "
                    f"{dataset.name!r} has none. Got {value!r} instead."
                )


def _numeric_view(features: pd.DataFrame) -> np.ndarray:
    """Float matrix of the cells for MAR/MNAR: numbers as they are, categories as their codes."""
    columns = []
    for name in features.columns:
        values = features[name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            columns.append(values.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            codes = pd.factorize(values, sort=True)[0].astype(np.float64)
            codes[codes < 0] = np.nan
            columns.append(codes)
    return np.column_stack(columns) if columns else np.empty((len(features), 0))


def _split(
    rows: np.ndarray,
    x_true: np.ndarray,
    x_input: np.ndarray,
    removed: np.ndarray,
    y_true: np.ndarray | None,
    y_input: np.ndarray | None,
    kept_rows: np.ndarray,
) -> Split:
    """The Split of the given rows (indices into the kept rows)."""
    return Split(
        x_input=x_input[rows].astype(np.float32),
        x_true=x_true[rows].astype(np.float32),
        removed=removed[rows],
        y_true=None if y_true is None else y_true[rows],
        y_input=None if y_input is None else y_input[rows],
        rows=kept_rows[rows],
    )


def prepare(
    dataset: Dataset,
    *,
    missing_rate: float = 0.2,
    mechanism: str = "mcar",
    label_missing_rate: float = 0.0,
    imbalance_ratio: float | None = None,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
) -> Experiment:
    """Split, hide, encode and scale `dataset` as the experimental protocol prescribes.

    Parameters
    ----------
    dataset : Dataset
        Features in original units (NaN = missing) and optional labels (-1 = missing).
    missing_rate : float, default=0.2
        Share of the observed cells (all rows, all splits) set artificially missing, in [0, 1).
    mechanism : {"mcar", "mar", "mnar"}, default="mcar"
        How those cells are chosen (`hexagan_core.masks`); MAR and MNAR see categorical
        columns as their category codes.
    label_missing_rate : float, default=0.0
        Share of the training labels hidden (set to -1 in `y_input`), in [0, 1).
    imbalance_ratio : float, default=None
        If given (>= 1), subsample the minority class first so that the largest class is about
        this many times larger.
    seed : int, default=0
        Seed of every random draw (see the module docstring for their order).
    val_fraction, test_fraction : float, default=0.15, 0.2
        Shares of the rows in the validation and test splits, stratified by class.

    A cell whose category the encoder did not see in the training rows is missing in `x_true`
    as well (the encoder warns about it), so it is never scored.
    """
    _check_parameters(dataset, missing_rate, mechanism, label_missing_rate, imbalance_ratio, seed)
    rng = np.random.default_rng(seed)
    labels = dataset.labels

    # (1) Imbalance: subsample the minority class.
    if imbalance_ratio is None:
        kept_rows = np.arange(len(dataset.features))
    else:
        kept_rows = subsample_imbalance(labels, float(imbalance_ratio), rng)
    features = dataset.features.iloc[kept_rows].reset_index(drop=True)
    labels = None if labels is None else np.asarray(labels, dtype=np.int64)[kept_rows]

    # (2) Class-stratified split, seeded from the same generator.
    train, val, test = stratified_split(
        labels,
        len(features),
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=int(rng.integers(2**31 - 1)),
    )

    # (3) Artificial removal on the original cells of every row.
    observed = features.notna().to_numpy()
    cells = remove_mask(mechanism, _numeric_view(features), observed, missing_rate, rng)
    blanked = features.mask(cells)

    # (4)-(5) Encode with an encoder fitted on the blanked training rows only.
    encoder = TableEncoder().fit(blanked.iloc[train])
    x_true = encoder.transform(features)
    x_input = encoder.transform(blanked)
    removed = encoder.expand_mask(cells) & ~np.isnan(x_true)

    # (6) Min-max scaling fitted on the training inputs only.
    scaler = MinMaxScaler().fit(x_input[train], feature_names=encoder.feature_names_out_)
    x_true, x_input = scaler.transform(x_true), scaler.transform(x_input)

    # (7) Hide a share of the training labels; validation and test keep theirs.
    y_input = None if labels is None else hide_labels(labels, label_missing_rate, rng, rows=train)

    parts = [
        _split(r, x_true, x_input, removed, labels, y_input, kept_rows) for r in (train, val, test)
    ]
    return Experiment(
        dataset=dataset,
        encoder=encoder,
        scaler=scaler,
        missing_rate=float(missing_rate),
        mechanism=mechanism,
        label_missing_rate=float(label_missing_rate),
        imbalance_ratio=None if imbalance_ratio is None else float(imbalance_ratio),
        seed=seed,
        train=parts[0],
        val=parts[1],
        test=parts[2],
        kept_rows=kept_rows,
    )


def scarcity_note(experiment: Experiment) -> str | None:
    """A warning when the training rows keep too few observed values to learn from (fewer than
    MIN_OBSERVED_PER_COLUMN in a column, or more than MAX_EMPTY_ROW_SHARE of the rows with none),
    saying the rule; None otherwise."""
    observed = ~np.isnan(experiment.train.x_input)
    n_rows = len(observed)
    per_column = observed.sum(axis=0)
    empty_rows = int((~observed.any(axis=1)).sum())
    problems = []
    scarce = int((per_column < MIN_OBSERVED_PER_COLUMN).sum())
    if scarce:
        worst = int(per_column.argmin())
        problems.append(
            f"{scarce} of {len(per_column)} columns keep fewer than {MIN_OBSERVED_PER_COLUMN} "
            f"observed values in the {n_rows} training rows "
            f"({experiment.feature_names[worst]!r}: {per_column[worst]})"
        )
    if empty_rows > MAX_EMPTY_ROW_SHARE * n_rows:
        problems.append(
            f"{empty_rows} of the {n_rows} training rows ({empty_rows / n_rows:.0%}) keep none, "
            f"more than {MAX_EMPTY_ROW_SHARE:.0%}"
        )
    if not problems:
        return None
    return (
        f"missing rate {experiment.missing_rate:g} leaves too few observed values to learn "
        f"from: {'; '.join(problems)}. Every method's scores will be unreliable; use a lower "
        "missing rate or more rows."
    )
