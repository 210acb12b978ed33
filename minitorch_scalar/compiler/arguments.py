"""The arguments of a compiled function: which are inputs, and what a call's signature is.

Each argument is one of three kinds:

- **numbers** (inputs), whose values change from call to call without a new trace: a
  real number, a numpy array of numbers, a list or tuple of numbers or arrays (nested
  to any depth) unless it is a tuple of ints only (a shape: static). The trace sees each
  number as a fresh leaf Value.
- **Values**: a Value, or lists, tuples and nested lists of Values (and numbers, which
  are inputs as above), or a numpy array of Values. At each call their data is read
  and their gradients given back, as eager backward would. A Value used twice in one
  call is one leaf: which arguments are the same Value is part of the signature
  (``f(p, p)`` and ``f(a, b)`` are two traces). The trace sees a fresh leaf for each
  distinct Value (so a Value the function also reaches another way, as a model's
  parameter, keeps a slot of its own).
- **static**: anything else (a str, a range, a model, a tuple of ints, a bool, a
  numpy bool mask). A call with a different one traces again. Lists, tuples, dicts and
  numpy arrays are compared by their contents, copied into the signature (a list
  changed in place is a new signature); objects that cannot be hashed (a model), by
  identity, kept alive by the signature so that their id is never reused.

A bool among numbers or Values is a TypeError, as the engine refuses a bool as a number.

Next: guards.py, the checks on the models a trace went through.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np

from ..engine import Value
from ..real import as_float, is_integer, is_real_number

NUMERIC = "iuf"  # numpy dtype kinds of numbers (bools are static)
NUMBER, VALUE, BOOL = "n", "v", "b"  # the leaves of a nested argument's layout


class Call(NamedTuple):
    """A call's arguments, read once: its signature, its Values, its numbers."""

    key: tuple  # hashable: calls with equal keys replay the same trace
    values: list[Value]  # the distinct Values, in the order first met
    numbers: list  # the inputs' numbers, a part per input argument (flat arrays or lists)


def signature(args: tuple) -> Call:
    """Read `args` (see the module): the key, the Values and the numbers of this call."""
    index: dict[int, int] = {}  # id(Value) -> its place in `values`
    values: list[Value] = []
    numbers: list = []
    key = tuple(_kind(arg, position, index, values, numbers) for position, arg in enumerate(args))
    return Call(key, values, numbers)


def _kind(arg: Any, position: int, index: dict, values: list, numbers: list) -> tuple:
    if isinstance(arg, Value):
        return ("Value", _alias(arg, index, values))
    if isinstance(arg, np.ndarray):
        return _array_kind(arg, position, index, values, numbers)
    if isinstance(arg, bool | np.bool_):
        return ("static", type(arg), arg)
    if is_real_number(arg):
        numbers.append([arg])
        return ("number",)
    if isinstance(arg, list | tuple) and not (isinstance(arg, tuple) and all(map(is_integer, arg))):
        leaves: list = []
        layout = _layout(arg, leaves)
        if layout is not None and _no_bools(leaves, position):
            return ("nested", layout, *_split(leaves, index, values, numbers))
    return _static(arg)


def _array_kind(arg: np.ndarray, position: int, index: dict, values: list, numbers: list):
    if arg.dtype.kind in NUMERIC:
        numbers.append(arg.ravel())
        return ("array", arg.shape)
    if arg.dtype.kind == "O":
        leaves: list = []
        layout = _layout(arg.tolist(), leaves) if arg.ndim else None
        if layout is not None and _no_bools(leaves, position):
            return ("object array", arg.shape, layout, *_split(leaves, index, values, numbers))
    return ("static array", arg.dtype.str, arg.shape, arg.tobytes())  # a mask, say: a copy


def _alias(value: Value, index: dict[int, int], values: list[Value]) -> int:
    """The place of `value` among this call's Values (added when first met)."""
    place = index.get(id(value))
    if place is None:
        place = index[id(value)] = len(values)
        values.append(value)
    return place


def _layout(x: Any, leaves: list) -> Any:
    """The shape of a nested argument: NUMBER, VALUE or BOOL for a leaf (appended to
    `leaves`), (type, parts) for a list or tuple, (ndarray, shape) for an array of
    numbers (its numbers appended); None if it holds anything else."""
    if isinstance(x, Value):
        leaves.append(x)
        return VALUE
    if type(x) is float or is_real_number(x):
        leaves.append(x)
        return NUMBER
    if isinstance(x, bool | np.bool_):
        leaves.append(x)
        return BOOL
    if isinstance(x, np.ndarray) and x.dtype.kind in NUMERIC:  # a row of a list, say
        leaves.extend(x.ravel().tolist())
        return (np.ndarray, x.shape)
    if type(x) is list or type(x) is tuple:
        parts = []
        for item in x:
            part = _layout(item, leaves)
            if part is None:
                return None
            parts.append(part)
        return (type(x), tuple(parts))
    return None


def _no_bools(leaves: list, position: int) -> bool:
    """True if no leaf is a bool; False if all are (a static argument); else TypeError."""
    bools = [i for i, x in enumerate(leaves) if isinstance(x, bool | np.bool_)]
    if not bools:
        return True
    if len(bools) == len(leaves):
        return False
    raise TypeError(
        f"compile: argument {position} expects numbers or Values, got a bool among them "
        f"(leaf {bools[0]}: {leaves[bools[0]]!r}); the engine refuses a bool as a number too"
    )


def _split(leaves: list, index: dict, values: list, numbers: list) -> tuple:
    """The places of a nested argument's Values (its aliasing), its numbers noted."""
    places = tuple(_alias(x, index, values) for x in leaves if isinstance(x, Value))
    found = [x for x in leaves if not isinstance(x, Value)]
    if found:
        numbers.append(found)
    return places, len(found)


def _static(arg: Any) -> tuple:
    frozen = _frozen(arg)
    try:
        return ("static", type(arg), frozen, hash(frozen))
    except TypeError:  # unhashable: the same object, not an equal one
        return ("static object", IdentityKey(arg))


def _frozen(arg: Any) -> Any:
    """A list, tuple or dict as nested tuples of its contents (tagged with their types),
    so that a container changed in place gives another key; anything else as it is."""
    if type(arg) in (list, tuple):
        return (type(arg), *map(_frozen, arg))
    if type(arg) is dict:
        return (dict, *((k, _frozen(v)) for k, v in arg.items()))
    if isinstance(arg, np.ndarray) and arg.dtype.kind != "O":
        return (np.ndarray, arg.dtype.str, arg.shape, arg.tobytes())
    return arg


class IdentityKey:
    """An object as a key by identity, kept alive by the key (so its id is not reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdentityKey) and other.obj is self.obj


def input_numbers(numbers: list) -> np.ndarray:
    """The inputs' numbers, flat, in the order the trace made their leaves; a TypeError
    or ValueError naming the number where one is not a real number within range."""
    if not numbers:
        return np.empty(0)
    if len(numbers) == 1 and isinstance(numbers[0], np.ndarray):
        return numbers[0].astype(np.float64, copy=False)
    try:
        return np.concatenate([np.asarray(part, dtype=np.float64) for part in numbers])
    except (OverflowError, TypeError, ValueError):  # say which
        flat = [x for part in numbers for x in np.asarray(part, dtype=object).ravel()]
        return np.array([as_float(x, f"compile: input number {i}") for i, x in enumerate(flat)])


def traced(args: tuple, key: tuple, call: Call, copies: list[Value] | None) -> tuple:
    """The arguments to run `fn` on: every input number a fresh leaf Value (returned
    too, in order), every Value its copy in `copies` (or itself, for None)."""
    inputs = [Value(float(x)) for x in input_numbers(call.numbers)]
    own = call.values if copies is None else copies
    feed_inputs, out = iter(inputs), []
    for arg, kind in zip(args, key):
        out.append(_rebuild(arg, kind, feed_inputs, own))
    return tuple(out), inputs


def _rebuild(arg: Any, kind: tuple, inputs: Iterator[Value], own: list[Value]) -> Any:
    what = kind[0]
    if what == "Value":
        return own[kind[1]]
    if what == "number":
        return next(inputs)
    if what == "array":
        return _input_cells(arg.shape, inputs)
    if what in ("nested", "object array"):
        layout, places = kind[-3], iter(kind[-2])
        made = _made(layout, inputs, places, own)
        return made if what == "nested" else _as_cells(made, arg.shape)
    return arg


def _input_cells(shape: tuple, inputs: Iterator[Value]) -> Any:
    """An array of the next input leaves, of `shape` (a 0-d one: the leaf itself)."""
    cells = np.empty(shape, dtype=object)
    for i in np.ndindex(shape):
        cells[i] = next(inputs)
    return cells.item() if cells.ndim == 0 else cells


def _made(layout: Any, inputs: Iterator[Value], places: Iterator[int], own: list[Value]):
    if layout == NUMBER:
        return next(inputs)
    if layout == VALUE:
        return own[next(places)]
    kind, parts = layout
    if kind is np.ndarray:  # `parts` is its shape
        return _input_cells(parts, inputs)
    items = [_made(part, inputs, places, own) for part in parts]
    return tuple(items) if kind is tuple else items


def _as_cells(made: Any, shape: tuple) -> np.ndarray:
    """Nested lists as a numpy array of objects of `shape`."""
    cells = np.empty(shape, dtype=object)
    flat = cells.reshape(-1)
    stack, out = [made], []
    while stack:  # depth first, in order
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(reversed(item))
        else:
            out.append(item)
    flat[:] = out
    return cells
