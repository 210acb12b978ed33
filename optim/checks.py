"""The checks every optimizer and scheduler argument goes through.

Each returns the value to keep (a float, an int, a bool) or raises an error that names
the argument, says what was expected and shows what was given: TypeError for the wrong
type, ValueError for the wrong value. Real numbers are the project's own
(`minitorch_scalar.is_real_number`, `as_float`): not bools, ints within a float's range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from minitorch_scalar import as_float, is_integer

Check = Callable[[object, str], Any]  # (value, its name) -> the value to keep, or raise


def option_name(where: str, key: str) -> str:
    """How an error names option `key` of the group `where`: ``param_groups[1]['lr']``,
    or just ``lr`` for a constructor's argument (`where` empty)."""
    return f"{where}[{key!r}]" if where else key


def real_number(value: object, name: str) -> float:
    """`value` as a float that is not nan; TypeError or ValueError naming `name` otherwise."""
    number = as_float(value, name)
    if math.isnan(number):
        raise ValueError(f"{name} expects a number, got nan")
    return number


def nonnegative_number(value: object, name: str) -> float:
    """`value` as a float >= 0; TypeError or ValueError naming `name` otherwise (nan too)."""
    number = as_float(value, name)
    if not number >= 0.0:
        raise ValueError(f"{name} expects a number >= 0, got {value!r}")
    return number


def finite_number(value: object, name: str) -> float:
    """`value` as a finite float; TypeError or ValueError naming `name` otherwise."""
    number = as_float(value, name)
    if not math.isfinite(number):
        raise ValueError(f"{name} expects a finite number, got {value!r}")
    return number


def finite_nonnegative_number(value: object, name: str) -> float:
    """`value` as a finite float >= 0; TypeError or ValueError naming `name` otherwise."""
    number = finite_number(value, name)
    if number < 0.0:
        raise ValueError(f"{name} expects a finite number >= 0, got {value!r}")
    return number


def integer_at_least(least: int) -> Check:
    """A check: the value as an int >= `least` (not a bool, not a float)."""

    def check(value: object, name: str) -> int:
        if not is_integer(value):
            raise TypeError(f"{name} expects an int, got {type(value).__name__}: {value!r}")
        if value < least:
            raise ValueError(f"{name} expects an int >= {least}, got {value!r}")
        return int(value)

    return check


def flag(value: object, name: str) -> bool:
    """`value` if it is True or False; TypeError naming `name` otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} expects True or False, got {type(value).__name__}: {value!r}")
    return value


def require_keys(
    mapping: Mapping, expected: Iterable[str], name: str, optional: Iterable[str] = ()
) -> None:
    """ValueError naming `name` and the keys unless `mapping` has every key of `expected`
    and no key outside `expected` and `optional`."""
    expected, optional = list(expected), list(optional)
    missing = [key for key in expected if key not in mapping]
    unexpected = [key for key in mapping if key not in expected and key not in optional]
    if missing or unexpected:
        allowed = f" (and optionally {optional})" if optional else ""
        raise ValueError(
            f"{name} keys: missing {missing}, unexpected {unexpected}; "
            f"expected exactly {expected}{allowed}"
        )


def checked_mapping(
    value: object, checks: Mapping[str, Check], name: str, optional: Mapping[str, Check] = {}
) -> dict[str, Any]:
    """`value`, a mapping with every key of `checks` and maybe some of `optional`, each
    value through its check.

    TypeError if it is not a mapping, ValueError for missing or unexpected keys; the
    checks name each value ``name['key']``.
    """
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} expects a mapping (dict), got {type(value).__name__}")
    require_keys(value, checks, name, optional=optional)
    every = {**checks, **{key: check for key, check in optional.items() if key in value}}
    return {key: check(value[key], f"{name}[{key!r}]") for key, check in every.items()}
