"""The base of every optimizer: parameter groups, the state, `zero_grad()`, a step's checks.

The parameter groups are PyTorch's (``opt.param_groups``, a list of plain dicts); how
they are read from the constructor's `params` is in `optim.groups`; the checks every
option goes through are in `optim.checks`; saving and loading the state in PyTorch's
layout is in `optim.state_dict`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from minitorch_scalar import Value, as_float
from minitorch_scalar.grad_mode import refuse_while_tracing

from . import groups as grouping
from . import state_dict as layout
from .checks import Check, flag, nonnegative_number, option_name

if TYPE_CHECKING:
    from .array_step import GroupState


class Optimizer(ABC):
    """Updates parameters from their gradients, group by group; a subclass's `step` says how.

    Args:
        params: what to optimize, as PyTorch takes it. Either the leaf Values
            (``model.parameters()``; (name, Value) pairs as ``named_parameters()`` gives
            are fine too), which make one group; or a list of parameter groups, dicts
            with the key ``"params"`` (its Values) and any of the optimizer's options::

                SGD([{"params": body}, {"params": head, "lr": 0.01}], lr=0.1, momentum=0.9)

            An option a group does not set is taken from `defaults` (above: the body's lr
            is 0.1, and both groups have momentum 0.9): PyTorch's rule.
        defaults: every option and its value for a group that does not set it: the
            constructor's arguments, by PyTorch's names. Its keys are the optimizer's
            options; those the class checks (`option_checks`) are checked.

    Attributes:
        param_groups: PyTorch's: a list of dicts, one per group, each with ``"params"``
            (a list of Values) and a value for every option. Set an option there and the
            next `step` uses it: ``opt.param_groups[0]["lr"] = 0.01`` is how a schedule
            changes the learning rate. A scheduler adds ``"initial_lr"``; named
            parameters add ``"param_names"``.
        defaults: the options given to the constructor, checked (a dict).
        state: PyTorch's ``optimizer.state``: parameter -> a dict of its state (SGD's
            ``momentum_buffer``, Adam's ``step``, ``exp_avg``...). A parameter has an entry
            from its first step with a gradient on. Up to date whenever it is read (the
            array path keeps the state in arrays between steps: see `optim.array_step`).
        plain_rule: False (the default, a class attribute): `step` runs the array path
            (`optim.array_step`), which gives the rule's bits; True: `step` runs
            ``step_by_rule``, the rule as the class docstring writes it, one parameter at
            a time in Python floats (the reference the tests hold the array path to).
        state_arrays: the array path's state between steps (None while ``opt.state`` is
            the state); set by `optim.array_step`, handed back to ``opt.state`` when read.
        lr: (not PyTorch's) for an optimizer with one group, ``param_groups[0]["lr"]``,
            to read or set; with several groups, a ValueError that says to use them.

    Gradients, as in PyTorch: a parameter whose ``.grad`` is None is skipped by `step`
    (its state does not advance); any other gradient is a number, and 0.0 still decays
    momentum buffers and Adam's moments, as a zero tensor does in PyTorch.

    A step is all or nothing. Before it changes anything, `step` checks every group's
    options (a value set in ``param_groups`` by hand included) and the gradient and
    ``.data`` of every parameter it will move: a wrong one is a TypeError or ValueError
    naming it (``params[1].grad``, ``param_groups[0]['lr']``, or with several groups
    ``param_groups[1]['params'][0].data``), and no parameter or state has changed.

    A subclass passes its `defaults` to ``super().__init__``, lists its checks in
    `option_checks` and the checks of one parameter's state in `state_checks` (for
    `load_state_dict`), and implements `step` by `stepping_groups()`. SGD and Adam write
    that as ``step_by_rule``, and their `step` runs a fast path with the same bits
    (`optim.array_step`) unless `plain_rule`.

    Deliberate differences from PyTorch: a parameter listed twice in one group is a
    ValueError (PyTorch warns, then updates it twice per step; in two groups it is an
    error in both); a group with no parameters, or with a key that is neither an option
    nor ``initial_lr`` / ``param_names``, is a ValueError (PyTorch would ignore a
    misspelt option); the dicts in `param_groups` are new ones, not those passed in.
    """

    option_checks: ClassVar[dict[str, Check]] = {"lr": nonnegative_number}
    plain_rule: ClassVar[bool] = False

    def __init__(self, params: Iterable[Any], defaults: Mapping[str, Any]) -> None:
        if not isinstance(defaults, Mapping):
            raise TypeError(f"defaults expects a dict of options, got {type(defaults).__name__}")
        if "lr" not in defaults:
            raise ValueError(f"defaults expects the option 'lr', got {list(defaults)}")
        self.defaults = self.checked_options(defaults)
        self.state = {}
        self.param_groups: list[dict[str, Any]] = []
        for group, where in grouping.given_groups(params):
            self._add_group(group, where)

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group: a dict with ``"params"`` and any options (others from `defaults`).

        As PyTorch's, for instance to start training a frozen part of a model. Checked
        whole before it is added: TypeError or ValueError naming what is wrong (a
        parameter already in a group among them).
        """
        self._add_group(param_group, "param_group")

    def _add_group(self, given: object, where: str) -> None:
        group = grouping.new_group(given, where, self.defaults, self.checked_options)
        grouping.check_disjoint(group, self.param_groups, where)
        self.param_groups.append(group)

    def checked_options(self, given: Mapping[str, object], where: str = "") -> dict[str, Any]:
        """`given` (option -> value) with each value through its check in `option_checks`.

        The one place options are checked: at construction, by `step` and by
        `load_state_dict`. Errors name each value ``where['key']`` (just ``key`` when
        `where` is empty). A subclass with a rule across options extends it.
        """
        checks = self.option_checks
        return {
            key: checks[key](value, option_name(where, key)) if key in checks else value
            for key, value in given.items()
        }

    @property
    def state(self) -> dict[Value, dict[str, Any]]:
        """Parameter -> its state, a dict (see the class's docstring), up to date: the
        numbers the array path kept since the last read are written into these dicts
        first, and the next array step reads the dicts again (so edits count)."""
        if self.state_arrays is not None:
            for group_state in self.state_arrays:
                group_state.write_into(self._state)
            self.state_arrays = None
        return self._state

    @state.setter
    def state(self, state: dict[Value, dict[str, Any]]) -> None:
        self._state = state
        self.state_arrays: list[GroupState] | None = None

    def state_checks(self, options: Mapping[str, Any]) -> dict[str, Check]:
        """Each key of one parameter's state in a group with `options`, and its check."""
        return {}

    def optional_state_checks(self, options: Mapping[str, Any]) -> dict[str, Check]:
        """Keys that one parameter's state may have besides those of `state_checks`."""
        return {}

    @property
    def lr(self) -> float:
        """The learning rate of an optimizer with one parameter group (not PyTorch's)."""
        return self._single_group()["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        self._single_group()["lr"] = nonnegative_number(value, "lr")

    def _single_group(self) -> dict[str, Any]:
        if len(self.param_groups) != 1:
            raise ValueError(
                f"opt.lr is for an optimizer with one parameter group; this one has "
                f"{len(self.param_groups)}: read or set opt.param_groups[i]['lr']"
            )
        return self.param_groups[0]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient before the next ``loss.backward()``: PyTorch's.

        Leaf gradients accumulate across backward calls, so a training loop calls this
        once per step. With ``set_to_none=True`` (the default, as PyTorch's) each grad
        becomes None: the next backward sets it afresh, and a parameter that backward
        does not reach stays None, so `step` skips it. With ``set_to_none=False`` each
        grad that is not None becomes 0.0 (a parameter with a zero gradient still
        steps: momentum and weight decay move it).
        """
        set_to_none = flag(set_to_none, "set_to_none")
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = 0.0

    def stepping_groups(self) -> list[tuple[dict[str, Any], list[Value]]]:
        """For each group: its options, checked, and its parameters that step (those
        whose grad is not None), each with a float ``.grad`` and ``.data``.

        Everything is checked before this returns, so a `step` that calls it first
        changes nothing when something is wrong: a TypeError (ValueError for an int
        beyond a float's range) naming the option, or the parameter's ``.grad`` or
        ``.data``. A grad or data that is a real number but not a float (an int, a
        numpy float) is made the float it equals, once every check has passed.
        """
        refuse_while_tracing("an optimizer step")
        several = len(self.param_groups) > 1
        checked, conversions = [], []
        for index, options in enumerate(self.checked_group_options()):
            params = self.param_groups[index]["params"]
            stepping, unusual = _stepping(params)
            if unusual:
                prefix = f"param_groups[{index}]['params']" if several else "params"
                conversions += _as_floats(unusual, params, prefix)
            checked.append((options, stepping))
        for p, grad, data in conversions:
            p.grad, p.data = grad, data
        return checked

    def checked_group_options(self) -> Iterator[dict[str, Any]]:
        """Each group's options, checked as they are read (a TypeError or ValueError
        naming ``param_groups[i]['key']``), one group at a time."""
        for index, group in enumerate(self.param_groups):
            where = f"param_groups[{index}]"
            yield self.checked_options(grouping.options_of(group, self.defaults, where), where)

    @abstractmethod
    def step(self) -> None:
        """Update every parameter's ``.data`` once from its ``.grad``."""

    def step_by_rule(self) -> None:
        """`step` by the rule as the class docstring writes it: the reference. SGD and
        Adam implement it; a subclass of the user's may implement `step` alone."""
        self.step()

    def state_dict(self) -> dict[str, Any]:
        """A copy of the state in PyTorch's layout, plain Python numbers only::

            {"state": {index: {key: number}},  # parameters that have stepped
             "param_groups": [{"lr": ..., ...every option..., "params": [0, 1, ...]},
                              {..., "params": [2, 3]}]}

        A parameter's index counts through the groups in order. It is JSON-ready:
        ``json.loads(json.dumps(opt.state_dict()))`` loads back.
        """
        return layout.pack(self)

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Set the groups' options and the state from `state_dict`, as `state_dict()` gives it.

        All of it is checked before anything changes (a bad one leaves the optimizer as
        it was): ValueError for missing or unexpected keys (naming them), for a wrong
        number of groups or of parameters in one, or a non-finite state; TypeError for a
        wrong type; each names where. As PyTorch's, each group takes the saved group's
        options (its ``initial_lr`` too), keeping its own parameters. JSON's string keys
        and lists for tuples are accepted.
        """
        param_groups, state = layout.unpack(self, state_dict)
        self.param_groups = param_groups
        self.state = state


def _stepping(params: list[Value]) -> tuple[list[Value], list[Value]]:
    """The parameters whose grad is not None, and those of them whose grad or data is not
    a float, for `_as_floats`. One pass, and no tuple per parameter: a step's hot path."""
    unusual: list[Value] = []
    stepping = [
        p
        for p in params
        if (g := p.grad) is not None and (type(g) is float is type(p.data) or not unusual.append(p))
    ]
    return stepping, unusual


def _as_floats(
    unusual: list[Value], params: list[Value], prefix: str
) -> list[tuple[Value, float, float]]:
    """(p, grad, data as floats) for each of `unusual`, or the error naming the first that
    is not a real number: ``prefix[index].grad`` (or ``.data``)."""
    floats = []
    for p in unusual:
        index = next(i for i, q in enumerate(params) if q is p)
        grad = as_float(p.grad, f"{prefix}[{index}].grad")
        floats.append((p, grad, as_float(p.data, f"{prefix}[{index}].data")))
    return floats
