"""An optimizer's state in PyTorch's layout, and back: `Optimizer.state_dict()`'s work.

    {"state": {0: {"momentum_buffer": 0.25}, 2: {...}},   # index -> that parameter's state
     "param_groups": [{"lr": 0.1, "momentum": 0.9, ..., "params": [0, 1]},
                      {"lr": 0.01, "momentum": 0.9, ..., "params": [2]}]}

A parameter's index counts through the groups in order, as in PyTorch. Every value is a
plain Python number, bool, string or tuple, so the dict survives `json.dumps` and
`json.loads`; loading accepts what JSON gives back (string keys, lists for tuples).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from minitorch_scalar import Value, is_integer

from .checks import checked_mapping, nonnegative_number, require_keys
from .groups import EXTRA_KEYS, checked_names, options_of

if TYPE_CHECKING:
    from .optimizer import Optimizer

WHERE = "load_state_dict"


def pack(optimizer: Optimizer) -> dict[str, Any]:
    """`optimizer`'s state in PyTorch's layout (a copy: changing it changes nothing)."""
    index_of: dict[Value, int] = {}
    groups = []
    for number, group in enumerate(optimizer.param_groups):
        where = f"param_groups[{number}]"
        packed = optimizer.checked_options(options_of(group, optimizer.defaults, where), where)
        if "initial_lr" in group:
            packed["initial_lr"] = group["initial_lr"]
        if "param_names" in group:
            packed["param_names"] = list(group["param_names"])
        start = len(index_of)
        index_of.update((p, index) for index, p in enumerate(group["params"], start))
        packed["params"] = list(range(start, len(index_of)))
        groups.append(packed)
    state = {
        index: dict(optimizer.state[p]) for p, index in index_of.items() if p in optimizer.state
    }
    return {"state": state, "param_groups": groups}


def unpack(
    optimizer: Optimizer, state_dict: object
) -> tuple[list[dict[str, Any]], dict[Value, dict[str, Any]]]:
    """(the new param_groups, the new state) from `state_dict`, all checked.

    Nothing is assigned here: the optimizer takes the result only if every check passed.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"{WHERE} expects a mapping like state_dict() returns, got {type(state_dict).__name__}"
        )
    require_keys(state_dict, ["state", "param_groups"], WHERE)
    saved = saved_groups(state_dict["param_groups"], len(optimizer.param_groups))
    groups, start = [], 0
    for number, (group, mine) in enumerate(zip(saved, optimizer.param_groups)):
        groups.append(
            unpack_group(optimizer, group, mine, start, f"{WHERE}: param_groups[{number}]")
        )
        start += len(mine["params"])
    state = unpack_state(optimizer, state_dict["state"], groups)
    return groups, state


def saved_groups(groups: object, count: int) -> list[Mapping[str, Any]]:
    """`groups`, a list (or tuple) of `count` mappings, as a list."""
    name = f"{WHERE}: param_groups"
    if not isinstance(groups, list | tuple):
        raise TypeError(f"{name} expects a list of groups, got {type(groups).__name__}")
    if len(groups) != count:
        raise ValueError(f"{name} expects {count} group(s) (this optimizer's), got {len(groups)}")
    for number, group in enumerate(groups):
        if not isinstance(group, Mapping):
            raise TypeError(f"{name}[{number}] expects a mapping, got {type(group).__name__}")
    return list(groups)


def unpack_group(
    optimizer: Optimizer, group: Mapping[str, Any], mine: Mapping[str, Any], start: int, name: str
) -> dict[str, Any]:
    """The group `mine` becomes: its own params, the saved group's options (checked), the
    saved initial_lr if any, the saved param_names if any (else its own, as PyTorch)."""
    require_keys(group, [*optimizer.defaults, "params"], name, optional=EXTRA_KEYS)
    count = len(mine["params"])
    check_params(group["params"], start, count, f"{name}['params']")
    options = optimizer.checked_options({key: group[key] for key in optimizer.defaults}, name)
    new = {"params": mine["params"], **options}
    if "initial_lr" in group:
        new["initial_lr"] = nonnegative_number(group["initial_lr"], f"{name}['initial_lr']")
    if "param_names" in group:
        new["param_names"] = checked_names(group["param_names"], count, f"{name}['param_names']")
    elif "param_names" in mine:
        new["param_names"] = list(mine["param_names"])
    return new


def check_params(params: object, start: int, count: int, name: str) -> None:
    """`params` must be [start, ..., start + count - 1]: the group's indices, in order."""
    if not isinstance(params, list | tuple) or not all(is_integer(i) for i in params):
        raise TypeError(f"{name} expects a list of parameter indices, got {params!r}")
    if len(params) != count:
        raise ValueError(f"{name} expects {count} parameters (this group's), got {len(params)}")
    if list(params) != list(range(start, start + count)):
        raise ValueError(
            f"{name} expects the indices {start} to {start + count - 1} in order, got {params!r}"
        )


def unpack_state(
    optimizer: Optimizer, state: object, groups: list[dict[str, Any]]
) -> dict[Value, dict[str, Any]]:
    """parameter -> its checked state, from `state` (index keys may be strings), each
    checked by the state_checks of its group's options."""
    name = f"{WHERE}: state"
    if not isinstance(state, Mapping):
        raise TypeError(f"{name} expects a mapping of index -> state, got {type(state).__name__}")
    placed = [(p, group) for group in groups for p in group["params"]]
    unpacked: dict[Value, dict[str, Any]] = {}
    for key, entry in state.items():
        index = parameter_index(key, len(placed), name)
        p, group = placed[index]
        if p in unpacked:
            raise ValueError(f"{name} expects each index once, got {index} twice")
        checks, optional = optimizer.state_checks(group), optimizer.optional_state_checks(group)
        unpacked[p] = checked_mapping(entry, checks, f"{name}[{index}]", optional)
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
