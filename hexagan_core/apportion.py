"""Largest-remainder rounding: whole-number shares of a total, in proportion to group sizes.

Used wherever rows are taken from groups in proportion: the stratified split and subsample of
`hexagan_core.data`, the subsample of the hidden-space picture and the hiding of labels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["largest_remainder"]


def largest_remainder(
    sizes: np.ndarray,
    fraction: float,
    total: int,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Integer shares of `total` over groups, each within one of ``size * fraction``.

    Each group first gets ``floor(size * fraction)``. The shortfall to `total` then goes one
    share each to the groups with the largest remainders, ties broken at random by `rng` (one
    draw per group) or, without `rng`, in favour of the earlier group. A group never gets more
    than its size, and no share is taken back when the floors already exceed `total`. With
    `fraction` below 1 and `total` the rounded ``sum(sizes) * fraction``, the shares sum to `total`.
    """
    exact = sizes * fraction
    shares = np.floor(exact).astype(np.int64)
    shortfall = total - int(shares.sum())
    by_remainder = -(exact - shares)
    if rng is None:
        order = np.argsort(by_remainder, kind="stable")
    else:
        order = np.lexsort((rng.random(len(sizes)), by_remainder))
    order = order[shares[order] < sizes[order]]
    shares[order[: max(shortfall, 0)]] += 1
    return shares
