"""`nn.functional`, PyTorch's names: ``import nn.functional as F``.

The activations take a Value, a number, a list of them (one sample) or a list of such
lists (a batch), and give back the same structure; `linear` takes one sample or a
batch. The losses are `nn.losses`' own functions, the same objects as ``nn.mse_loss``
and the others (one implementation per loss), with PyTorch's argument names and
``reduction=`` ("mean", the default, "sum" or "none").

>>> import nn.functional as F
>>> from minitorch_scalar import Value
>>> [v.data for v in F.relu([Value(-1.0), Value(2.0)])]
[0.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minitorch_scalar import Value, as_float, is_real_number, linear_batch

from ._checks import is_batch, number_list
from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss


def relu(input: Any) -> Any:
    """max(0, x) for each x of `input` (its structure kept); d/dx = 1 for x > 0, else 0."""
    return _elementwise(Value.relu, input, "relu")


def tanh(input: Any) -> Any:
    """tanh(x) for each x of `input` (its structure kept); d/dx = 1 - tanh(x)^2."""
    return _elementwise(Value.tanh, input, "tanh")


def sigmoid(input: Any) -> Any:
    """1 / (1 + e^-x) for each x of `input` (its structure kept); d/dx = s(x) (1 - s(x))."""
    return _elementwise(Value.sigmoid, input, "sigmoid")


def linear(
    input: Any, weight: Sequence[Sequence[Value | float]], bias: Sequence | None = None
) -> list:
    """y_j = b_j + sum_i W_ji x_i: PyTorch's ``x W^T + b``, one `dot` node per output.

    `input`: one sample (a sequence of numbers or Values, a 1-D array), giving the list
    of outputs, or a batch (a list of such rows, a 2-D array), giving a list of them.
    `weight`: rows of out x in Values or numbers (row j: output j's weights), as
    `nn.Linear.weight`; `bias`: out numbers or Values, or None. ValueError when the
    widths disagree, TypeError for a wrong type; each names the argument.
    """
    if isinstance(weight, (str, bytes, Value)) or not isinstance(weight, Sequence):
        raise TypeError(
            f"linear(weight) expects rows of Values or numbers, got {type(weight).__name__}"
        )
    for j, row in enumerate(weight):
        if isinstance(row, (str, bytes, Value)) or not isinstance(row, Sequence):
            raise TypeError(
                f"linear(weight) expects rows of Values or numbers, "
                f"got {type(row).__name__} at index {j}"
            )
    if bias is not None and (isinstance(bias, (str, bytes)) or not isinstance(bias, Sequence)):
        raise TypeError(f"linear(bias) expects a sequence or None, got {type(bias).__name__}")
    if is_batch(input):
        rows = [number_list(row, f"linear(input) (row {i})") for i, row in enumerate(input)]
        return linear_batch(weight, rows, bias)
    return linear_batch(weight, [number_list(input, "linear(input)")], bias)[0]


_ROW, _BATCH = {Value}, {list}  # the types of a row's items, of a batch's


def _elementwise(op: Callable[[Value], Value], input: Any, name: str) -> Any:
    """`op` applied to every number or Value of `input`, which keeps its structure.

    `input`: a Value; a real number (a constant: a new Value); a list or tuple of
    these, nested (a batch of rows), given back as lists; or a numpy array. TypeError
    naming `name` for anything else.
    """
    if isinstance(input, Value):
        return op(input)
    if isinstance(input, np.ndarray):
        input = input.tolist()
    if isinstance(input, (list, tuple)):
        types = set(map(type, input))
        if types == _ROW:  # the common cases: a row of Values, and a batch of such rows
            return list(map(op, input))
        if types == _BATCH:
            return [
                list(map(op, row)) if set(map(type, row)) == _ROW else _elementwise(op, row, name)
                for row in input
            ]
        return [_elementwise(op, x, name) for x in input]
    if is_real_number(input):
        return op(Value(as_float(input, f"{name}(input)")))
    raise TypeError(
        f"{name}(input) expects a Value, a number, or a list of them (rows for a batch), "
        f"got {type(input).__name__}: {input!r}"
    )


__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "linear",
    "mse_loss",
    "relu",
    "sigmoid",
    "tanh",
]
