"""What counts as a real number here, for the whole project: one predicate, one conversion.

A real number is an int, a float, a numpy integer or floating scalar, a Fraction, a
Decimal... anything `numbers.Real` admits, except a bool: ``True + Value(1)`` is almost
always a mistake, and PyTorch refuses bools as tensor data for arithmetic too.
"""

from __future__ import annotations

import numbers

_PLAIN = (float, int)  # checked by type first: the common case, and the fast one


def is_real_number(x: object) -> bool:
    """True for a real number that is not a bool."""
    if type(x) in _PLAIN:
        return True
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def is_integer(x: object) -> bool:
    """True for an integer (int, numpy integer) that is not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def as_float(x: object, what: str) -> float:
    """`x` as a Python float, or an error naming `what`, what it expects and what came.

    TypeError for anything that is not a real number; ValueError for an int too large
    for a float (``10**400``), where Python's own message would not say which argument.
    """
    if type(x) is float:
        return x
    if not is_real_number(x):
        raise TypeError(
            f"{what} expects a real number (int or float), got {type(x).__name__}: {x!r}"
        )
    try:
        return float(x)
    except OverflowError:
        raise ValueError(
            f"{what} expects a real number within a float's range (about 1.8e308), "
            f"got an int of {int(x).bit_length()} bits"
        ) from None
