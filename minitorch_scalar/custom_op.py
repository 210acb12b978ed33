"""Your own op, by the project's one mechanism: its value and its local derivatives.

    @custom_op("softplus")
    def softplus(a: float) -> tuple[float, tuple[float, ...]]:
        '''softplus(a) = ln(1 + e^a);  d/da = 1 / (1 + e^-a).'''
        return math.log1p(math.exp(a)), (1.0 / (1.0 + math.exp(-a)),)

    y = softplus(Value(0.5))        # a node of op "softplus", whose parent is the Value

The rule takes the operands' values (floats) and returns the op's value and d(op)/d
(operand) for each operand. Applied to Values (and plain numbers, which are constants),
it gives a node like any built-in op's: backward, `gradcheck`, `draw_graph` and
`compile` (which replays the rule on each element, so the numbers stay exact) all work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from .engine import Value, make_node, values_among
from .fused import data_of
from .real import as_float

FloatRule = Callable[..., tuple[float, tuple[float, ...]]]
"""A custom op's rule: the operands' floats in, (value, d(op)/d(operand) each) out. (The
compiler's `VectorisedRule` is the same idea on a whole group of nodes at once.)"""


class CustomOp:
    """An op made from a rule on floats: calling it on Values makes one node."""

    def __init__(self, name: str, rule: FloatRule) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"custom_op(name) expects a non-empty str, got {name!r}")
        if not callable(rule):
            raise TypeError(f"custom_op expects a function to decorate, got {type(rule).__name__}")
        self.name, self.rule = name, rule
        functools.update_wrapper(self, rule)

    def __call__(self, *operands: Value | float) -> Value:
        """The op's node: value and local derivatives from the rule, parents the Values.

        The node's operands are this op itself, then `operands`: so a tracer knows the
        rule to replay, whatever the op's name."""
        values = [data_of(x, self.name, "operands", i) for i, x in enumerate(operands)]
        data, local_grads = self.apply(values)
        grads = tuple([d for x, d in zip(operands, local_grads) if isinstance(x, Value)])
        if not grads:
            return Value(data)
        # the operands: this op itself (so a tracer knows its rule), then its arguments
        return make_node(data, self.name, (self, *operands), grads, parents=values_among(operands))

    def apply(self, values: list[float]) -> tuple[float, tuple[float, ...]]:
        """The rule on these values, its answer checked: a number and one derivative each."""
        answer = self.rule(*values)
        if not (isinstance(answer, tuple) and len(answer) == 2):
            raise TypeError(f"custom op {self.name!r}: the rule must return (value, derivatives)")
        data, local_grads = answer
        local_grads = tuple(local_grads)
        if len(local_grads) != len(values):
            raise ValueError(
                f"custom op {self.name!r}: the rule gave {len(local_grads)} derivatives "
                f"for {len(values)} operands"
            )
        what = f"custom op {self.name!r}"
        return as_float(data, f"{what} (value)"), tuple(as_float(d, what) for d in local_grads)


def custom_op(name: str) -> Callable[[FloatRule], CustomOp]:
    """A decorator: turn `rule(*floats) -> (value, derivatives)` into an op named `name`."""

    def make(rule: FloatRule) -> CustomOp:
        return CustomOp(name, rule)

    if not isinstance(name, str):
        raise TypeError(f"custom_op(name) expects a str, got {type(name).__name__}: {name!r}")
    return make
