"""Largest-remainder shares, worked out by hand."""

from __future__ import annotations

import numpy as np

from hexagan_core.apportion import largest_remainder


def test_floors_then_the_largest_remainders():
    # exact 2.4, 2.8, 0.8 -> floors 2, 2, 0 (4 of 6); the remainders .8 and .8 take the other 2
    shares = largest_remainder(np.array([6, 7, 2]), 0.4, 6)
    assert shares.tolist() == [2, 3, 1]


def test_ties_go_to_the_earlier_group_without_rng():
    # exact 2.5, 1.5, 1.0 -> floors 2, 1, 1; one share left, tied between groups 0 and 1
    assert largest_remainder(np.array([5, 3, 2]), 0.5, 5).tolist() == [3, 1, 1]


def test_ties_are_drawn_by_rng_reproducibly():
    sizes = np.array([5, 3, 2])
    winners = {
        int(np.argmax(largest_remainder(sizes, 0.5, 5, np.random.default_rng(seed)) - [2, 1, 1]))
        for seed in range(20)
    }
    assert winners == {0, 1}  # either tied group, never the one without a remainder
    first = largest_remainder(sizes, 0.5, 5, np.random.default_rng(7))
    assert np.array_equal(first, largest_remainder(sizes, 0.5, 5, np.random.default_rng(7)))


def test_one_extra_share_at_most_never_beyond_the_size_never_taken_back():
    # exact 0, 1.5, 2.0 -> floors 0, 1, 2; of the 3 shares left, the empty group cannot take
    # one and the others take one each
    assert largest_remainder(np.array([0, 3, 4]), 0.5, 6).tolist() == [0, 2, 3]
    # floors 1, 1 already exceed a total of 1: they stay
    assert largest_remainder(np.array([3, 3]), 0.5, 1).tolist() == [1, 1]
