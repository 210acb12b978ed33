"""Every op's value and gradient: closed form, central differences, node structure.

Driven by the table in `scalar_op_table`: each binary op in its Value-Value,
Value-number and number-Value forms, each unary op, at a few points.
"""

import math

import numpy as np
import pytest
from scalar_op_table import BINARY_OPS, OP_CASES, OpCase

from minitorch_scalar import Value, gradcheck

CLOSE = {"rel": 1e-12, "abs": 1e-15}


def _leaves(case: OpCase) -> list[Value]:
    return [Value(a) for a in case.args]


@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_value_and_gradient_match_closed_form(case: OpCase) -> None:
    leaves = _leaves(case)
    out = case.fn(*leaves)
    assert type(out) is Value
    assert out.data == pytest.approx(case.value, **CLOSE)
    out.backward()
    assert [x.grad for x in leaves] == pytest.approx(list(case.grads), **CLOSE)


@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_gradient_matches_central_differences(case: OpCase) -> None:
    assert gradcheck(case.fn, _leaves(case)) is True


@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_node_records_op_and_only_value_parents(case: OpCase) -> None:
    leaves = _leaves(case)
    out = case.fn(*leaves)
    assert out.op == case.op
    assert out.parents == tuple(leaves)  # numbers are folded, never parents
    assert all(type(p) is Value for p in out.parents)


@pytest.mark.parametrize("seed", [3.0, -0.5])
@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_backward_seed_scales_every_gradient(case: OpCase, seed: float) -> None:
    leaves = _leaves(case)
    case.fn(*leaves).backward(seed)
    expected = [seed * g for g in case.grads]
    assert [x.grad for x in leaves] == pytest.approx(expected, **CLOSE)


NUMPY_CONSTANTS = [np.float64, np.float32, np.int64]


@pytest.mark.parametrize("to_numpy", NUMPY_CONSTANTS, ids=lambda t: t.__name__)
@pytest.mark.parametrize("spec", BINARY_OPS, ids=lambda s: s.name)
def test_numpy_scalar_constants_on_either_side_act_as_floats(spec, to_numpy) -> None:
    """np.float64(2) * v must be a Value (not a numpy array), equal to 2.0 * v."""
    for a, b in spec.points:
        if to_numpy is np.int64 and not (a.is_integer() and b.is_integer()):
            continue
        x, y = Value(a), Value(b)
        for out, reference, parent in (
            (spec.apply(x, to_numpy(b)), spec.apply(Value(a), b), x),
            (spec.apply(to_numpy(a), y), spec.apply(a, Value(b)), y),
        ):
            assert type(out) is Value
            assert out.data == reference.data
            assert out.parents == (parent,)
            out.backward()
            reference.backward()
            assert parent.grad == reference.parents[0].grad


# Worked by hand, as a check on the closed-form table itself.
HAND_WORKED = [
    # (expression, operands, value, gradients)
    ("a + b", lambda a, b: a + b, (2.0, 3.0), 5.0, (1.0, 1.0)),
    ("a - b", lambda a, b: a - b, (2.0, 3.0), -1.0, (1.0, -1.0)),
    ("a * b", lambda a, b: a * b, (2.0, 3.0), 6.0, (3.0, 2.0)),
    ("a / b", lambda a, b: a / b, (3.0, 4.0), 0.75, (0.25, -3.0 / 16.0)),
    ("a ** 3", lambda a: a**3, (2.0,), 8.0, (12.0,)),
    ("a ** -1", lambda a: a**-1, (4.0,), 0.25, (-1.0 / 16.0,)),
    ("a ** b", lambda a, b: a**b, (2.0, 3.0), 8.0, (12.0, 8.0 * math.log(2.0))),
    ("2 ** b", lambda b: 2**b, (3.0,), 8.0, (8.0 * math.log(2.0),)),
    ("10 - a", lambda a: 10 - a, (4.0,), 6.0, (-1.0,)),
    ("1 / a", lambda a: 1 / a, (4.0,), 0.25, (-1.0 / 16.0,)),
    ("-a", lambda a: -a, (4.0,), -4.0, (-1.0,)),
    ("relu(a)", lambda a: a.relu(), (-4.0,), 0.0, (0.0,)),
    ("exp(0)", lambda a: a.exp(), (0.0,), 1.0, (1.0,)),
    ("log(1)", lambda a: a.log(), (1.0,), 0.0, (1.0,)),
    ("tanh(0)", lambda a: a.tanh(), (0.0,), 0.0, (1.0,)),
    ("sigmoid(0)", lambda a: a.sigmoid(), (0.0,), 0.5, (0.25,)),
]


@pytest.mark.parametrize(
    ("fn", "args", "value", "grads"),
    [row[1:] for row in HAND_WORKED],
    ids=[r[0] for r in HAND_WORKED],
)
def test_hand_worked_values_and_gradients(fn, args, value, grads) -> None:
    leaves = [Value(a) for a in args]
    out = fn(*leaves)
    assert out.data == pytest.approx(value, rel=1e-15)
    out.backward()
    assert [x.grad for x in leaves] == pytest.approx(list(grads), rel=1e-15)


def test_relu_derivative_at_zero_is_zero_as_pytorch() -> None:
    x = Value(0.0)
    y = x.relu()
    y.backward()
    assert (y.data, x.grad) == (0.0, 0.0)


@pytest.mark.parametrize("a", [1000.0, -1000.0, 745.5, -745.5, 1e308, -1e308])
def test_sigmoid_is_finite_for_large_inputs(a: float) -> None:
    x = Value(a)
    y = x.sigmoid()
    y.backward()
    assert y.data == (1.0 if a > 0 else 0.0)
    assert math.isfinite(x.grad) and x.grad == 0.0  # s(1 - s) underflows to 0


def test_sigmoid_tail_keeps_precision_for_negative_inputs() -> None:
    """s(-30) = e^-30 / (1 + e^-30): no 1 - (1 - tiny) cancellation."""
    y = Value(-30.0).sigmoid()
    assert y.data == pytest.approx(math.exp(-30.0) / (1.0 + math.exp(-30.0)), rel=1e-14)


SAME_OPERAND = [
    # (expression, its derivative at x = 1.5)
    ("x+x", lambda x: x + x, 2.0),
    ("x*x", lambda x: x * x, 3.0),
    ("x-x", lambda x: x - x, 0.0),
    ("x/x", lambda x: x / x, 0.0),
    ("x**x", lambda x: x**x, 1.5**1.5 * (math.log(1.5) + 1.0)),  # d/dx e^(x ln x)
]


@pytest.mark.parametrize(
    ("expression", "slope"), [row[1:] for row in SAME_OPERAND], ids=[r[0] for r in SAME_OPERAND]
)
def test_an_op_with_the_same_value_on_both_sides_sums_both_paths(expression, slope) -> None:
    x = Value(1.5)
    y = expression(x)
    assert y.parents == (x, x)
    y.backward()
    assert x.grad == pytest.approx(slope, rel=1e-14, abs=1e-15)
    assert gradcheck(expression, [Value(1.5)])
