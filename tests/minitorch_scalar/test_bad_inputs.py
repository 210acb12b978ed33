"""Every bad input: the exception type, and a message naming the op/argument and what was given."""

import operator

import numpy as np
import pytest

import minitorch_scalar as ms
from minitorch_scalar import Value

NOT_REAL_NUMBERS = [
    (True, "bool"),
    (np.bool_(False), "bool"),
    ("1.0", "str"),
    (None, "NoneType"),
    (1 + 2j, "complex"),
    (np.complex128(1.0), "complex128"),
    ([1.0], "list"),
    ((1.0,), "tuple"),
    ({"data": 1.0}, "dict"),
    (Value(1.0), "Value"),
]


@pytest.mark.parametrize(("given", "type_name"), NOT_REAL_NUMBERS, ids=lambda x: repr(x))
def test_value_rejects_what_is_not_a_real_number(given, type_name: str) -> None:
    with pytest.raises(TypeError) as info:
        Value(given)
    message = str(info.value)
    assert "Value(data)" in message
    assert type_name in message
    assert repr(given) in message


def test_value_rejects_a_label_that_is_not_a_string() -> None:
    with pytest.raises(TypeError, match=r"Value\(label\).*int: 7"):
        Value(1.0, label=7)


@pytest.mark.parametrize(("given", "type_name"), [(True, "bool"), ("3", "str"), (None, "NoneType")])
def test_backward_rejects_a_seed_that_is_not_a_real_number(given, type_name: str) -> None:
    y = Value(2.0) * 3
    with pytest.raises(TypeError, match=rf"backward\(grad\).*{type_name}"):
        y.backward(given)


BINARY_OPERATORS = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.pow,
]
UNSUPPORTED = ["a string", [1.0, 2.0], None, {"k": 1}, np.array([1.0, 2.0])]


@pytest.mark.parametrize("other", UNSUPPORTED, ids=lambda x: type(x).__name__)
@pytest.mark.parametrize("op", BINARY_OPERATORS, ids=lambda f: f.__name__)
def test_mixing_an_unsupported_type_raises_type_error_on_either_side(op, other) -> None:
    v = Value(2.0)
    for left, right in ((v, other), (other, v)):
        with pytest.raises(TypeError) as info:
            op(left, right)
        if not isinstance(other, np.ndarray):  # numpy words its own message
            assert "Value" in str(info.value)  # Python's message names the operand types


# (expression, exception, fragments the message must contain: the op and the operands).
# What overflows is not an error but +-inf, as in PyTorch: test_overflow_and_nan.py.
MATH_ERRORS = [
    ("Value(1) / 0", lambda: Value(1.0) / 0, ZeroDivisionError, ["1.0 / 0.0", "zero"]),
    ("Value / Value(0)", lambda: Value(-2.0) / Value(0.0), ZeroDivisionError, ["-2.0 / 0.0"]),
    ("1 / Value(0)", lambda: 1 / Value(0.0), ZeroDivisionError, ["1.0 / 0.0"]),
    ("log(0)", lambda: Value(0.0).log(), ValueError, ["log", "0.0", "positive"]),
    ("log(-1)", lambda: Value(-1.0).log(), ValueError, ["log", "-1.0", "positive"]),
    ("0 ** -1", lambda: Value(0.0) ** -1, ZeroDivisionError, ["pow", "0.0 ** -1.0"]),
    (
        "0 ** Value(-2)",
        lambda: Value(0.0) ** Value(-2.0),
        ZeroDivisionError,
        ["pow", "0.0 ** -2.0"],
    ),
    ("0 ** -0.5 (rpow)", lambda: 0 ** Value(-0.5), ZeroDivisionError, ["pow", "0.0 ** -0.5"]),
    ("-8 ** (1/3)", lambda: Value(-8.0) ** (1 / 3), ValueError, ["pow", "-8.0 **", "real"]),
    ("-8 ** Value(0.5)", lambda: Value(-8.0) ** Value(0.5), ValueError, ["pow", "-8.0 ** 0.5"]),
    ("(-2) ** Value(0.5)", lambda: (-2) ** Value(0.5), ValueError, ["pow", "-2.0 ** 0.5"]),
]


@pytest.mark.parametrize(
    ("expression", "error", "fragments"),
    [row[1:] for row in MATH_ERRORS],
    ids=[row[0] for row in MATH_ERRORS],
)
def test_math_errors_name_the_op_and_the_operands(expression, error, fragments) -> None:
    with pytest.raises(error) as info:
        expression()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message


def test_a_failed_op_leaves_its_operands_untouched() -> None:
    a = Value(0.0)
    b = a * 2
    with pytest.raises(ValueError):
        b.log()
    b.backward()  # the graph is exactly what it was before
    assert (a.grad, b.op, b.parents) == (2.0, "*", (a,))


# (call, exception, fragments: the op, the argument, what was given)
FUSED_ERRORS = [
    ("sum item", lambda: ms.sum([Value(1.0), "x"]), TypeError, ["sum", "values[1]", "str"]),
    ("sum bool", lambda: ms.sum([True]), TypeError, ["sum", "values[0]", "bool"]),
    ("sum None", lambda: ms.sum([Value(1.0), None]), TypeError, ["sum", "values[1]", "NoneType"]),
    (
        "sum start",
        lambda: ms.sum([Value(1.0)], start=None),
        TypeError,
        ["sum", "start", "NoneType"],
    ),
    (
        "dot lengths",
        lambda: ms.dot([Value(1.0)] * 3, [1.0, 2.0]),
        ValueError,
        ["dot", "3 weights", "2 inputs"],
    ),
    (
        "dot weight",
        lambda: ms.dot([Value(1.0), "w"], [1.0, 2.0]),
        TypeError,
        ["dot", "weights[1]", "str"],
    ),
    (
        "dot input (Value weights)",
        lambda: ms.dot([Value(1.0), Value(2.0)], [1.0, "x"]),
        TypeError,
        ["dot", "inputs[1]", "str"],
    ),
    (
        "dot input bool",
        lambda: ms.dot([Value(1.0)], [True]),
        TypeError,
        ["dot", "inputs[0]", "bool"],
    ),
    (
        "dot input bool (Value bias)",
        lambda: ms.dot([Value(1.0), Value(2.0)], [1.0, False], bias=Value(0.0)),
        TypeError,
        ["dot", "inputs[1]", "bool"],
    ),
    (
        "dot input (number weights)",
        lambda: ms.dot([1.0], [None]),
        TypeError,
        ["dot", "inputs[0]", "NoneType"],
    ),
    (
        "dot weight (Value bias)",
        lambda: ms.dot([Value(1.0), None], [Value(2.0), Value(3.0)], bias=Value(0.0)),
        TypeError,
        ["dot", "weights[1]", "NoneType"],
    ),
    (
        "dot input (Value bias)",
        lambda: ms.dot([Value(1.0), Value(2.0)], [Value(2.0), None], bias=Value(0.0)),
        TypeError,
        ["dot", "inputs[1]", "NoneType"],
    ),
    (
        "dot bias",
        lambda: ms.dot([Value(1.0)], [2.0], bias="b"),
        TypeError,
        ["dot", "bias", "str"],
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "fragments"),
    [row[1:] for row in FUSED_ERRORS],
    ids=[row[0] for row in FUSED_ERRORS],
)
def test_fused_op_errors_name_the_op_the_argument_and_what_was_given(
    call, error, fragments
) -> None:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
