"""Fused n-ary ops: one node for a whole sum or dot product.

Chaining ``a + b + c + ...`` builds one node per ``+``; `sum` builds one node with all
the terms as parents. A neuron is one `dot` node plus its activation, not 2n nodes:
the graph is smaller, and backward walks it in one step. Python numbers among the
terms are constants: folded into the value, never parents.
"""

from __future__ import annotations

import builtins
import functools
import sys
from collections.abc import Iterable, Sequence
from operator import add, mul

import numpy as np

from .engine import _FAST_NUMBERS, Number, Value, _constant, _node


def sum(values: Iterable[Value | Number], start: Value | Number = 0.0) -> Value:
    """s = start + v_1 + ... + v_n as one node;  ds/dv_i = 1 for every Value v_i.

    `start` and the items may be Values or plain numbers (constants). With no Value
    among them the result is a leaf holding the constant.
    """
    terms = list(values)
    constant = 0.0
    data = _data_if_all_values(terms)
    if data is not None:
        parents = terms
    else:
        parents, data = [], []
        for index, term in enumerate(terms):
            if type(term) is Value:
                parents.append(term)
                data.append(term.data)
            else:
                constant += _number(term, "sum", f"values[{index}]")
    if type(start) is Value:
        parents.insert(0, start)
        data.insert(0, start.data)
    else:
        constant += _number(start, "sum", "start")
    if not parents:
        return Value(constant)
    return _node(_sum_left_to_right(data, constant), "sum", tuple(parents), (1.0,) * len(parents))


def dot(
    weights: Sequence[Value | Number],
    inputs: Sequence[Value | Number],
    bias: Value | Number | None = None,
) -> Value:
    """d = bias + w_1*x_1 + ... + w_n*x_n as one node.

    Local derivatives: dd/dw_i = x_i, dd/dx_i = w_i, dd/dbias = 1. Either sequence may
    hold plain numbers (constants) instead of Values; their lengths must match. The
    node's parents, in order: the bias, the weights, the inputs (the Values among them).
    """
    if len(weights) != len(inputs):
        raise ValueError(
            f"dot expects weights and inputs of the same length, "
            f"got {len(weights)} weights and {len(inputs)} inputs"
        )
    return linear((weights,), inputs, (bias,))[0]


def linear(
    weight_rows: Sequence[Sequence[Value | Number]],
    inputs: Sequence[Value | Number],
    biases: Sequence[Value | Number | None] | None = None,
) -> list[Value]:
    """[dot(row, inputs, bias) for each row of weights and its bias]: a layer's neurons.

    The same nodes as one `dot` per row. The inputs, shared by every row, are checked
    and read once: for a small neuron that is most of the cost of its node.
    """
    return linear_batch(weight_rows, (inputs,), biases)[0]


def linear_batch(
    weight_rows: Sequence[Sequence[Value | Number]],
    input_rows: Sequence[Sequence[Value | Number]],
    biases: Sequence[Value | Number | None] | None = None,
) -> list[list[Value]]:
    """[linear(weight_rows, inputs, biases) for inputs in input_rows]: a layer on a batch.

    The same nodes again. A node's parents are its bias (when a Value), its weights,
    then its inputs; its local derivatives, in the same order, are 1, the inputs' data,
    then the weights' data. So each is a part that comes from the row (bias and
    weights; the weights' data) joined to a part that comes from the input (the
    inputs; 1 and the inputs' data), and each part is built once for the whole batch:
    a node costs two joins of ready tuples. When the inputs are numbers (a first layer
    fed with data) the input part of the parents is empty, and a node shares both
    tuples with its row and its input, allocating nothing but itself. The values of
    a large batch are summed by numpy, to the same bits (see `_dot_values`).
    """
    if biases is None:
        biases = [None] * len(weight_rows)
    elif len(biases) != len(weight_rows):
        raise ValueError(
            f"linear expects one bias per row of weights, "
            f"got {len(biases)} biases for {len(weight_rows)} rows"
        )
    # Each row once: (weights, bias, the row's part of the parents, the weights' data
    # (None unless all Values), whether the bias is a parent); and the row's data and
    # the constant its sum starts from, for `_dot_values`.
    rows = []
    weight_data: list[tuple[float, ...] | None] = []
    starts: list[float] = []
    for row, bias in zip(weight_rows, biases):
        w_data = _data_if_all_values(row)
        w_data = None if w_data is None else tuple(w_data)
        weight_data.append(w_data)
        if type(bias) is Value:
            rows.append((row, bias, (bias, *row), w_data, True))
            starts.append(bias.data)
        else:
            rows.append((row, bias, tuple(row), w_data, False))
            starts.append(0.0 if bias is None else _number(bias, "dot", "bias"))
    # Each input once: (its part of the parents, its data). The part is its Values (a
    # hidden layer), or none when it is all numbers (data fed to a first layer: they
    # are constants). None for a mix of Values and numbers, or no inputs at all: those
    # nodes are built a term at a time.
    input_parts: list[tuple[tuple[Value, ...], tuple[float, ...]] | None] = []
    checked_width = None  # the rows' lengths are checked once per width of input
    for inputs in input_rows:
        n = len(inputs)
        if n != checked_width:
            for index, row in enumerate(weight_rows):
                if len(row) != n:
                    raise ValueError(
                        f"linear expects rows of {n} weights, one per input, "
                        f"got {len(row)} in row {index}"
                    )
            checked_width = n
        x_data = _data_if_all_values(inputs)
        if x_data is None:
            numbers = [float(x) for x in inputs if type(x) in _FAST_NUMBERS]
            input_parts.append(((), tuple(numbers)) if len(numbers) == n and n else None)
        else:
            input_parts.append((tuple(inputs), tuple(x_data)) if n else None)
    dot_values = iter(
        _dot_values(weight_data, [part[1] for part in input_parts if part is not None], starts)
    )
    batch = []
    for inputs, part in zip(input_rows, input_parts):
        if part is None:
            batch.append([_dot_mixed(row, inputs, bias) for row, bias, *_ in rows])
            continue
        input_nodes, x_part = part
        one_x_part = (1.0, *x_part)
        nodes = []
        for (row, bias, row_parents, w_data, has_bias), data in zip(rows, next(dot_values)):
            if w_data is None:
                nodes.append(_dot_mixed(row, inputs, bias))
                continue
            parents = row_parents + input_nodes
            local_grads = (one_x_part if has_bias else x_part) + (w_data if input_nodes else ())
            nodes.append(_node(data, "dot", parents, local_grads))
        batch.append(nodes)
    return batch


VECTORISED_FROM = 64
"""`_dot_values` hands a batch of at least this many dot products to numpy."""


def _dot_values(
    weight_data: list[tuple[float, ...] | None],
    input_data: list[tuple[float, ...]],
    starts: list[float],
) -> list[list[float | None]]:
    """values[s][j] = starts[j] + w_j1 x_s1 + w_j2 x_s2 + ... + w_jn x_sn, summed left to
    right (micrograd's order), for each row of weights w_j and each input x_s; None
    where a row's data is None.

    A batch of `VECTORISED_FROM` products or more is summed by numpy, one column of
    products at a time: acc[j, s] += w_jk * x_sk for k = 1, ..., n. These are the
    scalar sum's own roundings, in its order, so every value has the same bits as the
    scalar path's; only the interpreter's work per product is gone. In micrograd's
    demo (a batch of 100 through 16 and 16 neurons) that is 8% of a training step.
    """
    if len(weight_data) * len(input_data) < VECTORISED_FROM or None in weight_data:
        return [
            [
                None if w is None else _sum_left_to_right(map(mul, w, x), start)
                for w, start in zip(weight_data, starts)
            ]
            for x in input_data
        ]
    # acc[j, s] is values[s][j]: each product is w * x, in the scalar sum's operand order.
    acc = np.repeat(np.array(starts, dtype=np.float64)[:, None], len(input_data), axis=1)
    w_columns = np.array(weight_data, dtype=np.float64).T
    x_columns = np.array(input_data, dtype=np.float64).T
    with np.errstate(all="ignore"):  # inf and nan come out as Python's, silently
        for w_k, x_k in zip(w_columns, x_columns):
            acc += np.multiply.outer(w_k, x_k)
    return acc.T.tolist()


def _dot_mixed(
    weights: Sequence[Value | Number], inputs: Sequence[Value | Number], bias: Value | Number | None
) -> Value:
    """`dot` for any mix of Values and numbers, one term at a time; the parents in
    `linear_batch`'s order: the bias, the weights, the inputs."""
    parents: list[Value] = []
    local_grads: list[float] = []
    input_parents: list[Value] = []
    input_grads: list[float] = []
    if type(bias) is Value:
        data = bias.data
        parents.append(bias)
        local_grads.append(1.0)
    else:
        data = 0.0 if bias is None else _number(bias, "dot", "bias")
    for index, (w, x) in enumerate(zip(weights, inputs)):
        w_is_node, x_is_node = type(w) is Value, type(x) is Value
        wd = w.data if w_is_node else _number(w, "dot", f"weights[{index}]")
        xd = x.data if x_is_node else _number(x, "dot", f"inputs[{index}]")
        data += wd * xd
        if w_is_node:
            parents.append(w)
            local_grads.append(xd)
        if x_is_node:
            input_parents.append(x)
            input_grads.append(wd)
    if not parents and not input_parents:
        return Value(data)
    return _node(data, "dot", (*parents, *input_parents), (*local_grads, *input_grads))


if sys.version_info >= (3, 12):

    def _sum_left_to_right(terms: Iterable[float], start: float) -> float:
        """start + t_1 + t_2 + ..., each addition rounded in turn, as micrograd adds.

        From Python 3.12 on, the builtin sum() compensates the roundings of floats
        (Neumaier's algorithm): more accurate, but no longer these plain additions.
        """
        return functools.reduce(add, terms, start)

else:
    _sum_left_to_right = builtins.sum  # up to 3.11, sum() adds floats plainly, in order


def _data_if_all_values(items: Sequence) -> list[float] | None:
    """Each item's `.data` if every item is a Value, else None."""
    data = [item.data for item in items if type(item) is Value]
    return data if len(data) == len(items) else None


def _number(x: object, op: str, where: str) -> float:
    """A constant term as a float, or a TypeError naming the op and the position."""
    c = _constant(x)
    if c is None:
        raise TypeError(f"{op} expects Values or real numbers, got {type(x).__name__} at {where}")
    return c
