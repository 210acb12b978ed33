"""Argument checks shared by the modules and the losses: sizes and sequences of numbers.

What counts as a number is the project's one definition, `minitorch_scalar.real`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from minitorch_scalar import Value, as_float, is_integer, is_real_number

_FLOAT_OR_VALUE = {float, Value}

MAX_PARAMETERS = 10_000_000
"""The most parameters a model may have: each is a Python object (a Value) of about a
hundred bytes, and every forward pass builds a graph node per weight on top, so ten
million is already gigabytes; more is beyond what a scalar engine can hold."""


def check_parameter_count(count: int, where: str) -> None:
    """ValueError if a model of `count` parameters is beyond MAX_PARAMETERS: said before
    anything is built, so ``MLP(2, [10**9])`` fails at once instead of filling memory."""
    if count > MAX_PARAMETERS:
        amount = f"{count:,}" if count < 10**18 else "over 10**18"
        raise ValueError(
            f"{where} would have {amount} parameters, more than the {MAX_PARAMETERS:,} "
            "a scalar engine can hold (each is a Python object, and a forward pass builds "
            "a graph node per weight): use smaller layers"
        )


def positive_int(n: object, where: str) -> int:
    """`n` as an int >= 1; TypeError for a non-integer (or a bool), ValueError for n < 1."""
    if not is_integer(n):
        raise TypeError(f"{where} expects a positive int, got {type(n).__name__}: {n!r}")
    if n < 1:
        raise ValueError(f"{where} expects a positive int, got {n!r}")
    return int(n)


def is_batch(x: object) -> bool:
    """True for a batch of input rows: a 2-D numpy array, or a list or tuple of rows."""
    if isinstance(x, np.ndarray):
        return x.ndim == 2
    return type(x) in (list, tuple) and len(x) > 0 and type(x[0]) in (list, tuple, np.ndarray)


def number_list(x: object, where: str, values_allowed: bool = True) -> list:
    """`x` as a list of Python floats (and Values if `values_allowed`).

    `x` may be any sequence (not a str) or a 1-D numpy array. Every real number
    becomes the float it equals (what the engine would make of it as a constant); a
    list of floats and Values is returned as it is, after one pass over the types of
    its items. TypeError for anything else, ValueError for an int beyond a float's
    range (``10**400``); both name `where` and the index.
    """
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise ValueError(f"{where} expects a 1-D sequence, got an array of shape {x.shape}")
        x = x.tolist()
    elif not isinstance(x, list):
        if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
            raise TypeError(f"{where} expects a sequence, got {type(x).__name__}: {x!r}")
        x = list(x)
    if set(map(type, x)) <= (_FLOAT_OR_VALUE if values_allowed else {float}):
        return x
    return [_item(item, where, index, values_allowed) for index, item in enumerate(x)]


def _item(item: object, where: str, index: int, values_allowed: bool) -> float | Value:
    """One item of `number_list` off its fast path: a Value (if allowed) or a float."""
    if isinstance(item, Value) and values_allowed:
        return item
    if not is_real_number(item):
        expected = "real numbers or Values" if values_allowed else "real numbers"
        raise TypeError(
            f"{where} expects {expected}, got {type(item).__name__} at index {index}: {item!r}"
        )
    return as_float(item, f"{where} (index {index})")


def key_mismatch(expected: list[str], given: list[str]) -> str | None:
    """What is wrong with the names `given` for a state_dict of `expected`, or None."""
    missing = [key for key in expected if key not in given]
    unexpected = [key for key in given if key not in expected]
    if not missing and not unexpected:
        return None
    return (
        f"state_dict keys: missing {missing}, unexpected {unexpected}; "
        f"expected exactly {expected}"
    )


def weight_generator(seed: object, where: str) -> random.Random | None:
    """The generator to draw weights from, for a module's `seed` argument: None for the
    global one (Python's `random`, which `minitorch_scalar.manual_seed` seeds), a fresh
    ``random.Random(seed)`` for an int, or the given ``random.Random`` itself."""
    if seed is None or isinstance(seed, random.Random):
        return seed
    if is_integer(seed):
        return random.Random(int(seed))
    raise TypeError(
        f"{where} expects an int, a random.Random or None, got {type(seed).__name__}: {seed!r}"
    )
