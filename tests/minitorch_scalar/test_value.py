"""Value as an object: construction, attributes, conversions, repr, identity, detach."""

from fractions import Fraction

import numpy as np
import pytest

from minitorch_scalar import Value

REAL_NUMBERS = [
    (3, 3.0),
    (-2.5, -2.5),
    (np.float64(0.125), 0.125),
    (np.float32(0.1), float(np.float32(0.1))),
    (np.int64(-7), -7.0),
    (np.int8(5), 5.0),
    (Fraction(1, 4), 0.25),
]


@pytest.mark.parametrize(("given", "stored"), REAL_NUMBERS, ids=lambda x: type(x).__name__)
def test_data_is_stored_as_a_python_float(given, stored: float) -> None:
    v = Value(given)
    assert type(v.data) is float
    assert v.data == stored


def test_a_new_value_is_a_leaf_with_zero_grad() -> None:
    v = Value(2.0, label="w")
    assert (v.data, v.grad, v.label, v.op, v.parents) == (2.0, 0.0, "w", "", ())
    assert Value(1.0).label == ""


def test_float_and_item_give_data() -> None:
    v = Value(-1.25)
    assert float(v) == -1.25
    assert v.item() == -1.25
    assert type(v.item()) is float


def test_an_op_node_knows_its_op_parents_and_local_derivatives() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    assert (c.op, c.parents, c.local_grads) == ("*", (a, b), (-3.0, 2.0))


def test_repr_shows_data_grad_and_only_the_non_empty_op_and_label() -> None:
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(2.0, label="x")) == "Value(data=2.0, grad=0.0, label='x')"
    y = Value(2.0) + 1
    y.backward()
    assert repr(y) == "Value(data=3.0, grad=1.0, op='+')"


def test_values_hash_and_compare_by_identity() -> None:
    a, b = Value(1.0), Value(1.0)
    assert a == a
    assert a != b  # same data, different nodes
    assert len({a, b, a}) == 2
    table = {a: "a", b: "b"}
    assert (table[a], table[b]) == ("a", "b")


def test_detach_is_a_new_leaf_with_the_same_data_that_blocks_gradient() -> None:
    x = Value(3.0)
    y = x * 2
    d = y.detach()
    assert d is not y
    assert (d.data, d.grad, d.op, d.parents) == (6.0, 0.0, "", ())
    (d * 5).backward()
    assert d.grad == 5.0
    assert x.grad == 0.0  # nothing flows through the cut
    assert y.parents == (x,)  # the original node keeps its graph
