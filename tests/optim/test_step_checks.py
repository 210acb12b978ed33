"""A step is all or nothing; a None gradient is skipped; hyperparameters are real numbers.

PyTorch skips a parameter whose grad is None, and its state (Adam's per-parameter step
count too) does not advance. Any other gradient must be a real number: one that is not
is an error naming the parameter's index, raised before any parameter or state changes.
"""

import math

import numpy as np
import pytest
from optim_steps import approx, params_of

from minitorch_scalar import Value
from optim import SGD, Adam, AdamW

MAKERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    "adam": lambda ps: Adam(ps, lr=0.1),
    "adam_amsgrad": lambda ps: Adam(ps, lr=0.1, amsgrad=True),
    "adamw": lambda ps: AdamW(ps, lr=0.1, weight_decay=0.1),
}


def snapshot(opt):
    """A copy of each parameter's state, in order ({} for none)."""
    return [dict(opt.state.get(p, {})) for p in params_of(opt)]


def stepped_once(make):
    """Three parameters and their optimizer, after one step with gradients (1, -2, 3)."""
    params = [Value(1.0), Value(2.0), Value(3.0)]
    opt = make(params)
    for p, g in zip(params, (1.0, -2.0, 3.0)):
        p.grad = g
    opt.step()
    return params, opt


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ("0.5", TypeError, r"params\[1\]\.grad expects a real number .* got str: '0.5'"),
        (True, TypeError, r"params\[1\]\.grad expects a real number .* got bool"),
        (Value(0.5), TypeError, r"params\[1\]\.grad expects a real number .* got Value"),
        ([0.5], TypeError, r"params\[1\]\.grad expects a real number .* got list"),
        (10**400, ValueError, r"params\[1\]\.grad expects a real number within a float's"),
    ],
    ids=["str", "bool", "Value", "list", "10**400"],
)
def test_a_bad_gradient_changes_nothing(make, bad, error, message):
    params, opt = stepped_once(make)
    data, state = [p.data for p in params], snapshot(opt)
    params[0].grad, params[1].grad, params[2].grad = 1.0, bad, 1.0
    with pytest.raises(error, match=message):
        opt.step()
    assert [p.data for p in params] == data  # params[0], before the bad one, too
    assert snapshot(opt) == state


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ("oops", TypeError, r"params\[1\]\.data expects a real number .* got str: 'oops'"),
        (None, TypeError, r"params\[1\]\.data expects a real number .* got NoneType"),
        ([0.5], TypeError, r"params\[1\]\.data expects a real number .* got list"),
        (10**400, ValueError, r"params\[1\]\.data expects a real number within a float's"),
    ],
    ids=["str", "None", "list", "10**400"],
)
def test_bad_data_changes_nothing(make, bad, error, message):
    # issue 18: ps[1].data = "oops"; opt.step() moved ps[0], then raised
    params, opt = stepped_once(make)
    data, state = [p.data for p in params], snapshot(opt)
    for p in params:
        p.grad = 1.0
    params[1].data = bad
    with pytest.raises(error, match=message):
        opt.step()
    params[1].data = data[1]
    assert [p.data for p in params] == data
    assert snapshot(opt) == state


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_a_bad_gradient_on_the_first_step_creates_no_state(make):
    a, b = Value(1.0), Value(2.0)
    opt = make([a, b])
    a.grad, b.grad = 1.0, "x"
    with pytest.raises(TypeError, match=r"params\[1\]\.grad"):
        opt.step()
    assert (a.data, b.data, opt.state) == (1.0, 2.0, {})


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_a_none_gradient_skips_its_parameter_and_its_state(make):
    params, opt = stepped_once(make)
    skipped_data, skipped_state = params[1].data, snapshot(opt)[1]
    others = [p.data for p in params]
    params[0].grad, params[1].grad, params[2].grad = 1.0, None, 1.0
    opt.step()
    assert params[1].data == skipped_data
    assert snapshot(opt)[1] == skipped_state
    assert params[0].data != others[0] and params[2].data != others[2]


def test_a_parameter_never_given_a_gradient_has_no_state():
    a, b = Value(1.0), Value(1.0)
    for opt in (SGD([a, b], lr=0.1, momentum=0.9), Adam([a, b])):
        a.grad, b.grad = 1.0, None
        opt.step()
        opt.step()
        assert list(opt.state) == [a]


def test_adam_counts_steps_per_parameter():
    # b skips the first two steps: at its first step its t is 1, so it moves lr
    # (the first step of Adam is lr * g / (|g| + eps)), not by t = 3's correction
    a, b = Value(0.0), Value(0.0)
    opt = Adam([a, b], lr=0.1, eps=0.0)
    for grad_b in (None, None, 2.0):
        a.grad, b.grad = 1.0, grad_b
        opt.step()
    assert (opt.state[a]["step"], opt.state[b]["step"]) == (3, 1)
    assert (a.data, b.data) == approx((-0.3, -0.1))


def test_sgd_momentum_buffer_waits_for_a_skipped_parameter():
    # mu 0.5: b gets grads 2, (None), 2: buffer 2 then 0.5 * 2 + 2 = 3, not decayed between
    b = Value(0.0)
    opt = SGD([b], lr=0.1, momentum=0.5)
    for g in (2.0, None, 2.0):
        b.grad = g
        opt.step()
    assert opt.state[b]["momentum_buffer"] == 3.0
    assert b.data == approx(-0.5)


def test_numpy_and_int_gradients_are_read_as_floats():
    a, b = Value(1.0), Value(1.0)
    opt = SGD([a, b], lr=0.5)
    a.grad, b.grad = np.float32(1.0), 2
    opt.step()
    assert (a.data, b.data) == (0.5, 0.0)
    assert (type(a.data), type(b.data)) == (float, float)


@pytest.mark.parametrize(
    ("make", "argument"),
    [
        (lambda v: SGD([Value(0.0)], lr=v), "lr"),
        (lambda v: SGD([Value(0.0)], momentum=v), "momentum"),
        (lambda v: SGD([Value(0.0)], dampening=v), "dampening"),
        (lambda v: SGD([Value(0.0)], weight_decay=v), "weight_decay"),
        (lambda v: Adam([Value(0.0)], lr=v), "lr"),
        (lambda v: Adam([Value(0.0)], eps=v), "eps"),
        (lambda v: Adam([Value(0.0)], weight_decay=v), "weight_decay"),
        (lambda v: Adam([Value(0.0)], betas=(v, 0.999)), r"betas\[0\]"),
        (lambda v: Adam([Value(0.0)], betas=(0.9, v)), r"betas\[1\]"),
    ],
)
@pytest.mark.parametrize("value", [math.nan, 10**400], ids=["nan", "10**400"])
def test_nan_and_huge_int_hyperparameters_are_value_errors_naming_the_argument(
    make, argument, value
):
    with pytest.raises(ValueError, match=rf"^{argument} expects"):
        make(value)


@pytest.mark.parametrize("make", [SGD, Adam])
def test_assigning_nan_or_a_huge_int_to_lr_keeps_the_old_lr(make):
    opt = make([Value(0.0)], lr=0.1)
    with pytest.raises(ValueError, match="lr expects a number >= 0, got nan"):
        opt.lr = math.nan
    with pytest.raises(ValueError, match="lr expects a real number within a float's range"):
        opt.lr = 10**400
    assert opt.lr == 0.1
