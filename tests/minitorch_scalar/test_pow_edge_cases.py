"""a ** b where the textbook formulas break down, with PyTorch's conventions.

d/da = b * a^(b-1) and d/db = a^b * ln(a). PyTorch sets d/da = 0 where b == 0, d/db = 0
where a == 0 and b >= 0, and d/db = nan for a < 0 (ln undefined). The same numbers are
checked against torch itself in test_parity_torch.py.
"""

import math

import numpy as np
import pytest

from minitorch_scalar import Value, gradcheck

nan, inf = math.nan, math.inf

# (a, b, a ** b, d/da, d/db), each worked by hand
VALUE_EXPONENT = [
    (0.0, 0.0, 1.0, 0.0, 0.0),  # 0^0 = 1; both slopes 0 by convention
    (0.0, 2.0, 0.0, 0.0, 0.0),  # d/db = 0^2 ln 0 is 0 * -inf: taken as 0
    (0.0, 1.0, 0.0, 1.0, 0.0),  # a^1: slope 1 even at 0
    (0.0, 0.5, 0.0, inf, 0.0),  # sqrt: infinite slope at 0
    (2.0, 0.0, 1.0, 0.0, math.log(2.0)),
    (-2.0, 3.0, -8.0, 12.0, nan),  # negative base, integer exponent: ln(-2) undefined
    (-2.0, 2.0, 4.0, -4.0, nan),
    (-2.0, -1.0, -0.5, -0.25, nan),  # -1 * (-2)^-2
]


def _same(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-15)


@pytest.mark.parametrize(("a", "b", "value", "d_a", "d_b"), VALUE_EXPONENT)
def test_value_to_a_value_power(a, b, value, d_a, d_b) -> None:
    x, y = Value(a), Value(b)
    out = x**y
    out.backward()
    assert out.data == value
    assert _same(x.grad, d_a)
    assert _same(y.grad, d_b)


@pytest.mark.parametrize(("a", "b", "value", "d_a", "d_b"), VALUE_EXPONENT)
def test_value_to_a_number_power_has_the_same_base_slope(a, b, value, d_a, d_b) -> None:
    x = Value(a)
    out = x**b
    out.backward()
    assert (out.data, out.parents) == (value, (x,))
    assert _same(x.grad, d_a)


@pytest.mark.parametrize(("a", "b", "value", "d_b"), [(0.0, 0.0, 1.0, 0.0), (0.0, 3.0, 0.0, 0.0)])
def test_number_to_a_value_power_at_a_zero_base(a, b, value, d_b) -> None:
    y = Value(b)
    out = a**y
    out.backward()
    assert (out.data, y.grad) == (value, d_b)


def test_negative_base_with_an_integral_numpy_exponent() -> None:
    x = Value(-3.0)
    out = x ** np.int64(3)
    out.backward()
    assert (out.data, x.grad) == (-27.0, 27.0)


@pytest.mark.parametrize("a", [-1.5, -0.5])
@pytest.mark.parametrize("b", [2, 3, -2])
def test_negative_base_integer_exponent_passes_gradcheck(a: float, b: int) -> None:
    assert gradcheck(lambda x: x**b, [Value(a)])


@pytest.mark.parametrize(
    ("a", "b", "slope"),
    [
        (1e-250, -0.3, -inf),  # -0.3 * (1e-250)^-1.3: beyond the float range
        (-1e-160, -1.0, -inf),  # -1 * (-1e-160)^-2
        (-1e-110, -2.0, inf),  # -2 * (-1e-110)^-3
    ],
)
def test_a_base_slope_beyond_the_float_range_is_a_signed_infinity(a, b, slope) -> None:
    """The value a^b is finite; only b * a^(b-1) overflows: an infinite slope, no error."""
    x = Value(a)
    out = x**b
    assert math.isfinite(out.data)
    out.backward()
    assert x.grad == slope
