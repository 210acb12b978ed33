"""Each op of the engine, on a whole group of nodes at once: its values and its local
derivatives, computed with the same roundings as the engine's scalar code.

A rule takes `x`, an array of shape (nodes, operands): row i holds the operands of node
i, in the op's order (constants included, in their slots); an elementwise rule takes
the list of those columns instead. It returns the values, shape (nodes,), or the terms
backward sends (`terms`): the local derivatives, one column per operand as the engine's
`local_grads` list them for the operands that are Values, times the nodes' gradients.

+, -, *, / and relu are one numpy operation each, which IEEE 754 rounds exactly as
Python does. The functions of libm (tanh, exp, log, pow) are not vectorised: numpy may
use its own implementations, whose last bit can differ from Python's, so these rules
call the engine's own scalar functions on each element. The result is exact either way.

Next: interpret.py, the simplest replay, which applies these rules node by node.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..custom_op import CustomOp
from ..float_math import (
    d_power_d_base,
    d_power_d_exponent,
    float_divide,
    float_exp,
    float_log,
    float_power,
    float_sigmoid,
)
from ..fused import select

if TYPE_CHECKING:
    from .forward import Step

Array = np.ndarray


def each(function: Callable[..., float], *columns: Array) -> Array:
    """function applied to each element (each row of the columns, of one length), as a
    float array."""
    return np.fromiter(map(function, *(c.tolist() for c in columns)), np.float64, len(columns[0]))


EXP_SAFE = 709.0  # math.exp is finite below this (it overflows past about 709.78)


def _exp(a: Array) -> Array:
    """e^a by the engine's function; where no element can overflow (nor is nan), by
    math.exp itself, which the engine's function calls there: the same numbers."""
    return each(math.exp if a.max() < EXP_SAFE else float_exp, a)


def _log(a: Array) -> Array:
    """ln(a) by the engine's function; where every element is positive (none nan), by
    math.log itself, which the engine's function calls there: the same numbers."""
    return each(math.log if a.min() > 0.0 else float_log, a)


class VectorisedRule:
    """An op's values and local derivatives, vectorised over nodes (see the module)."""

    name = ""

    def gather(self, values: Array, step: Step) -> Array:
        """The operands of the step's nodes, read from the slots: x."""
        return values.take(step.operands)

    def values(self, x: Array) -> Array:
        raise NotImplementedError

    def local_grads(self, x: Array, out: Array) -> Array:
        raise NotImplementedError

    def terms(self, x: Array, out: Array, g: Array, columns: int) -> Array:
        """The local derivatives times the nodes' gradients g, for the first `columns`
        operands: what backward sends them, shape (nodes, columns)."""
        local = self.local_grads(x, out)
        local *= g[:, None]
        return local[:, :columns]

    # One node at a time (a `Run`): by default the rule on a batch of one node.

    def scalar(self, *x: float) -> float:
        """The value of one node whose operands are x."""
        return self.values(np.array([x])).item(0)

    def scalar_terms(self, x: list[float], out: float, g: float) -> list[float]:
        """What one node of gradient g sends each of its operands: local times g."""
        return self.terms(np.array([x]), np.array([out]), np.array([g]), len(x))[0].tolist()


class Elementwise(VectorisedRule):
    """An op of one or two operands given by two functions of the operand columns.

    Its x is a list of columns, not an array: a column that is a run of slots (often
    the nodes of the step before, in order) is read as a view, without a copy.
    """

    def __init__(
        self,
        name: str,
        values: Callable,
        local_grads: Callable,
        scalar: Callable | None = None,
        scalar_grads: Callable | None = None,
    ) -> None:
        """`values(*columns)` and `local_grads(*columns, out)` on arrays; `scalar` and
        `scalar_grads`: the same on floats (the engine's functions), where the array
        ones do not take floats."""
        self.name, self._values, self._local_grads = name, values, local_grads
        self.scalar = scalar or values  # (an attribute: one call less per node of a Run)
        self._scalar_grads = scalar_grads or local_grads

    def gather(self, values: Array, step: Step) -> list[Array]:
        return [values[column] for column in step.columns]

    def values(self, x: list[Array]) -> Array:
        return self._values(*x)

    def values_of(self, *columns: Array) -> Array:
        """The values, from the operand columns given one by one."""
        return self._values(*columns)

    def local_columns(self, *columns_and_out: Array) -> tuple:
        """Each operand's local derivatives (a column, or one number for all), from the
        operand columns and the values."""
        return self._local_grads(*columns_and_out)

    def terms(self, x: list[Array], out: Array, g: Array, columns: int) -> Array:
        terms = np.empty((len(g), columns))
        for column, local in zip(range(columns), self._local_grads(*x, out)):
            np.multiply(local, g, out=terms[:, column])  # local: a column, or one number
        return terms

    def scalar_terms(self, x: list[float], out: float, g: float) -> list[float]:
        return [local * g for local in self._scalar_grads(*x, out)]


def _divided(a: Array, b: Array) -> Array:
    """a / b, with the engine's error for a zero divisor."""
    zero = np.flatnonzero(b == 0.0)
    if zero.size:
        float_divide(float(a[zero[0]]), 0.0)  # raises, naming the operands
    return a / b


def _relu(a: Array) -> Array:
    return np.where(a <= 0.0, 0.0, a)  # nan stays nan


ONE = 1.0
ELEMENTWISE = [
    Elementwise("+", lambda a, b: a + b, lambda a, b, out: (ONE, ONE)),
    Elementwise("-", lambda a, b: a - b, lambda a, b, out: (ONE, -ONE)),
    Elementwise("*", lambda a, b: a * b, lambda a, b, out: (b, a)),
    Elementwise("/", _divided, lambda a, b, out: (1.0 / b, -out / b), scalar=float_divide),
    Elementwise(
        "**",
        lambda a, b: each(float_power, a, b),
        lambda a, b, out: (each(d_power_d_base, a, b), each(d_power_d_exponent, a, b, out)),
        scalar=float_power,
        scalar_grads=lambda a, b, out: (d_power_d_base(a, b), d_power_d_exponent(a, b, out)),
    ),
    Elementwise("neg", lambda a: -a, lambda a, out: (-ONE,)),
    Elementwise(
        "relu",
        _relu,
        lambda a, out: (np.where(a > 0.0, 1.0, 0.0),),
        scalar=lambda a: 0.0 if a <= 0.0 else a,  # nan stays nan
        scalar_grads=lambda a, out: (1.0 if a > 0.0 else 0.0,),
    ),
    Elementwise("tanh", lambda a: each(math.tanh, a), lambda a, out: (1.0 - out * out,), math.tanh),
    Elementwise("exp", _exp, lambda a, out: (out,), float_exp),
    Elementwise("log", _log, lambda a, out: (1.0 / a,), float_log),
    Elementwise(
        "sigmoid",
        lambda a: each(float_sigmoid, a),
        lambda a, out: (out * (1.0 - out),),
        float_sigmoid,
    ),
]


def sum_rows(block: Array) -> Array:
    """block[0] + block[1] + block[2] + ..., added row after row, in order.

    `np.add.reduce` along axis 0 of a C-ordered block adds the rows one after another
    into the running total: numpy sums pairwise only along the axis that is contiguous
    in memory. A block of one column would be that axis, so its running sums are taken
    instead (`np.add.accumulate`: each the one before plus the next, in order) and the
    last kept. `np.add.reduce` starts from 0.0, and 0.0 + -0.0 is 0.0: it starts here
    from -0.0, which adds to any number x as x, -0.0 itself included. (A test holds
    this against an explicit loop, on signed zeros too.)
    """
    block = np.ascontiguousarray(block)
    if block.ndim == 2 and block.shape[1] == 1:  # one column: its running sums, the last
        return np.add.accumulate(block.ravel())[-1:]
    return np.add.reduce(block, axis=0, initial=-0.0)


class Sum(VectorisedRule):
    """s = x_0 + x_1 + ... added left to right;  ds/dx_k = 1."""

    name = "sum"

    def values(self, x: Array) -> Array:
        return sum_rows(x.T)

    def local_grads(self, x: Array, out: Array) -> Array:
        return np.ones_like(x)


class Dot(VectorisedRule):
    """d = b + w_1 x_1 + ... + w_n x_n, columns (b, w_1..w_n, x_1..x_n), added left to
    right;  dd/db = 1, dd/dw_k = x_k, dd/dx_k = w_k."""

    name = "dot"

    def values(self, x: Array) -> Array:
        n = (x.shape[1] - 1) // 2
        terms = np.empty((n + 1, len(x)))  # a row per term: b, then w_k x_k
        terms[0] = x[:, 0]
        np.multiply(x[:, 1 : n + 1].T, x[:, n + 1 :].T, out=terms[1:])
        return sum_rows(terms)

    def local_grads(self, x: Array, out: Array) -> Array:
        n = (x.shape[1] - 1) // 2
        return np.concatenate([np.ones((len(x), 1)), x[:, n + 1 :], x[:, 1 : n + 1]], axis=1)


class Max(VectorisedRule):
    """m = the first largest x_k (the first nan, if any);  dm/dx_k = 1 there, else 0."""

    name = "max"

    def values(self, x: Array) -> Array:
        return x[np.arange(len(x)), np.argmax(x, axis=1)]  # argmax: the first nan, or max

    def local_grads(self, x: Array, out: Array) -> Array:
        grads = np.zeros_like(x)
        grads[np.arange(len(x)), np.argmax(x, axis=1)] = 1.0
        return grads


class Select(VectorisedRule):
    """s = x_index, columns (x_0..x_{n-1}, index);  ds/dx_k = 1 if k == index, else 0."""

    name = "select"

    def picked(self, x: Array) -> Array:
        """The index of each row, checked by the engine's `select` where it is not valid."""
        index = x[:, -1]
        bad = np.flatnonzero((index != np.floor(index)) | (index < 0) | (index >= x.shape[1] - 1))
        if bad.size:
            row = x[bad[0]]
            select(list(row[:-1]), float(row[-1]))  # raises the engine's error
        return index.astype(np.intp)

    def values(self, x: Array) -> Array:
        return x[np.arange(len(x)), self.picked(x)]

    def local_grads(self, x: Array, out: Array) -> Array:
        grads = np.zeros_like(x)
        grads[np.arange(len(x)), self.picked(x)] = 1.0
        return grads


class Custom(VectorisedRule):
    """A `custom_op`: its own rule, called on each node's operands."""

    def __init__(self, op: CustomOp) -> None:
        self.op, self.name = op, op.name

    def values(self, x: Array) -> Array:
        return np.array([self.op.apply(row)[0] for row in x.tolist()], dtype=np.float64)

    def local_grads(self, x: Array, out: Array) -> Array:
        return np.array([self.op.apply(row)[1] for row in x.tolist()], dtype=np.float64)


BUILT_IN: dict[str, VectorisedRule] = {
    r.name: r for r in [*ELEMENTWISE, Sum(), Dot(), Max(), Select()]
}
