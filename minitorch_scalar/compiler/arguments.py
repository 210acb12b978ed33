"""The arguments of a compiled function: which are inputs, and what a call's signature is.

Inputs, whose numbers change from call to call without a new trace: a real number, a
numpy array of numbers, a list of numbers (nested to any depth, rectangular), and a
tuple of them unless it holds only ints (a tuple of ints is a shape: it is static).
A Value argument is a leaf: its data is read, and its gradient given back, at each call.
Anything else (a str, a model, a tuple of ints, a list of Values) is static: a call
with another one traces again (an unhashable one: another object, even if equal). The
signature of a call holds the kind and shape of each input and the static arguments
themselves (by identity, for those that cannot be hashed, and kept alive by it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Value
from ..real import is_integer, is_real_number

NUMERIC = "iuf"  # numpy dtype kinds of numbers (bools are static)


def signature(args: tuple) -> tuple:
    """A hashable key: calls with equal keys replay the same trace."""
    return tuple(_kind(arg) for arg in args)


def _kind(arg: Any) -> tuple:
    if isinstance(arg, Value):
        return ("Value",)
    if isinstance(arg, bool) or (isinstance(arg, tuple) and all(map(is_integer, arg))):
        return ("static", type(arg), arg)
    if is_real_number(arg):
        return ("number",)
    array = _numeric_array(arg)
    if array is not None:
        return (type(arg).__name__, array.shape)
    try:
        return ("static", type(arg), arg, hash(arg))
    except TypeError:  # unhashable: the same object, not an equal one
        return ("static object", _Same(arg))


class _Same:
    """An object as a key by identity, kept alive by the key (so its id is not reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj


def _numeric_array(arg: Any) -> np.ndarray | None:
    """`arg` as an array if it is an array or a list/tuple of numbers, else None."""
    if isinstance(arg, np.ndarray):
        return arg if arg.dtype.kind in NUMERIC else None
    if not isinstance(arg, list | tuple):
        return None
    try:
        array = np.asarray(arg)
    except ValueError:  # ragged
        return None
    return array if array.dtype.kind in NUMERIC else None


def is_input(kind: tuple) -> bool:
    return kind[0] not in ("Value", "static", "static object")


def traced(args: tuple, kinds: tuple) -> tuple[tuple, list[Value]]:
    """The arguments to trace with, inputs turned into leaf Values; and those leaves."""
    leaves: list[Value] = []
    out = []
    for arg, kind in zip(args, kinds):
        if not is_input(kind):
            out.append(arg)
            continue
        numbers = np.asarray(arg, dtype=np.float64)
        values = np.empty(numbers.shape, dtype=object)
        for index, number in np.ndenumerate(numbers):
            values[index] = Value(float(number))
        leaves.extend(values.ravel().tolist())
        out.append(_like(arg, values))
    return tuple(out), leaves


def _like(arg: Any, values: np.ndarray) -> Any:
    """The Values shaped as `arg` was: a Value, an array, a (nested) list or tuple."""
    if values.ndim == 0:
        return values.item()
    if isinstance(arg, np.ndarray):
        return values
    nested = values.tolist()
    return tuple(nested) if isinstance(arg, tuple) else nested


def input_numbers(args: tuple, kinds: tuple) -> np.ndarray:
    """The numbers of every input argument, flat, in the order `traced` made leaves."""
    parts = [np.asarray(a, dtype=np.float64).ravel() for a, k in zip(args, kinds) if is_input(k)]
    return np.concatenate(parts) if parts else np.empty(0)
