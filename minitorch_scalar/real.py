"""What counts as a real number here, for the whole project: one predicate, one conversion.

A real number is an int, a float, a numpy integer or floating scalar, a Fraction, a
Decimal... anything `numbers.Real` admits, except a bool: ``True + Value(1)`` is almost
always a mistake, and PyTorch refuses bools as tensor data for arithmetic too.

The engine's number edge cases live here too: a number in an op is a constant
(`as_constant`), and the seed of a backward is a real number or PyTorch's default
(`backward_seed`).
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


def as_constant(x: object, op: str) -> float | None:
    """`x` as a float if it may take part in `op` as a constant (a real number), else
    None: the other operand is not ours, and Python tries its reflected op.

    An op's Python numbers are constants: folded into its value and local derivatives,
    never nodes. ValueError (naming `op`) for an int beyond a float's range.
    """
    if type(x) is float:
        return x
    if not is_real_number(x):
        return None
    return as_float(x, f"{op} (the number operand)")


class _SeedOne(float):
    """The default seed of `Value.backward`, 1.0, told apart from a 1.0 passed in."""

    def __repr__(self) -> str:
        return "1.0"


SEED_ONE = _SeedOne(1.0)
"""`Value.backward`'s default seed: 1.0, and a sign that no seed was given."""


def backward_seed(grad: object, gradient: object) -> float:
    """The seed of a backward as a float: `grad`, or PyTorch's `gradient`, or 1.0.

    `grad` is SEED_ONE when not given; `gradient` None when not given (PyTorch's
    default, 1.0 for a scalar). TypeError when both are given, or for a seed that is
    not a real number (``grad=None`` too), naming the argument used; ValueError for an
    int beyond a float's range.
    """
    if grad is SEED_ONE:
        return 1.0 if gradient is None else as_float(gradient, "backward(gradient)")
    if gradient is not None:
        raise TypeError(
            "backward expects the seed as grad or as gradient (PyTorch's name), got both"
        )
    return as_float(grad, "backward(grad)")
