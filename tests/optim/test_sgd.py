"""SGD against its update rule, with the expected numbers worked out in each test.

Gradients are set by hand (``p.grad = g``) so each test controls g_t exactly; the
rule is in `optim.SGD`'s docstring. Closed forms are derived in the comments.
"""

import math

import numpy as np
import pytest
from optim_steps import approx, options_of, run, states

from minitorch_scalar import Value
from optim import SGD


def test_plain_gradient_descent():
    # theta_t = theta_{t-1} - 0.1 * g_t from 1.0:  1 - 0.05, + 0.1, - 0.2
    w = Value(1.0)
    assert run(SGD([w], lr=0.1), w, [0.5, -1.0, 2.0]) == approx([0.95, 1.05, 0.85])


def test_maximize_climbs():
    w = Value(1.0)
    trajectory = run(SGD([w], lr=0.1, maximize=True), w, [0.5, -1.0, 2.0])
    assert trajectory == approx([1.05, 0.95, 1.15])


def test_the_first_momentum_buffer_is_the_gradient_not_dampened():
    # mu = 0.9, tau = 0.5, g = 1:  b_1 = g = 1 (not (1 - tau) g = 0.5),
    # b_2 = 0.9 * 1 + 0.5 = 1.4,  b_3 = 0.9 * 1.4 + 0.5 = 1.76
    # theta: 1 - 0.1 = 0.9,  0.9 - 0.14 = 0.76,  0.76 - 0.176 = 0.584
    w = Value(1.0)
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    assert opt.state == {}  # no buffer before the first step
    buffers = []
    for theta in (0.9, 0.76, 0.584):
        w.grad = 1.0
        opt.step()
        buffers.append(opt.state[w]["momentum_buffer"])
        assert w.data == approx(theta)
    assert buffers == approx([1.0, 1.4, 1.76])


@pytest.mark.parametrize(("momentum", "dampening"), [(0.9, 0.0), (0.9, 0.3), (0.5, 0.9)])
def test_momentum_with_a_constant_gradient_matches_the_closed_form(momentum, dampening):
    # With g_t = g:  b_t = g (mu^(t-1) + (1 - tau) (1 - mu^(t-1)) / (1 - mu)).
    # With S_t = sum_{k=1..t} mu^(k-1) = (1 - mu^t) / (1 - mu):
    # theta_t = theta_0 - lr g (S_t + (1 - tau) (t - S_t) / (1 - mu)).
    g, lr, theta0 = 2.0, 0.05, 1.0
    w = Value(theta0)
    trajectory = run(SGD([w], lr, momentum, dampening), w, [g] * 30)
    for t, theta in enumerate(trajectory, start=1):
        s = (1 - momentum**t) / (1 - momentum)
        assert theta == approx(theta0 - lr * g * (s + (1 - dampening) * (t - s) / (1 - momentum)))


def test_nesterov_by_hand():
    # mu = 0.9, g = 1, lr = 0.1:  b = 1, 1.9, 2.71;  step g + mu b = 1.9, 2.71, 3.439
    # theta: 1 - 0.19 = 0.81,  0.81 - 0.271 = 0.539,  0.539 - 0.3439 = 0.1951
    w = Value(1.0)
    opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    assert run(opt, w, [1.0, 1.0, 1.0]) == approx([0.81, 0.539, 0.1951])
    assert states(opt, "momentum_buffer") == approx([2.71])


def test_nesterov_with_a_constant_gradient_matches_the_closed_form():
    # b_t = (1 - mu^t) / (1 - mu) g, so the step g + mu b_t = (1 - mu^(t+1)) / (1 - mu) g
    # and theta_t = theta_0 - lr g / (1 - mu) (t - mu^2 (1 - mu^t) / (1 - mu)).
    mu, g, lr = 0.8, -0.5, 0.1
    w = Value(0.0)
    trajectory = run(SGD([w], lr, momentum=mu, nesterov=True), w, [g] * 25)
    for t, theta in enumerate(trajectory, start=1):
        assert theta == approx(-lr * g / (1 - mu) * (t - mu**2 * (1 - mu**t) / (1 - mu)))


def test_weight_decay_alone_shrinks_geometrically():
    # g_t = 0 + wd theta_{t-1}, so theta_t = (1 - lr wd) theta_{t-1} = 2 * 0.95^t
    w = Value(2.0)
    trajectory = run(SGD([w], lr=0.1, weight_decay=0.5), w, [0.0] * 10)
    assert trajectory == approx([2.0 * 0.95**t for t in range(1, 11)])


def test_weight_decay_enters_the_momentum_buffer():
    # wd = 1, mu = 0.5, lr = 0.1, grad 0, theta_0 = 1:
    # g_1 = 1,    b_1 = 1,                 theta_1 = 1 - 0.1 = 0.9
    # g_2 = 0.9,  b_2 = 0.5 + 0.9 = 1.4,    theta_2 = 0.9 - 0.14 = 0.76
    # g_3 = 0.76, b_3 = 0.7 + 0.76 = 1.46,  theta_3 = 0.76 - 0.146 = 0.614
    w = Value(1.0)
    opt = SGD([w], lr=0.1, momentum=0.5, weight_decay=1.0)
    assert run(opt, w, [0.0, 0.0, 0.0]) == approx([0.9, 0.76, 0.614])


def test_maximize_negates_the_gradient_before_weight_decay():
    # As PyTorch: g_t = -grad + wd theta, so weight decay still pulls theta to 0.
    # grad 1, wd 0.5, lr 0.1:  g_1 = -1 + 0.5 = -0.5,    theta_1 = 1 + 0.05 = 1.05
    #                          g_2 = -1 + 0.525 = -0.475, theta_2 = 1.05 + 0.0475 = 1.0975
    w = Value(1.0)
    opt = SGD([w], lr=0.1, weight_decay=0.5, maximize=True)
    assert run(opt, w, [1.0, 1.0]) == approx([1.05, 1.0975])


def test_maximize_with_momentum_keeps_the_buffer_in_the_climbing_direction():
    # g = -grad = -1 each step, mu = 0.5:  b = -1, -1.5;  theta: 0.1, 0.25
    w = Value(0.0)
    opt = SGD([w], lr=0.1, momentum=0.5, maximize=True)
    assert run(opt, w, [1.0, 1.0]) == approx([0.1, 0.25])
    assert states(opt, "momentum_buffer") == approx([-1.5])


def test_a_zero_gradient_still_decays_the_momentum_buffer():
    # mu = 0.9, grads 1, 0, 0:  b = 1, 0.9, 0.81;  theta: 0.9, 0.81, 0.729
    w = Value(1.0)
    opt = SGD([w], lr=0.1, momentum=0.9)
    assert run(opt, w, [1.0, 0.0, 0.0]) == approx([0.9, 0.81, 0.729])
    assert states(opt, "momentum_buffer") == approx([0.81])


def test_a_parameter_whose_gradient_is_always_zero_starts_a_zero_buffer():
    w = Value(3.0)
    opt = SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    assert run(opt, w, [0.0, 0.0]) == [3.0, 3.0]
    assert states(opt, "momentum_buffer") == [0.0]


def test_each_parameter_has_its_own_buffer():
    # mu = 0.5, lr = 0.1.  a: grads 1, 1  -> b = 1, 1.5;  theta 1 -> 0.9 -> 0.75
    #                      b: grads -2, 0 -> b = -2, -1;  theta 0 -> 0.2 -> 0.3
    a, b = Value(1.0), Value(0.0)
    opt = SGD([a, b], lr=0.1, momentum=0.5)
    history = []
    for grads in ((1.0, -2.0), (1.0, 0.0)):
        a.grad, b.grad = grads
        opt.step()
        history.append((a.data, b.data))
    assert history[0] == approx((0.9, 0.2))
    assert history[1] == approx((0.75, 0.3))
    assert states(opt, "momentum_buffer") == approx([1.5, -1.0])


def test_lr_is_read_at_every_step():
    # g = 1 each step, momentum 0:  1 - 0.1 = 0.9;  lr = 0.01: 0.89;  lr = 0: 0.89
    w = Value(1.0)
    opt = SGD([w], lr=0.1)
    trajectory = run(opt, w, [1.0])
    opt.lr = 0.01
    trajectory += run(opt, w, [1.0])
    opt.lr = 0
    trajectory += run(opt, w, [1.0])
    assert trajectory == approx([0.9, 0.89, 0.89])


def test_a_live_lr_scales_the_step_but_not_the_momentum_buffer():
    # mu = 0.9, g = 1: b = 1, 1.9.  Steps lr b: 0.1 * 1, then 0.5 * 1.9 = 0.95.
    w = Value(0.0)
    opt = SGD([w], lr=0.1, momentum=0.9)
    run(opt, w, [1.0])
    opt.lr = 0.5
    assert run(opt, w, [1.0]) == approx([-1.05])


def test_defaults_are_pytorchs():
    opt = SGD([Value(0.0)])
    assert options_of(opt) == {
        "lr": 1e-3,
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "maximize": False,
    }
    assert opt.defaults == options_of(opt)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -0.1}, "lr expects a number >= 0, got -0.1"),
        ({"momentum": -0.5}, "momentum expects a number >= 0, got -0.5"),
        ({"momentum": math.nan}, "momentum expects a number >= 0, got nan"),
        ({"weight_decay": -1e-4}, "weight_decay expects a number >= 0, got -0.0001"),
        ({"nesterov": True}, "nesterov=True expects momentum > 0 and dampening == 0, got mom"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "got momentum=0.9, dampening=0.1"),
    ],
)
def test_invalid_values_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD([Value(1.0)], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": "0.1"}, "lr expects a real number .* got str: '0.1'"),
        ({"lr": None}, "lr expects a real number .* got NoneType"),
        ({"momentum": "0.9"}, "momentum expects a real number .* got str"),
        ({"momentum": True}, "momentum expects a real number .* got bool"),
        ({"dampening": [0.1]}, "dampening expects a real number .* got list"),
        ({"weight_decay": 1j}, "weight_decay expects a real number .* got complex"),
        ({"nesterov": 1, "momentum": 0.9}, "nesterov expects True or False, got int: 1"),
        ({"maximize": "yes"}, "maximize expects True or False, got str: 'yes'"),
    ],
)
def test_non_numbers_are_type_errors(kwargs, message):
    with pytest.raises(TypeError, match=message):
        SGD([Value(1.0)], **kwargs)


def test_numpy_numbers_and_negative_dampening_are_accepted_as_pytorch_does():
    opt = SGD([Value(1.0)], lr=np.float64(0.1), momentum=np.float32(0.5), dampening=-0.5)
    group = opt.param_groups[0]
    assert (type(group["lr"]), type(group["momentum"])) == (float, float)
    assert group["dampening"] == -0.5
