"""Parameter groups, PyTorch's: what an optimizer's `params` may be, and each group checked.

    SGD(model.parameters(), lr=0.1)                             # one group
    SGD([{"params": body}, {"params": head, "lr": 0.01}], lr=0.1)  # two groups

A group is a dict: ``"params"``, the list of its leaf Values, and a value for every
option of the optimizer, those the group did not give taken from the optimizer's
defaults (PyTorch's rule). A group's "params" may be a single Value, as in PyTorch.
Each function here checks and raises an error naming the
place (``params[1]['lr']``, ``params[0]['params'][2]``); nothing is kept on failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from minitorch_scalar import Value

from .checks import nonnegative_number

# Keys a group may hold besides "params" and the options: PyTorch's, set by a scheduler
# (the lr it started from) and by named parameters.
EXTRA_KEYS = ("initial_lr", "param_names")


def given_groups(params: Iterable[Any]) -> Iterator[tuple[object, str]]:
    """Each group of `params` (as the user gave it) and its name in errors.

    `params` is an iterable of Values (or of (name, Value) pairs), one group named
    ``params``; or of dicts, the groups, named ``params[i]``. TypeError for a single
    Value, a set (its order changes between runs, and state follows the order), a
    non-iterable, or dicts mixed with Values; ValueError if it is empty.
    """
    items = ordered_items(params, "params")
    if not items:
        raise ValueError(
            "params expects at least one Value, got an empty iterable (for a model: "
            "its parameters() found none; a Module finds what is assigned to it as an "
            "attribute, not what sits in a plain list or dict)"
        )
    if not isinstance(items[0], Mapping):
        yield {"params": items}, "params"
        return
    for index, group in enumerate(items):
        if not isinstance(group, Mapping):
            raise TypeError(
                f"params[{index}] expects a dict (a parameter group, as params[0]), "
                f"got {type(group).__name__}: {group!r}"
            )
    yield from ((group, f"params[{index}]") for index, group in enumerate(items))


def ordered_items(items: object, name: str) -> list[Any]:
    """`items` as a new list; TypeError for a Value, a set or something not iterable."""
    if isinstance(items, Value):
        raise TypeError(f"{name} expects an iterable of Values, got a single Value: use [value]")
    if isinstance(items, set | frozenset):
        raise TypeError(
            f"{name} expects an ordered iterable of Values such as a list, got a "
            f"{type(items).__name__}, whose order changes from one run to the next"
        )
    if isinstance(items, str | bytes | Mapping):
        raise TypeError(f"{name} expects an iterable of Values, got {type(items).__name__}")
    try:
        return list(iter(items))  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"{name} expects an iterable of Values, got {type(items).__name__}: {items!r}"
        ) from None


def new_group(
    given: object,
    where: str,
    defaults: Mapping[str, Any],
    checked_options: Callable[[Mapping[str, object], str], dict[str, Any]],
) -> dict[str, Any]:
    """The group `given` describes: its params checked, every option filled and checked.

    ValueError for a group without "params", with a key that is not an option (nor
    "initial_lr" or "param_names"), with no parameters or a parameter twice; TypeError
    for a group that is not a mapping or holds something that is not a leaf Value.
    """
    if not isinstance(given, Mapping):
        raise TypeError(f"{where} expects a dict with 'params', got {type(given).__name__}")
    if "params" not in given:
        raise ValueError(
            f"{where} expects the key 'params' (the group's Values), got the keys {list(given)}"
        )
    unknown = [key for key in given if key not in (*defaults, "params", *EXTRA_KEYS)]
    if unknown:
        raise ValueError(
            f"{where} has the key(s) {unknown}, which are not options of this optimizer: "
            f"its options are {list(defaults)}"
        )
    inside = f"{where}['params']" if where != "params" else where
    values = given["params"]
    params, names = parameter_list([values] if isinstance(values, Value) else values, inside)
    options = checked_options(
        {key: given.get(key, value) for key, value in defaults.items()}, where
    )
    group: dict[str, Any] = {"params": params, **options}
    if "initial_lr" in given:
        group["initial_lr"] = nonnegative_number(given["initial_lr"], f"{where}['initial_lr']")
    if names is None and "param_names" in given:
        names = checked_names(given["param_names"], len(params), f"{where}['param_names']")
    if names is not None:
        group["param_names"] = names
    return group


def checked_names(names: object, count: int, name: str) -> list[str]:
    """`names`, a list of `count` strings (the group's parameter names), as a list."""
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{name} expects a list of parameter names (str), got {names!r}")
    if len(names) != count:
        raise ValueError(f"{name} expects {count} names (this group's), got {len(names)}")
    return list(names)


def parameter_list(params: object, name: str) -> tuple[list[Value], list[str] | None]:
    """(the Values, their names or None) of `params`: distinct leaf Values, or
    (name, Value) pairs as ``named_parameters()`` gives, all named or none."""
    items = ordered_items(params, name)
    if not items:
        raise ValueError(f"{name} expects at least one Value, got an empty iterable")
    named = [isinstance(item, tuple) for item in items]
    if any(named) and not all(named):
        raise TypeError(
            f"{name} expects Values or (name, Value) pairs, not both: {name}"
            f"[{named.index(not named[0])}] is unlike {name}[0]"
        )
    names = None
    if named[0]:
        names = [pair_name(item, f"{name}[{index}]") for index, item in enumerate(items)]
        items = [item[1] for item in items]
    first_index: dict[Value, int] = {}  # Values hash by identity
    for index, p in enumerate(items):
        check_leaf(p, f"{name}[{index}]")
        first = first_index.setdefault(p, index)
        if first != index:
            raise ValueError(
                f"{name}[{index}] expects a Value not listed before, got {name}[{first}] "
                "again: list each parameter once (it would be updated twice per step)"
            )
    return items, names


def pair_name(item: tuple, name: str) -> str:
    """The name of a (name, Value) pair; TypeError unless it is such a pair."""
    if len(item) != 2 or not isinstance(item[0], str):
        raise TypeError(f"{name} expects a Value or a (name, Value) pair, got {item!r}")
    return item[0]


def check_leaf(p: object, name: str) -> None:
    """TypeError unless `p` is a Value; ValueError if it is the result of an op."""
    if not isinstance(p, Value):
        raise TypeError(f"{name} expects a Value, got {type(p).__name__}: {p!r}")
    if p.parents:
        raise ValueError(
            f"{name} expects a leaf Value, got the result of op {p.op!r}: "
            "optimize the leaves it is computed from"
        )


def check_disjoint(group: Mapping[str, Any], groups: list[dict[str, Any]], where: str) -> None:
    """ValueError if a parameter of `group` is already in one of `groups`."""
    place = {p: (g, i) for g, other in enumerate(groups) for i, p in enumerate(other["params"])}
    for index, p in enumerate(group["params"]):
        if p in place:
            g, i = place[p]
            raise ValueError(
                f"{where}'s parameter {index} is already in param_groups[{g}] (its "
                f"parameter {i}): a parameter can be in one group only"
            )
    if groups and ("param_names" in group) != ("param_names" in groups[0]):
        raise ValueError(
            f"{where}: every group's parameters must be named ((name, Value) pairs) or none"
        )


def options_of(group: Mapping[str, Any], defaults: Mapping[str, Any], where: str) -> dict:
    """The value of each option in `group` (a group of ``param_groups``, maybe edited by
    hand); ValueError naming an option that is missing from it."""
    try:
        return {key: group[key] for key in defaults}
    except KeyError as missing:
        raise ValueError(
            f"{where} has no {missing}: a group must keep a value for every option"
        ) from None
