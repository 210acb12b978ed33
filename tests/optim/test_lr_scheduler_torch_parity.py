"""Our schedulers against torch.optim.lr_scheduler: the same lrs, to the last bit.

Both follow the same recurrences in the same order of operations, so each lr is compared
with ==. The one exception is LinearLR to end_factor=0, where PyTorch's recurrence lands
about 1e-18 below 0 and ours at 0 (an lr is >= 0).
"""

import pytest

from minitorch_scalar import Value
from optim import SGD, Adam, lr_scheduler

torch = pytest.importorskip("torch")

EPOCHS = 40

CASES = [
    ("StepLR", {"step_size": 1}),
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("StepLR", {"step_size": 7, "gamma": 0.9}),
    ("StepLR", {"step_size": 2, "gamma": 1.3}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.7, "total_iters": 13}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.3, "total_iters": 4}),
    ("LinearLR", {"start_factor": 0.25, "total_iters": 1}),
    ("LinearLR", {"start_factor": 1 / 3, "end_factor": 0.0, "total_iters": 5}),
    ("LinearLR", {"start_factor": 0.7, "end_factor": 0.0, "total_iters": 3}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 1, "eta_min": 0.01}),
    ("CosineAnnealingLR", {"T_max": 3, "eta_min": 0.2}),  # eta_min above base_lr: climbs
    ("CosineAnnealingLR", {"T_max": 12, "last_epoch": 4}),
    ("StepLR", {"step_size": 3, "last_epoch": 5}),  # construction multiplies at epoch 6
    ("LinearLR", {"total_iters": 8, "last_epoch": 2}),
]
IDS = [f"{name}-{kwargs}" for name, kwargs in CASES]


def pair(name, kwargs, lr=0.1, optimizer=(SGD, torch.optim.SGD)):
    """Our optimizer and scheduler, and torch's, built alike (initial_lr set to resume)."""
    ours_p, theirs_p = Value(0.0), torch.zeros((), dtype=torch.float64, requires_grad=True)
    ours_opt, torch_opt = optimizer[0]([ours_p], lr=lr), optimizer[1]([theirs_p], lr=lr)
    if kwargs.get("last_epoch", -1) >= 0:
        ours_opt.param_groups[0]["initial_lr"] = torch_opt.param_groups[0]["initial_lr"] = 2 * lr
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **kwargs)
    return ours_opt, ours, torch_opt, theirs


def expected(lr, kwargs):
    """torch's lr, but 0 where it rounds below 0 (LinearLR to end_factor=0 only)."""
    if lr < 0.0:
        assert kwargs.get("end_factor") == 0.0 and lr > -1e-15
        return 0.0
    return lr


def step_both(ours_opt, ours, torch_opt, theirs):
    ours_opt.step()  # no gradients: nothing moves, but torch wants opt.step() first
    torch_opt.step()
    ours.step()
    theirs.step()


def assert_same(ours_opt, ours, torch_opt, theirs, kwargs):
    lr = expected(torch_opt.param_groups[0]["lr"], kwargs)
    assert ours_opt.lr == lr
    assert ours.get_last_lr() == [expected(theirs.get_last_lr()[0], kwargs)]
    assert (ours.last_epoch, ours.base_lrs) == (theirs.last_epoch, theirs.base_lrs)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_the_same_lrs_as_torch_bit_for_bit(name, kwargs):
    both = pair(name, kwargs)
    assert_same(*both, kwargs)
    for _ in range(EPOCHS):
        step_both(*both)
        assert_same(*both, kwargs)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_an_lr_changed_by_hand_carries_on_as_in_torch(name, kwargs):
    both = pair(name, kwargs, lr=0.3)
    ours_opt, _, torch_opt, _ = both
    for epoch in range(EPOCHS):
        if epoch in (4, 11):
            ours_opt.lr = torch_opt.param_groups[0]["lr"] = 0.7 * ours_opt.lr
        step_both(*both)
        assert_same(*both, kwargs)


EXACT = [(name, kwargs) for name, kwargs in CASES if kwargs.get("end_factor") != 0.0]


@pytest.mark.parametrize(("name", "kwargs"), EXACT, ids=str)
def test_state_dicts_hold_torchs_keys_and_values(name, kwargs):
    both = pair(name, kwargs, optimizer=(Adam, torch.optim.Adam))
    ours_opt, ours, torch_opt, theirs = both
    for _ in range(6):
        step_both(*both)
    mine, torchs = ours.state_dict(), theirs.state_dict()
    assert mine.keys() <= torchs.keys()
    assert set(torchs) - set(mine) == {"_step_count", "_is_initial", "_get_lr_called_within_step"}
    assert mine == {key: torchs[key] for key in mine}
    group, torch_group = ours_opt.state_dict()["param_groups"][0], torch_opt.param_groups[0]
    assert (group["initial_lr"], group["lr"]) == (torch_group["initial_lr"], torch_group["lr"])


def test_a_second_scheduler_shares_initial_lr_as_in_torch():
    ours_opt, _, torch_opt, _ = pair("StepLR", {"step_size": 2}, lr=0.4)
    ours_opt.lr = torch_opt.param_groups[0]["lr"] = 0.2
    second = lr_scheduler.LinearLR(ours_opt)
    torch_second = torch.optim.lr_scheduler.LinearLR(torch_opt)
    assert second.base_lrs == torch_second.base_lrs == [0.4]
    assert ours_opt.lr == torch_opt.param_groups[0]["lr"]


@pytest.mark.parametrize("end_factor", [1.0000001, 1.5])
def test_linear_lr_end_factor_above_1_is_refused_as_by_torch(end_factor):
    torch_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError):
        torch.optim.lr_scheduler.LinearLR(torch_opt, end_factor=end_factor)
    with pytest.raises(ValueError, match="end_factor expects a number in"):
        lr_scheduler.LinearLR(SGD([Value(0.0)], lr=0.1), end_factor=end_factor)
