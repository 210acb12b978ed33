"""The schedulers against their rules (closed forms), their arguments, and their state."""

import doctest
import json
import math

import pytest

import optim
from minitorch_scalar import Value
from optim import SGD, Adam
from optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, StepLR


def lrs(opt, schedule, epochs):
    """The lr at epoch 0 (set at construction), then after each of `epochs` steps."""
    seen = [opt.lr]
    for _ in range(epochs):
        schedule.step()
        seen.append(opt.lr)
    return seen


def sgd(lr=0.5):
    return SGD([Value(0.0)], lr=lr)


def test_lr_scheduler_is_a_module_of_optim_as_in_torch():
    assert optim.lr_scheduler.StepLR is StepLR
    assert issubclass(CosineAnnealingLR, LRScheduler)


def test_the_module_docstring_example_holds():
    result = doctest.testmod(optim.lr_scheduler)
    assert result.attempted > 0
    assert result.failed == 0


def test_step_lr_is_base_lr_times_gamma_to_the_floor_of_t_over_step_size():
    opt = sgd(0.5)
    seen = lrs(opt, StepLR(opt, step_size=3, gamma=0.5), 10)
    assert seen == [0.5 * 0.5 ** (t // 3) for t in range(11)]  # powers of 2: exact


@pytest.mark.parametrize(("s", "e", "total"), [(1 / 3, 1.0, 5), (0.1, 0.5, 4), (1.0, 0.2, 3)])
def test_linear_lr_follows_its_closed_form(s, e, total):
    opt = sgd(0.3)
    seen = lrs(opt, LinearLR(opt, s, e, total), 8)
    expected = [0.3 * (s + (e - s) * min(t, total) / total) for t in range(9)]
    assert seen == pytest.approx(expected, rel=1e-14)


def test_linear_lr_to_zero_ends_at_zero_not_a_rounding_below():
    opt = sgd(1.0)
    seen = lrs(opt, LinearLR(opt, start_factor=1 / 3, end_factor=0.0, total_iters=5), 7)
    assert seen[5:] == [0.0, 0.0, 0.0]
    assert all(lr >= 0.0 for lr in seen)


@pytest.mark.parametrize(("t_max", "eta_min"), [(10, 0.0), (4, 0.01), (1, 0.1)])
def test_cosine_annealing_follows_its_closed_form_down_and_back_up(t_max, eta_min):
    opt = sgd(0.5)
    seen = lrs(opt, CosineAnnealingLR(opt, t_max, eta_min), 3 * t_max)
    expected = [
        eta_min + (0.5 - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2
        for t in range(3 * t_max + 1)
    ]
    assert seen == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert seen[t_max] == eta_min  # cos(pi) is -1 exactly


def test_a_schedule_carries_on_from_an_lr_set_by_hand():
    # chainable: StepLR multiplies the lr the optimizer has, whoever set it
    opt = sgd(1.0)
    schedule = StepLR(opt, step_size=2, gamma=0.5)
    schedule.step()
    opt.lr = 0.1
    schedule.step()
    assert opt.lr == 0.05


def test_construction_records_initial_lr_and_base_lrs():
    opt = sgd(0.3)
    assert "initial_lr" not in opt.param_groups[0]
    schedule = LinearLR(opt)
    assert (opt.param_groups[0]["initial_lr"], schedule.base_lrs, schedule.last_epoch) == (
        0.3,
        [0.3],
        0,
    )
    assert opt.lr == 0.3 / 3
    assert schedule.get_last_lr() == [opt.lr]
    assert opt.state_dict()["param_groups"][0]["initial_lr"] == 0.3
    # a second scheduler starts from the same initial_lr, as in PyTorch
    assert StepLR(opt, 2).base_lrs == [0.3]


def test_get_last_lr_is_a_copy():
    opt = sgd()
    schedule = StepLR(opt, 1)
    schedule.get_last_lr().append(1.0)
    assert schedule.get_last_lr() == [0.5]


def test_resuming_by_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match=r"last_epoch=3 resumes a schedule.*initial_lr"):
        StepLR(sgd(), 2, last_epoch=3)


def test_resuming_by_last_epoch_continues_the_epochs():
    opt = sgd(1.0)
    opt.param_groups[0]["initial_lr"] = 2.0
    schedule = CosineAnnealingLR(opt, T_max=10, last_epoch=4)
    assert (schedule.last_epoch, schedule.base_lrs, opt.lr) == (5, [2.0], 1.0)


SCHEDULES = {
    "step": lambda opt: StepLR(opt, step_size=3, gamma=0.7),
    "linear": lambda opt: LinearLR(opt, start_factor=0.2, end_factor=0.9, total_iters=7),
    "cosine": lambda opt: CosineAnnealingLR(opt, T_max=6, eta_min=0.01),
}


@pytest.mark.parametrize("make", SCHEDULES.values(), ids=SCHEDULES.keys())
def test_save_and_resume_through_json_is_bit_for_bit(make):
    epochs = 16
    opt = Adam([Value(0.0)], lr=0.2)
    schedule = make(opt)
    straight = lrs(opt, schedule, epochs)

    opt = Adam([Value(0.0)], lr=0.2)
    schedule = make(opt)
    first = lrs(opt, schedule, epochs // 2)
    saved = json.dumps({"opt": opt.state_dict(), "schedule": schedule.state_dict()})

    fresh_opt = Adam([Value(0.0)], lr=123.0)  # PyTorch's order: create, then load both
    fresh = make(fresh_opt)
    loaded = json.loads(saved)
    fresh_opt.load_state_dict(loaded["opt"])
    fresh.load_state_dict(loaded["schedule"])
    assert fresh.get_last_lr() == [fresh_opt.lr] == [first[-1]]
    assert first + lrs(fresh_opt, fresh, epochs - epochs // 2)[1:] == straight


def test_state_dict_holds_pytorchs_keys():
    opt = sgd(0.5)
    schedule = StepLR(opt, step_size=2, gamma=0.5)
    schedule.step()
    schedule.step()
    assert schedule.state_dict() == {
        "step_size": 2,
        "gamma": 0.5,
        "base_lrs": [0.5],
        "last_epoch": 2,
        "_last_lr": [0.25],
    }


BAD_STATES = {
    "missing key": (lambda s: s.pop("gamma"), ValueError, r"missing \['gamma'\]"),
    "extra key": (lambda s: s.update(verbose=False), ValueError, r"unexpected \['verbose'\]"),
    "float epoch": (lambda s: s.update(last_epoch=2.0), TypeError, "last_epoch"),
    "negative epoch": (lambda s: s.update(last_epoch=-1), ValueError, "last_epoch"),
    "two base lrs": (lambda s: s.update(base_lrs=[0.1, 0.2]), ValueError, "base_lrs"),
    "nan base lr": (lambda s: s.update(base_lrs=[math.nan]), ValueError, r"base_lrs'\]\[0\]"),
    "str last lr": (lambda s: s.update(_last_lr="0.1"), TypeError, "_last_lr"),
    "zero step_size": (lambda s: s.update(step_size=0), ValueError, "step_size"),
    "negative gamma": (lambda s: s.update(gamma=-0.5), ValueError, "gamma"),
}


@pytest.mark.parametrize(("change", "error", "message"), BAD_STATES.values(), ids=BAD_STATES)
def test_a_bad_state_dict_is_refused_and_changes_nothing(change, error, message):
    opt = sgd(0.5)
    schedule = StepLR(opt, step_size=2, gamma=0.5)
    schedule.step()
    before = schedule.state_dict()
    bad = schedule.state_dict()
    change(bad)
    with pytest.raises(error, match=message):
        schedule.load_state_dict(bad)
    assert schedule.state_dict() == before
    with pytest.raises(TypeError, match="expects a mapping"):
        schedule.load_state_dict([("gamma", 0.5)])


BAD_ARGUMENTS = [
    (lambda o: StepLR(o, step_size=0), ValueError, "step_size expects an int >= 1, got 0"),
    (lambda o: StepLR(o, step_size=2.0), TypeError, "step_size expects an int, got float"),
    (lambda o: StepLR(o, step_size=True), TypeError, "step_size expects an int, got bool"),
    (lambda o: StepLR(o, 2, gamma=-0.1), ValueError, "gamma expects a finite number >= 0"),
    (lambda o: StepLR(o, 2, gamma=math.nan), ValueError, "gamma expects a finite number"),
    (lambda o: StepLR(o, 2, gamma=10**400), ValueError, "gamma expects a real number within"),
    (lambda o: StepLR(o, 2, gamma="0.1"), TypeError, "gamma expects a real number"),
    (lambda o: StepLR(o, 2, last_epoch=-2), ValueError, "last_epoch expects an int >= -1"),
    (lambda o: LinearLR(o, start_factor=0.0), ValueError, r"start_factor expects .* \(0, 1\]"),
    (lambda o: LinearLR(o, start_factor=1.5), ValueError, "start_factor expects"),
    (lambda o: LinearLR(o, start_factor=math.nan), ValueError, "start_factor expects"),
    (lambda o: LinearLR(o, end_factor=-0.1), ValueError, r"end_factor expects .* \[0, 1\]"),
    (lambda o: LinearLR(o, end_factor=None), TypeError, "end_factor expects a real number"),
    (lambda o: LinearLR(o, total_iters=0), ValueError, "total_iters expects an int >= 1"),
    (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max expects an int >= 1"),
    (lambda o: CosineAnnealingLR(o, T_max=5.5), TypeError, "T_max expects an int"),
    (lambda o: CosineAnnealingLR(o, 5, eta_min=-1.0), ValueError, "eta_min expects"),
    (lambda o: CosineAnnealingLR(o, 5, eta_min=math.inf), ValueError, "eta_min expects"),
]


@pytest.mark.parametrize(("make", "error", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_refused_naming_them_and_touch_nothing(make, error, message):
    opt = sgd(0.5)
    before = dict(opt.param_groups[0])
    with pytest.raises(error, match=message):
        make(opt)
    assert opt.param_groups[0] == before  # no initial_lr either
    assert opt.lr == 0.5


def test_the_optimizer_must_be_ours():
    with pytest.raises(TypeError, match=r"optimizer expects an optim\.Optimizer, got list"):
        StepLR([Value(0.0)], 2)


def test_numpy_integers_are_ints():
    np = pytest.importorskip("numpy")
    opt = sgd()
    schedule = StepLR(opt, np.int64(2))
    assert type(schedule.step_size) is int
