"""The fast path of an optimizer's step: its rule run on numpy arrays, to the bit.

Each optimizer's ``step_by_rule`` is its docstring's algorithm, one parameter at a
time in Python floats: that is the rule, and the reference. Its Python work per
parameter does not shrink when the rest of a training step is compiled, so `step` here
runs the same rule once per parameter group on arrays:

1. read every stepping parameter's ``.grad`` and ``.data`` into two arrays, once;
2. apply the rule to whole arrays (`adam_on_arrays`, `sgd_on_arrays`), each line the
   scalar rule's line, elementwise, with its operations in the same order;
3. write each parameter's new ``.data`` back, once.

Why the bits are the same: IEEE 754 rounds each +, -, *, / and sqrt to the nearest
double, in numpy as in Python, so an elementwise expression written in the scalar
rule's order (``(1 - beta2) * g * g`` is ``((1 - beta2) * g) * g`` in both, never
``g**2``; no fused multiply-add) rounds as the scalar rule does. What the rule computes
once per step, such as a bias correction ``lr / (1 - beta1**t)``, is computed here the
same way, as Python floats, once per distinct t. A comparison stays a comparison:
``max(vmax, v)`` is ``where(v > vmax, v, vmax)`` (Python's max keeps the first unless
the second is larger, also with nan), and a step skipped on a zero denominator is a
``where``. ``tests/optim/test_array_step.py`` holds this path to the rule, bit for bit.

Between steps the state stays in arrays (``opt.state_arrays``: a `GroupState` per group).
``opt.state`` is the per-parameter dicts of PyTorch's layout: reading it writes the
arrays' numbers into those dicts (the same dict objects each time) and hands the state
back to them, and the next array step reads the dicts again. So a user reading or
editing ``opt.state[p]`` between steps, `state_dict()` and `load_state_dict()` see and
set what the scalar rule would have. A dict kept from an earlier read of ``opt.state``
is brought up to date at the next read of ``opt.state``.

Whenever something is not what this path expects (a grad or data that is not a float,
a state entry with other keys or types), `step` changes nothing and returns False, and
the optimizer runs the scalar rule, which converts or names the culprit as it always has.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import countOf
from typing import TYPE_CHECKING, Any

import numpy as np

from minitorch_scalar import Value
from minitorch_scalar.grad_mode import refuse_while_tracing

if TYPE_CHECKING:
    from .optimizer import Optimizer

MAX_STEP = 2**62  # a step count an int64 holds with room for one more


@dataclass(frozen=True)
class StateKey:
    """One key of a parameter's state: its name, int (``step``) or float, and whether
    every entry has it (else, like ``max_exp_avg_sq``, only some do)."""

    name: str
    integer: bool = False
    required: bool = True


ADAM_STATE = (
    StateKey("step", integer=True),
    StateKey("exp_avg"),
    StateKey("exp_avg_sq"),
    StateKey("max_exp_avg_sq", required=False),
)
SGD_STATE = (StateKey("momentum_buffer"),)


class GroupState:
    """One group's state as arrays: for each key, a value per parameter (0 where the
    parameter's state lacks the key) and where it is present. A parameter has a state
    entry exactly where the first (a required) key is present."""

    def __init__(self, params: list[Value], keys: tuple[StateKey, ...]) -> None:
        self.params = list(params)  # the group's, when packed: a change re-packs
        self.keys = keys
        self.values = {
            k.name: np.zeros(len(params), np.int64 if k.integer else float) for k in keys
        }
        self.present = {k.name: np.zeros(len(params), bool) for k in keys}

    def read(self, state: Mapping[Value, Mapping[str, Any]]) -> bool:
        """Take each parameter's entry of `state`; False (the arrays half-filled, to be
        dropped) if one has a key or a type that the arrays do not hold exactly."""
        for index, p in enumerate(self.params):
            entry = state.get(p)
            if entry is not None and not self._read_entry(index, entry):
                return False
        return True

    def _read_entry(self, index: int, entry: Mapping[str, Any]) -> bool:
        if not set(entry) <= {k.name for k in self.keys}:
            return False
        for key in self.keys:
            if key.name not in entry:
                if key.required:
                    return False
                continue
            value = entry[key.name]
            if type(value) is not (int if key.integer else float) or (
                key.integer and not 0 <= value < MAX_STEP
            ):
                return False
            self.values[key.name][index] = value
            self.present[key.name][index] = True
        return True

    def write_into(self, state: dict[Value, dict[str, Any]]) -> None:
        """Put each parameter's numbers into its dict of `state` (made if new), as
        Python floats and ints, keys in the scalar rule's order."""
        columns = {name: values.tolist() for name, values in self.values.items()}
        first = self.keys[0].name
        for index in np.flatnonzero(self.present[first]).tolist():
            entry = state.setdefault(self.params[index], {})
            for key in self.keys:
                if self.present[key.name][index]:
                    entry[key.name] = columns[key.name][index]


class StateView:
    """The state of the stepping parameters of one group, as a rule on arrays sees it:
    ``view[key]`` their values (0 where absent), ``view.has(key)`` where present;
    ``view[key] = values`` sets them, now present."""

    def __init__(self, group: GroupState, where: np.ndarray | None) -> None:
        self.group, self.where = group, where

    def __getitem__(self, name: str) -> np.ndarray:
        values = self.group.values[name]
        return values if self.where is None else values[self.where]

    def has(self, name: str) -> np.ndarray:
        present = self.group.present[name]
        return present if self.where is None else present[self.where]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        if self.where is None:
            self.group.values[name][:] = values
            self.group.present[name][:] = True
        else:
            self.group.values[name][self.where] = values
            self.group.present[name][self.where] = True


@dataclass
class GroupRead:
    """One group's step, read before anything changes: its options, its stepping
    parameters (`where`: their indices in the group, None for all) and their numbers."""

    options: dict[str, Any]
    stepping: list[Value]
    where: np.ndarray | None
    grad: np.ndarray
    data: np.ndarray


ArrayRule = Callable[[dict[str, Any], StateView, np.ndarray, np.ndarray], np.ndarray]


def step(optimizer: Optimizer, keys: tuple[StateKey, ...], rule: ArrayRule) -> bool:
    """One step of `optimizer` by `rule` on arrays, the same bits as its scalar rule.

    True once done; False, with nothing changed, when a gradient, data or state entry
    is not what the arrays hold (the caller then runs the scalar rule). An option that
    fails its check raises, naming it, before anything changes (as the scalar rule).
    """
    refuse_while_tracing("an optimizer step")
    reads = []
    for options, group in zip(optimizer.checked_group_options(), optimizer.param_groups):
        read = read_group(options, group["params"])
        if read is None:
            return False
        reads.append(read)
    groups = current_state(optimizer, keys)
    if groups is None:
        return False
    with np.errstate(all="ignore"):  # nan and inf as the scalar rule makes them
        for read, group in zip(reads, groups):
            if read.stepping:
                new_data = rule(read.options, StateView(group, read.where), read.grad, read.data)
                for p, x in zip(read.stepping, new_data.tolist()):
                    p.data = x
    return True


def read_group(options: dict[str, Any], params: list[Value]) -> GroupRead | None:
    """The group's stepping parameters (grad not None) and their grads and data as
    arrays; None if a grad or data is neither a float nor (a grad) None."""
    grads = [p.grad for p in params]
    where = None
    stepping = params
    if not all_floats(grads):
        if countOf(map(type, grads), float) + grads.count(None) != len(grads):
            return None
        where = np.flatnonzero([g is not None for g in grads])
        stepping = [params[i] for i in where.tolist()]
        grads = [grads[i] for i in where.tolist()]
    data = [p.data for p in stepping]
    if not all_floats(data):
        return None
    count = len(stepping)
    return GroupRead(
        options,
        stepping,
        where,
        np.fromiter(grads, float, count),
        np.fromiter(data, float, count),
    )


def all_floats(numbers: list[object]) -> bool:
    """Every item is a float (exactly: not an int, a bool or a numpy float)."""
    return countOf(map(type, numbers), float) == len(numbers)


def current_state(optimizer: Optimizer, keys: tuple[StateKey, ...]) -> list[GroupState] | None:
    """The optimizer's state as arrays, one `GroupState` per group: those kept since the
    last step if its groups still hold the same parameters, else read afresh from
    ``optimizer.state`` (None if an entry does not fit)."""
    kept = optimizer.state_arrays
    groups = optimizer.param_groups
    if (
        kept is not None
        and len(kept) == len(groups)
        and all(g.params == group["params"] for g, group in zip(kept, groups))
    ):
        return kept
    state = optimizer.state  # hands back kept arrays' numbers first
    fresh = [GroupState(group["params"], keys) for group in groups]
    if not all(g.read(state) for g in fresh):
        return None
    optimizer.state_arrays = fresh
    return fresh


def bias_corrections(t: np.ndarray, correct: Callable[[int], float]) -> float | np.ndarray:
    """``correct(t)`` for each step count in `t`, computed as the scalar rule computes
    it (a Python float from a Python int), once per distinct t: one float when all
    parameters are at the same step (the usual case), else an array."""
    if t.min() == t.max():
        return correct(int(t[0]))
    distinct, positions = np.unique(t, return_inverse=True)
    return np.array([correct(step) for step in distinct.tolist()])[positions]


def adam_on_arrays(
    options: dict[str, Any], state: StateView, g: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """`Adam.step_by_rule` for the stepping parameters of one group, line for line on
    arrays (its docstring's algorithm): their new data; `state` updated."""
    lr, eps, wd = options["lr"], options["eps"], options["weight_decay"]
    beta1, beta2 = options["betas"]
    amsgrad = options["amsgrad"]
    if options["maximize"]:
        g = -g
    if wd != 0:
        if options["decoupled_weight_decay"]:
            theta = theta * (1 - lr * wd)
        else:
            g = g + wd * theta
    t = state["step"] + 1
    state["step"] = t
    m = beta1 * state["exp_avg"] + (1 - beta1) * g
    state["exp_avg"] = m
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
    state["exp_avg_sq"] = v
    if amsgrad:
        vmax = state["max_exp_avg_sq"]  # 0 where absent, as the rule's default
        vmax = np.where(v > vmax, v, vmax)  # Python's max(vmax, v), nan included
        state["max_exp_avg_sq"] = vmax
    root = bias_corrections(t, lambda step: math.sqrt(1 - beta2**step))
    denominator = np.sqrt(vmax if amsgrad else v) / root + eps
    step_size = bias_corrections(t, lambda step: lr / (1 - beta1**step))
    return np.where(denominator != 0, theta - step_size * m / denominator, theta)


def sgd_on_arrays(
    options: dict[str, Any], state: StateView, g: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """`SGD.step_by_rule` for the stepping parameters of one group, line for line on
    arrays (its docstring's algorithm): their new data; `state` updated."""
    lr, wd, mu, tau = (options[k] for k in ("lr", "weight_decay", "momentum", "dampening"))
    if options["maximize"]:
        g = -g
    if wd != 0:
        g = g + wd * theta
    if mu != 0:
        had = state.has("momentum_buffer")
        b = np.where(had, mu * state["momentum_buffer"] + (1 - tau) * g, g)
        state["momentum_buffer"] = b
        g = g + mu * b if options["nesterov"] else b
    return theta - lr * g
