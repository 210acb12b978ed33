"""Adam against its update rule, with the expected numbers worked out in each test.

Gradients are set by hand (``p.grad = g``) so each test controls g_t exactly; the
rule is in `optim.Adam`'s docstring. Closed forms are derived in the comments.
"""

import math

import numpy as np
import pytest
from optim_steps import approx, options_of, run, states

from minitorch_scalar import Value
from optim import Adam, AdamW


@pytest.mark.parametrize("g", [3.0, -0.25, 1e-3, -7e5])
def test_the_first_step_moves_lr_against_the_gradient_sign(g):
    # t = 1: m_1 = (1 - b1) g, v_1 = (1 - b2) g^2, so mhat = g and vhat = g^2:
    # theta_1 = theta_0 - lr g / (|g| + eps), whatever the betas
    w = Value(1.0)
    opt = Adam([w], lr=0.1, betas=(0.8, 0.95), eps=1e-8)
    assert run(opt, w, [g]) == approx([1.0 - 0.1 * g / (abs(g) + 1e-8)])


def test_bias_correction_makes_a_constant_gradient_move_lr_per_step():
    # g_t = g: m_t = g (1 - b1^t) and v_t = g^2 (1 - b2^t), so mhat = g, vhat = g^2 at
    # every t and theta_t = theta_0 - t lr g / (|g| + eps). Without the corrections the
    # first steps would be (1 - b1) / sqrt(1 - b2), about 3 times larger.
    g, lr, eps = 0.5, 0.01, 1e-8
    w = Value(0.0)
    trajectory = run(Adam([w], lr=lr, eps=eps), w, [g] * 50)
    assert trajectory == approx([-t * lr * g / (g + eps) for t in range(1, 51)])


def test_two_steps_by_hand():
    # betas (0.9, 0.999), eps 0, lr 0.1, grads 1 then 3:
    # t = 1: mhat = 1, vhat = 1, theta_1 = 1 - 0.1 = 0.9
    # t = 2: m_2 = 0.9 * 0.1 + 0.1 * 3 = 0.39,  v_2 = 0.999 * 0.001 + 0.001 * 9 = 0.009999
    #        mhat = 0.39 / (1 - 0.81) = 0.39 / 0.19,  vhat = 0.009999 / (1 - 0.998001)
    w = Value(1.0)
    opt = Adam([w], lr=0.1, eps=0.0)
    theta_2 = 0.9 - 0.1 * (0.39 / 0.19) / math.sqrt(0.009999 / 0.001999)
    assert run(opt, w, [1.0, 3.0]) == approx([0.9, theta_2])
    assert opt.state[w] == approx({"step": 2, "exp_avg": 0.39, "exp_avg_sq": 0.009999})


@pytest.mark.parametrize("amsgrad", [False, True])
def test_amsgrad_divides_by_the_largest_second_moment(amsgrad):
    # betas (0.5, 0.5), eps 0, lr 0.1, grads 3 then 1:
    # t = 1: m = 1.5, v = 4.5 (vmax 4.5); mhat = 3, vhat = 9: theta_1 = 1 - 0.1 = 0.9
    # t = 2: m = 0.75 + 0.5 = 1.25, v = 2.25 + 0.5 = 2.75 < vmax = 4.5
    #        mhat = 1.25 / 0.75; vhat = 4.5 / 0.75 with amsgrad, 2.75 / 0.75 without
    w = Value(1.0)
    opt = Adam([w], lr=0.1, betas=(0.5, 0.5), eps=0.0, amsgrad=amsgrad)
    v_used = 4.5 if amsgrad else 2.75
    theta_2 = 0.9 - 0.1 * (1.25 / 0.75) / math.sqrt(v_used / 0.75)
    assert run(opt, w, [3.0, 1.0]) == approx([0.9, theta_2])
    assert states(opt, "exp_avg_sq") == approx([2.75])
    if amsgrad:
        assert states(opt, "max_exp_avg_sq") == approx([4.5])


def test_amsgrad_with_growing_second_moments_is_plain_adam():
    # |g| rising: v_t rises too, so max(vmax, v_t) = v_t and both variants agree
    grads = [0.1, 0.2, 0.4, 0.8, 1.6]
    a, b = Value(1.0), Value(1.0)
    plain = run(Adam([a], lr=0.1), a, grads)
    assert run(Adam([b], lr=0.1, amsgrad=True), b, grads) == approx(plain)


def test_weight_decay_adds_wd_theta_to_the_gradient():
    # grad 0, wd 0.5, theta_0 = 2, eps 0, lr 0.1, betas (0.9, 0.999):
    # t = 1: g = 1, theta_1 = 2 - 0.1 = 1.9
    # t = 2: g = 0.95, m = 0.09 + 0.095 = 0.185, v = 0.000999 + 0.001 * 0.9025 = 0.0019015
    w = Value(2.0)
    opt = Adam([w], lr=0.1, eps=0.0, weight_decay=0.5)
    theta_2 = 1.9 - 0.1 * (0.185 / 0.19) / math.sqrt(0.0019015 / 0.001999)
    assert run(opt, w, [0.0, 0.0]) == approx([1.9, theta_2])


def test_maximize_negates_the_gradient():
    # the two steps of test_two_steps_by_hand, mirrored: m is negated, v is not
    w = Value(1.0)
    opt = Adam([w], lr=0.1, eps=0.0, maximize=True)
    theta_2 = 1.1 + 0.1 * (0.39 / 0.19) / math.sqrt(0.009999 / 0.001999)
    assert run(opt, w, [1.0, 3.0]) == approx([1.1, theta_2])
    assert states(opt, "exp_avg") == approx([-0.39])


def test_maximize_negates_the_gradient_before_weight_decay():
    # grad 1, wd 3, theta_0 = 1, maximize: g_1 = -1 + 3 = 2 > 0, so theta goes down by lr
    w = Value(1.0)
    assert run(Adam([w], lr=0.1, eps=0.0, weight_decay=3.0, maximize=True), w, [1.0]) == approx(
        [0.9]
    )


def test_a_zero_gradient_still_moves_the_parameter_by_its_moments():
    # grads 1 then 0, eps 0: m_2 = 0.9 * 0.1 = 0.09, v_2 = 0.999 * 0.001 = 0.000999
    w = Value(1.0)
    opt = Adam([w], lr=0.1, eps=0.0)
    theta_2 = 0.9 - 0.1 * (0.09 / 0.19) / math.sqrt(0.000999 / 0.001999)
    assert run(opt, w, [1.0, 0.0]) == approx([0.9, theta_2])


def test_a_parameter_whose_gradient_is_always_zero_stays_put():
    # m = v = 0, so the step is lr * 0 / (0 + eps) = 0
    w = Value(-2.0)
    opt = Adam([w], lr=0.1)
    assert run(opt, w, [0.0, 0.0, 0.0]) == [-2.0, -2.0, -2.0]
    assert (states(opt, "exp_avg"), states(opt, "exp_avg_sq")) == ([0.0], [0.0])


def test_with_eps_zero_a_zero_denominator_means_no_step_not_nan():
    # a has had no gradient: m = v = 0, so lr m / (sqrt(vhat) + 0) is 0 / 0; it stays
    # put (PyTorch would make it nan) while b steps by lr as usual
    a, b = Value(1.0), Value(1.0)
    opt = Adam([a, b], lr=0.1, eps=0.0)
    a.grad, b.grad = 0.0, 2.0
    opt.step()
    assert (a.data, b.data) == approx((1.0, 0.9))


def test_eps_is_added_to_the_root_of_the_second_moment():
    # t = 1, g = 1e-3, eps = 1e-3: step = lr g / (sqrt(g^2) + eps) = lr / 2
    # (added to vhat instead, it would be lr g / sqrt(g^2 + eps), about lr / 31.6)
    w = Value(0.0)
    assert run(Adam([w], lr=0.1, eps=1e-3), w, [1e-3]) == approx([-0.05])


def test_zero_betas_make_each_step_lr_times_the_gradient_sign():
    # beta1 = beta2 = 0: m_t = g_t, v_t = g_t^2 and no correction (1 - 0^t = 1)
    w = Value(0.0)
    opt = Adam([w], lr=0.1, betas=(0.0, 0.0), eps=0.0)
    assert run(opt, w, [2.0, -0.5, 4.0]) == approx([-0.1, 0.0, -0.1])


def test_each_parameter_has_its_own_moments_and_step_count():
    # a: grads 1, 1 (constant: moves lr per step);  b: grads -2, 0
    a, b = Value(0.0), Value(0.0)
    opt = Adam([a, b], lr=0.1, eps=0.0)
    for grads in ((1.0, -2.0), (1.0, 0.0)):
        a.grad, b.grad = grads
        opt.step()
    # b at t = 2: m = 0.9 * -0.2 = -0.18, v = 0.999 * 0.004 = 0.003996
    b_2 = 0.1 + 0.1 * (0.18 / 0.19) / math.sqrt(0.003996 / 0.001999)
    assert (a.data, b.data) == approx((-0.2, b_2))
    assert states(opt, "step") == [2, 2]
    assert states(opt, "exp_avg") == approx([0.19, -0.18])


def test_lr_is_read_at_every_step():
    # a constant gradient moves exactly lr per step (eps 0): 0.1, then 0.01, then 0
    w = Value(1.0)
    opt = Adam([w], lr=0.1, eps=0.0)
    trajectory = run(opt, w, [1.0])
    opt.lr = 0.01
    trajectory += run(opt, w, [1.0])
    opt.lr = 0.0
    trajectory += run(opt, w, [1.0])
    assert trajectory == approx([0.9, 0.89, 0.89])
    assert states(opt, "step") == [3]  # the moments went on with lr = 0


def test_defaults_are_pytorchs():
    opt = Adam([Value(0.0)])
    assert options_of(opt) == {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
        "maximize": False,
        "decoupled_weight_decay": False,
    }
    assert opt.defaults == options_of(opt)
    assert opt.state == {}


def test_betas_may_be_a_list_and_numpy_numbers():
    opt = Adam([Value(0.0)], betas=[np.float64(0.5), 0])
    assert opt.param_groups[0]["betas"] == (0.5, 0.0)
    assert [type(beta) for beta in opt.param_groups[0]["betas"]] == [float, float]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1e-3}, "lr expects a number >= 0, got -0.001"),
        ({"eps": -1e-8}, "eps expects a number >= 0, got -1e-08"),
        ({"weight_decay": -0.1}, "weight_decay expects a number >= 0, got -0.1"),
        ({"betas": (1.0, 0.999)}, r"betas\[0\] expects a number in \[0, 1\), got 1.0"),
        ({"betas": (-0.1, 0.999)}, r"betas\[0\] expects a number in \[0, 1\), got -0.1"),
        ({"betas": (0.9, 1)}, r"betas\[1\] expects a number in \[0, 1\), got 1"),
        ({"betas": (0.9, -1e-3)}, r"betas\[1\] expects a number in \[0, 1\), got -0.001"),
        ({"betas": (0.9, math.nan)}, r"betas\[1\] expects a number in \[0, 1\), got nan"),
        ({"betas": (0.9,)}, r"betas expects a pair \(beta1, beta2\), got 1 items"),
        ({"betas": (0.9, 0.99, 0.999)}, "got 3 items"),
    ],
)
def test_invalid_values_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adam([Value(1.0)], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": "1e-3"}, "lr expects a real number .* got str"),
        ({"eps": None}, "eps expects a real number .* got NoneType"),
        ({"weight_decay": "0"}, "weight_decay expects a real number .* got str"),
        ({"betas": 0.9}, r"betas expects a pair \(beta1, beta2\), got float: 0.9"),
        ({"betas": "ab"}, r"betas expects a pair \(beta1, beta2\), got str"),
        ({"betas": ("0.9", 0.999)}, r"betas\[0\] expects a real number .* got str"),
        ({"betas": (0.9, None)}, r"betas\[1\] expects a real number .* got NoneType"),
        ({"amsgrad": 1}, "amsgrad expects True or False, got int: 1"),
        ({"maximize": None}, "maximize expects True or False, got NoneType"),
    ],
)
def test_non_numbers_are_type_errors(kwargs, message):
    with pytest.raises(TypeError, match=message):
        Adam([Value(1.0)], **kwargs)


# ------------------------------------------------------------------------- AdamW


def test_adamw_defaults_are_pytorchs():
    opt = AdamW([Value(0.0)])
    assert options_of(opt) == {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 1e-2,
        "amsgrad": False,
        "maximize": False,
        "decoupled_weight_decay": True,
    }


def test_adamw_first_step_by_hand():
    # eps 0, lr 0.1, wd 0.5, g = 4 at t = 1: mhat = g, vhat = g^2, so the Adam part is
    # lr * sign(g); the decay first: theta_1 = 2 (1 - 0.1 * 0.5) - 0.1 = 1.8
    w = Value(2.0)
    opt = AdamW([w], lr=0.1, eps=0.0, weight_decay=0.5)
    assert run(opt, w, [4.0]) == approx([1.8])
    # and the moments saw only the gradient, not the decay (Adam's L2 adds wd theta)
    assert states(opt, "exp_avg") == approx([0.1 * 4.0])
    assert states(opt, "exp_avg_sq") == approx([0.001 * 16.0])


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_adamw_decays_by_the_same_factor_whatever_the_gradients_scale(scale):
    # a constant gradient makes Adam's part lr * sign(g) at every t (see above), so
    # theta_t = theta_{t-1} (1 - lr wd) - lr: the same trajectory for every scale of g.
    # Adam's L2 penalty instead joins g and is divided by sqrt(vhat) with it.
    lr, wd, theta = 0.01, 0.1, 3.0
    w = Value(theta)
    trajectory = run(AdamW([w], lr=lr, eps=0.0, weight_decay=wd), w, [scale] * 20)
    expected = []
    for _ in range(20):
        theta = theta * (1 - lr * wd) - lr
        expected.append(theta)
    assert trajectory == approx(expected)


def test_adamw_is_adam_with_decoupled_weight_decay_bit_for_bit():
    grads = [0.3, -1.2, 2.5, 0.0, -0.7, 1e-4, 3.0]
    kwargs = {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.2, "amsgrad": True}
    w, v, u = Value(1.5), Value(1.5), Value(1.5)
    decoupled = run(Adam([v], decoupled_weight_decay=True, **kwargs), v, grads)
    assert run(AdamW([w], **kwargs), w, grads) == decoupled
    # and with wd = 0 all three are Adam
    kwargs["weight_decay"] = 0.0
    w.data = v.data = u.data = 1.5
    plain = run(Adam([u], **kwargs), u, grads)
    assert run(AdamW([w], **kwargs), w, grads) == plain
    assert run(Adam([v], decoupled_weight_decay=True, **kwargs), v, grads) == plain


def test_adamw_with_lr_zero_does_not_move_even_with_weight_decay():
    # decay factor 1 - 0 * wd = 1: not mistaken for "no decoupled decay" (the L2 path)
    w = Value(2.0)
    opt = AdamW([w], lr=0.0, weight_decay=0.5)
    run(opt, w, [1.0, 1.0])
    assert w.data == 2.0
    assert states(opt, "exp_avg") == approx([0.19])  # (1 - 0.9) (0.9 + 1): no 0.5 * 2 added


def test_a_parameter_without_a_gradient_is_not_decayed_as_in_pytorch():
    a, b = Value(1.0), Value(1.0)
    opt = AdamW([a, b], lr=0.1, weight_decay=0.5)
    a.grad, b.grad = 1.0, None
    opt.step()
    assert b.data == 1.0 and a.data < 1.0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"weight_decay": -0.1}, ValueError, "weight_decay expects a number >= 0"),
        ({"betas": (0.9, 1.0)}, ValueError, r"betas\[1\] expects a number in \[0, 1\)"),
        ({"amsgrad": "no"}, TypeError, "amsgrad expects True or False"),
        ({"decoupled_weight_decay": False}, TypeError, "unexpected keyword"),
    ],
)
def test_adamw_refuses_what_adam_refuses(kwargs, error, message):
    with pytest.raises(error, match=message):
        AdamW([Value(1.0)], **kwargs)


def test_decoupled_weight_decay_must_be_a_bool():
    with pytest.raises(TypeError, match="decoupled_weight_decay expects True or False"):
        Adam([Value(1.0)], decoupled_weight_decay=1)
