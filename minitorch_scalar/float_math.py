"""The ops' functions on floats, with PyTorch's answers where Python's `math` raises or
differs: e^a is inf where it overflows, a power that overflows is +-inf, and a division
by zero or the log of a non-positive number raises an error naming its operands.

The engine's ops (`engine.Value`) and the compiler's rules (`compiler.rules`) both call
these functions, so that both give the same bits for the same operands.
"""

from __future__ import annotations

import math


def float_divide(numerator: float, divisor: float) -> float:
    """numerator / divisor; a ZeroDivisionError naming both for a divisor of 0."""
    if divisor == 0.0:
        raise ZeroDivisionError(f"division: {numerator!r} / {divisor!r} divides by zero")
    return numerator / divisor


def float_exp(a: float) -> float:
    """e^a, inf where it overflows (as PyTorch, where Python's math.exp raises)."""
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def float_log(a: float) -> float:
    """ln(a); a ValueError naming the operand where it is not positive (nan gives nan)."""
    if a <= 0.0:
        raise ValueError(f"log: expected a positive operand, got {a!r}")
    return math.log(a)


def float_sigmoid(a: float) -> float:
    """1 / (1 + e^-a) without overflow for any a: the e^... taken is of -|a|, at most 1."""
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)  # also nan for a nan
    return e / (1.0 + e)


def float_power(base: float, exponent: float) -> float:
    """base ** exponent: +-inf where it overflows, a clear error where it has no value."""
    if base == 0.0 and exponent < 0.0:
        raise ZeroDivisionError(f"pow: {base!r} ** {exponent!r} divides by zero")
    if base < 0.0 and math.isfinite(exponent) and not exponent.is_integer():
        raise ValueError(f"pow: {base!r} ** {exponent!r} is not a real number")
    try:
        return base**exponent
    except OverflowError:
        return math.copysign(math.inf, base if _is_odd_integer(exponent) else 1.0)


def d_power_d_base(a: float, b: float) -> float:
    """d(a^b)/da = b * a^(b-1); 0 for b == 0 and +-inf at a == 0 for 0 < b < 1."""
    if b == 0.0:
        return 0.0
    if a == 0.0 and b < 1.0:
        return math.inf
    return b * float_power(a, b - 1.0)


def d_power_d_exponent(a: float, b: float, a_pow_b: float) -> float:
    """d(a^b)/db = a^b * ln(a); 0 where a == 0 and b >= 0, nan where a < 0."""
    if a > 0.0:
        return a_pow_b * math.log(a)
    if a == 0.0 and b >= 0.0:
        return 0.0
    return math.nan


def _is_odd_integer(x: float) -> bool:
    """True for an odd integer (a float: 3.0), not for inf or nan."""
    return math.isfinite(x) and x.is_integer() and x % 2.0 == 1.0
