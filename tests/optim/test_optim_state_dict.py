"""Optimizer.state_dict() / load_state_dict(): PyTorch's layout, JSON, checks, resuming.

The layout is compared with torch's in test_optim_torch_state.py; here: what it holds,
that it survives JSON, that a bad one is refused whole, and that training resumed from
a saved model and optimizer is bit for bit training straight through.
"""

import json
import math

import pytest
from optim_steps import approx, options_of, params_of

import nn
from minitorch_scalar import Value
from optim import SGD, Adam, AdamW


def trained(make, steps=3, grads=(0.5, -2.0, 0.0)):
    """Three parameters and their optimizer after `steps` steps (params[2] has grad None)."""
    params = [Value(1.0), Value(-1.0), Value(2.0)]
    opt = make(params)
    for _ in range(steps):
        for p, g in zip(params, grads):
            p.grad = g
        params[2].grad = None
        opt.step()
    return params, opt


MAKERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "nesterov": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, maximize=True),
    "adam": lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "amsgrad": lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    "adamw": lambda ps: AdamW(ps, lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True),
}


def test_sgd_state_dict_by_hand():
    _, opt = trained(MAKERS["sgd_momentum"], steps=1)
    assert opt.state_dict() == {
        "state": {0: {"momentum_buffer": 0.5 + 0.01}, 1: {"momentum_buffer": -2.0 - 0.01}},
        "param_groups": [
            {
                "lr": 0.1,
                "momentum": 0.9,
                "dampening": 0.1,
                "weight_decay": 0.01,
                "nesterov": False,
                "maximize": False,
                "params": [0, 1, 2],
            }
        ],
    }


def test_adam_state_dict_by_hand():
    # t = 1, grad 0.5 and -2: m = 0.1 g, v = 0.001 g^2 (betas 0.9, 0.999)
    _, opt = trained(lambda ps: Adam(ps, lr=0.1, amsgrad=True), steps=1)
    state = opt.state_dict()
    assert state["state"].keys() == {0, 1}
    assert state["state"][0] == approx(
        {"step": 1, "exp_avg": 0.05, "exp_avg_sq": 0.00025, "max_exp_avg_sq": 0.00025}
    )
    assert state["state"][1] == approx(
        {"step": 1, "exp_avg": -0.2, "exp_avg_sq": 0.004, "max_exp_avg_sq": 0.004}
    )
    assert state["param_groups"] == [
        {
            "lr": 0.1,
            "betas": (0.9, 0.999),
            "eps": 1e-8,
            "weight_decay": 0.0,
            "amsgrad": True,
            "maximize": False,
            "decoupled_weight_decay": False,
            "params": [0, 1, 2],
        }
    ]


def test_without_amsgrad_there_is_no_max_exp_avg_sq_as_in_torch():
    _, opt = trained(MAKERS["adam"])
    assert list(opt.state_dict()["state"][0]) == ["step", "exp_avg", "exp_avg_sq"]


def test_a_fresh_optimizer_has_no_state_entries():
    assert SGD([Value(0.0)], momentum=0.9).state_dict()["state"] == {}
    assert Adam([Value(0.0)]).state_dict()["state"] == {}


def test_plain_sgd_keeps_no_state_as_in_torch():
    _, opt = trained(MAKERS["sgd"])
    assert opt.state_dict()["state"] == {}


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_the_state_dict_is_a_copy(make):
    _, opt = trained(make)
    saved = opt.state_dict()
    before = json.dumps(saved)
    for entry in saved["state"].values():
        entry.clear()
    saved["param_groups"][0]["lr"] = 5.0
    assert json.dumps(opt.state_dict()) == before


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_json_round_trip_loads_and_gives_the_same_state_dict(make):
    _, opt = trained(make)
    text = json.dumps(opt.state_dict())
    fresh = make([Value(p.data) for p in params_of(opt)])
    fresh.load_state_dict(json.loads(text))  # string keys, lists for tuples
    assert fresh.state_dict() == opt.state_dict()
    assert type(fresh.state_dict()["param_groups"][0]["lr"]) is float


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_loading_sets_the_hyperparameters_too(make):
    _, opt = trained(make)
    other = make([Value(0.0) for _ in params_of(opt)])
    other.lr = 123.0
    other.load_state_dict(opt.state_dict())
    assert options_of(other) == options_of(opt)


def edited(state, change):
    """`state` through JSON, then changed in place by `change`, or replaced by its result."""
    state = json.loads(json.dumps(state))
    replaced = change(state)
    return state if replaced is None else replaced


def setter(*path, value):
    def change(state):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def deleter(*path):
    def change(state):
        target = state
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


BAD = {
    "not a mapping": (lambda s: [s], TypeError, "expects a mapping like state_dict"),
    "missing state": (deleter("state"), ValueError, r"missing \['state'\]"),
    "extra key": (setter("extra", value=1), ValueError, r"unexpected \['extra'\]"),
    "two groups": (
        lambda s: s["param_groups"].append(s["param_groups"][0]),
        ValueError,
        r"expects 1 group\(s\)",
    ),
    "groups not a list": (setter("param_groups", value={}), TypeError, "list of groups"),
    "missing lr": (deleter("param_groups", 0, "lr"), ValueError, r"missing \['lr'\]"),
    "torch-only key": (
        setter("param_groups", 0, "foreach", value=None),
        ValueError,
        r"unexpected \['foreach'\]",
    ),
    "sgd's key": (setter("param_groups", 0, "momentum", value=0.9), ValueError, "momentum"),
    "too few params": (setter("param_groups", 0, "params", value=[0, 1]), ValueError, "3 param"),
    "params out of order": (
        setter("param_groups", 0, "params", value=[0, 2, 1]),
        ValueError,
        "0 to 2 in order",
    ),
    "nan lr": (
        setter("param_groups", 0, "lr", value=math.nan),
        ValueError,
        r"load_state_dict: param_groups\[0\]\['lr'\] expects a number >= 0, got nan",
    ),
    "str eps": (setter("param_groups", 0, "eps", value="1e-8"), TypeError, r"\['eps'\] expects"),
    "bad betas": (setter("param_groups", 0, "betas", value=[0.9]), ValueError, "betas"),
    "int amsgrad": (setter("param_groups", 0, "amsgrad", value=1), TypeError, "amsgrad"),
    "bad initial_lr": (
        setter("param_groups", 0, "initial_lr", value=-1.0),
        ValueError,
        "initial_lr",
    ),
    "state not a mapping": (setter("state", value=[]), TypeError, "state expects a mapping"),
    "index out of range": (setter("state", "3", value={}), ValueError, "indices 0 to 2, got 3"),
    "index not a number": (setter("state", "a", value={}), TypeError, "got 'a'"),
    "index twice": (
        lambda s: s["state"].__setitem__(0, s["state"]["0"]),
        ValueError,
        "got 0 twice",
    ),
    "entry not a mapping": (setter("state", "0", value=1.0), TypeError, r"state\[0\] expects"),
    "float step": (setter("state", "0", "step", value=3.0), TypeError, r"'step'\] expects an int"),
    "zero step": (setter("state", "0", "step", value=0), ValueError, "int >= 1, got 0"),
    "bool step": (setter("state", "0", "step", value=True), TypeError, "got bool"),
    "inf moment": (setter("state", "1", "exp_avg", value=math.inf), ValueError, "finite"),
    "nan moment": (setter("state", "1", "exp_avg", value=math.nan), ValueError, "finite"),
    "negative v": (setter("state", "1", "exp_avg_sq", value=-1.0), ValueError, ">= 0"),
    "huge int": (setter("state", "1", "exp_avg", value=10**400), ValueError, "float's range"),
    "str moment": (setter("state", "1", "exp_avg", value="0.1"), TypeError, "got str"),
}


@pytest.mark.parametrize(("change", "error", "message"), BAD.values(), ids=BAD.keys())
def test_a_bad_state_dict_is_refused_and_changes_nothing(change, error, message):
    _, opt = trained(lambda ps: Adam(ps, lr=0.5, amsgrad=True), grads=(1.0, 1.0, 1.0))
    before = opt.state_dict()
    bad = edited(before, change)
    with pytest.raises(error, match=message):
        opt.load_state_dict(bad)
    assert opt.state_dict() == before


def test_sgd_refuses_a_non_finite_momentum_buffer():
    _, opt = trained(MAKERS["sgd_momentum"])
    state = opt.state_dict()
    state["state"][1]["momentum_buffer"] = math.nan
    with pytest.raises(ValueError, match=r"state\[1\]\['momentum_buffer'\] expects a finite"):
        opt.load_state_dict(state)
    assert opt.state_dict()["state"][1]["momentum_buffer"] != state["state"][1]["momentum_buffer"]


def test_a_bad_hyperparameter_says_where_it_was_read():
    _, opt = trained(MAKERS["sgd_momentum"])
    state = opt.state_dict()
    state["param_groups"][0]["nesterov"] = True
    with pytest.raises(ValueError, match=r"load_state_dict: param_groups\[0\]: nesterov=True"):
        opt.load_state_dict(state)


def test_a_state_dict_from_adam_does_not_load_into_sgd():
    _, adam = trained(MAKERS["adam"])
    _, sgd = trained(MAKERS["sgd_momentum"])
    with pytest.raises(ValueError, match=r"missing .*'momentum'.* unexpected .*'betas'"):
        sgd.load_state_dict(adam.state_dict())


def training_run(model, opt, batches):
    """One step per batch of (inputs, targets): mse loss, zero_grad, backward, step."""
    for inputs, targets in batches:
        loss = nn.mse_loss(model(inputs), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()


RESUMABLE = {
    "sgd_momentum": lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam_amsgrad": lambda ps: Adam(ps, lr=0.01, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda ps: AdamW(ps, lr=0.01, weight_decay=0.05),
}


@pytest.mark.parametrize("make", RESUMABLE.values(), ids=RESUMABLE.keys())
def test_resuming_from_saved_state_is_bit_for_bit_training_straight_through(make):
    batches = [
        ([[0.1 * i, -0.2 * j] for j in range(4)], [0.3 * i - 0.1 * j for j in range(4)])
        for i in range(10)
    ]
    straight = nn.MLP(2, [4, 1], seed=3)
    straight_opt = make(straight.parameters())
    training_run(straight, straight_opt, batches)

    first = nn.MLP(2, [4, 1], seed=3)
    first_opt = make(first.parameters())
    training_run(first, first_opt, batches[:6])
    model_text = json.dumps({k: v.tolist() for k, v in first.state_dict().items()})
    opt_text = json.dumps(first_opt.state_dict())

    resumed = nn.MLP(2, [4, 1], seed=99)  # fresh objects, other weights, nothing shared
    resumed_opt = make(resumed.parameters())
    resumed.load_state_dict(json.loads(model_text))
    resumed_opt.load_state_dict(json.loads(opt_text))
    training_run(resumed, resumed_opt, batches[6:])
    assert [p.data for p in resumed.parameters()] == [p.data for p in straight.parameters()]


def two_groups():
    """Adam with groups of 2 and 1 parameters (amsgrad only in the second), one step on."""
    params = [Value(1.0), Value(-1.0), Value(2.0)]
    opt = Adam([{"params": params[:2]}, {"params": params[2:], "amsgrad": True, "lr": 0.1}])
    for p in params:
        p.grad = 1.0
    opt.step()
    return opt


BAD_GROUPS = {
    "one group of two": (
        lambda s: s["param_groups"].pop() and None,
        ValueError,
        r"param_groups expects 2 group\(s\) \(this optimizer's\), got 1",
    ),
    "a group not a mapping": (
        setter("param_groups", 1, value=5),
        TypeError,
        r"param_groups\[1\] expects a mapping, got int",
    ),
    "a group without params": (
        deleter("param_groups", 1, "params"),
        ValueError,
        r"param_groups\[1\] keys: missing \['params'\]",
    ),
    "a group with an unknown key": (
        setter("param_groups", 1, "momentum", value=0.9),
        ValueError,
        r"param_groups\[1\] keys: missing \[\], unexpected \['momentum'\]",
    ),
    "params not a list": (
        setter("param_groups", 1, "params", value=2),
        TypeError,
        r"param_groups\[1\]\['params'\] expects a list of parameter indices, got 2",
    ),
    "the second group's params numbered from 0": (
        setter("param_groups", 1, "params", value=[0]),
        ValueError,
        r"param_groups\[1\]\['params'\] expects the indices 2 to 2 in order, got \[0\]",
    ),
    "the groups' sizes swapped": (
        lambda s: (
            s["param_groups"][0].update(params=[0]) or s["param_groups"][1].update(params=[1, 2])
        ),
        ValueError,
        r"param_groups\[0\]\['params'\] expects 2 parameters \(this group's\), got 1",
    ),
    "a bad option in the second group": (
        setter("param_groups", 1, "lr", value=-1.0),
        ValueError,
        r"load_state_dict: param_groups\[1\]\['lr'\] expects a number >= 0",
    ),
    "names of the wrong length": (
        setter("param_groups", 1, "param_names", value=["a", "b"]),
        ValueError,
        r"param_groups\[1\]\['param_names'\] expects 1 names",
    ),
    "a bad vmax in a group without amsgrad (where it may be)": (
        setter("state", "0", "max_exp_avg_sq", value="1.0"),
        TypeError,
        r"state\[0\]\['max_exp_avg_sq'\] expects a real number",
    ),
}


@pytest.mark.parametrize(("change", "error", "message"), BAD_GROUPS.values(), ids=BAD_GROUPS)
def test_a_malformed_parameter_group_is_refused_and_changes_nothing(change, error, message):
    opt = two_groups()
    before = opt.state_dict()
    with pytest.raises(error, match=message):
        opt.load_state_dict(edited(before, change))
    assert opt.state_dict() == before


def test_loading_takes_each_saved_groups_options_as_pytorch():
    # the saved group replaces the options, initial_lr included (absent: removed)
    opt = two_groups()
    saved = opt.state_dict()
    other = two_groups()
    other.param_groups[0]["initial_lr"] = 0.5
    other.param_groups[1]["lr"] = 9.0
    other.load_state_dict(saved)
    assert other.state_dict() == saved
    assert "initial_lr" not in other.param_groups[0]


def test_adam_state_round_trips_after_amsgrad_is_unset_in_a_group():
    # the steps with amsgrad left vmax in the state (as in PyTorch); it loads back
    opt = two_groups()
    opt.param_groups[1]["amsgrad"] = False
    for p in params_of(opt):
        p.grad = -1.0
    opt.step()
    saved = json.loads(json.dumps(opt.state_dict()))
    assert "max_exp_avg_sq" in saved["state"]["2"]
    fresh = two_groups()
    fresh.load_state_dict(saved)
    assert fresh.state_dict() == opt.state_dict()


@pytest.mark.parametrize("plain_rule", [False, True])
def test_a_state_saved_after_amsgrad_was_set_mid_run_loads_and_steps_as_before(plain_rule):
    """amsgrad set between steps: a parameter that stepped without it has no vmax yet
    (its rule starts vmax at 0). The optimizer's own state_dict then lacks it, and must
    load into a fresh optimizer that takes the next step with the same bits."""
    def made():
        p = Value(0.5)
        opt = Adam([p], lr=0.1, amsgrad=False)
        opt.plain_rule = plain_rule
        return p, opt

    p, opt = made()
    p.grad = 0.25
    opt.step()
    opt.param_groups[0]["amsgrad"] = True
    saved = opt.state_dict()
    assert "max_exp_avg_sq" not in saved["state"][0]
    q, fresh = made()
    q.data = p.data
    fresh.load_state_dict(saved)
    p.grad = q.grad = -0.5
    opt.step()
    fresh.step()
    assert q.data == p.data and fresh.state[q] == opt.state[p]
