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


@pytest.mark.parametrize(("t_max", "eta_min"), [(10, 0.0), (4, 0.01), (1, 0.1), (3, 0.2)])
def test_cosine_annealing_follows_its_closed_form_down_and_back_up_past_3_t_max(t_max, eta_min):
    # the cosine goes on with period 2 T_max: at base_lr at 2 T_max and 4 T_max, at
    # eta_min at T_max, 3 T_max and 5 T_max (the second recurrence of the docstring is
    # taken at each t with (t - 1 - T_max) mod 2 T_max == 0: once per period)
    opt = sgd(0.5)
    seen = lrs(opt, CosineAnnealingLR(opt, t_max, eta_min), 5 * t_max)
    expected = [
        eta_min + (0.5 - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2
        for t in range(5 * t_max + 1)
    ]
    assert seen == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert seen[t_max] == eta_min  # cos(pi) is -1 exactly
    for k in (2, 4):
        assert seen[k * t_max] == pytest.approx(0.5, rel=1e-12)
    for k in (3, 5):
        assert seen[k * t_max] == pytest.approx(eta_min, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("gamma", [0.5, 0.25, 2.0])
def test_step_lr_with_step_size_1_multiplies_at_every_epoch(gamma):
    opt = sgd(0.5)
    seen = lrs(opt, StepLR(opt, step_size=1, gamma=gamma), 8)
    assert seen == [0.5 * gamma**t for t in range(9)]  # powers of 2: exact


@pytest.mark.parametrize(
    "make",
    [
        lambda opt, **kw: StepLR(opt, 2, **kw),
        lambda opt, **kw: LinearLR(opt, **kw),
        lambda opt, **kw: CosineAnnealingLR(opt, 4, **kw),
    ],
    ids=["step", "linear", "cosine"],
)
def test_the_default_last_epoch_is_minus_1_a_fresh_start(make):
    # omitted and -1 are the same start: epoch 0 after construction, initial_lr recorded,
    # and then the same lrs; a resumed schedule (last_epoch=0) starts at epoch 1
    runs = []
    for kwargs in ({}, {"last_epoch": -1}):
        opt = sgd(0.5)
        schedule = make(opt, **kwargs)
        assert schedule.last_epoch == 0
        assert opt.param_groups[0]["initial_lr"] == 0.5
        runs.append((lrs(opt, schedule, 10), schedule.state_dict()))
    assert runs[0] == runs[1]
    opt = sgd(0.5)
    opt.param_groups[0]["initial_lr"] = 0.5
    assert make(opt, last_epoch=0).last_epoch == 1


def test_linear_lr_end_factor_may_be_1_but_not_above_as_in_pytorch():
    opt = sgd(0.5)
    assert lrs(opt, LinearLR(opt, start_factor=0.5, end_factor=1.0, total_iters=2), 3)[-1] == 0.5
    for above in (1.0000001, 1.5, 10):
        with pytest.raises(ValueError, match=r"end_factor expects a number in \[0, 1\], got"):
            LinearLR(sgd(), end_factor=above)


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
    with pytest.raises(KeyError, match=r"last_epoch=3 resumes .*param_groups\[0\]\['initial_lr'\]"):
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
    "no base lrs": (lambda s: s.update(base_lrs=[]), ValueError, r"expects 1 lr\(s\).* got 0"),
    "missing last lr": (lambda s: s.pop("_last_lr"), ValueError, r"missing \['_last_lr'\]"),
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


# ------------------------------------------------------------ several parameter groups


def grouped(lrs_by_group=(0.5, 0.25, 2.0)):
    """An SGD of one parameter per group, each group with its own lr."""
    return SGD([{"params": [Value(0.0)], "lr": lr} for lr in lrs_by_group], lr=1.0)


def group_lrs(opt):
    return [group["lr"] for group in opt.param_groups]


def test_each_group_follows_the_rule_from_its_own_lr():
    opt = grouped()
    schedule = CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    assert schedule.base_lrs == [0.5, 0.25, 2.0]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.5, 0.25, 2.0]
    for t in range(1, 13):
        schedule.step()
        expected = [
            0.1 + (b - 0.1) * (1 + math.cos(math.pi * t / 4)) / 2 for b in schedule.base_lrs
        ]
        assert group_lrs(opt) == pytest.approx(expected, rel=1e-12)
        assert schedule.get_last_lr() == group_lrs(opt)


def test_state_dict_has_one_lr_per_group_and_refuses_another_count():
    opt = grouped()
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    schedule.step()
    state = schedule.state_dict()
    assert state["base_lrs"] == [0.5, 0.25, 2.0]
    assert state["_last_lr"] == [0.25, 0.125, 1.0]
    other = StepLR(grouped((0.1, 0.1)), step_size=1)
    before = other.state_dict()
    with pytest.raises(ValueError, match=r"load_state_dict\['base_lrs'\] expects 2 lr\(s\)"):
        other.load_state_dict(state)
    assert other.state_dict() == before


def test_resuming_needs_initial_lr_in_every_group():
    opt = grouped()
    opt.param_groups[0]["initial_lr"] = 0.5
    with pytest.raises(KeyError, match=r"param_groups\[1\]\['initial_lr'\]"):
        StepLR(opt, 2, last_epoch=4)


@pytest.mark.parametrize(
    ("bad", "error"), [(-0.5, ValueError), ("0.1", TypeError), (math.nan, ValueError)]
)
def test_a_bad_lr_set_by_hand_in_a_group_is_refused_and_changes_nothing(bad, error):
    opt = grouped()
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    opt.param_groups[2]["lr"] = bad
    before, epoch = group_lrs(opt), schedule.last_epoch
    with pytest.raises(error, match=r"param_groups\[2\]\['lr'\] expects"):
        schedule.step()
    assert group_lrs(opt) == before  # group 0 and 1 not multiplied either
    assert schedule.last_epoch == epoch
    with pytest.raises(error, match=r"param_groups\[2\]\['lr'\] expects"):
        LinearLR(opt)
    assert all("initial_lr" in g for g in opt.param_groups)  # from StepLR, untouched
