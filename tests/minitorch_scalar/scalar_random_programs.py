"""Random expression graphs that can be replayed, step for step, on another engine.

A program is a list of steps ``(op, operands)``; an operand is ``("node", i)`` (the
i-th node so far: the inputs first, then one node per step) or ``("number", c)``.
Programs are drawn while being run on minitorch_scalar, so every step is valid where
it is taken (log of a positive node, no division by a near-zero node, exp and pow in
range) and values stay moderate. Operands favour recent nodes, so graphs are deep and
reuse nodes along paths of different lengths. The last step sums every node that no
other step uses, so the whole graph feeds the root.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import minitorch_scalar as ms
from minitorch_scalar import Value

OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,  # node ** number
    "rpow": lambda a, b: a**b,  # number ** node
    "powv": lambda a, b: a**b,  # node ** node
    "neg": lambda a: -a,
    "relu": lambda a: a.relu(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
}
FUSED = {"sum", "dot"}
ALL_OPS = frozenset(OPS) | FUSED
MICROGRAD_OPS = frozenset({"add", "sub", "mul", "div", "pow", "neg", "relu", "sum", "dot"})


@dataclass(frozen=True)
class Backend:
    """How one engine makes a leaf, a sum and a dot; every other op is Python's."""

    leaf: Callable[[float], object]
    sum: Callable[[list, object], object]
    dot: Callable[[list, list, object], object]


def chained_sum(terms: list, start: object) -> object:
    """start + t_1 + ... + t_n, one binary add at a time (for engines without sum)."""
    total = start
    for term in terms:
        total = total + term
    return total


def chained_dot(weights: list, inputs: list, bias: object) -> object:
    """bias + w_1 x_1 + ... + w_n x_n, one binary op at a time."""
    return chained_sum([w * x for w, x in zip(weights, inputs)], bias)


MINITORCH = Backend(leaf=Value, sum=ms.sum, dot=ms.dot)


def apply(step: tuple, nodes: list, backend: Backend) -> object:
    """The node that `step` makes from `nodes` on `backend`."""
    op, args = step
    operands = [nodes[index] if kind == "node" else index for kind, index in args]
    if op == "sum":
        return backend.sum(operands[:-1], operands[-1])
    if op == "dot":
        half = (len(operands) - 1) // 2
        return backend.dot(operands[:half], operands[half:-1], operands[-1])
    return OPS[op](*operands)


def run(program: list, inputs: list[float], backend: Backend) -> list:
    """Every node of `program` on `backend`: the leaves first, then one per step."""
    nodes = [backend.leaf(x) for x in inputs]
    for step in program:
        nodes.append(apply(step, nodes, backend))
    return nodes


def random_program(
    rng: random.Random, inputs: list[float], steps: int, ops: frozenset = ALL_OPS
) -> list:
    """A valid program over `inputs`: `steps` random steps from `ops`, then the root sum."""
    nodes = [Value(x) for x in inputs]
    program: list = []
    names = sorted(ops)
    while len(program) < steps:
        step = _random_step(rng, rng.choice(names), [n.data for n in nodes])
        if step is None:
            continue
        node = apply(step, nodes, MINITORCH)
        if abs(node.data) <= 1e3:
            program.append(step)
            nodes.append(node)
    used = {index for _, args in program for kind, index in args if kind == "node"}
    dangling = [("node", i) for i in range(len(nodes)) if i not in used]
    return [*program, ("sum", (*dangling, ("number", 0.0)))]


def _recent(rng: random.Random, count: int) -> int:
    """A node index below `count`, recent ones more likely."""
    return max(0, count - 1 - int(rng.expovariate(0.3)))


def _random_step(rng: random.Random, op: str, values: list[float]) -> tuple | None:
    """A step of `op` on random operands, or None where it would be invalid or wild."""
    i, j = _recent(rng, len(values)), _recent(rng, len(values))
    a, b = values[i], values[j]
    c = rng.choice([-1.5, -0.5, 0.25, 2.0, 3.0])
    if op in FUSED:
        n = rng.randint(1, 4) * (2 if op == "dot" else 1)
        picks = [
            ("node", _recent(rng, len(values)))
            if k == 0 or rng.random() < 0.75  # at least one node: a fused op, not a number
            else ("number", c * k)
            for k in range(n + 1)
        ]
        return (op, tuple(picks))
    if op in ("neg", "relu", "tanh", "sigmoid", "exp", "log"):
        invalid = (op == "log" and a < 0.05) or (op == "exp" and a > 4.0)
        return None if invalid else (op, (("node", i),))
    if op == "pow":
        exponent = rng.choice([2, 3, -1, 0.5, 1.5])
        invalid = (exponent < 0 and abs(a) < 0.2) or (exponent % 1 and a < 0.05)
        return None if invalid else (op, (("node", i), ("number", exponent)))
    if op == "rpow":
        return None if abs(b) > 4 else (op, (("number", rng.choice([0.5, 2.0, 3.0])), ("node", j)))
    if op == "powv":
        return (op, (("node", i), ("node", j))) if 0.1 < a < 5 and abs(b) < 3 else None
    form = rng.choice([(("node", i), ("node", j)), (("node", i), ("number", c))])
    if rng.random() < 0.3:
        form = (("number", c), ("node", j))
    divisor = form[1]
    if op == "div" and abs(values[divisor[1]] if divisor[0] == "node" else c) < 0.2:
        return None
    return (op, form)
