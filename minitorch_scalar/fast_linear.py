"""A fast path, safe to skip on a first reading: a layer's `dot` nodes, built in bulk.

    linear_batch(rows, xs, biases)[s][j] == dot(rows[j], xs[s], biases[j])

node for node: the same value to the bit (added left to right from the bias), the same
parents in the same order (bias, weights, inputs), the same local derivatives
(1, x..., w...). The tests hold it to `dot` itself. What it saves: a layer reads each
weight once per batch instead of once per sample; it builds each node from two halves
made once, the row's (bias and weights) and the input's, so a node costs two tuple
joins; and a large batch's values are summed by numpy, with the same roundings in the
same order (see `_dot_values`). Rows or inputs that mix Values and numbers go through
`dot` itself. `benchmarks/bench.py` measures what numpy's sums save (a run with
`VECTORISED_FROM` set out of reach, interleaved with the others).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from functools import reduce
from operator import add, mul
from typing import NamedTuple

import numpy as np

from .engine import Value, make_node
from .fused import Term, data_of, dot
from .real import as_float, is_real_number


class _Row(NamedTuple):
    """One neuron's half of each of its nodes, made once per batch (all weights Values)."""

    operands: tuple  # (bias, w_1, ..., w_n): the bias as given (a Value or a number), if given
    parents: tuple[Value, ...]  # the Values among them: (w_1, ..., w_n) after a Value bias if any
    weights: tuple[float, ...]  # w_i's data: dd/dx_i
    start: float  # the bias's value (0.0 for none): where the sum starts
    has_bias_parent: bool


class _Input(NamedTuple):
    """One input's half of each of its nodes, made once per batch (all Values or all numbers)."""

    operands: tuple  # (x_1, ..., x_n): Values, or floats (constants)
    parents: tuple[Value, ...]  # the operands if Values; () if numbers
    data: tuple[float, ...]  # x_i's value: dd/dw_i
    data_after_one: tuple[float, ...]  # (1.0, x_1, ..., x_n): dd/dbias first


def linear(
    weight_rows: Sequence[Sequence[Term]],
    inputs: Sequence[Term],
    biases: Sequence[Term | None] | None = None,
) -> list[Value]:
    """[dot(row, inputs, bias) for each row of weights and its bias]: a layer's neurons."""
    return linear_batch(weight_rows, [inputs], biases)[0]


def linear_batch(
    weight_rows: Sequence[Sequence[Term]],
    input_rows: Iterable[Sequence[Term]],
    biases: Sequence[Term | None] | None = None,
) -> list[list[Value]]:
    """[linear(weight_rows, inputs, biases) for inputs in input_rows]: a layer on a batch."""
    weight_rows = [row if isinstance(row, list) else list(row) for row in weight_rows]
    biases = _checked_biases(biases, len(weight_rows))
    input_rows = [inputs if type(inputs) is list else list(inputs) for inputs in input_rows]
    for width in {len(inputs) for inputs in input_rows}:
        _check_widths(weight_rows, width)
    rows = [_row(row, bias) for row, bias in zip(weight_rows, biases)]
    if None in rows:
        return [[dot(r, x, b) for r, b in zip(weight_rows, biases)] for x in input_rows]
    halves = [_input(inputs) for inputs in input_rows]  # None: a mix, built by `dot`
    ready = [s for s, half in enumerate(halves) if half is not None]
    values_of = dict(zip(ready, _dot_values(rows, [halves[s] for s in ready])))
    batch = []
    for s, (inputs, half) in enumerate(zip(input_rows, halves)):
        if half is None:
            batch.append([dot(r, inputs, b) for r, b in zip(weight_rows, biases)])
        else:
            batch.append(_dot_nodes(rows, half, values_of[s]))
    return batch


def _dot_nodes(rows: list[_Row], x: _Input, values: list[float]) -> list[Value]:
    """The node `dot` makes for each row and this input, from the two halves: the same
    operands (bias, weights, inputs), parents and local derivatives (1, x..., w...)."""
    x_operands, x_parents, x_data, x_data_after_one = x
    return [
        make_node(
            value,
            "dot",
            operands + x_operands,
            # d/dbias (if a parent) and d/dw_i = x_i, then d/dx_i = w_i (if parents)
            (x_data_after_one if has_bias_parent else x_data) + (weights if x_parents else ()),
            # the parents from the halves (None: all the operands, which make_node takes)
            None if x_parents and operands is parents else parents + x_parents,
        )
        for (operands, parents, weights, _, has_bias_parent), value in zip(rows, values)
    ]


VECTORISED_FROM = 64
"""`_dot_values` hands a batch of at least this many dot products to numpy."""


def _dot_values(rows: list[_Row], inputs: list[_Input]) -> list[list[float]]:
    """The value of each row's dot product with each input, as `dot` computes it:
    start + w_1 x_1 + w_2 x_2 + ..., added left to right; listed input by input.

    A batch of `VECTORISED_FROM` products or more is summed by numpy, one column of
    products at a time: acc[j, s] += w_jk * x_sk for k = 1, 2, ... These are the
    scalar sum's own roundings, in its order, so every value has the same bits.
    """
    if len(rows) * len(inputs) < VECTORISED_FROM:
        return [
            [_sum_left_to_right(map(mul, row.weights, x.data), row.start) for row in rows]
            for x in inputs
        ]
    acc = np.repeat(np.array([row.start for row in rows])[:, None], len(inputs), axis=1)
    weight_columns = np.array([row.weights for row in rows]).T
    input_columns = np.array([x.data for x in inputs]).T
    with np.errstate(all="ignore"):  # inf and nan come out as Python's, silently
        for w_k, x_k in zip(weight_columns, input_columns):
            acc += np.multiply.outer(w_k, x_k)
    return acc.T.tolist()


def _row(weights: list, bias: Term | None) -> _Row | None:
    """The row's half, or None unless every weight is a Value."""
    data = tuple([w.data for w in weights if isinstance(w, Value)])
    if len(data) != len(weights):
        return None
    if isinstance(bias, Value):
        parents = (bias, *weights)
        return _Row(parents, parents, data, bias.data, True)
    if bias is None:
        parents = tuple(weights)
        return _Row(parents, parents, data, 0.0, False)
    start = data_of(bias, "dot", "bias")
    return _Row((start, *weights), tuple(weights), data, start, False)


def _input(inputs: list) -> _Input | None:
    """The input's half, or None for a mix of Values and numbers (and for no inputs)."""
    if not inputs:
        return None
    data = tuple([x.data for x in inputs if isinstance(x, Value)])
    if len(data) == len(inputs):
        operands = tuple(inputs)
        return _Input(operands, operands, data, (1.0, *data))
    if data:  # some Values, some numbers
        return None
    if all(type(x) is float for x in inputs):
        data = tuple(inputs)
        return _Input(data, (), data, (1.0, *data))
    if all(is_real_number(x) for x in inputs):
        data = tuple(as_float(x, f"linear (inputs[{i}])") for i, x in enumerate(inputs))
        return _Input(data, (), data, (1.0, *data))
    return None


def _checked_biases(biases: Sequence | None, rows: int) -> list:
    """One bias (or None) per row."""
    if biases is None:
        return [None] * rows
    biases = list(biases)
    if len(biases) != rows:
        raise ValueError(
            f"linear expects one bias per row of weights, got {len(biases)} biases for {rows} rows"
        )
    return biases


def _check_widths(weight_rows: list[list], width: int) -> None:
    """A ValueError naming the first row whose length is not the input's `width`."""
    for index, row in enumerate(weight_rows):
        if len(row) != width:
            raise ValueError(
                f"linear expects rows of {width} weights, one per input, "
                f"got {len(row)} in row {index}"
            )


if sys.version_info >= (3, 12):

    def _sum_left_to_right(terms: Iterable[float], start: float) -> float:
        """start + t_1 + t_2 + ..., each addition rounded in turn, as `dot` adds.

        From Python 3.12 on, the builtin sum() compensates the roundings of floats
        (Neumaier's algorithm): more accurate, but no longer these plain additions.
        """
        return reduce(add, terms, start)

else:
    _sum_left_to_right = sum  # up to 3.11, sum() adds floats plainly, in order
