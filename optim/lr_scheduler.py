"""Learning-rate schedules: PyTorch's ``torch.optim.lr_scheduler``, step for step.

A scheduler sets the ``"lr"`` of each of its optimizer's parameter groups once per epoch
(or per step: whatever a call to `step` means in your loop). As in PyTorch the rules are
*chainable*: each new lr is computed from the lr the group has now, by the recurrences
PyTorch documents, so the lrs are PyTorch's to the last bit, and a change you make to
``opt.param_groups[i]["lr"]`` carries on.

>>> from minitorch_scalar import Value
>>> from optim import SGD
>>> from optim.lr_scheduler import StepLR
>>> opt = SGD([Value(0.0)], lr=1.0)
>>> schedule = StepLR(opt, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(opt.param_groups[0]["lr"])  # train an epoch: zero_grad, backward, step
...     schedule.step()
>>> lrs
[1.0, 1.0, 0.5, 0.5, 0.25]

Each group follows the rule from its own lr: `base_lrs` and `get_last_lr()` are lists
with one entry per group. The first scheduler attached records the lr each group
started from in ``param_group["initial_lr"]``, as PyTorch, which the optimizer's
`state_dict` carries. Not supported: ``step(epoch)``, deprecated in PyTorch, and its
warnings about the order of ``opt.step()`` and ``schedule.step()``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from minitorch_scalar import as_float

from .checks import (
    Check,
    checked_mapping,
    finite_nonnegative_number,
    integer_at_least,
    nonnegative_number,
)
from .optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "LRScheduler", "LinearLR", "StepLR"]


class LRScheduler(ABC):
    """The base of the schedulers: epochs, base lrs, `step`, state; a subclass gives the rule.

    Epoch t = `last_epoch` counts calls: construction makes it 0 (or resumes at
    ``last_epoch + 1``), each `step` adds 1, and the lr of each group at epoch t is
    ``next_lr(its lr at epoch t - 1, its base lr, ...)``.

    Args:
        optimizer: the `optim.Optimizer` whose groups' ``"lr"`` this sets.
        last_epoch: -1 to start (default): each group's ``"initial_lr"`` is set to its
            lr, unless a scheduler set it before. An epoch >= 0 resumes a schedule: every
            group must then hold ``"initial_lr"`` (the optimizer's state_dict loaded from
            a run that had a scheduler), else a KeyError, as in PyTorch.
        **arguments: the subclass's arguments, checked by its `argument_checks`.

    Attributes:
        optimizer: the optimizer.
        base_lrs: each group's ``"initial_lr"``, the lr its schedule started from.
        last_epoch: t, the epoch of the current lrs.

    Every argument is checked before the optimizer is touched; a group's lr set by hand
    to a wrong value is an error naming it (``param_groups[0]['lr']``) from `step`,
    which then changes nothing.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1, **arguments: Any) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer expects an optim.Optimizer, got {type(optimizer).__name__}")
        given = {**arguments, "last_epoch": last_epoch}
        checks = self.argument_checks() | {"last_epoch": integer_at_least(-1)}
        checked = {name: check(given[name], name) for name, check in checks.items()}
        groups, lrs = optimizer.param_groups, current_lrs(optimizer)
        if checked["last_epoch"] >= 0:
            for index, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"last_epoch={last_epoch} resumes a schedule, which needs "
                        f"param_groups[{index}]['initial_lr']: load the optimizer's "
                        "state_dict (saved with a scheduler) first"
                    )
        base_lrs = [
            nonnegative_number(group.get("initial_lr", lr), f"param_groups[{index}]['initial_lr']")
            for index, (group, lr) in enumerate(zip(groups, lrs))
        ]
        for group, base_lr in zip(groups, base_lrs):  # all checked: now change the optimizer
            group.setdefault("initial_lr", base_lr)
        self.optimizer, self.base_lrs = optimizer, base_lrs
        for name, value in checked.items():
            setattr(self, name, value)
        self._advance(initial=True)

    @abstractmethod
    def argument_checks(self) -> dict[str, Check]:
        """The subclass's arguments (PyTorch's names, in order) and the check of each."""

    @abstractmethod
    def next_lr(self, lr: float, base_lr: float, initial: bool) -> float:
        """A group's lr at epoch `last_epoch`, from `lr`, its lr the epoch before.

        `base_lr` is the group's entry of `base_lrs`; `initial` is True for the step
        construction takes, False for every `step`.
        """

    def step(self) -> None:
        """Go to the next epoch: ``last_epoch += 1`` and set each group's lr by the rule."""
        self._advance(initial=False)

    def _advance(self, initial: bool) -> None:
        lrs = current_lrs(self.optimizer)  # checked before anything changes
        self.last_epoch += 1
        for group, lr, base_lr in zip(self.optimizer.param_groups, lrs, self.base_lrs):
            new = self.next_lr(lr, base_lr, initial)
            # A rule that lands on 0 can overshoot it by a rounding (LinearLR to
            # end_factor=0 gives PyTorch -1.5e-18); an lr is >= 0, so that is 0.
            group["lr"] = 0.0 if new < 0.0 else new
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lr this scheduler set last in each group, a list as PyTorch's."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The arguments, ``base_lrs``, ``last_epoch`` and ``_last_lr``, by PyTorch's keys.

        Plain Python numbers: it round-trips through JSON. It does not hold the
        optimizer's lrs: save and load the optimizer's `state_dict` with it.
        """
        names = [*self.argument_checks(), "base_lrs", "last_epoch"]
        return {name: getattr(self, name) for name in names} | {"_last_lr": self.get_last_lr()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Set the arguments and the epoch from `state_dict`, as `state_dict()` gives it.

        Checked whole before anything changes: ValueError for missing or unexpected keys
        (naming them) and for lists of lrs that do not have one per group, TypeError or
        ValueError for a wrong value, naming it. The optimizer's lrs are not touched (as
        in PyTorch): they come with the optimizer's own state_dict.
        """
        count = len(self.optimizer.param_groups)
        checks = self.argument_checks() | {
            "base_lrs": lr_list(count),
            "last_epoch": integer_at_least(0),
            "_last_lr": lr_list(count),
        }
        for name, value in checked_mapping(state_dict, checks, "load_state_dict").items():
            setattr(self, name, value)


def current_lrs(optimizer: Optimizer) -> list[float]:
    """Each group's lr, checked: an error names ``param_groups[i]['lr']``."""
    return [
        nonnegative_number(group.get("lr"), f"param_groups[{index}]['lr']")
        for index, group in enumerate(optimizer.param_groups)
    ]


class StepLR(LRScheduler):
    """Multiply the lr by gamma every `step_size` epochs: PyTorch's ``StepLR``.

    The rule, for epoch t = 0, 1, 2, ...::

        lr_t = gamma * lr_{t-1}   if t > 0 and t mod step_size == 0
        lr_t = lr_{t-1}           otherwise

    so that, with nothing else changing the lr, lr_t = base_lr * gamma^floor(t / step_size).

    Args:
        optimizer: the optimizer whose lr this sets.
        step_size: the period, an int >= 1.
        gamma: the factor, a finite number >= 0 (default 0.1).
        last_epoch: -1 to start; see `LRScheduler`. (As PyTorch's, a resumed StepLR
            applies the rule to epoch last_epoch + 1 at construction.)

    Raises:
        TypeError: step_size not an int, gamma not a real number, optimizer not one.
        ValueError: step_size < 1, gamma < 0 or not finite.
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        super().__init__(optimizer, last_epoch, step_size=step_size, gamma=gamma)

    def argument_checks(self) -> dict[str, Check]:
        """step_size an int >= 1, gamma a finite number >= 0."""
        return {"step_size": integer_at_least(1), "gamma": finite_nonnegative_number}

    def next_lr(self, lr: float, base_lr: float, initial: bool) -> float:
        """gamma * lr at every step_size-th epoch after 0, else lr."""
        t = self.last_epoch
        return lr * self.gamma if t > 0 and t % self.step_size == 0 else lr


class LinearLR(LRScheduler):
    """Scale the lr by a factor going linearly from start_factor to end_factor: ``LinearLR``.

    With s = start_factor, e = end_factor, T = total_iters, for epoch t::

        lr_0 = s * lr_{-1}
        lr_t = lr_{t-1} * (1 + (e - s) / (T s + (t - 1) (e - s)))   for 1 <= t <= T
        lr_t = lr_{t-1}                                              for t > T

    the recurrence of PyTorch's; its closed form is lr_t = base_lr (s + (e - s) min(t, T) / T).
    A warm-up: by default the lr climbs from a third of itself to all of it in 5 epochs.
    With e = 0 the recurrence can land a rounding below 0 at t = T (PyTorch's lr is then
    about -1e-18): ours is 0 there, the one place our lrs differ from PyTorch's.

    Args:
        optimizer: the optimizer whose lr this sets.
        start_factor: s, in (0, 1] (default 1/3).
        end_factor: e, in [0, 1] (default 1).
        total_iters: T, the epochs to go from s to e, an int >= 1 (default 5).
        last_epoch: -1 to start; see `LRScheduler`. A resumed LinearLR keeps the
            optimizer's lr at construction, as PyTorch's does.

    Raises:
        TypeError: a factor not a real number, total_iters not an int.
        ValueError: a factor outside its interval (nan too), total_iters < 1.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        super().__init__(
            optimizer,
            last_epoch,
            start_factor=start_factor,
            end_factor=end_factor,
            total_iters=total_iters,
        )

    def argument_checks(self) -> dict[str, Check]:
        """start_factor in (0, 1], end_factor in [0, 1], total_iters an int >= 1."""
        return {
            "start_factor": start_factor,
            "end_factor": end_factor,
            "total_iters": integer_at_least(1),
        }

    def next_lr(self, lr: float, base_lr: float, initial: bool) -> float:
        """The recurrence above, in PyTorch's order of operations."""
        t, s, e = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return lr * s
        if initial or t > self.total_iters:
            return lr
        return lr * (1.0 + (e - s) / (self.total_iters * s + (t - 1) * (e - s)))


class CosineAnnealingLR(LRScheduler):
    """Anneal the lr along a cosine from base_lr to eta_min in T_max epochs: PyTorch's.

    The schedule is SGDR's (Loshchilov and Hutter, 2017) without restarts::

        lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2

    computed, as PyTorch computes it, by its recurrence from the current lr::

        lr_t = eta_min + (lr_{t-1} - eta_min) (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max))
        lr_t = lr_{t-1} + (base_lr - eta_min) (1 - cos(pi / T_max)) / 2
                                              when (t - 1 - T_max) mod 2 T_max == 0

    (the second where the first would divide by 0). Past T_max the lr climbs back along
    the cosine, to base_lr at 2 T_max, as PyTorch's does.

    Args:
        optimizer: the optimizer whose lr this sets.
        T_max: half the period, an int >= 1.
        eta_min: the lowest lr, a finite number >= 0 (default 0).
        last_epoch: -1 to start; see `LRScheduler`. Construction keeps the lr.

    Raises:
        TypeError: T_max not an int, eta_min not a real number.
        ValueError: T_max < 1, eta_min < 0 or not finite.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803 - PyTorch's name
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        super().__init__(optimizer, last_epoch, T_max=T_max, eta_min=eta_min)

    def argument_checks(self) -> dict[str, Check]:
        """T_max an int >= 1, eta_min a finite number >= 0."""
        return {"T_max": integer_at_least(1), "eta_min": finite_nonnegative_number}

    def next_lr(self, lr: float, base_lr: float, initial: bool) -> float:
        """The recurrence above, in PyTorch's order of operations."""
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if initial:
            return lr
        if (t - 1 - t_max) % (2 * t_max) == 0:
            return lr + (base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        ratio = (1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
        return ratio * (lr - eta_min) + eta_min


def start_factor(value: object, name: str) -> float:
    """`value` as a float in (0, 1]; TypeError or ValueError naming `name` otherwise."""
    number = as_float(value, name)
    if not 0.0 < number <= 1.0:
        raise ValueError(f"{name} expects a number in (0, 1], got {value!r}")
    return number


def end_factor(value: object, name: str) -> float:
    """`value` as a float in [0, 1]; TypeError or ValueError naming `name` otherwise."""
    number = as_float(value, name)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} expects a number in [0, 1], got {value!r}")
    return number


def lr_list(count: int) -> Check:
    """A check: the value as a list of `count` finite lrs >= 0 (one per param group)."""

    def check(value: object, name: str) -> list[float]:
        if not isinstance(value, list | tuple):
            raise TypeError(f"{name} expects a list of lrs, got {type(value).__name__}")
        if len(value) != count:
            raise ValueError(
                f"{name} expects {count} lr(s), one per param group, got {len(value)}: {value!r}"
            )
        return [finite_nonnegative_number(lr, f"{name}[{index}]") for index, lr in enumerate(value)]

    return check
