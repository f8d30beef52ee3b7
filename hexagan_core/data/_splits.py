"""Train/validation/test row indices, stratified by class."""

from __future__ import annotations

import numpy as np

from hexagan_core.apportion import largest_remainder
from hexagan_core.data._dataset import DataError
from hexagan_core.validation import Interval, check_param

MIN_SPLIT_ROWS = 10


def stratified_split(
    labels: np.ndarray | None,
    n_rows: int,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split row indices into sorted, disjoint train/validation/test arrays covering all rows.

    Each class (code >= 0) is split in the given proportions, within one row. Unlabelled rows
    (-1) form one more group, split the same way. Classes with fewer than 3 labelled rows
    cannot be stratified and are pooled into one group that is split at random. With
    ``labels=None`` the split is plain random.
    """
    for param, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        check_param(value, param, "stratified_split", Interval("float", 0, 1, closed="neither"))
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            "val_fraction + test_fraction must be below 1 to leave training rows. "
            f"Got {val_fraction} + {test_fraction} instead."
        )
    if n_rows < MIN_SPLIT_ROWS:
        raise DataError(
            f"need at least {MIN_SPLIT_ROWS} rows to split into train/validation/test, got {n_rows}"
        )
    rng = np.random.default_rng(seed)
    groups = _split_groups(labels, n_rows)
    sizes = np.array([len(group) for group in groups], dtype=np.int64)
    n_test = largest_remainder(
        sizes, test_fraction, max(1, _round_half_up(n_rows * test_fraction)), rng
    )
    n_val = largest_remainder(
        sizes, val_fraction, max(1, _round_half_up(n_rows * val_fraction)), rng
    )
    n_val = np.minimum(n_val, sizes - n_test)
    parts: tuple[list, list, list] = ([], [], [])
    for group, t, v in zip(groups, n_test, n_val, strict=True):
        shuffled = rng.permutation(group)
        parts[2].append(shuffled[:t])
        parts[1].append(shuffled[t : t + v])
        parts[0].append(shuffled[t + v :])
    train, val, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    if min(len(train), len(val), len(test)) == 0:
        raise DataError(
            f"{n_rows} rows are too few for val_fraction={val_fraction} and "
            f"test_fraction={test_fraction}: a part would be empty"
        )
    return train, val, test


def _round_half_up(value: float) -> int:
    return int(np.floor(value + 0.5))


def _split_groups(labels: np.ndarray | None, n_rows: int) -> list[np.ndarray]:
    """Row groups to split separately: each class, small classes pooled, unlabelled rows."""
    if labels is None:
        return [np.arange(n_rows)]
    labels = np.asarray(labels)
    if labels.shape != (n_rows,):
        raise ValueError(f"labels must have shape ({n_rows},). Got {labels.shape} instead.")
    groups, pooled = [], []
    for code in np.unique(labels):
        rows = np.flatnonzero(labels == code)
        if code >= 0 and len(rows) < 3:
            pooled.append(rows)  # too few to stratify: split with the other small classes
        else:
            groups.append(rows)
    if pooled:
        groups.append(np.concatenate(pooled))
    return groups
