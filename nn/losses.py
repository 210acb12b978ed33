"""Loss functions (each takes sequences and returns one Value), and the loss modules.

`mse_loss`, `binary_cross_entropy_with_logits` and `cross_entropy` are PyTorch's, with
its argument names (`input`, `target`) and ``reduction=``: "mean" over samples (the
default), "sum", or "none" (the list of the samples' losses); they are also
``nn.functional``'s, and `MSELoss`, `BCEWithLogitsLoss` and `CrossEntropyLoss` call
them. `hinge_loss` (micrograd's) is a mean; `l2_penalty` a sum. Values and gradients
match ``torch.nn.functional``. Each is
written as its formula, with a fused node only where it saves many (`sum` for the
mean, `dot` for a sum of squares). Predictions (scores, logits) and targets may be
Values or plain numbers; a number is a constant, and a Value holding the same number
gives the same bits (so a traced step can take its targets as inputs). No loss reads
a Value's data to compute, only to check an argument. nan propagates as in PyTorch.
Sequences of different lengths raise ValueError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import minitorch_scalar
from minitorch_scalar import Value, dot, is_integer

from ._checks import number_list
from .module import Module


def hinge_loss(scores: Sequence[Value | float], targets: Sequence[Value | float]) -> Value:
    """Mean max-margin loss (micrograd's): L = (1/n) sum_i relu(1 - t_i s_i).

    Targets t_i are -1 or +1, numbers or Values holding them (checked on their data).
    dL/ds_i = -t_i / n where t_i s_i < 1, else 0 (0 on the hinge t_i s_i = 1, as
    PyTorch's relu). A nan score gives a nan loss, as in PyTorch.
    """
    scores, targets = _paired(scores, targets, "hinge_loss", ("scores", "targets"))
    for index, t in enumerate(targets):
        if _data(t) not in (1.0, -1.0):
            raise ValueError(
                f"hinge_loss expects targets of -1 or +1, got {_data(t)!r} at index {index}"
            )
    return _mean([(1 - t * s).relu() for s, t in zip(scores, targets)])


def mse_loss(
    input: Sequence[Value | float], target: Sequence[Value | float], reduction: str = "mean"
) -> Value | list[Value]:
    """Squared error l_i = (p_i - t_i)^2 of each prediction p_i (`input`) and target t_i,
    reduced: L = (1/n) sum_i l_i ("mean"), sum_i l_i ("sum"), or [l_i] ("none").

    dL/dp_i = 2 (p_i - t_i) / n for the mean, and dL/dt_i = -2 (p_i - t_i) / n when a
    target is a Value. The sum of squares is one `dot` node of the differences with
    themselves.
    """
    reduction = _checked_reduction(reduction, "mse_loss")
    predictions, targets = _paired(input, target, "mse_loss")
    differences = [p - t for p, t in zip(predictions, targets)]
    if reduction == "none":
        return [d * d for d in differences]
    total = dot(differences, differences)
    return total / len(differences) if reduction == "mean" else total


def binary_cross_entropy_with_logits(
    input: Sequence[Value | float], target: Sequence[Value | float], reduction: str = "mean"
) -> Value | list[Value]:
    """Binary cross-entropy of sigmoid(x_i) (`input`: logits) against t_i in [0, 1]
    (`target`), computed stably:

        l_i = -[t_i log s(x_i) + (1 - t_i) log(1 - s(x_i))]
            = max(x_i, 0) - t_i x_i + log(1 + e^(-|x_i|)),

    with max(x, 0) = relu(x) and -|x| = x - 2 relu(x), reduced by `reduction` (see
    `mse_loss`): L = (1/n) sum_i l_i by default.
    e^(-|x|) is at most 1, so no step overflows: the loss is finite for any finite
    logit. dl_i/dx_i = s(x_i) - t_i (1/2 - t_i at x = 0, as PyTorch). Targets are
    numbers or Values (checked on their data); a nan logit gives a nan loss.
    """
    reduction = _checked_reduction(reduction, "binary_cross_entropy_with_logits")
    logits, targets = _paired(input, target, "binary_cross_entropy_with_logits")
    for index, t in enumerate(targets):
        if not 0.0 <= _data(t) <= 1.0:
            raise ValueError(
                f"binary_cross_entropy_with_logits expects targets in [0, 1], "
                f"got {_data(t)!r} at index {index}"
            )
    losses = []
    for x, t in zip(logits, targets):
        positive_part = x.relu()
        minus_abs = x - 2 * positive_part
        losses.append(positive_part - t * x + (1 + minus_abs.exp()).log())
    return _reduced(losses, reduction)


def cross_entropy(
    input: Sequence[Sequence[Value | float]],
    target: Sequence[int | Value],
    reduction: str = "mean",
) -> Value | list[Value]:
    """Softmax cross-entropy of rows of C class scores (`input`: logits) against class
    indices (`target`): for row z and class y,

        l = -log softmax(z)_y = log sum_j e^(z_j - m) - (z_y - m),   m = max_j z_j,

    PyTorch's log_softmax: every z_j - m is at most 0, so no e^(z_j - m) overflows,
    and the difference z_y - m is taken before anything is added to it, so no digit
    of it is lost at large logits. dl/dz_j = softmax(z)_j - [j = y]. The rows' losses
    are reduced by `reduction` (see `mse_loss`): their mean by default. Every row has
    the same C >= 1 scores. A class index is an int or a Value holding one; outside
    0..C-1 it raises IndexError.
    """
    reduction = _checked_reduction(reduction, "cross_entropy")
    rows = _rows(input, "cross_entropy(input)")
    indices = _class_indices(target)
    _same_length(rows, indices, "cross_entropy", "input", "target")
    rows = [_values(row, f"cross_entropy(input[{i}])") for i, row in enumerate(rows)]
    classes = len(rows[0])
    if classes == 0:
        raise ValueError("cross_entropy expects rows of at least one class score, got empty rows")
    for i, (row, y) in enumerate(zip(rows, indices)):
        _check_row(row, y, i, classes)
    return _reduced([_cross_entropy_row(row, y) for row, y in zip(rows, indices)], reduction)


def _cross_entropy_row(row: list[Value], y: int | Value) -> Value:
    """l = log sum_j e^(z_j - m) - (z_y - m) for one checked row z and class y."""
    m = minitorch_scalar.max(row)
    shifted = [z - m for z in row]
    log_sum_exp = minitorch_scalar.sum([s.exp() for s in shifted]).log()
    return log_sum_exp - minitorch_scalar.select(shifted, y)


def l2_penalty(parameters: Sequence[Value | float]) -> Value:
    """The sum of squares (not averaged): P = sum_i p_i^2;  dP/dp_i = 2 p_i.

    One `dot` node of the parameters with themselves. Add ``alpha * l2_penalty(
    model.parameters())`` to a loss for weight decay. An empty sequence gives 0.
    """
    ps = number_list(parameters, "l2_penalty(parameters)")
    return dot(ps, ps)


# ------------------------------------------------------------------ helpers


def _paired(
    predictions: object, targets: object, loss: str, names: tuple[str, str] = ("input", "target")
) -> tuple[list[Value], list[Value | float]]:
    """Predictions as Values, targets as floats or Values, equally long and not empty;
    `names`: the two arguments' names, for the errors."""
    predictions_name, targets_name = names
    predictions = _values(predictions, f"{loss}({predictions_name})")
    targets = number_list(targets, f"{loss}({targets_name})")
    _same_length(predictions, targets, loss, predictions_name, targets_name)
    return predictions, targets


def _data(x: Value | float) -> float:
    """The number `x` holds: its data for a Value, else itself (for checks only)."""
    return x.data if isinstance(x, Value) else x


def _class_indices(indices: object) -> list[int | Value]:
    """`indices` as a list of ints and Values holding ints, or a TypeError naming one."""
    where = "cross_entropy(target)"
    if isinstance(indices, np.ndarray):
        indices = indices.tolist() if indices.ndim == 1 else indices
    if isinstance(indices, (str, bytes)) or not isinstance(indices, Sequence):
        raise TypeError(f"{where} expects a sequence, got {type(indices).__name__}: {indices!r}")
    checked = []
    for i, y in enumerate(indices):
        if is_integer(y):
            checked.append(int(y))
        elif isinstance(y, Value) and y.data.is_integer():
            checked.append(y)
        else:
            raise TypeError(
                f"{where} expects int class indices, got {type(y).__name__} at index {i}: "
                f"{y!r} (a Value index must hold an integer)"
            )
    return checked


def _check_row(row: list[Value], y: int | Value, i: int, classes: int) -> None:
    """ValueError unless row `i` has `classes` scores; IndexError unless 0 <= y < classes."""
    if len(row) != classes:
        raise ValueError(
            f"cross_entropy expects rows of {classes} scores (as row 0), got {len(row)} in row {i}"
        )
    if not 0 <= _data(y) < classes:
        raise IndexError(
            f"cross_entropy: class index {_data(y)!r} at index {i} is out of range 0..{classes - 1}"
        )


def _values(xs: object, where: str) -> list[Value]:
    """`xs` as a list of Values; plain numbers become constant leaves."""
    xs = number_list(xs, where)
    if set(map(type, xs)) <= {Value}:
        return xs
    return [x if isinstance(x, Value) else Value(x) for x in xs]


def _rows(xs: object, where: str) -> list:
    """`xs` (a sequence of rows, or a 2-D array) as a list of rows, rows unchecked."""
    if isinstance(xs, np.ndarray):
        if xs.ndim != 2:
            raise ValueError(f"{where} expects a 2-D array, got an array of shape {xs.shape}")
    elif isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"{where} expects a sequence of rows, got {type(xs).__name__}")
    return list(xs)


def _same_length(a: list, b: list, loss: str, a_name: str, b_name: str) -> None:
    """ValueError unless `a` and `b` have the same, nonzero, length."""
    if len(a) != len(b):
        raise ValueError(
            f"{loss} expects as many {b_name} as {a_name}, got {len(a)} {a_name} "
            f"and {len(b)} {b_name}"
        )
    if not a:
        raise ValueError(f"{loss} expects at least one sample, got none")


def _mean(values: list[Value]) -> Value:
    """(1/n) sum_i v_i: one `sum` node, divided by n."""
    return minitorch_scalar.sum(values) / len(values)


REDUCTIONS = ("mean", "sum", "none")
"""PyTorch's reductions of the samples' losses: their mean, their sum, or the list."""


def _checked_reduction(reduction: object, loss: str) -> str:
    """`reduction` if it is one of REDUCTIONS; TypeError or ValueError naming it otherwise."""
    if not isinstance(reduction, str):
        raise TypeError(
            f"{loss}(reduction) expects one of {list(REDUCTIONS)}, got {type(reduction).__name__}"
        )
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}(reduction) expects one of {list(REDUCTIONS)}, got {reduction!r}")
    return reduction


def _reduced(losses: list[Value], reduction: str) -> Value | list[Value]:
    """The samples' `losses` reduced by a checked `reduction`."""
    if reduction == "mean":
        return _mean(losses)
    return minitorch_scalar.sum(losses) if reduction == "sum" else losses


# ------------------------------------------------------------------ loss modules


class _Loss(Module):
    """A loss as a module (PyTorch's): ``criterion(input, target)`` calls its function
    with the `reduction` given at construction. A subclass names the function."""

    function: Callable[..., Value | list[Value]]

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _checked_reduction(reduction, f"{type(self).__name__}")

    def forward(self, input: object, target: object) -> Value | list[Value]:
        """The loss of `input` against `target`, reduced by `self.reduction`."""
        return type(self).function(input, target, reduction=self.reduction)

    def __call__(self, input: object, target: object) -> Value | list[Value]:
        return self.forward(input, target)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """PyTorch's ``nn.MSELoss``: `mse_loss` with the module's `reduction`."""

    function = staticmethod(mse_loss)


class BCEWithLogitsLoss(_Loss):
    """PyTorch's ``nn.BCEWithLogitsLoss``: `binary_cross_entropy_with_logits`."""

    function = staticmethod(binary_cross_entropy_with_logits)


class CrossEntropyLoss(_Loss):
    """PyTorch's ``nn.CrossEntropyLoss``: `cross_entropy` with the module's `reduction`."""

    function = staticmethod(cross_entropy)


__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "MSELoss",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "l2_penalty",
    "mse_loss",
]
