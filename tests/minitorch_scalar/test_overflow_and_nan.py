"""Edges of floating point, as PyTorch has them: what overflows is +-inf, nan flows
through every op, and a representable value or derivative is computed, never raised."""

import math

import pytest

import minitorch_scalar as ms
from minitorch_scalar import Value

NAN = math.nan


def value_and_grads(op, *data):
    """op's value and each operand's gradient, with Values made from `data`."""
    xs = [Value(d) for d in data]
    out = op(*xs)
    out.backward()
    return out.data, [x.grad for x in xs]


# ------------------------------------------------- overflow and underflow, not errors

# (name, op, operands, value, gradients): PyTorch's float64 answers, written out
OVERFLOWS = [
    ("tiny divisor", lambda a, b: a / b, (1.0, 1e-200), 1e200, [1e200, -math.inf]),
    ("tiny divisor, negative", lambda a, b: a / b, (-1.0, 1e-200), -1e200, [1e200, math.inf]),
    ("subnormal divisor", lambda a, b: a / b, (1.0, 5e-324), math.inf, [math.inf, -math.inf]),
    ("number over tiny", lambda a: 1.0 / a, (1e-200,), 1e200, [-math.inf]),
    ("tiny over number", lambda a: a / 1e-200, (1.0,), 1e200, [1e200]),
    ("exp overflows", lambda a: a.exp(), (1000.0,), math.inf, [math.inf]),
    ("exp underflows", lambda a: a.exp(), (-1000.0,), 0.0, [0.0]),
    ("pow overflows", lambda a: a**1000, (10.0,), math.inf, [math.inf]),
    ("odd pow of a negative overflows", lambda a: a**1001, (-10.0,), -math.inf, [math.inf]),
    ("rpow overflows", lambda a: 2.0**a, (5000.0,), math.inf, [math.inf]),
    ("slope of a tiny base's negative power", lambda a: a**-2, (1e-150,), 1e300, [-math.inf]),
    ("tiny base squared underflows", lambda a: a**2, (1e-200,), 0.0, [2e-200]),
    ("sigmoid far left", lambda a: a.sigmoid(), (-1000.0,), 0.0, [0.0]),
    ("sigmoid far right", lambda a: a.sigmoid(), (1000.0,), 1.0, [0.0]),
    ("tanh far out", lambda a: a.tanh(), (1000.0,), 1.0, [0.0]),
    ("log of a subnormal", lambda a: a.log(), (5e-324,), math.log(5e-324), [math.inf]),
]


@pytest.mark.parametrize(
    ("op", "operands", "value", "grads"),
    [row[1:] for row in OVERFLOWS],
    ids=[row[0] for row in OVERFLOWS],
)
def test_what_overflows_is_inf_and_what_is_representable_is_computed(op, operands, value, grads):
    assert value_and_grads(op, *operands) == (value, grads)


@pytest.mark.parametrize(
    ("op", "operands"), [row[1:3] for row in OVERFLOWS], ids=[row[0] for row in OVERFLOWS]
)
def test_the_edges_agree_with_pytorch(op, operands) -> None:
    torch = pytest.importorskip("torch")
    ours = value_and_grads(op, *operands)
    xs = [torch.tensor(d, dtype=torch.float64, requires_grad=True) for d in operands]
    out = op(*xs)
    out.backward()
    theirs = [out.item(), *(x.grad.item() for x in xs)]
    # pow comes from two libms: the last bit of a finite power may differ
    assert [ours[0], *ours[1]] == pytest.approx(theirs, rel=4e-16, abs=0.0)


# ---------------------------------------------------------------- nan flows through

UNARY = {
    "neg": lambda a: -a,
    "relu": lambda a: a.relu(),
    "tanh": lambda a: a.tanh(),
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "sigmoid": lambda a: a.sigmoid(),
    "add": lambda a: a + 1.0,
    "rsub": lambda a: 1.0 - a,
    "mul": lambda a: a * 2.0,
    "div": lambda a: a / 2.0,
    "rdiv": lambda a: 2.0 / a,
    "pow": lambda a: a**2,
    "pow of a negative base": lambda a: Value(-2.0) ** a,
    "rpow": lambda a: 2.0**a,
    "sum": lambda a: ms.sum([1.0, a]),
    "dot": lambda a: ms.dot([a, Value(1.0)], [1.0, 2.0], 0.5),
    "linear_batch": lambda a: ms.linear_batch([[Value(1.0)]], [[a], [a]])[1][0],
    "max": lambda a: ms.max([Value(1.0), a]),
}


@pytest.mark.parametrize("op", UNARY.values(), ids=UNARY.keys())
def test_nan_in_gives_nan_out_in_every_op(op) -> None:
    assert math.isnan(op(Value(NAN)).data)


def test_relu_of_nan_is_nan_with_a_zero_derivative_as_pytorch() -> None:
    x = Value(NAN)
    y = x.relu()
    assert math.isnan(y.data) and y.local_grads == (0.0,)
    y.backward()
    assert x.grad == 0.0


def test_a_nan_gradient_is_not_skipped_as_a_zero_would_be() -> None:
    x = Value(2.0)
    y = x * 3.0
    z = y * NAN  # dz/dy = nan: backward must spread it, not skip it
    z.backward()
    assert math.isnan(y.grad) and math.isnan(x.grad)


def test_a_zero_gradient_still_spreads_the_nan_of_an_infinite_derivative() -> None:
    """sqrt(relu(0)) * 0: the sqrt gets gradient 0, its derivative at 0 is inf, and
    0 * inf is nan in PyTorch too: the zero-gradient skip must not hide it."""
    torch = pytest.importorskip("torch")
    x = Value(0.0)
    r = x.relu()
    (r**0.5 * 0.0).backward()
    t = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    tr = t.relu()
    tr.retain_grad()
    (tr**0.5 * 0.0).backward()
    assert math.isnan(r.grad) and math.isnan(tr.grad.item())


# ----------------------------------------------------------- huge ints say so


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("Value(data)", lambda: Value(10**400)),
        ("+", lambda: Value(1.0) + 10**400),
        ("*", lambda: 10**400 * Value(1.0)),
        ("backward(grad)", lambda: (Value(1.0) * 2).backward(10**400)),
        ("sum", lambda: ms.sum([10**400, Value(1.0)])),
        ("dot", lambda: ms.dot([Value(1.0)], [10**400])),
        ("linear", lambda: ms.linear([[Value(1.0)]], [10**400])),
    ],
)
def test_an_int_too_large_for_a_float_is_a_value_error_naming_the_argument(name, call) -> None:
    with pytest.raises(ValueError, match=r"float's range") as info:
        call()
    assert name in str(info.value)
