"""One message format for a bad parameter, whatever the rule and the owner."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hexagan_core.validation import Interval, check_param, check_params, describe


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (Interval("int", 1), "an int in the range [1, inf)"),
        (Interval("int", 10, allow_none=True), "an int in the range [10, inf) or None"),
        (Interval("float", 0.0, 1.0, closed="left"), "a float in the range [0.0, 1.0)"),
        (Interval("float", 0, 1, closed="neither"), "a float in the range (0, 1)"),
        (Interval("float", 1e-12, 1), "a float in the range [1e-12, 1]"),
        (("mcar", "mar"), "one of 'mcar', 'mar'"),
    ],
)
def test_describe_prints_the_ends_as_given(rule, text):
    assert describe(rule) == text


def test_kinds_refuse_booleans_and_ints_refuse_floats():
    ints, floats = Interval("int", 0), Interval("float", 0)
    assert ints.accepts(3) and ints.accepts(np.int64(3))
    assert not ints.accepts(3.0) and not ints.accepts(True) and not ints.accepts(None)
    assert floats.accepts(3) and floats.accepts(np.float32(0.5))
    assert not floats.accepts(True) and not floats.accepts("0.5") and not floats.accepts(math.nan)


@pytest.mark.parametrize(
    ("closed", "takes_low", "takes_high"),
    [
        ("both", True, True),
        ("left", True, False),
        ("right", False, True),
        ("neither", False, False),
    ],
)
def test_closed_says_which_ends_belong(closed, takes_low, takes_high):
    unit = Interval("float", 0, 1, closed=closed)
    assert (unit.accepts(0), unit.accepts(0.5), unit.accepts(1)) == (takes_low, True, takes_high)


def test_an_infinite_end_prints_open_but_closed_decides_about_inf():
    assert str(Interval("float", 0)) == str(Interval("float", 0, closed="left"))
    assert Interval("float", 0).accepts(math.inf)
    assert not Interval("float", 1.0, closed="left").accepts(math.inf)


def test_check_param_returns_the_value_or_names_everything():
    optional = Interval("int", 1, allow_none=True)
    assert check_param(None, "max_rows", "load_builtin", optional) is None
    assert check_param(7, "max_rows", "load_builtin", optional) == 7
    with pytest.raises(ValueError) as error:
        check_param(0, "n_neighbors", "KNNImputer", Interval("int", 1))
    assert str(error.value) == (
        "The 'n_neighbors' parameter of KNNImputer must be an int in the range [1, inf). "
        "Got 0 instead."
    )
    with pytest.raises(ValueError, match=r"of prepare must be one of 'mcar', 'mar'\. Got 'MCAR'"):
        check_param("MCAR", "mechanism", "prepare", ("mcar", "mar"))


class _Owner:
    def __init__(self, size: int, method: str) -> None:
        self.size, self.method = size, method


def test_check_params_names_the_class_and_the_first_bad_parameter():
    table = {"size": Interval("int", 1), "method": ("a", "b")}
    check_params(_Owner(1, "a"), table)
    with pytest.raises(ValueError, match=r"^The 'size' parameter of _Owner .* Got 0 instead\.$"):
        check_params(_Owner(0, "c"), table)
    with pytest.raises(ValueError, match=r"^The 'method' parameter of _Owner .* Got 'c' instead"):
        check_params(_Owner(1, "c"), table)
