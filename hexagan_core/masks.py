"""Artificial missingness (MCAR, MAR, MNAR), label hiding and imbalance subsampling.

Pure functions of arrays and a `numpy.random.Generator`. An `observed` array is boolean with True
where a value is present; every masking function returns a boolean `remove` array of the same
shape (True = hide this entry) that is a subset of `observed`, hiding about `rate` times the number
of observed entries. A real missing value is never "removed" again, and a column with no observed
value is left as it is.

MAR and MNAR follow the logistic mechanisms of the hyperimpute library and of Muzellec et al.,
"Missing data imputation using optimal transport" (ICML 2020): each entry gets a hiding
probability from a logistic model whose logits have unit variance, and each intercept is found by
bisection so that the expected count hits the target. The entries are then drawn by systematic
sampling in random order (Madow, 1949): every entry is hidden with exactly its logistic
probability, and the realised total is within one entry of the target, where independent
Bernoulli draws would scatter by several percent on small tables.
"""

from __future__ import annotations

import numpy as np

from hexagan_core.apportion import largest_remainder
from hexagan_core.validation import Interval, check_param, parameter_error

__all__ = [
    "MECHANISMS",
    "RATES",
    "hide_labels",
    "mar",
    "mcar",
    "mnar",
    "remove_mask",
    "subsample_imbalance",
]

MECHANISMS = ("mcar", "mar", "mnar")

RATES = Interval("float", 0.0, 1.0, closed="left")
"""The rates every function here accepts: a share of the observed entries (or labels) to hide."""

# Share of the columns that MAR keeps fully observed and uses as predictors (hyperimpute's p_obs).
MAR_PREDICTOR_FRACTION = 0.3

_BISECTION_STEPS = 100


def _check_observed(observed: np.ndarray, owner: str) -> np.ndarray:
    observed = np.asarray(observed)
    if observed.dtype != bool:
        raise ValueError(
            f"The 'observed' parameter of {owner} must be a boolean array. "
            f"Got dtype {observed.dtype} instead."
        )
    return observed


def _check_matrix(values: np.ndarray, observed: np.ndarray, owner: str) -> tuple[np.ndarray, ...]:
    """`values` as float64 and `observed` as bool, both 2-D and of the same shape."""
    observed = _check_observed(observed, owner)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape != observed.shape:
        raise ValueError(
            f"{owner} expects 2-D 'values' and 'observed' of the same shape, "
            f"got {values.shape} and {observed.shape}."
        )
    # A NaN that `observed` calls present carries no value to mask on: treat it as missing.
    return values, observed & ~np.isnan(values)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _standardise(values: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Columns scaled by their observed mean and std (std 0 -> 1); unobserved entries -> 0."""
    # Each column divided first by a power of two near its largest value: exact, so the result
    # is the same bit for bit, and the squares below cannot overflow on values near 1e308.
    largest = np.where(observed, np.abs(values), 0.0).max(axis=0, initial=0.0)
    values = np.ldexp(values, -np.frexp(largest)[1])
    counts = observed.sum(axis=0)
    filled = np.where(observed, values, 0.0)
    mean = filled.sum(axis=0) / np.maximum(counts, 1)
    var = np.where(observed, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(counts, 1)
    std = np.sqrt(var)
    std[std == 0] = 1.0
    return np.where(observed, (values - mean) / std, 0.0)


def _fit_intercepts(logits: np.ndarray, where: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Per-column b with mean(sigmoid(logits + b)) = rates over the `where` entries (bisection).

    Every column must have at least one `where` entry and a rate in (0, 1).
    """
    big = np.where(where, logits, -np.inf).max(axis=0)
    small = np.where(where, logits, np.inf).min(axis=0)
    base = np.log(rates / (1.0 - rates))
    # The mean lies between sigmoid(small + b) and sigmoid(big + b), which brackets the root.
    low, high = base - big, base - small
    counts = where.sum(axis=0)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (low + high)
        mean = np.where(where, _sigmoid(logits + mid), 0.0).sum(axis=0) / counts
        too_high = mean > rates
        high = np.where(too_high, mid, high)
        low = np.where(too_high, low, mid)
    return 0.5 * (low + high)


def _systematic_draw(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bool array: entry i drawn with probability p_i, the total within one of sum(p)."""
    flat = probabilities.ravel()
    order = rng.permutation(flat.size)
    ends = np.cumsum(flat[order])
    starts = np.concatenate([[0.0], ends])[:-1]
    offset = rng.random()
    # Entry i is drawn when a point offset + k (k = 0, 1, ...) falls in (starts_i, ends_i].
    hit = np.floor(ends - offset) > np.floor(starts - offset)
    drawn = np.zeros(flat.size, dtype=bool)
    drawn[order] = hit
    return drawn.reshape(probabilities.shape)


def mcar(observed: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Missing completely at random: exactly round(rate * n_observed) entries, uniformly.

    `observed` may have any shape.
    """
    rate = float(check_param(rate, "rate", "mcar", RATES))
    observed = _check_observed(observed, "mcar")
    candidates = np.flatnonzero(observed)
    n_remove = round(rate * candidates.size)
    remove = np.zeros(observed.size, dtype=bool)
    remove[rng.choice(candidates, size=n_remove, replace=False)] = True
    return remove.reshape(observed.shape)


def mar(
    values: np.ndarray, observed: np.ndarray, rate: float, rng: np.random.Generator
) -> np.ndarray:
    """Missing at random, logistic model on a random set of always-observed predictor columns.

    A random 30 % of the columns that have observed values (at least one) are predictors and are
    never hidden. Each other column gets random Gaussian weights on the standardised predictors
    (a missing predictor value counts as 0, the mean), scaled so its logit has unit variance,
    and its own intercept, so that every masked column loses the same share of its observed
    entries. That share is rate * n_observed / n_observed_in_masked_columns, which makes the
    overall rate equal to `rate`; when it would reach 1 every observed entry of the masked
    columns is hidden instead and the realised rate falls short of `rate`.
    Needs at least two columns with observed values.
    """
    rate = float(check_param(rate, "rate", "mar", RATES))
    values, observed = _check_matrix(values, observed, "mar")
    remove = np.zeros(observed.shape, dtype=bool)
    if rate == 0.0:
        return remove
    usable = np.flatnonzero(observed.any(axis=0))
    if usable.size < 2:
        raise ValueError(
            "mar needs at least two columns with observed values in 'values'. "
            f"Got {usable.size} instead."
        )
    n_predictors = max(1, round(MAR_PREDICTOR_FRACTION * usable.size))
    shuffled = rng.permutation(usable)
    predictors, masked = np.sort(shuffled[:n_predictors]), np.sort(shuffled[n_predictors:])

    where = observed[:, masked]
    share = rate * observed.sum() / where.sum()
    if share >= 1.0:
        remove[:, masked] = where
        return remove
    scores = _standardise(values[:, predictors], observed[:, predictors])
    logits = scores @ rng.standard_normal((predictors.size, masked.size))
    std = logits.std(axis=0)
    logits /= np.where(std > 0, std, 1.0)
    intercepts = _fit_intercepts(logits, where, np.full(masked.size, share))
    probabilities = np.where(where, _sigmoid(logits + intercepts), 0.0)
    remove[:, masked] = _systematic_draw(probabilities, rng)
    return remove


def mnar(
    values: np.ndarray, observed: np.ndarray, rate: float, rng: np.random.Generator
) -> np.ndarray:
    """Missing not at random by self-masking: larger values are more likely hidden.

    Each entry's hiding probability is sigmoid(z + b_j), where z is the entry's value standardised
    over its column's observed entries (so the logit has unit variance) and the intercept b_j
    makes column j lose a `rate` share of its observed entries. A constant column is masked
    uniformly at that rate.
    """
    rate = float(check_param(rate, "rate", "mnar", RATES))
    values, observed = _check_matrix(values, observed, "mnar")
    remove = np.zeros(observed.shape, dtype=bool)
    if rate == 0.0:
        return remove
    columns = np.flatnonzero(observed.any(axis=0))
    where = observed[:, columns]
    logits = _standardise(values[:, columns], where)
    intercepts = _fit_intercepts(logits, where, np.full(columns.size, rate))
    probabilities = np.where(where, _sigmoid(logits + intercepts), 0.0)
    remove[:, columns] = _systematic_draw(probabilities, rng)
    return remove


def remove_mask(
    mechanism: str,
    values: np.ndarray,
    observed: np.ndarray,
    rate: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The `remove` mask of the named mechanism ('mcar' ignores `values`)."""
    check_param(mechanism, "mechanism", "remove_mask", MECHANISMS)
    if mechanism == "mcar":
        return mcar(observed, rate, rng)
    if mechanism == "mar":
        return mar(values, observed, rate, rng)
    return mnar(values, observed, rate, rng)


def _check_labels(labels: np.ndarray, owner: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"The 'labels' parameter of {owner} must be a 1-D integer array. "
            f"Got shape {labels.shape} and dtype {labels.dtype} instead."
        )
    return labels


def hide_labels(
    labels: np.ndarray,
    rate: float,
    rng: np.random.Generator,
    *,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """A copy of `labels` with a `rate` share of the labelled rows set to -1, per class.

    Only rows in `rows` (all rows if None) with a label >= 0 are candidates. The number to hide,
    round(rate * n_candidates), is split over the classes in proportion to their counts (largest
    remainders get the leftover rows), and each class keeps at least one labelled candidate row,
    which can make the realised rate slightly lower for tiny classes.
    """
    rate = float(check_param(rate, "rate", "hide_labels", RATES))
    labels = _check_labels(labels, "hide_labels")
    hidden = labels.copy()
    if rows is None:
        candidates = np.arange(labels.size)
    else:
        candidates = np.unique(np.asarray(rows))
        if candidates.size and not np.issubdtype(candidates.dtype, np.integer):
            raise ValueError(
                "The 'rows' parameter of hide_labels must be an array of integer row indices. "
                f"Got dtype {candidates.dtype} instead."
            )
        candidates = candidates.astype(np.int64)
    if candidates.size and (candidates.min() < 0 or candidates.max() >= labels.size):
        raise ValueError(
            f"The 'rows' parameter of hide_labels must index {labels.size} labels. "
            f"Got indices from {candidates.min()} to {candidates.max()} instead."
        )
    candidates = candidates[labels[candidates] >= 0]
    classes, counts = np.unique(labels[candidates], return_counts=True)
    n_hide = largest_remainder(counts, rate, round(rate * candidates.size))
    n_hide = np.minimum(n_hide, counts - 1)
    for label, count in zip(classes, n_hide, strict=True):
        members = candidates[labels[candidates] == label]
        hidden[rng.choice(members, size=count, replace=False)] = -1
    return hidden


def subsample_imbalance(
    labels: np.ndarray,
    ratio: float,
    rng: np.random.Generator,
    *,
    minority: int | None = None,
) -> np.ndarray:
    """Sorted indices of the rows to keep so that largest / minority class count ≈ `ratio`.

    Every row outside the minority class (unlabelled rows included) is kept. The minority class
    (default: the least frequent labelled class, ties to the larger code) keeps
    max(1, round(n_largest_other / ratio)) random rows, or all of them when the data are already
    at least that imbalanced.
    """
    check_param(ratio, "ratio", "subsample_imbalance", Interval("float", 1.0, closed="left"))
    labels = _check_labels(labels, "subsample_imbalance")
    classes, counts = np.unique(labels[labels >= 0], return_counts=True)
    if classes.size < 2:
        raise ValueError(
            "subsample_imbalance needs at least two labelled classes in 'labels'. "
            f"Got {classes.size} instead."
        )
    if minority is None:
        minority = int(classes[np.flatnonzero(counts == counts.min())[-1]])
    elif minority not in classes:
        allowed = f"a labelled class, one of {classes.tolist()}"
        raise parameter_error("minority", "subsample_imbalance", allowed, minority)
    n_minority = int(counts[classes == minority][0])
    n_keep = max(1, round(counts[classes != minority].max() / ratio))
    if n_keep >= n_minority:
        return np.arange(labels.size)
    members = np.flatnonzero(labels == minority)
    dropped = rng.choice(members, size=n_minority - n_keep, replace=False)
    return np.setdiff1d(np.arange(labels.size), dropped)
