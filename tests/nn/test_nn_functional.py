"""nn.functional: activations keep the input's structure, linear takes a sample or a
batch, the losses reduce as PyTorch's; every bad argument is an error naming it."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch_scalar as ms
import nn
import nn.functional as F
from minitorch_scalar import Value

finite = st.floats(-30, 30, allow_nan=False)


@pytest.mark.parametrize(
    ("function", "method"),
    [(F.relu, Value.relu), (F.tanh, Value.tanh), (F.sigmoid, Value.sigmoid)],
)
@given(rows=st.lists(st.lists(finite, min_size=1, max_size=4), min_size=1, max_size=4))
def test_an_activation_is_the_values_op_on_every_number_keeping_the_structure(
    function, method, rows
):
    width = len(rows[0])
    rows = [(row * width)[:width] for row in rows]  # a rectangular batch
    batch = [[Value(x) for x in row] for row in rows]
    out = function(batch)
    assert [[v.data for v in row] for row in out] == [
        [method(Value(x)).data for x in row] for row in rows
    ]
    assert [v.data for v in function(batch[0])] == [v.data for v in out[0]]
    assert function(batch[0][0]).data == out[0][0].data
    assert function(rows[0][0]).data == out[0][0].data  # a number: a constant
    assert [v.data for v in function(np.array(rows[0]))] == [v.data for v in out[0]]


def test_the_activation_modules_are_the_functions():
    row = [Value(-1.0), Value(0.5)]
    for module, function in [(nn.ReLU, F.relu), (nn.Tanh, F.tanh), (nn.Sigmoid, F.sigmoid)]:
        assert [v.data for v in module()(row)] == [v.data for v in function(row)]
        assert repr(module()) == f"{module.__name__}()"
    assert nn.Identity(3, whatever=True)(row) is row


def test_linear_on_a_sample_and_on_a_batch_is_dot_per_row():
    weight = [[Value(1.0), Value(2.0)], [Value(-1.0), Value(0.5)], [Value(0.0), Value(3.0)]]
    bias = [Value(0.1), Value(0.2), Value(0.3)]
    x = [2.0, -1.0]
    out = F.linear(x, weight, bias)
    assert [v.data for v in out] == [ms.dot(w, x, b).data for w, b in zip(weight, bias)]
    assert [v.data for v in F.linear(x, weight)] == [ms.dot(w, x).data for w in weight]
    batch = F.linear(np.array([x, [0.5, 0.5]]), weight, bias)
    assert [v.data for v in batch[0]] == [v.data for v in out] and len(batch) == 2
    out[0].backward()
    assert [w.grad for w in weight[0]] == x and bias[0].grad == 1.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: F.relu("x"), TypeError, r"relu\(input\) expects a Value, a number"),
        (lambda: F.tanh([Value(1.0), None]), TypeError, "got NoneType"),
        (lambda: F.linear([1.0], Value(1.0)), TypeError, r"linear\(weight\) expects rows"),
        (lambda: F.linear([1.0], [Value(1.0)]), TypeError, "got Value at index 0"),
        (lambda: F.linear([1.0], [[Value(1.0)]], bias=2.0), TypeError, r"linear\(bias\)"),
        (lambda: F.linear([1.0, 2.0], [[Value(1.0)]]), ValueError, "rows of 2 weights"),
        (lambda: F.linear(["a"], [[Value(1.0)]]), TypeError, r"linear\(input\)"),
        (lambda: F.mse_loss([1.0], [1.0], reduction="max"), ValueError, "got 'max'"),
        (lambda: F.cross_entropy([[1.0]], [0], reduction=None), TypeError, "reduction"),
        (lambda: nn.MSELoss(reduction="avg"), ValueError, r"MSELoss\(reduction\)"),
    ],
)
def test_bad_arguments_are_errors_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    ("loss", "inputs", "target"),
    [
        (F.mse_loss, [0.5, -1.0, 2.0], [1.0, 0.0, 2.5]),
        (F.binary_cross_entropy_with_logits, [0.5, -1.0, 2.0], [1.0, 0.0, 0.25]),
        (F.cross_entropy, [[0.5, -1.0], [2.0, 0.0], [0.0, 0.0]], [0, 1, 1]),
    ],
)
def test_the_reductions_are_the_mean_the_sum_and_the_list_of_the_same_losses(
    loss, inputs, target
):
    each = loss(inputs, target, reduction="none")
    assert len(each) == 3 and all(isinstance(v, Value) for v in each)
    total = math.fsum(v.data for v in each)
    assert loss(inputs, target, reduction="sum").data == pytest.approx(total, rel=1e-15)
    assert loss(inputs, target).data == pytest.approx(total / 3, rel=1e-15)


def test_backward_takes_pytorchs_gradient_keyword_as_grad():
    for call in ({"gradient": 3.0}, {"grad": 3.0}, {}):
        x = Value(2.0)
        (x * x).backward(**call)
        assert x.grad == 4.0 * call.get("gradient", call.get("grad", 1.0))
    x = Value(2.0)
    (x * x).backward(gradient=None)  # PyTorch's default: 1 for a scalar
    assert x.grad == 4.0
    with pytest.raises(TypeError, match="got both"):
        (Value(1.0) * 2).backward(1.0, gradient=2.0)
    with pytest.raises(TypeError, match=r"backward\(gradient\) expects a real number"):
        (Value(1.0) * 2).backward(gradient="1")


def test_a_compiled_output_takes_the_gradient_keyword_too():
    w = Value(3.0)
    step = ms.compile(lambda x: w * x)
    step(2.0)
    out = step(2.0)  # a replay
    out.backward(gradient=0.5)
    assert w.grad == 1.0
