"""The table of ops that drives the value, gradient, structure and gradcheck tests.

Each op is written once, with its value and its partial derivatives in closed form as
a mathematician would write them (tanh' as 1/cosh^2, sigmoid' as e^-a / (1 + e^-a)^2),
independently of how the engine computes them. Every binary op is then expanded into
its three forms: Value-Value (``a * b``), Value-number (``a * 2.5``) and number-Value
(``2.5 * b``); in the last two the number is a folded constant, never a parent.

The points are exactly representable in float32, so the same cases can be rerun with
numpy scalar constants and must give bit-identical results.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

from minitorch_scalar import Value

Binary = Callable[[float, float], float]
Unary = Callable[[float], float]


@dataclass(frozen=True)
class OpCase:
    """One op in one form at one point.

    ``fn`` takes the differentiated operands as Values (in ``args`` order) and returns
    the op's node; ``value`` and ``grads`` are the closed forms at ``args``.
    """

    name: str
    fn: Callable[..., Value]
    args: tuple[float, ...]
    value: float
    grads: tuple[float, ...]
    op: str

    def __str__(self) -> str:
        return f"{self.name}{self.args}"


@dataclass(frozen=True)
class BinaryOp:
    """A binary operator, its node's op string, and its closed forms."""

    name: str
    apply: Callable[[object, object], object]
    op: str
    value: Binary
    d_a: Binary
    d_b: Binary
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class UnaryOp:
    """A unary method of Value, its node's op string, and its closed forms."""

    name: str
    apply: Callable[[Value], Value]
    op: str
    value: Unary
    d_a: Unary
    points: tuple[float, ...]


BINARY_OPS = (
    BinaryOp(
        "add",
        operator.add,
        "+",
        lambda a, b: a + b,
        lambda a, b: 1.0,
        lambda a, b: 1.0,
        ((1.5, -2.25), (-3.0, 0.5)),
    ),
    BinaryOp(
        "sub",
        operator.sub,
        "-",
        lambda a, b: a - b,
        lambda a, b: 1.0,
        lambda a, b: -1.0,
        ((1.5, -2.25), (-3.0, 0.5)),
    ),
    BinaryOp(
        "mul",
        operator.mul,
        "*",
        lambda a, b: a * b,
        lambda a, b: b,
        lambda a, b: a,
        ((1.5, -2.25), (-3.0, 0.5)),
    ),
    BinaryOp(
        "truediv",
        operator.truediv,
        "/",
        lambda a, b: a / b,
        lambda a, b: 1.0 / b,
        lambda a, b: -a / b**2,
        ((3.0, 4.0), (-1.5, 0.25)),
    ),
    BinaryOp(
        "pow",
        operator.pow,
        "**",
        lambda a, b: math.exp(b * math.log(a)),  # a^b = e^(b ln a) for a > 0
        lambda a, b: b * math.exp((b - 1.0) * math.log(a)),
        lambda a, b: math.exp(b * math.log(a)) * math.log(a),
        ((1.5, 2.5), (2.0, -1.5), (0.5, 3.0)),
    ),
)

UNARY_OPS = (
    UnaryOp("neg", operator.neg, "neg", lambda a: -a, lambda a: -1.0, (1.5, -2.0)),
    UnaryOp(
        "relu",
        Value.relu,
        "relu",
        lambda a: a if a > 0 else 0.0,
        lambda a: 1.0 if a > 0 else 0.0,
        (2.5, -1.5),
    ),
    UnaryOp(
        "tanh",
        Value.tanh,
        "tanh",
        lambda a: (math.exp(a) - math.exp(-a)) / (math.exp(a) + math.exp(-a)),
        lambda a: 1.0 / math.cosh(a) ** 2,
        (0.5, -1.25, 3.0),
    ),
    UnaryOp("exp", Value.exp, "exp", math.exp, math.exp, (0.75, -2.0)),
    UnaryOp("log", Value.log, "log", math.log, lambda a: 1.0 / a, (0.25, 2.5)),
    UnaryOp(
        "sigmoid",
        Value.sigmoid,
        "sigmoid",
        lambda a: 1.0 / (1.0 + math.exp(-a)),
        lambda a: math.exp(-a) / (1.0 + math.exp(-a)) ** 2,
        (0.0, 1.25, -4.0),
    ),
)


def _binary_cases(spec: BinaryOp) -> list[OpCase]:
    """The three forms of `spec` at each of its points."""
    cases = []
    for a, b in spec.points:
        value = spec.value(a, b)
        d_a, d_b = spec.d_a(a, b), spec.d_b(a, b)
        cases += [
            OpCase(f"{spec.name}[Value-Value]", spec.apply, (a, b), value, (d_a, d_b), spec.op),
            OpCase(
                f"{spec.name}[Value-number {b}]",
                lambda x, apply=spec.apply, b=b: apply(x, b),
                (a,),
                value,
                (d_a,),
                spec.op,
            ),
            OpCase(
                f"{spec.name}[number {a}-Value]",
                lambda y, apply=spec.apply, a=a: apply(a, y),
                (b,),
                value,
                (d_b,),
                spec.op,
            ),
        ]
    return cases


def _unary_cases(spec: UnaryOp) -> list[OpCase]:
    return [
        OpCase(spec.name, spec.apply, (a,), spec.value(a), (spec.d_a(a),), spec.op)
        for a in spec.points
    ]


OP_CASES = [case for spec in BINARY_OPS for case in _binary_cases(spec)] + [
    case for spec in UNARY_OPS for case in _unary_cases(spec)
]
