"""Trace: run the function once on the engine and keep its graph as a flat tape.

While the function runs, every node the engine makes is reported with its operands
(see `engine._node`). The tape keeps the nodes the outputs depend on, in the order they
were made (so each comes after its operands), and gives every number a place, a
*slot*, in one flat array: slot 0 holds 0.0, then the inputs; the other leaves
(parameters, Values made inside the function) and the constants get theirs as they
are met, and the nodes theirs (grouping moves the nodes after all of them). An
operand is then just a slot index, whether it is a node, a leaf or a constant.

A layer on a batch (`fast_linear`) makes R dot nodes for each input; it tells them to
the tracer as one record per input, a `LayerInput`: the nodes, each row's bias and
weights, and the input. The tape keeps it whole (`TapeLayer`): the rows' slots are
found once for all inputs, and nothing is done node by node.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

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


class LayerInput(NamedTuple):
    """What the tracer hears of a layer on a batch, for one input: node j is
    ``dot(rows[j][1], inputs, bias=rows[j][0])`` (the operands `dot` would give)."""

    nodes: list[Value]
    rows: list[tuple[Value | float, tuple[Value, ...]]]  # the same list for every input
    inputs: tuple  # Values, or numbers (constants)


@dataclass
class TapeLayer:
    """A `LayerInput` on the tape: node j, in slot `slots[j]`, has the operands
    (rows[j], inputs): its bias, its weights, then the input."""

    rule: Rule  # the rule of dot
    slots: list[int]
    rows: np.ndarray  # (R, 1 + k) slots, shared by the layer's records
    inputs: list[int]  # (k,) slots
    row_parents: np.ndarray  # (R, 1 + k) bools: which row operands are parents
    input_parents: bool  # whether the inputs are parents (Values), not constants


@dataclass
class Tape:
    """The traced graph, flat: nodes in a valid order, and a slot for every number."""

    nodes: list[TapeNode | TapeLayer] = field(default_factory=list)
    node_count: int = 0  # scalar nodes (a TapeLayer holds R)
    leaves: list[Value] = field(default_factory=list)  # slot 1 + i holds leaves[i]
    constants: dict[bytes, int] = field(default_factory=dict)  # a float's bits -> slot
    template: list[float] = field(default_factory=lambda: [0.0])  # the slots' trace values
    slot_of: dict[Value, int] = field(default_factory=dict)


Made = list[tuple[Value, tuple] | LayerInput]  # what a trace heard, in order


class _Listener:
    """The tracer's ear: each node made, with its operands; a layer's, input by input."""

    def __init__(self) -> None:
        self.made: Made = []

    def __call__(self, node: Value, operands: tuple) -> None:
        self.made.append((node, operands))

    def layer(self, nodes: list[Value], rows: list, inputs: tuple) -> None:
        self.made.append(LayerInput(nodes, rows, inputs))


def record(fn: Callable[..., Any], args: tuple) -> tuple[Any, Made]:
    """fn(*args), run with grad enabled, and every (node, operands) it made, in order."""
    listener = _Listener()
    saved = changing_mode(listener)
    try:
        result = fn(*args)  # with grad enabled: the listener records
    finally:
        restore(saved)
    return result, listener.made


def build(outputs: list[Value], leaves: list[Value], made: Made) -> Tape:
    """The tape of `outputs`: `leaves` first (the inputs, in order), then what they need."""
    needed = _needed(outputs, made)
    tape = Tape()
    for leaf in leaves:
        _slot_of_leaf(tape, leaf)
    rows_found: dict[int, tuple] = {}  # a layer's rows, found for its first input
    for heard in made:
        if type(heard) is LayerInput:
            if not needed.isdisjoint(heard.nodes):
                _add_layer(tape, heard, rows_found)
        elif heard[0] in needed:
            node, operands = heard
            _add_node(tape, node, _rule(node, operands), *_flat_operands(node, operands))
    return tape


def _needed(outputs: list[Value], made: Made) -> set[Value]:
    """The nodes the outputs depend on, and the Values they use (Values hash by identity)."""
    needed = set(outputs)
    rows_seen: set[int] = set()
    for heard in reversed(made):  # each node after every node that uses it
        if type(heard) is LayerInput:
            if not needed.isdisjoint(heard.nodes):
                needed.update(heard.inputs)
                if id(heard.rows) not in rows_seen:
                    rows_seen.add(id(heard.rows))
                    needed.update(item for bias, weights in heard.rows for item in (bias, *weights))
        elif heard[0] in needed:
            needed.update(heard[0].parents)
    return needed


def _add_layer(tape: Tape, heard: LayerInput, rows_found: dict[int, tuple]) -> None:
    """A layer's nodes for one input on the tape. The record is made by `fast_linear`
    from the very tuples it made the nodes' parents from: no check node by node."""
    found = rows_found.get(id(heard.rows))
    if found is None:  # (the record keeps its rows alive: no other takes their id)
        rows = heard.rows
        slots = np.array([_slots_of(tape, [bias, *weights]) for bias, weights in rows])
        parents = np.ones(slots.shape, dtype=bool)
        parents[:, 0] = [isinstance(bias, Value) for bias, _ in rows]  # (a bias may be a number)
        found = rows_found[id(rows)] = (rows, slots, parents)
    _, row_slots, row_parents = found
    inputs = _slots_of(tape, heard.inputs)
    first = len(tape.template)
    tape.template.extend(node.data for node in heard.nodes)
    tape.slot_of.update(zip(heard.nodes, range(first, len(tape.template))))
    slots = list(range(first, len(tape.template)))
    is_value = bool(heard.inputs) and isinstance(heard.inputs[0], Value)
    tape.nodes.append(TapeLayer(BUILT_IN["dot"], slots, row_slots, inputs, row_parents, is_value))
    tape.node_count += len(slots)


def _slots_of(tape: Tape, items: list | tuple) -> list[int]:
    """The slots of operands, giving new leaves and constants theirs as they are met."""
    slots = list(map(tape.slot_of.get, items))  # None: a new leaf, or a constant
    if None in slots:
        for k, slot in enumerate(slots):
            if slot is None:  # (a new leaf may stand twice among the operands: one slot)
                slots[k] = tape.slot_of.get(items[k]) or _slot(tape, items[k])
    return slots


def _add_node(
    tape: Tape, node: Value, rule: Rule, items: list, differentiable: range | list[int]
) -> None:
    """Give `node` a slot and its operands slots; check that the rule sees its parents."""
    slots = _slots_of(tape, items)
    if len(node.parents) == len(items):  # every operand is a parent (a dot on Values)
        parents, seen = list(differentiable), items
    else:
        parents = [k for k in differentiable if isinstance(items[k], Value)]
        seen = [items[k] for k in parents]
    if seen != list(node.parents):  # Values compare by identity
        raise CompileError(f"compile: cannot replay op {node.op!r}: operands and parents differ")
    tape.slot_of[node] = len(tape.template)
    tape.template.append(node.data)
    tape.nodes.append(TapeNode(rule, tape.slot_of[node], slots, parents))
    tape.node_count += 1


def _flat_operands(node: Value, operands: tuple) -> tuple[list, range | list[int]]:
    """The operands of `node` as one flat list, in its rule's column order, and which
    columns can carry a gradient."""
    if operands and isinstance(operands[0], CustomOp):  # whatever its name ("dot" too)
        items = list(operands[1:])
    elif node.op == "dot":
        bias, weights, inputs = operands
        items = [0.0 if bias is None else bias, *weights, *inputs]
    elif node.op == "select":
        values, index = operands
        return [*values, index], range(len(values))
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
