"""Several parameter groups, param_groups edits and schedulers against torch (float64).

One scalar problem, written once for our Values and once for torch's 0-d tensors: its
gradients come from each side's own backward, after each side's own ``zero_grad()``
(None gradients, PyTorch's default). One parameter is reached by the loss only on
even steps, so it has a None gradient (and is skipped) on odd ones. Each case runs
STEPS steps with several groups of their own options; halfway, options are edited
through ``param_groups`` on both sides. Parameters, state and ``state_dict()`` agree to
1e-12 relative after every step; lrs set by schedulers agree to the last bit.
"""

import json

import numpy as np
import pytest
from optim_steps import params_of

from minitorch_scalar import Value
from optim import SGD, Adam, AdamW, lr_scheduler

torch = pytest.importorskip("torch")

STEPS, EDIT_AT = 20, 10
RTOL = 1e-12
INITIAL = [0.8, -1.3, 0.4, 2.1, -0.6]
TORCH_ONLY = {"foreach", "capturable", "differentiable", "fused"}  # how torch computes


def loss(p, t):
    """The problem at step t: the same formula on Values and on tensors."""
    total = (p[0] - 1.5) ** 2 + 0.5 * (p[1] * p[2] - 0.7) ** 2 + (p[3] * 0.3).tanh() * p[1]
    if t % 2 == 0:  # p[4] only on even steps: on odd ones its grad stays None
        total = total + (p[4] * p[0]).exp() * 0.1
    return total


def split(params, groups):
    """`groups` ([{"params": [indices], options...}]) with the indices replaced by params."""
    return [{**g, "params": [params[i] for i in g["params"]]} for g in groups]


def build(ours_class, torch_class, groups, defaults):
    ours = [Value(x) for x in INITIAL]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in INITIAL]
    ours_opt = ours_class(split(ours, groups), **defaults)
    torch_opt = torch_class(split(theirs, groups), **defaults)
    return ours, theirs, ours_opt, torch_opt


def step_both(t, ours, theirs, ours_opt, torch_opt):
    for params, opt in ((ours, ours_opt), (theirs, torch_opt)):
        opt.zero_grad()
        loss(params, t).backward()
        opt.step()


def edit_both(ours_opt, torch_opt, edit):
    for opt in (ours_opt, torch_opt):
        edit(opt.param_groups)


def torch_state_numbers(state_dict):
    """torch's state_dict with each tensor as a Python number (step an int), torch-only
    group keys gone: what ours gives."""
    state = {
        index: {
            key: int(value.item()) if key == "step" else value.item()
            for key, value in entry.items()
        }
        for index, entry in state_dict["state"].items()
    }
    groups = [
        {key: value for key, value in group.items() if key not in TORCH_ONLY}
        for group in state_dict["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def assert_same(ours, theirs, ours_opt, torch_opt):
    np.testing.assert_allclose([p.data for p in ours], [t.item() for t in theirs], rtol=RTOL)
    mine, torchs = ours_opt.state_dict(), torch_state_numbers(torch_opt.state_dict())
    assert mine["param_groups"] == torchs["param_groups"]
    assert mine["state"].keys() == torchs["state"].keys()
    for index, entry in mine["state"].items():
        assert entry.keys() == torchs["state"][index].keys()
        for key, value in entry.items():
            assert value == pytest.approx(torchs["state"][index][key], rel=RTOL, abs=0.0)


SGD_CASES = {
    "momentum, nesterov, dampening": (
        [
            {"params": [0, 1]},
            {"params": [2, 3], "lr": 0.02, "nesterov": True, "weight_decay": 0.1},
            {"params": [4], "momentum": 0.5, "dampening": 0.3, "maximize": True},
        ],
        {"lr": 0.05, "momentum": 0.9},
        lambda groups: groups[0].update(lr=0.01, momentum=0.5) or groups[2].update(lr=0.2),
    ),
    "plain and weight decay": (
        [{"params": [0, 3, 4], "weight_decay": 0.3}, {"params": [1, 2], "lr": 0.1}],
        {"lr": 0.03},
        lambda groups: groups[1].update(maximize=True, lr=0.001),
    ),
}
ADAM_CASES = {
    "amsgrad, maximize, betas": (
        [
            {"params": [0, 1], "amsgrad": True},
            {"params": [2], "lr": 0.02, "betas": (0.5, 0.6), "maximize": True},
            {"params": [3, 4], "weight_decay": 0.2, "eps": 1e-3},
        ],
        {"lr": 0.05},
        lambda groups: groups[0].update(lr=0.01) or groups[2].update(weight_decay=0.0),
    ),
    "one group": (
        [{"params": [0, 1, 2, 3, 4]}],
        {"lr": 0.1, "weight_decay": 0.05, "amsgrad": True},
        lambda groups: groups[0].update(lr=0.03, betas=(0.8, 0.99)),
    ),
}

CASES = (
    [(SGD, torch.optim.SGD, *case) for case in SGD_CASES.values()]
    + [(Adam, torch.optim.Adam, *case) for case in ADAM_CASES.values()]
    + [(AdamW, torch.optim.AdamW, *case) for case in ADAM_CASES.values()]
)
IDS = (
    [f"SGD-{name}" for name in SGD_CASES]
    + [f"Adam-{name}" for name in ADAM_CASES]
    + [f"AdamW-{name}" for name in ADAM_CASES]
)


@pytest.mark.parametrize(
    ("ours_class", "torch_class", "groups", "defaults", "edit"), CASES, ids=IDS
)
def test_groups_train_as_torchs_for_20_steps(ours_class, torch_class, groups, defaults, edit):
    ours, theirs, ours_opt, torch_opt = build(ours_class, torch_class, groups, defaults)
    assert_same(ours, theirs, ours_opt, torch_opt)
    for t in range(STEPS):
        if t == EDIT_AT:
            edit_both(ours_opt, torch_opt, edit)
        step_both(t, ours, theirs, ours_opt, torch_opt)
        assert_same(ours, theirs, ours_opt, torch_opt)


@pytest.mark.parametrize(
    ("ours_class", "torch_class", "groups", "defaults", "edit"), CASES, ids=IDS
)
def test_torchs_state_dict_loads_into_ours_and_training_goes_on_as_torchs(
    ours_class, torch_class, groups, defaults, edit
):
    # torch trains half the run; its parameters and state_dict (tensors as numbers, as
    # JSON carries them) load into a fresh optimizer of ours, and both train on
    _, theirs, _, torch_opt = build(ours_class, torch_class, groups, defaults)
    for t in range(EDIT_AT):
        torch_opt.zero_grad()
        loss(theirs, t).backward()
        torch_opt.step()
    edit(torch_opt.param_groups)
    ours = [Value(t.item()) for t in theirs]
    ours_opt = ours_class(split(ours, groups), **{**defaults, "lr": 123.0})
    ours_opt.load_state_dict(json.loads(json.dumps(torch_state_numbers(torch_opt.state_dict()))))
    assert_same(ours, theirs, ours_opt, torch_opt)
    for t in range(EDIT_AT, STEPS):
        step_both(t, ours, theirs, ours_opt, torch_opt)
        assert_same(ours, theirs, ours_opt, torch_opt)


SCHEDULERS = [
    ("StepLR", {"step_size": 1, "gamma": 0.8}),
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("LinearLR", {"start_factor": 0.2, "end_factor": 0.9, "total_iters": 7}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.5, "total_iters": 4}),
    ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 1}),
]
EPOCHS = 40  # past 3 * T_max for every cosine case


def scheduled_pair(name, kwargs):
    groups = [{"params": [0, 1]}, {"params": [2, 3], "lr": 0.3}, {"params": [4], "lr": 0.02}]
    both = build(SGD, torch.optim.SGD, groups, {"lr": 0.1, "momentum": 0.9})
    ours_opt, torch_opt = both[2], both[3]
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    return both, ours, theirs


def group_lrs(opt):
    return [group["lr"] for group in opt.param_groups]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULERS, ids=str)
def test_schedulers_set_every_groups_lr_as_torchs_bit_for_bit(name, kwargs):
    both, ours, theirs = scheduled_pair(name, kwargs)
    params, torch_params, ours_opt, torch_opt = both
    assert ours.base_lrs == theirs.base_lrs == [0.1, 0.3, 0.02]
    for epoch in range(EPOCHS):
        assert group_lrs(ours_opt) == group_lrs(torch_opt)
        assert ours.get_last_lr() == theirs.get_last_lr()
        if epoch in (5, 13):  # by hand, in one group: the rules carry on from it
            edit_both(ours_opt, torch_opt, lambda groups: groups[1].update(lr=groups[1]["lr"] / 3))
        step_both(epoch, params, torch_params, ours_opt, torch_opt)
        ours.step()
        theirs.step()
    np.testing.assert_allclose(
        [p.data for p in params], [t.item() for t in torch_params], rtol=1e-9
    )
    mine, torchs = ours.state_dict(), theirs.state_dict()
    assert mine == {key: torchs[key] for key in mine}
    assert [g["initial_lr"] for g in ours_opt.state_dict()["param_groups"]] == [
        g["initial_lr"] for g in torch_opt.state_dict()["param_groups"]
    ]


def test_a_scheduler_with_several_groups_resumes_from_state_dicts_as_torchs():
    both, ours, theirs = scheduled_pair("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.01})
    _, _, ours_opt, torch_opt = both
    torch_opt.step()  # no gradients: nothing moves, but torch wants opt.step() first
    for _ in range(7):
        ours.step()
        theirs.step()
    saved = json.loads(json.dumps({"opt": ours_opt.state_dict(), "schedule": ours.state_dict()}))
    fresh_opt = SGD([{"params": [Value(0.0), Value(0.0)]} for _ in range(2)], lr=1.0)
    fresh_opt.add_param_group({"params": [Value(0.0)]})  # groups of 2, 2, 1 as saved
    fresh = lr_scheduler.CosineAnnealingLR(fresh_opt, T_max=5, eta_min=0.01)
    fresh_opt.load_state_dict(saved["opt"])
    fresh.load_state_dict(saved["schedule"])
    for _ in range(12):
        fresh.step()
        theirs.step()
        assert group_lrs(fresh_opt) == group_lrs(torch_opt)
    assert params_of(fresh_opt)[0].data == 0.0  # nothing stepped: only lrs moved
