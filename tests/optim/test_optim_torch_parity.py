"""Ours against torch.optim (float64): the same random gradients, the same parameters.

Each case runs N_STEPS steps on N_PARAMS parameters (ours: that many Values; PyTorch:
one float64 tensor of that shape) and compares the parameters and the optimizer state
after every step, to 1e-12 relative. Gradients include a parameter that never gets one
and a parameter whose gradient is 0 for a few steps (a zero tensor in PyTorch, so it
still steps there too). Halfway through, lr is changed on both, as a schedule would.
"""

import numpy as np
import pytest
from optim_steps import states

from minitorch_scalar import Value
from optim import SGD, Adam, AdamW

torch = pytest.importorskip("torch")

N_PARAMS, N_STEPS, LR_CHANGE_AT = 6, 10, 5
RTOL, ATOL = 1e-12, 1e-300  # relative only: no value here is within 1e-300 of 0 but 0


def random_problem(seed, with_zero_gradients=True):
    """Initial parameters, and N_STEPS rows of gradients of mixed scales."""
    rng = np.random.default_rng(seed)
    initial = rng.normal(size=N_PARAMS)
    grads = rng.normal(size=(N_STEPS, N_PARAMS)) * np.logspace(-3, 2, N_PARAMS)
    if with_zero_gradients:
        grads[:, -1] = 0.0  # never a gradient
        grads[3:6, 0] = 0.0  # no gradient for three steps
    return initial, grads


def run_both(ours_class, torch_class, kwargs, seed, with_zero_gradients=True):
    """Yield (ours, torch's) optimizer and parameter values after each step."""
    initial, grads = random_problem(seed, with_zero_gradients)
    ours = [Value(x) for x in initial]
    theirs = torch.tensor(initial, dtype=torch.float64, requires_grad=True)
    ours_opt, torch_opt = ours_class(ours, **kwargs), torch_class([theirs], **kwargs)
    for t, row in enumerate(grads):
        if t == LR_CHANGE_AT:
            ours_opt.lr = torch_opt.param_groups[0]["lr"] = 0.3 * ours_opt.lr
        for p, g in zip(ours, row):
            p.grad = float(g)
        theirs.grad = torch.tensor(row, dtype=torch.float64)
        ours_opt.step()
        torch_opt.step()
        yield ours_opt, torch_opt.state[theirs], [p.data for p in ours], theirs.detach().numpy()


def assert_close(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


SGD_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
    {"lr": 0.1, "momentum": 0.9, "dampening": 1.0},  # the buffer only decays after t = 1
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01, "maximize": True},
    {"lr": 0.02, "momentum": 0.99, "nesterov": True, "weight_decay": 0.05, "maximize": True},
    {"lr": 0.1, "dampening": 0.3},  # dampening without momentum does nothing
    {"lr": 0.01, "momentum": 1.5, "dampening": -0.5},  # allowed by both
    {"lr": 0.0, "momentum": 0.9, "weight_decay": 0.1},
    {},  # the defaults
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_matches_torch(kwargs, seed):
    for opt, state, ours, theirs in run_both(SGD, torch.optim.SGD, kwargs, seed):
        assert_close(ours, theirs)
        if opt.param_groups[0]["momentum"]:
            assert_close(states(opt, "momentum_buffer"), state["momentum_buffer"].numpy())


ADAM_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "amsgrad": True},
    {"lr": 0.1, "betas": (0.5, 0.6)},
    {"lr": 0.1, "betas": (0.0, 0.0)},
    {"lr": 0.1, "betas": (0.99, 0.9999), "amsgrad": True},
    {"lr": 0.1, "weight_decay": 0.1},
    {"lr": 0.1, "eps": 1e-2},
    {"lr": 0.05, "maximize": True},
    {"lr": 0.2, "amsgrad": True, "weight_decay": 0.05, "maximize": True, "betas": (0.0, 0.9)},
    {"lr": 0.0, "weight_decay": 0.1},
    {},  # the defaults
]


ADAMW_CASES = [
    {"lr": 0.1},
    {"lr": 0.1, "weight_decay": 0.5, "amsgrad": True},
    {"lr": 0.05, "weight_decay": 0.1, "maximize": True, "betas": (0.5, 0.6)},
    {"lr": 0.0, "weight_decay": 0.3},  # decays by 1 - 0 * wd: not at all
    {"lr": 0.1, "weight_decay": 0.0, "eps": 1e-3},
    {},  # the defaults (weight_decay 1e-2)
]


ADAM_KINDS = [(Adam, torch.optim.Adam, k) for k in ADAM_CASES] + [
    (AdamW, torch.optim.AdamW, k) for k in ADAMW_CASES
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    ("ours_class", "torch_class", "kwargs"), ADAM_KINDS, ids=lambda x: getattr(x, "__name__", x)
)
def test_adam_and_adamw_match_torch(ours_class, torch_class, kwargs, seed):
    for opt, state, ours, theirs in run_both(ours_class, torch_class, kwargs, seed):
        assert_close(ours, theirs)
        assert states(opt, "step") == [int(state["step"])] * N_PARAMS
        assert_close(states(opt, "exp_avg"), state["exp_avg"].numpy())
        assert_close(states(opt, "exp_avg_sq"), state["exp_avg_sq"].numpy())
        if opt.param_groups[0]["amsgrad"]:
            assert_close(states(opt, "max_exp_avg_sq"), state["max_exp_avg_sq"].numpy())


@pytest.mark.parametrize("kwargs", [{"lr": 0.1, "weight_decay": 0.2}, {"amsgrad": True}], ids=str)
def test_adam_with_decoupled_weight_decay_matches_torch(kwargs):
    kwargs = {**kwargs, "decoupled_weight_decay": True}
    for _, _, ours, theirs in run_both(Adam, torch.optim.Adam, kwargs, 3):
        assert_close(ours, theirs)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_with_eps_zero_matches_torch_while_every_gradient_is_nonzero(amsgrad):
    # (with a zero second moment PyTorch divides 0 by 0; see test_adam.py)
    kwargs = {"lr": 0.1, "eps": 0.0, "amsgrad": amsgrad}
    for _, _, ours, theirs in run_both(Adam, torch.optim.Adam, kwargs, 2, False):
        assert_close(ours, theirs)


SGD_INVALID = [
    {"lr": -0.1},
    {"momentum": -0.1},
    {"weight_decay": -0.1},
    {"nesterov": True},
    {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
]
ADAM_INVALID = [
    {"lr": -0.1},
    {"eps": -1e-8},
    {"weight_decay": -0.1},
    {"betas": (1.0, 0.999)},
    {"betas": (-0.1, 0.999)},
    {"betas": (0.9, 1.0)},
    {"betas": (0.9, -0.1)},
]


@pytest.mark.parametrize(
    ("ours_class", "torch_class", "kwargs"),
    [(SGD, torch.optim.SGD, kw) for kw in SGD_INVALID]
    + [(Adam, torch.optim.Adam, kw) for kw in ADAM_INVALID]
    + [(AdamW, torch.optim.AdamW, kw) for kw in ADAM_INVALID],
    ids=str,
)
def test_the_same_values_are_refused_as_by_torch(ours_class, torch_class, kwargs):
    with pytest.raises(ValueError):
        torch_class([torch.zeros(1, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError):
        ours_class([Value(0.0)], **kwargs)


def test_boundary_values_are_accepted_as_by_torch():
    torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.0, betas=(0.0, 0.0), eps=0.0)
    opt = Adam([Value(0.0)], lr=0.0, betas=(0.0, 0.0), eps=0.0)
    group = opt.param_groups[0]
    assert (group["lr"], group["betas"], group["eps"]) == (0.0, (0.0, 0.0), 0.0)
