"""The base of every optimizer: the parameters it updates, the learning rate, `zero_grad()`.

Also the checks that every optimizer's hyperparameters go through, so each error names
the argument, what was expected and what was given.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

from minitorch_scalar import Value


class Optimizer(ABC):
    """Updates a fixed list of parameters from their gradients; a subclass's `step` says how.

    Args:
        params: the leaf Values to optimize, e.g. ``model.parameters()``. Any iterable: it
            is read once into a list, and per-parameter state follows that list's order.
        lr: the learning rate, a number >= 0.

    Attributes:
        params: the parameters, a list.
        lr: the learning rate. It is read afresh at every `step`, so a schedule may set
            ``optimizer.lr = ...`` between steps; every assignment is checked.

    Two differences from PyTorch, both deliberate:

    - Every parameter takes part in every step. A Value's gradient is always a float
      (0.0 when nothing flowed into it), never None as a tensor's may be, so a zero
      gradient still decays momentum buffers and Adam's moments, exactly as in PyTorch
      when a gradient is a zero tensor. (PyTorch skips only parameters whose grad is None.)
    - A parameter listed twice is a ValueError. It would be updated twice per step with
      the same gradient; PyTorch warns that it will make this an error.
    """

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        self.params = parameter_list(params)
        self.lr = lr

    @property
    def lr(self) -> float:
        """The learning rate used by the next `step`."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = nonnegative_number(value, "lr")

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0.0, before the next ``loss.backward()``.

        Leaf gradients accumulate across backward calls, so a training loop calls this
        once per step. (PyTorch sets them to None by default; a Value's grad is a float.)
        """
        for p in self.params:
            p.grad = 0.0

    @abstractmethod
    def step(self) -> None:
        """Update every parameter's ``.data`` once from its ``.grad``."""


def parameter_list(params: Iterable[Value]) -> list[Value]:
    """`params` as a new list of distinct leaf Values, or the error that says what is wrong.

    TypeError: `params` is a single Value, a set (its order changes between runs, and
    state follows the order), not iterable, or holds something that is not a Value.
    ValueError: it is empty, holds the result of an op, or holds a Value twice.
    """
    if isinstance(params, Value):
        raise TypeError("params expects an iterable of Values, got a single Value: use [value]")
    if isinstance(params, set | frozenset):
        raise TypeError(
            "params expects an ordered iterable of Values such as a list, got a "
            f"{type(params).__name__}, whose order changes from one run to the next"
        )
    try:
        items = iter(params)
    except TypeError:
        raise TypeError(
            f"params expects an iterable of Values, got {type(params).__name__}: {params!r}"
        ) from None
    values = list(items)
    if not values:
        raise ValueError("params expects at least one Value, got an empty iterable")
    first_index: dict[Value, int] = {}  # Values hash by identity
    for index, p in enumerate(values):
        if not isinstance(p, Value):
            raise TypeError(f"params[{index}] expects a Value, got {type(p).__name__}: {p!r}")
        if p.op:
            raise ValueError(
                f"params[{index}] expects a leaf Value, got the result of op {p.op!r}: "
                "optimize the leaves it is computed from"
            )
        first = first_index.setdefault(p, index)
        if first != index:
            raise ValueError(
                f"params[{index}] expects a Value not listed before, got params[{first}] "
                "again: list each parameter once (it would be updated twice per step)"
            )
    return values


def real_number(value: object, name: str) -> float:
    """`value` as a float; TypeError naming `name` unless it is a real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} expects a real number (int or float), got {type(value).__name__}: {value!r}"
        )
    return float(value)


def nonnegative_number(value: object, name: str) -> float:
    """`value` as a float >= 0; TypeError or ValueError naming `name` otherwise (nan too)."""
    number = real_number(value, name)
    if not number >= 0.0:
        raise ValueError(f"{name} expects a number >= 0, got {value!r}")
    return number


def flag(value: object, name: str) -> bool:
    """`value` if it is True or False; TypeError naming `name` otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} expects True or False, got {type(value).__name__}: {value!r}")
    return value
