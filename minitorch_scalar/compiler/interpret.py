"""The simplest replay of a traced step: the tape, node by node. Read this one first.

A trace (tape.py) keeps a step's graph as a tape: every number has a *slot* in one
flat list, and each node is an instruction ``slot <- rule(operands' slots)``, in the
order the nodes were made, so each after its operands. Replaying it takes two loops:

- forward: each node's value from its operands' values, by its op's scalar rule
  (`rules.VectorisedRule.scalar`: the engine's own arithmetic);
- backward: the nodes in the order eager backward visits them (`tape.backward_order`),
  each adding ``local * grad`` to each of its parents (`rules.VectorisedRule.scalar_terms`), as
  eager backward adds it.

So it is exact by construction: the same roundings, in the same order. It is also as
slow as the engine: a Python loop over every node. The faster stages (forward.py,
layer_grid.py, backward.py) compute the same numbers by whole groups of nodes; the
tests hold each of them against this replay (tests/minitorch_scalar/test_compile_stages.py).

Next: tape.py, the trace that makes the tape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from ..engine import Value
from .rules import VectorisedRule
from .tape import Tape, TapeLayer, backward_order, build, record


class Instruction(NamedTuple):
    """Node `slot` is ``rule(*values at operands)``; `parents[k]`: whether operand k is a
    parent of the node (gets a gradient) or a constant."""

    rule: VectorisedRule
    slot: int
    operands: list[int]
    parents: list[bool]

    def __str__(self) -> str:
        return f"s{self.slot} = {self.rule.name}({', '.join(f's{s}' for s in self.operands)})"


def instructions(tape: Tape) -> list[Instruction]:
    """The tape's nodes as instructions, in the order they were made (each after its
    operands); a layer on a batch (`TapeLayer`) is unrolled where it was made."""
    # Scalar node i sorts at 2i + 1; a layer made after i scalar nodes at 2i, before it.
    nodes = [(2 * i + 1, [_node(tape, i)]) for i in range(len(tape.rules))]
    layers = [(2 * layer.after, _layer(layer)) for layer in tape.layers]
    ordered = sorted(nodes + layers, key=lambda placed: placed[0])
    return [instruction for _, part in ordered for instruction in part]


def _node(tape: Tape, i: int) -> Instruction:
    begin, end = tape.starts[i], tape.starts[i + 1]
    parents = [bool(flag) for flag in tape.is_parent[begin:end]]
    return Instruction(tape.rules[i], tape.node_slots[i], list(tape.operands[begin:end]), parents)


def _layer(layer: TapeLayer) -> list[Instruction]:
    """Node j of a layer's record: dot of row j (its bias, its weights), then the input."""
    inputs = [layer.input_parents] * len(layer.inputs)
    return [
        Instruction(layer.rule, slot, [*row.tolist(), *layer.inputs], [*flags.tolist(), *inputs])
        for slot, row, flags in zip(layer.slots, layer.rows, layer.row_parents)
    ]


class Interpreter:
    """A tape of one output (`root`, a node) replayed node by node, from its leaves'
    current `.data`: `forward()`, then `backward(values, seed)`."""

    def __init__(self, tape: Tape, root: Value) -> None:
        self.program = instructions(tape)
        self.leaves = [(leaf, tape.slot_of[leaf]) for leaf in tape.leaves]
        self.visit, self.reached = backward_order(root, tape)  # slots, in eager's order
        self.start = list(tape.template)  # the constants' values in their slots
        for node in self.program:  # a node's value is computed, never remembered
            self.start[node.slot] = math.nan

    def forward(self) -> list[float]:
        """Every slot's value: the leaves' data, then each node's, in order."""
        values = list(self.start)
        for leaf, slot in self.leaves:
            values[slot] = leaf.data
        for node in self.program:
            values[node.slot] = node.rule.scalar(*[values[s] for s in node.operands])
        return values

    def backward(self, values: list[float], seed: float = 1.0) -> list[float]:
        """Every slot's gradient, as eager backward sums it: 0.0, then each term in the
        order eager adds them (a zero term, which eager skips, changes no sum that starts
        at 0.0). The leaves' gradients are this call's, before what they held."""
        node_at = {node.slot: node for node in self.program}
        grads = [0.0] * len(values)
        grads[self.visit[0]] = seed  # the root, visited first
        for slot in self.visit:
            node = node_at[slot]
            x = [values[s] for s in node.operands]
            terms = node.rule.scalar_terms(x, values[slot], grads[slot])
            for operand, is_parent, term in zip(node.operands, node.parents, terms):
                if is_parent:
                    grads[operand] += term
        return grads


def interpret(fn: Callable[..., Any], *args: Any) -> Interpreter:
    """fn(*args) traced on the engine, as an Interpreter. fn must return one Value
    computed by ops (a node): TypeError for anything else, ValueError for a leaf."""
    root, made = record(fn, args)
    if not isinstance(root, Value):
        raise TypeError(f"interpret expects fn to return a Value, got {type(root).__name__}")
    if not root.parents:
        raise ValueError(f"interpret expects fn to return a Value computed by ops, got {root!r}")
    return Interpreter(build([root], [], made), root)
