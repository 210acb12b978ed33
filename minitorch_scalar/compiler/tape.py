"""Trace: run the function once on the engine and keep its graph as a flat tape.

While the function runs, every node the engine makes is reported with its operands
(see `engine._node`). The tape keeps the nodes the outputs depend on, in the order they
were made (so each comes after its operands), and gives every number a place, a
*slot*, in one flat array: slot 0 holds 0.0, then the inputs; the other leaves
(parameters, Values made inside the function) and the constants get theirs as they
are met, and the nodes theirs (grouping moves the nodes after all of them). An
operand is then just a slot index, whether it is a node, a leaf or a constant.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..custom_op import CustomOp
from ..engine import Value, _graph_parents_first
from ..grad_mode import changing_mode, restore
from .rules import BUILT_IN, Custom, Rule


class CompileError(ValueError):
    """The function cannot be compiled: an op or a graph the tape cannot replay."""


@dataclass
class TapeNode:
    """A node of the tape: its op's rule, its slot, and its operands' slots."""

    rule: Rule
    slot: int
    operands: list[int]  # the slot of each operand, in the rule's column order
    parents: list[int]  # the operand columns that are parents (get a gradient), in order


@dataclass
class Tape:
    """The traced graph, flat: nodes in a valid order, and a slot for every number."""

    nodes: list[TapeNode] = field(default_factory=list)
    leaves: list[Value] = field(default_factory=list)  # slot 1 + i holds leaves[i]
    constants: dict[bytes, int] = field(default_factory=dict)  # a float's bits -> slot
    template: list[float] = field(default_factory=lambda: [0.0])  # the slots' trace values
    slot_of: dict[Value, int] = field(default_factory=dict)


def record(fn: Callable[..., Any], args: tuple) -> tuple[Any, list[tuple[Value, tuple]]]:
    """fn(*args), run with grad enabled, and every (node, operands) it made, in order."""
    made: list[tuple[Value, tuple]] = []
    saved = changing_mode(lambda node, operands: made.append((node, operands)))
    try:
        result = fn(*args)  # with grad enabled: the listener records
    finally:
        restore(saved)
    return result, made


def build(outputs: list[Value], leaves: list[Value], made: list[tuple[Value, tuple]]) -> Tape:
    """The tape of `outputs`: `leaves` first (the inputs, in order), then what they need."""
    flat = [(node, operands, *_flat_operands(node, operands)) for node, operands in made]
    needed = set(outputs)  # Values hash by identity; a float among them matches no Value
    for node, _, items, _ in reversed(flat):  # each node after every node that uses it
        if node in needed:
            needed.update(items)
    tape = Tape()
    for leaf in leaves:
        _slot_of_leaf(tape, leaf)
    for node, operands, items, differentiable in flat:
        if node in needed:
            _add_node(tape, node, _rule(node, operands), items, differentiable)
    return tape


def _add_node(
    tape: Tape, node: Value, rule: Rule, items: list, differentiable: range | list[int]
) -> None:
    """Give `node` a slot and its operands slots; check that the rule sees its parents."""
    slots = list(map(tape.slot_of.get, items))  # None: a new leaf, or a constant
    if None in slots:
        for k, slot in enumerate(slots):
            if slot is None:  # (a new leaf may stand twice among the operands: one slot)
                slots[k] = tape.slot_of.get(items[k]) or _slot(tape, items[k])
    if len(node.parents) == len(differentiable):  # every operand that can be, is a parent
        parents = list(differentiable)
    else:
        parents = [k for k in differentiable if isinstance(items[k], Value)]
    if [items[k] for k in parents] != list(node.parents):  # Values compare by identity
        raise CompileError(f"compile: cannot replay op {node.op!r}: operands and parents differ")
    tape.slot_of[node] = len(tape.template)
    tape.template.append(node.data)
    tape.nodes.append(TapeNode(rule, tape.slot_of[node], slots, parents))


def _flat_operands(node: Value, operands: tuple) -> tuple[list, range | list[int]]:
    """The operands of `node` as one flat list, in its rule's column order, and which
    columns can carry a gradient."""
    if node.op == "dot":
        bias, weights, inputs = operands
        items = [0.0 if bias is None else bias, *weights, *inputs]
    elif node.op == "select":
        values, index = operands
        return [*values, index], range(len(values))
    elif operands and isinstance(operands[0], CustomOp):
        items = list(operands[1:])
    else:
        items = list(operands)
    return items, range(len(items))


def _rule(node: Value, operands: tuple) -> Rule:
    if operands and isinstance(operands[0], CustomOp):
        return Custom(operands[0])
    if node.op not in BUILT_IN:
        raise CompileError(f"compile: no rule to replay op {node.op!r}")
    return BUILT_IN[node.op]


def _slot(tape: Tape, item: object) -> int:
    """The slot of an operand not placed yet: a new leaf, or a constant."""
    if isinstance(item, Value):
        if item.parents:
            raise CompileError(
                f"compile: the function uses a Value computed outside it (op {item.op!r}), "
                "whose graph the trace cannot see: compute it inside the function"
            )
        return _slot_of_leaf(tape, item)
    value = float(item)
    key = struct.pack("<d", value)
    if key not in tape.constants:
        tape.constants[key] = len(tape.template)
        tape.template.append(value)
    return tape.constants[key]


def _slot_of_leaf(tape: Tape, leaf: Value) -> int:
    tape.slot_of[leaf] = len(tape.template)
    tape.leaves.append(leaf)
    tape.template.append(leaf.data)
    return tape.slot_of[leaf]


def backward_order(root: Value, tape: Tape) -> tuple[list[int], list[int]]:
    """The slots of the interior nodes in the order eager backward visits them (root
    first), and the slots of the leaves it reaches, in the order it adds to them."""
    interior, leaves = _graph_parents_first(root)
    return [tape.slot_of[node] for node in reversed(interior)], [tape.slot_of[v] for v in leaves]
