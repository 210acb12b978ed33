"""Fused n-ary ops: one node for a whole sum, dot product, max or pick.

Chaining ``a + b + c + ...`` builds one node per ``+``; `sum` builds one node with all
the terms as parents. A neuron is one `dot` node plus its activation, not 2n nodes:
the graph is smaller, and backward walks it in one step. Python numbers among the
terms are constants: folded into the value, never parents.

These are the reference: each reads like its formula. `linear` and `linear_batch`
(in fast_linear.py) build the nodes of many `dot`s at once, and must equal them.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Iterable, Sequence

from .engine import Number, Value, make_node
from .real import as_float, is_integer, is_real_number

Term = Value | Number


def sum(values: Iterable[Term], start: Term = 0.0) -> Value:
    """s = start + v_1 + ... + v_n as one node, added left to right;  ds/dv_i = 1.

    `start` and the items may be Values or plain numbers (constants). The node's
    parents are the Values among them, `start` first. With no Value among them the
    result is a leaf holding the constant.
    """
    values = _listed(values, "sum(values)")
    total = data_of(start, "sum", "start")
    for i, v in enumerate(values):
        total += data_of(v, "sum", "values", i)
    terms = (start, *values)
    parents = [term for term in terms if isinstance(term, Value)]
    if not parents:
        return Value(total)
    return make_node(total, "sum", terms, (1.0,) * len(parents), parents=tuple(parents))


def dot(weights: Iterable[Term], inputs: Iterable[Term], bias: Term | None = None) -> Value:
    """d = bias + w_1 x_1 + ... + w_n x_n as one node, added left to right.

    Local derivatives: dd/dbias = 1, dd/dw_i = x_i, dd/dx_i = w_i. Either side may hold
    plain numbers (constants) instead of Values; the lengths must match. The node's
    operands: the bias (when given), the weights, the inputs; its parents are the
    Values among them, in that order.
    """
    weights, inputs = _listed(weights, "dot(weights)"), _listed(inputs, "dot(inputs)")
    if len(weights) != len(inputs):
        raise ValueError(
            f"dot expects weights and inputs of the same length, "
            f"got {len(weights)} weights and {len(inputs)} inputs"
        )
    w = [data_of(w_i, "dot", "weights", i) for i, w_i in enumerate(weights)]
    x = [data_of(x_i, "dot", "inputs", i) for i, x_i in enumerate(inputs)]
    total = 0.0 if bias is None else data_of(bias, "dot", "bias")
    for w_i, x_i in zip(w, x):
        total += w_i * x_i
    edges = [(bias, 1.0)] if isinstance(bias, Value) else []  # (parent, local derivative)
    edges += [(w_i, x_i) for w_i, x_i in zip(weights, x) if isinstance(w_i, Value)]
    edges += [(x_i, w_i) for x_i, w_i in zip(inputs, w) if isinstance(x_i, Value)]
    if not edges:
        return Value(total)
    parents, local_grads = zip(*edges)
    operands = (*weights, *inputs) if bias is None else (bias, *weights, *inputs)
    return make_node(total, "dot", operands, local_grads, parents=parents)


def max(values: Iterable[Value]) -> Value:
    """m = max_i v_i as one node;  dm/dv_k = 1 for the first largest v_k, 0 for the others.

    As PyTorch's ``torch.max``, the gradient goes to one element; nan if any v_i is nan.
    """
    values = _listed(values, "max(values)")
    if not values:
        raise ValueError("max expects at least one Value, got none")
    data = [data_of(v, "max", "values", i) for i, v in enumerate(values)]
    nan_at = next((i for i, d in enumerate(data) if math.isnan(d)), None)
    k = nan_at if nan_at is not None else data.index(builtins.max(data))
    return _picked(values, k, "max")


def select(values: Sequence[Value], index: int | Value) -> Value:
    """values[index] as one node (PyTorch's gather);  d/dv_k = 1 if k == index, else 0.

    Every value is a parent, so the graph's shape does not depend on the index. `index`
    is an int, or a Value holding an integer (a class label handed in as data): then it
    is a parent too, of local derivative 0 (a step function of the index, flat almost
    everywhere, as relu is below 0), so it gets no gradient but 0.
    """
    values = _listed(values, "select(values)")
    k = index.data if isinstance(index, Value) else index
    if not (is_integer(k) or (isinstance(k, float) and k.is_integer())):
        raise TypeError(f"select(index) expects an integer, got {type(index).__name__}: {index!r}")
    if not 0 <= k < len(values):
        raise IndexError(f"select: index {int(k)} is out of range 0..{len(values) - 1}")
    return _picked(values, int(k), "select", index)


def _picked(values: list[Value], k: int, op: str, index: int | Value | None = None) -> Value:
    """A node of value values[k], whose operands are all `values` (then `index`, when
    given): derivative 1 at k only."""
    for i, v in enumerate(values):
        if not isinstance(v, Value):
            raise TypeError(f"{op} expects Values, got {type(v).__name__} at values[{i}]")
    local_grads = [0.0] * (len(values) + isinstance(index, Value))
    local_grads[k] = 1.0
    operands = tuple(values) if index is None else (*values, index)
    parents = tuple(values) if len(local_grads) == len(values) else operands  # (an int index)
    return make_node(values[k].data, op, operands, tuple(local_grads), parents=parents)


def _listed(items: Iterable, where: str) -> list:
    """`items` (any iterable but a str, generators too) as a list."""
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise TypeError(f"{where} expects a sequence, got {type(items).__name__}: {items!r}")
    return list(items)


def data_of(term: object, op: str, name: str, index: int | None = None) -> float:
    """A term's value: a Value's data, or a number as a constant; else an error naming
    the op and the argument `name` (at `index`)."""
    if isinstance(term, Value):
        return term.data
    if type(term) is float:
        return term
    where = name if index is None else f"{name}[{index}]"
    if not is_real_number(term):
        kind = type(term).__name__
        raise TypeError(f"{op} expects Values or real numbers, got {kind} at {where}")
    return as_float(term, f"{op} ({where})")
