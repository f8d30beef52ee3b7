"""Parameter checks that refuse a bad value in scikit-learn's one message format.

    The 'n_neighbors' parameter of KNNImputer must be an int in the range [1, inf). Got 0 instead.

The message names the parameter, its owner (a class or a function), what is allowed and the bad
value. A rule is an `Interval` of numbers, a tuple of the allowed options, or `Matches` (strings
that pass a test, for a family no tuple can list, such as 'cuda:N'). `check_param`
applies one rule to one value; `check_params` applies a table of rules to an object's attributes,
as scikit-learn's `_parameter_constraints` do. A check that no rule expresses (one that depends on
the data) raises `parameter_error` itself, so its message keeps the same shape.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Interval", "Matches", "Rule", "check_param", "check_params", "describe",
           "parameter_error"]


@dataclass(frozen=True)
class Interval:
    """Numbers of one kind between `low` and `high`.

    Parameters
    ----------
    kind : {"int", "float"}
        "int" accepts integers only; "float" accepts every real number, integers included.
        Booleans are neither.
    low, high : float
        The ends, printed as given: ``Interval("float", 0.0, 1.0)`` reads "[0.0, 1.0]" and
        ``Interval("float", 0, 1)`` reads "[0, 1]".
    closed : {"both", "left", "right", "neither"}, default="both"
        Which ends belong to the range. An infinite end is always printed open ("inf)"), but with
        "both" or "right" the value inf itself is accepted.
    allow_none : bool, default=False
        Whether None is accepted too.
    """

    kind: str
    low: float
    high: float = math.inf
    closed: str = "both"
    allow_none: bool = False

    def accepts(self, value: Any) -> bool:
        """Whether `value` is a number of this kind inside the range (or an allowed None)."""
        if value is None:
            return self.allow_none
        kind = numbers.Integral if self.kind == "int" else numbers.Real
        if not isinstance(value, kind) or isinstance(value, bool):
            return False
        above = self.low <= value if self.closed in ("both", "left") else self.low < value
        below = value <= self.high if self.closed in ("both", "right") else value < self.high
        return above and below

    def __str__(self) -> str:
        noun = "an int" if self.kind == "int" else "a float"
        opening = "[" if self.closed in ("both", "left") else "("
        right_closed = self.closed in ("both", "right") and math.isfinite(self.high)
        closing = "]" if right_closed else ")"
        text = f"{noun} in the range {opening}{self.low}, {self.high}{closing}"
        return f"{text} or None" if self.allow_none else text


@dataclass(frozen=True)
class Matches:
    """Strings that `test` accepts, described in the message as `description`."""

    test: Callable[[str], bool]
    description: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and self.test(value)

    def __str__(self) -> str:
        return self.description


Rule = Interval | Matches | tuple[str, ...]
"""An `Interval`, `Matches`, or the tuple of the allowed options."""


def describe(rule: Rule) -> str:
    """What `rule` allows, as the message says it: "an int in the range ..." or "one of ..."."""
    if isinstance(rule, (Interval, Matches)):
        return str(rule)
    return "one of " + ", ".join(repr(option) for option in rule)


def parameter_error(name: str, owner: str, allowed: str, value: Any) -> ValueError:
    """The ValueError for parameter `name` of `owner`, which must be `allowed` but is `value`."""
    return ValueError(
        f"The '{name}' parameter of {owner} must be {allowed}. Got {value!r} instead."
    )


def check_param(value: Any, name: str, owner: str, rule: Rule) -> Any:
    """Return `value` if `rule` accepts it; else raise `parameter_error`."""
    accepted = rule.accepts(value) if isinstance(rule, (Interval, Matches)) else value in rule
    if not accepted:
        raise parameter_error(name, owner, describe(rule), value)
    return value


def check_params(owner: object, constraints: Mapping[str, Rule]) -> None:
    """Check each attribute of `owner` named in `constraints`, in order; the first bad one raises.

    The message names ``type(owner).__name__`` as the owner.
    """
    for name, rule in constraints.items():
        check_param(getattr(owner, name), name, type(owner).__name__, rule)
