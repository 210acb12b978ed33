"""Loss functions: each takes sequences and returns one Value.

Every loss but `l2_penalty` is the mean over samples, as PyTorch's default
``reduction="mean"``; values and gradients match ``torch.nn.functional``. Each is
built from a few fused nodes (`dot`, `sum`), not one node per arithmetic step.
Predictions (scores, logits) may be Values or plain numbers (constants); targets
are plain numbers. Sequences of different lengths raise ValueError.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

import minitorch_scalar
from minitorch_scalar import Value, dot

from ._checks import number_list


def hinge_loss(scores: Sequence[Value | float], targets: Sequence[float]) -> Value:
    """Mean max-margin loss (micrograd's): L = (1/n) sum_i relu(1 - t_i s_i).

    Targets t_i are -1 or +1. dL/ds_i = -t_i / n where t_i s_i < 1, else 0 (0 on the
    hinge t_i s_i = 1, as PyTorch's relu). Each margin 1 - t_i s_i is one node.
    """
    scores, targets = _paired(scores, targets, "hinge_loss", "scores")
    for index, t in enumerate(targets):
        if t != 1 and t != -1:
            raise ValueError(f"hinge_loss expects targets of -1 or +1, got {t!r} at index {index}")
    return _mean([dot([s], [-t], 1.0).relu() for s, t in zip(scores, targets)])


def mse_loss(predictions: Sequence[Value | float], targets: Sequence[Value | float]) -> Value:
    """Mean squared error: L = (1/n) sum_i (p_i - t_i)^2.

    dL/dp_i = 2 (p_i - t_i) / n, and dL/dt_i = -2 (p_i - t_i) / n when a target is a
    Value. The sum of squares is one `dot` node of the differences with themselves.
    """
    predictions, targets = _paired(
        predictions, targets, "mse_loss", "predictions", targets_may_be_values=True
    )
    differences = [p - t for p, t in zip(predictions, targets)]
    return dot(differences, differences) / len(differences)


def binary_cross_entropy_with_logits(
    logits: Sequence[Value | float], targets: Sequence[float]
) -> Value:
    """Mean binary cross-entropy of sigmoid(x_i) against t_i in [0, 1], computed stably:

        l_i = -[t_i log s(x_i) + (1 - t_i) log(1 - s(x_i))]
            = max(x_i, 0) - t_i x_i + log(1 + e^(-|x_i|)),

    and L = (1/n) sum_i l_i. e^(-|x|) is at most 1, so no step overflows: the loss is
    finite for logits of +-1000. dl_i/dx_i = s(x_i) - t_i (1/2 - t_i at x = 0, as
    PyTorch). Here max(x, 0) = relu(x) and -|x| = x - 2 relu(x).
    """
    logits, targets = _paired(logits, targets, "binary_cross_entropy_with_logits", "logits")
    for index, t in enumerate(targets):
        if not 0.0 <= t <= 1.0:
            raise ValueError(
                f"binary_cross_entropy_with_logits expects targets in [0, 1], "
                f"got {t!r} at index {index}"
            )
    losses = []
    for x, t in zip(logits, targets):
        positive_part = x.relu()
        minus_abs = dot([x, positive_part], [1.0, -2.0])
        softplus_tail = (minus_abs.exp() + 1.0).log()
        losses.append(dot([positive_part, x, softplus_tail], [1.0, -t, 1.0]))
    return _mean(losses)


def cross_entropy(
    logit_rows: Sequence[Sequence[Value | float]], target_indices: Sequence[int]
) -> Value:
    """Mean softmax cross-entropy: for row z (C class scores) and class y,

        l = -log softmax(z)_y = log sum_j e^(z_j) - z_y = m + log sum_j e^(z_j - m) - z_y,

    with m = max_j z_j taken as a constant (log-sum-exp: no e^z overflows). L is the
    mean of l over the rows; dl/dz_j = softmax(z)_j - [j = y]. Every row has the same
    C >= 1 scores; a class index outside 0..C-1 raises IndexError.
    """
    rows = _rows(logit_rows, "cross_entropy(logit_rows)")
    indices = number_list(target_indices, "cross_entropy(target_indices)", values_allowed=False)
    _same_length(rows, indices, "cross_entropy", "logit_rows", "target_indices")
    rows = [_values(row, f"cross_entropy(logit_rows[{i}])") for i, row in enumerate(rows)]
    classes = len(rows[0])
    if classes == 0:
        raise ValueError("cross_entropy expects rows of at least one class score, got empty rows")
    losses = []
    for i, (row, y) in enumerate(zip(rows, indices)):
        if len(row) != classes:
            raise ValueError(
                f"cross_entropy expects rows of {classes} scores (as row 0), "
                f"got {len(row)} in row {i}"
            )
        if not isinstance(y, numbers.Integral) or isinstance(y, bool):
            raise TypeError(
                f"cross_entropy expects int class indices, got {type(y).__name__} at index {i}"
            )
        if not 0 <= y < classes:
            raise IndexError(
                f"cross_entropy: class index {y} at index {i} is out of range 0..{classes - 1}"
            )
        m = max(z.data for z in row)
        log_sum_exp = minitorch_scalar.sum([(z - m).exp() for z in row]).log()
        losses.append(dot([log_sum_exp, row[y]], [1.0, -1.0], m))
    return _mean(losses)


def l2_penalty(parameters: Sequence[Value | float]) -> Value:
    """The sum of squares (not averaged): P = sum_i p_i^2;  dP/dp_i = 2 p_i.

    One `dot` node of the parameters with themselves. Add ``alpha * l2_penalty(
    model.parameters())`` to a loss for weight decay. An empty sequence gives 0.
    """
    ps = number_list(parameters, "l2_penalty(parameters)")
    return dot(ps, ps)


# ------------------------------------------------------------------ helpers


def _paired(
    predictions: object,
    targets: object,
    loss: str,
    predictions_name: str,
    targets_may_be_values: bool = False,
) -> tuple[list[Value], list]:
    """Predictions as Values and targets as numbers, equally long and not empty."""
    predictions = _values(predictions, f"{loss}({predictions_name})")
    targets = number_list(targets, f"{loss}(targets)", values_allowed=targets_may_be_values)
    _same_length(predictions, targets, loss, predictions_name, "targets")
    return predictions, targets


def _values(xs: object, where: str) -> list[Value]:
    """`xs` as a list of Values; plain numbers become constant leaves."""
    xs = number_list(xs, where)
    if set(map(type, xs)) <= {Value}:
        return xs
    return [x if type(x) is Value else Value(x) for x in xs]


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


__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "l2_penalty",
    "mse_loss",
]
