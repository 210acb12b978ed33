"""The base of every optimizer: the parameters, the learning rate, the state, `zero_grad()`.

The checks every hyperparameter goes through are in `optim.checks`; saving and loading
the state in PyTorch's layout is in `optim.state_dict`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from minitorch_scalar import Value, as_float
from minitorch_scalar.grad_mode import refuse_while_tracing

from . import state_dict as layout
from .checks import Check, nonnegative_number


class Optimizer(ABC):
    """Updates a fixed list of parameters from their gradients; a subclass's `step` says how.

    Args:
        params: the leaf Values to optimize, e.g. ``model.parameters()``. Any iterable: it
            is read once into a list, which fixes each parameter's index in `state_dict`.
        lr: the learning rate, a number >= 0.
        **hyperparameters: a subclass's other hyperparameters, by PyTorch's names,
            checked by `checked_hyperparameters` and kept as attributes.

    Attributes:
        params: the parameters, a list.
        lr: the learning rate. It is read afresh at every `step`, so a schedule may set
            ``optimizer.lr = ...`` between steps; every assignment is checked.
        state: PyTorch's ``optimizer.state``: parameter -> a dict of its state (SGD's
            ``momentum_buffer``, Adam's ``step``, ``exp_avg``...). A parameter has an entry
            from its first step with a gradient on.
        initial_lr: None, or the lr a scheduler started from (set by the first scheduler
            attached, as PyTorch sets ``param_group["initial_lr"]``).

    Gradients, as in PyTorch: a parameter whose ``.grad`` is None is skipped by `step`
    (its state does not advance); any other gradient is a number, and 0.0 still decays
    momentum buffers and Adam's moments, as a zero tensor does in PyTorch. `step` checks
    every gradient before it changes anything: a gradient that is not a real number is a
    TypeError naming the parameter's index, and no parameter or state has moved.

    A subclass implements `step`, calling `gradients()` before it changes anything, and
    for `state_dict` names its hyperparameters (`hyperparameter_names`,
    `checked_hyperparameters`) and its per-parameter state (`state_checks`).

    One deliberate difference from PyTorch: a parameter listed twice is a ValueError.
    It would be updated twice per step with the same gradient; PyTorch warns that it
    will make this an error.
    """

    hyperparameter_names: tuple[str, ...] = ("lr",)  # PyTorch's param_group keys, in order

    def __init__(self, params: Iterable[Value], lr: float, **hyperparameters: Any) -> None:
        checked = self.checked_hyperparameters({"lr": lr, **hyperparameters})
        self.params = parameter_list(params)
        self.state: dict[Value, dict[str, Any]] = {}
        self.initial_lr: float | None = None
        self._assign(checked)

    @property
    def lr(self) -> float:
        """The learning rate used by the next `step`."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = nonnegative_number(value, "lr")

    def checked_hyperparameters(self, given: Mapping[str, object]) -> dict[str, Any]:
        """`given` (name -> value, every name of `hyperparameter_names`) checked.

        The one place an optimizer's hyperparameters are checked, at construction and in
        `load_state_dict`. A subclass extends it: ``super().checked_hyperparameters(given)
        | {...}``.
        """
        return {"lr": nonnegative_number(given["lr"], "lr")}

    def state_checks(self, hyperparameters: Mapping[str, Any]) -> dict[str, Check]:
        """Each key of one parameter's state under `hyperparameters`, and its check."""
        return {}

    def hyperparameters(self) -> dict[str, Any]:
        """The current hyperparameters by PyTorch's names: a param_group without params."""
        return {name: getattr(self, name) for name in self.hyperparameter_names}

    def _assign(self, hyperparameters: Mapping[str, Any]) -> None:
        for name, value in hyperparameters.items():
            setattr(self, name, value)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0.0, before the next ``loss.backward()``.

        Leaf gradients accumulate across backward calls, so a training loop calls this
        once per step. (PyTorch sets them to None by default; a Value's grad is a float.)
        """
        for p in self.params:
            p.grad = 0.0

    def gradients(self) -> list[tuple[Value, float]]:
        """(parameter, its gradient as a float) for each parameter whose grad is not None.

        Every gradient is checked before this returns, so a `step` that calls it first
        changes nothing when one is wrong: TypeError (ValueError for an int too large for
        a float) naming ``params[i].grad``; ValueError inside a function being compiled
        (a step there would run once, at trace time).
        """
        refuse_while_tracing("an optimizer step")
        return [
            (p, g if type(g) is float else as_float(g, f"params[{index}].grad"))
            for index, p in enumerate(self.params)
            if (g := p.grad) is not None
        ]

    @abstractmethod
    def step(self) -> None:
        """Update every parameter's ``.data`` once from its ``.grad``."""

    def state_dict(self) -> dict[str, Any]:
        """A copy of the state in PyTorch's layout, plain Python numbers only::

            {"state": {index: {key: number}},  # parameters that have stepped
             "param_groups": [{"lr": ..., ...every hyperparameter..., "params": [0, 1, ...]}]}

        It is JSON-ready: ``json.loads(json.dumps(opt.state_dict()))`` loads back.
        """
        return layout.pack(self)

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Set the hyperparameters and state from `state_dict`, as `state_dict()` gives it.

        All of it is checked before anything changes (a bad one leaves the optimizer as
        it was): KeyError for missing or unexpected keys, TypeError for a wrong type,
        ValueError for a wrong value (the wrong number of parameters, a non-finite
        state); each names where. JSON's string keys and lists for tuples are accepted.
        """
        hyperparameters, initial_lr, state = layout.unpack(self, state_dict)
        self._assign(hyperparameters)
        self.initial_lr = initial_lr
        self.state = {self.params[index]: entry for index, entry in state.items()}


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
        if p.parents:
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
