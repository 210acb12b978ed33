"""Fused n-ary ops: one node for a whole sum or dot product.

Chaining ``a + b + c + ...`` builds one node per ``+``; `sum` builds one node with all
the terms as parents. A neuron is one `dot` node plus its activation, not 2n nodes:
the graph is smaller, and backward walks it in one step. Python numbers among the
terms are constants: folded into the value, never parents.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter, mul

from .engine import Number, Value, _constant, _node

_data = attrgetter("data")
_PLAIN_NUMBERS = {float, int}


def sum(values: Iterable[Value | Number], start: Value | Number = 0.0) -> Value:
    """s = start + v_1 + ... + v_n as one node;  ds/dv_i = 1 for every Value v_i.

    `start` and the items may be Values or plain numbers (constants). With no Value
    among them the result is a leaf holding the constant.
    """
    terms = list(values)
    constant = 0.0
    if set(map(type, terms)) <= {Value}:
        parents = terms
    else:
        parents = []
        for index, term in enumerate(terms):
            if type(term) is Value:
                parents.append(term)
            else:
                constant += _number(term, "sum", f"values[{index}]")
    if type(start) is Value:
        parents.insert(0, start)
    else:
        constant += _number(start, "sum", "start")
    data = builtins.sum(map(_data, parents), constant)
    if not parents:
        return Value(data)
    return _node(data, "sum", _interleave(parents, [1.0] * len(parents)))


def dot(
    weights: Sequence[Value | Number],
    inputs: Sequence[Value | Number],
    bias: Value | Number | None = None,
) -> Value:
    """d = bias + w_1*x_1 + ... + w_n*x_n as one node.

    Local derivatives: dd/dw_i = x_i, dd/dx_i = w_i, dd/dbias = 1. Either sequence may
    hold plain numbers (constants) instead of Values; their lengths must match.
    """
    if len(weights) != len(inputs):
        raise ValueError(
            f"dot expects weights and inputs of the same length, "
            f"got {len(weights)} weights and {len(inputs)} inputs"
        )
    if bias is None:
        bias = 0.0
    if set(map(type, weights)) <= {Value}:
        if type(bias) is Value:
            start, tail = bias.data, (bias, 1.0)
        else:
            start, tail = _number(bias, "dot", "bias"), ()
        input_kinds = set(map(type, inputs))
        w_data = list(map(_data, weights))
        if input_kinds <= {Value}:  # a hidden layer: every weight and input is a node
            x_data = list(map(_data, inputs))
            edges = _interleave(weights, x_data, inputs, w_data, tail=tail)
        elif input_kinds <= _PLAIN_NUMBERS:  # a first layer: the inputs are data
            x_data = list(map(float, inputs))
            edges = _interleave(weights, x_data, tail=tail)
        else:
            return _dot_mixed(weights, inputs, bias)
        if not edges:
            return Value(start)
        return _node(builtins.sum(map(mul, w_data, x_data), start), "dot", edges)
    return _dot_mixed(weights, inputs, bias)


def _dot_mixed(
    weights: Sequence[Value | Number], inputs: Sequence[Value | Number], bias: Value | Number
) -> Value:
    """`dot` for any mix of Values and numbers, one term at a time."""
    edges: list[Value | float] = []
    if type(bias) is Value:
        data = bias.data
        edges += (bias, 1.0)
    else:
        data = _number(bias, "dot", "bias")
    for index, (w, x) in enumerate(zip(weights, inputs)):
        w_is_node, x_is_node = type(w) is Value, type(x) is Value
        wd = w.data if w_is_node else _number(w, "dot", f"weights[{index}]")
        xd = x.data if x_is_node else _number(x, "dot", f"inputs[{index}]")
        data += wd * xd
        if w_is_node:
            edges += (w, xd)
        if x_is_node:
            edges += (x, wd)
    if not edges:
        return Value(data)
    return _node(data, "dot", tuple(edges))


def _interleave(*columns: Sequence, tail: tuple = ()) -> tuple:
    """(a0, b0, ..., a1, b1, ..., *tail): the flat edge layout of `Value`."""
    return (*chain.from_iterable(zip(*columns)), *tail)


def _number(x: object, op: str, where: str) -> float:
    """A constant term as a float, or a TypeError naming the op and the position."""
    c = _constant(x)
    if c is None:
        raise TypeError(f"{op} expects Values or real numbers, got {type(x).__name__} at {where}")
    return c
