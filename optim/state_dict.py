"""An optimizer's state in PyTorch's layout, and back: `Optimizer.state_dict()`'s work.

    {"state": {0: {"momentum_buffer": 0.25}, 2: {...}},   # index -> that parameter's state
     "param_groups": [{"lr": 0.1, "momentum": 0.9, ..., "params": [0, 1, 2]}]}

Our optimizers have one parameter group, so `param_groups` has one entry. Every value
is a plain Python number, bool or tuple, so the dict survives `json.dumps` and
`json.loads`; loading accepts what JSON gives back (string keys, lists for tuples).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from minitorch_scalar import is_integer

from .checks import checked_mapping, nonnegative_number, require_keys

if TYPE_CHECKING:
    from .optimizer import Optimizer

WHERE = "load_state_dict"


def pack(optimizer: Optimizer) -> dict[str, Any]:
    """`optimizer`'s state in PyTorch's layout (a copy: changing it changes nothing)."""
    state = {
        index: dict(optimizer.state[p])
        for index, p in enumerate(optimizer.params)
        if p in optimizer.state
    }
    group = optimizer.hyperparameters()
    if optimizer.initial_lr is not None:
        group["initial_lr"] = optimizer.initial_lr
    group["params"] = list(range(len(optimizer.params)))
    return {"state": state, "param_groups": [group]}


def unpack(
    optimizer: Optimizer, state_dict: object
) -> tuple[dict[str, Any], float | None, dict[int, dict[str, Any]]]:
    """(hyperparameters, initial_lr, index -> state) from `state_dict`, all checked.

    Nothing is assigned here: the optimizer takes the result only if every check passed.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"{WHERE} expects a mapping like state_dict() returns, got {type(state_dict).__name__}"
        )
    require_keys(state_dict, ["state", "param_groups"], WHERE)
    group = single_group(state_dict["param_groups"])
    hyperparameters, initial_lr = unpack_group(optimizer, group)
    state = unpack_state(optimizer, state_dict["state"], hyperparameters)
    return hyperparameters, initial_lr, state


def single_group(groups: object) -> Mapping[str, Any]:
    """The one parameter group of `groups`, a list (or tuple) holding one mapping."""
    name = f"{WHERE}: param_groups"
    if not isinstance(groups, list | tuple):
        raise TypeError(f"{name} expects a list of one group, got {type(groups).__name__}")
    if len(groups) != 1:
        raise ValueError(f"{name} expects one group (ours have one), got {len(groups)}")
    if not isinstance(groups[0], Mapping):
        raise TypeError(f"{name}[0] expects a mapping, got {type(groups[0]).__name__}")
    return groups[0]


def unpack_group(optimizer: Optimizer, group: Mapping[str, Any]) -> tuple[dict, float | None]:
    """The checked hyperparameters and initial_lr (None if absent) of `group`."""
    name = f"{WHERE}: param_groups[0]"
    names = list(optimizer.hyperparameter_names)
    optional = ["initial_lr"] if "initial_lr" in group else []  # there once a scheduler is
    require_keys(group, [*names, *optional, "params"], name)
    check_params(group["params"], len(optimizer.params), f"{name}['params']")
    try:
        hyperparameters = optimizer.checked_hyperparameters({key: group[key] for key in names})
    except (TypeError, ValueError) as error:
        raise type(error)(f"{name}: {error}") from None
    initial_lr = group.get("initial_lr")
    if initial_lr is not None:
        initial_lr = nonnegative_number(initial_lr, f"{name}['initial_lr']")
    return hyperparameters, initial_lr


def check_params(params: object, count: int, name: str) -> None:
    """`params` must be [0, 1, ..., count - 1]: one index per parameter, in order."""
    if not isinstance(params, list | tuple) or not all(is_integer(i) for i in params):
        raise TypeError(f"{name} expects a list of parameter indices, got {params!r}")
    if len(params) != count:
        raise ValueError(f"{name} expects {count} parameters (this optimizer's), got {len(params)}")
    if list(params) != list(range(count)):
        raise ValueError(f"{name} expects the indices 0 to {count - 1} in order, got {params!r}")


def unpack_state(
    optimizer: Optimizer, state: object, hyperparameters: Mapping[str, Any]
) -> dict[int, dict[str, Any]]:
    """index -> checked state of that parameter, from `state` (index keys may be strings)."""
    name = f"{WHERE}: state"
    if not isinstance(state, Mapping):
        raise TypeError(f"{name} expects a mapping of index -> state, got {type(state).__name__}")
    checks = optimizer.state_checks(hyperparameters)
    unpacked: dict[int, dict[str, Any]] = {}
    for key, entry in state.items():
        index = parameter_index(key, len(optimizer.params), name)
        if index in unpacked:
            raise ValueError(f"{name} expects each index once, got {index} twice")
        unpacked[index] = checked_mapping(entry, checks, f"{name}[{index}]")
    return unpacked


def parameter_index(key: object, count: int, name: str) -> int:
    """`key` as a parameter index in [0, count): an int, or its decimal string (JSON's)."""
    if isinstance(key, str) and key.isdecimal() and key == str(int(key)):
        key = int(key)
    if not is_integer(key):
        raise TypeError(f"{name} expects parameter indices as keys, got {key!r}")
    if not 0 <= key < count:
        raise ValueError(f"{name} expects indices 0 to {count - 1}, got {key}")
    return int(key)
