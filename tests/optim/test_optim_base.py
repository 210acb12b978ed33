"""The parts every optimizer shares: the parameter list, the live lr, zero_grad."""

import doctest
import math

import pytest

import optim
from minitorch_scalar import Value
from optim import SGD, Adam, AdamW, Optimizer

OPTIMIZERS = [SGD, Adam, AdamW]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_params_are_read_once_into_a_list_in_order(make):
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    opt = make(v for v in (a, b, c))  # a generator can be read only once
    assert len(opt.param_groups) == 1
    assert isinstance(opt.param_groups[0]["params"], list)
    assert [id(p) for p in opt.param_groups[0]["params"]] == [id(a), id(b), id(c)]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_empty_params_is_a_value_error(make):
    with pytest.raises(ValueError, match="params expects at least one Value"):
        make([])
    with pytest.raises(ValueError, match="params expects at least one Value"):
        make(iter(()))


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (Value(1.0), r"got a single Value: use \[value\]"),
        ({Value(1.0)}, "ordered iterable of Values such as a list, got a set"),
        (frozenset({Value(1.0)}), "got a frozenset"),
        (5, "params expects an iterable of Values, got int: 5"),
        ([Value(1.0), 2.0], r"params\[1\] expects a Value, got float: 2.0"),
        ([Value(1.0), None], r"params\[1\] expects a Value, got NoneType"),
        (["w"], r"params\[0\] expects a Value, got str: 'w'"),
    ],
)
def test_params_of_the_wrong_type_are_a_type_error(make, params, message):
    with pytest.raises(TypeError, match=message):
        make(params)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_the_result_of_an_op_is_not_a_parameter(make):
    w = Value(2.0)
    with pytest.raises(ValueError, match=r"params\[1\] expects a leaf Value, got .* op '\*'"):
        make([w, w * 3])


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_a_parameter_listed_twice_is_a_value_error(make):
    # PyTorch warns ("in future, this will cause an error") and then steps the tensor
    # twice per step; we refuse, naming both places.
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match=r"params\[2\] .* got params\[0\] again"):
        make([a, b, a])


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_equal_data_is_not_a_duplicate(make):
    a, b = Value(1.0), Value(1.0)  # two parameters that happen to hold the same number
    a.grad, b.grad = 1.0, -1.0
    opt = make([a, b], lr=0.1)
    opt.step()
    assert a.data < 1.0 < b.data


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_lr_is_validated_on_every_assignment_and_kept_on_failure(make):
    opt = make([Value(1.0)], lr=0.1)
    opt.lr = 2  # an int is a number: stored as a float
    assert opt.lr == 2.0
    assert type(opt.lr) is float
    with pytest.raises(ValueError, match=r"lr expects a number >= 0, got -0.5"):
        opt.lr = -0.5
    with pytest.raises(ValueError, match=r"lr expects a number >= 0, got nan"):
        opt.lr = math.nan
    with pytest.raises(TypeError, match=r"lr expects a real number .* got str: '0.1'"):
        opt.lr = "0.1"
    with pytest.raises(TypeError, match=r"lr expects a real number .* got bool"):
        opt.lr = True
    with pytest.raises(TypeError, match=r"lr expects a real number .* got Value"):
        opt.lr = Value(0.1)
    assert opt.lr == 2.0


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("lr", [-1e-3, -math.inf, math.nan])
def test_a_bad_lr_at_construction_is_a_value_error(make, lr):
    with pytest.raises(ValueError, match=r"lr expects a number >= 0"):
        make([Value(1.0)], lr=lr)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_zero_grad_sets_every_gradient_to_none_by_default_as_pytorch(make):
    a, b = Value(2.0), Value(-3.0)
    (a * b).backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)
    opt = make([a, b])
    opt.zero_grad()
    assert (a.grad, b.grad) == (None, None)
    assert (a.data, b.data) == (2.0, -3.0)  # the data is not touched
    (a * b).backward()  # the next backward starts afresh from None, not from -3 and 2
    assert (a.grad, b.grad) == (-3.0, 2.0)
    (a * b).backward()  # and then accumulates, as always
    assert (a.grad, b.grad) == (-6.0, 4.0)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_zero_grad_set_to_none_false_zeroes_gradients_and_leaves_none_as_none(make):
    a, b, c = Value(2.0), Value(-3.0), Value(1.0)
    (a * b).backward()
    c.grad = None
    opt = make([a, b, c])
    opt.zero_grad(set_to_none=False)
    assert (a.grad, b.grad, c.grad) == (0.0, 0.0, None)  # PyTorch zeroes only grads it has
    (a * b).backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("flag", [0, 1, None, "yes"])
def test_zero_grad_set_to_none_must_be_a_bool(make, flag):
    a = Value(1.0)
    a.grad = 2.0
    with pytest.raises(TypeError, match="set_to_none expects True or False"):
        make([a]).zero_grad(set_to_none=flag)
    assert a.grad == 2.0


def test_after_zero_grad_a_parameter_backward_does_not_reach_is_skipped_as_in_pytorch():
    # with set_to_none=True an unused parameter keeps grad None, so momentum and weight
    # decay leave it alone; with set_to_none=False its grad is 0.0 and they move it
    used, unused = Value(1.0), Value(1.0)
    for set_to_none, moved in ((True, False), (False, True)):
        used.data = unused.data = 1.0
        used.grad = unused.grad = 1.0
        opt = SGD([used, unused], lr=0.1, momentum=0.9, weight_decay=0.1)
        opt.step()
        opt.zero_grad(set_to_none=set_to_none)
        (used * 2).backward()
        before = unused.data
        opt.step()
        assert (unused.data != before) is moved


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_zero_grad_then_step_leaves_a_plain_optimizer_where_it_is(make):
    # with no momentum history and no weight decay, a zero gradient moves nothing
    w = Value(1.5)
    for set_to_none in (True, False):
        w.grad = 4.0
        opt = make([w], lr=0.1)
        opt.param_groups[0]["weight_decay"] = 0.0  # AdamW's default is 1e-2
        opt.zero_grad(set_to_none=set_to_none)
        opt.step()
        assert w.data == 1.5


def test_optimizer_is_abstract_and_a_subclass_written_as_in_pytorch_works():
    with pytest.raises(TypeError):
        Optimizer([Value(1.0)], {"lr": 0.1})

    class SignDescent(Optimizer):
        """theta <- theta - lr * sign(grad)."""

        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def step(self) -> None:
            for options, stepping in self.stepping_groups():
                for p in stepping:
                    p.data -= options["lr"] * math.copysign(1.0, p.grad) if p.grad else 0.0

    a, b, c = Value(1.0), Value(1.0), Value(1.0)
    opt = SignDescent([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.25)
    a.grad, b.grad, c.grad = 10.0, -0.01, 3.0
    opt.step()
    assert (a.data, b.data, c.data) == (0.75, 1.25, 0.5)
    with pytest.raises(ValueError, match="params expects at least one Value"):
        SignDescent([], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[0\]\['lr'\] expects a number >= 0"):
        SignDescent([{"params": [a], "lr": -1.0}])


@pytest.mark.parametrize(
    ("make", "steps"),
    [(lambda ps: SGD(ps, lr=0.1, momentum=0.9), 500), (lambda ps: Adam(ps, lr=0.01), 2000)],
)
def test_a_training_loop_finds_the_minimum_of_a_quadratic(make, steps):
    # f(w, b) = (w - 3)^2 + (b + 1)^2 has its minimum at w = 3, b = -1
    w, b = Value(0.0), Value(0.0)
    opt = make([w, b])
    for _ in range(steps):
        loss = (w - 3) ** 2 + (b + 1) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert w.data == pytest.approx(3.0, abs=1e-6)
    assert b.data == pytest.approx(-1.0, abs=1e-6)


def test_the_package_docstring_example_holds():
    result = doctest.testmod(optim)
    assert result.attempted > 0
    assert result.failed == 0
