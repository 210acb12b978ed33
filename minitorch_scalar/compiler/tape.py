"""Trace: run the function once on the engine and keep its graph as a flat tape.

While the function runs, the engine's one hook (`grad_mode.listening`) reports every
node made with its operands: the op's arguments as called (see `engine.make_node`).
The tape keeps the nodes the outputs depend on, in the order they were made (so each
comes after its operands), and gives every number a place, a
*slot*, in one flat array: slot 0 holds 0.0, then the inputs; the other leaves
(parameters, Values made inside the function) and the constants get theirs as they
are met, and the nodes theirs (grouping moves the nodes after all of them). An
operand is then just a slot index, whether it is a node, a leaf or a constant.

A layer on a batch (`fast_linear`) makes R dot nodes for each input, one after
another, all with the same input. The tracer finds them again (`layer_records`): each
run of consecutive dot nodes sharing their input becomes one record, a `LayerInput`:
the nodes, each row's bias and weights, and the input. The tape keeps it whole
(`TapeLayer`): the rows' slots are found once for all inputs of the layer.

The tape is built once per node of the graph, so it is kept in columns (arrays of
machine ints: a node's rule, slot and operands' slots) rather than an object per
node, and its hot loop (`_node_adder`) does a few look-ups and appends per node.

Next: forward.py, which groups the tape into vectorised steps.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import is_
from typing import Any, NamedTuple

import numpy as np

from ..custom_op import CustomOp
from ..engine import Value
from ..grad_mode import listening
from ..graph_walk import graph_parents_first
from .rules import BUILT_IN, Custom, VectorisedRule


class CompileError(ValueError):
    """The function cannot be compiled: an op or a graph the tape cannot replay."""


class LayerInput(NamedTuple):
    """A layer on a batch, for one input: node j is ``dot(rows[j][1:], inputs,
    bias=rows[j][0])`` (a bias of 0.0 where none was given)."""

    nodes: list[Value]
    rows: list[tuple]  # (bias, w_1, ..., w_k) each: the same list for every input
    inputs: tuple  # Values, or numbers (constants)


@dataclass(slots=True)
class TapeLayer:
    """A `LayerInput` on the tape: node j, in slot `slots[j]`, has the operands
    (rows[j], inputs): its bias, its weights, then the input."""

    rule: VectorisedRule  # the rule of dot
    slots: range
    rows: np.ndarray  # (R, 1 + k) slots, shared by the layer's records
    inputs: list[int]  # (k,) slots
    row_parents: np.ndarray  # (R, 1 + k) bools: which row operands are parents
    input_parents: bool  # whether the inputs are parents (Values), not constants
    depth: int  # 1 + the largest depth of its operands (see `Tape.depth`)
    after: int  # how many scalar nodes the tape held before it (its place among them)


def _ints() -> array:
    return array("q")


@dataclass
class Tape:
    """The traced graph, flat: a slot for every number, and the nodes in columns.

    Scalar node i (in the order the nodes were made, so after its operands) has the
    rule `rules[i]`, the slot `node_slots[i]`, and the operands in slots
    `operands[starts[i]:starts[i + 1]]`, in its rule's column order; `is_parent` says
    of each operand whether it is a parent (gets a gradient) or a constant. These are
    arrays of machine ints, 8 bytes a number: no Python object per node. A layer on a
    batch is kept whole, record by record (`layers`).
    """

    rules: list[VectorisedRule] = field(default_factory=list)
    node_slots: array = field(default_factory=_ints)
    starts: array = field(default_factory=lambda: array("q", [0]))
    operands: array = field(default_factory=_ints)
    is_parent: array = field(default_factory=lambda: array("b"))
    layers: list[TapeLayer] = field(default_factory=list)
    node_count: int = 0  # scalar nodes, those of the layers included
    leaves: list[Value] = field(default_factory=list)  # slot 1 + i holds leaves[i]
    template: list[float] = field(default_factory=lambda: [0.0])  # the slots' trace values
    depth: array = field(default_factory=lambda: array("q", [0]))  # per slot (see program)
    slot_of: dict[Value | float, int] = field(default_factory=dict)  # each Value's slot, and
    # each constant's, by its value: one look-up for any operand (Values hash by identity)
    constants: dict[bytes, int] = field(default_factory=dict)  # a zero's or a nan's slot, by
    # its bits (0.0 == -0.0 and nan != nan: their values would not tell them apart)


Heard = tuple[Value, tuple]  # a node and its operands, as the engine's hook tells them
Made = list[Heard | LayerInput]  # what a trace heard, in order, its layers regrouped


def record(fn: Callable[..., Any], args: tuple) -> tuple[Any, Made]:
    """fn(*args), run with grad enabled, and every (node, operands) it made, in order,
    with each layer on a batch regrouped (`layer_records`)."""
    heard: list[Heard] = []
    with listening(lambda node, operands: heard.append((node, operands))):
        result = fn(*args)
    return result, layer_records(heard)


NO_BIAS = 0.0  # the bias of a row whose dot was given none (one object: rows compare by id)


def layer_records(heard: list[Heard]) -> Made:
    """`heard`, but each run of consecutive dot nodes that share their input (a layer
    on a batch, for one input) regrouped as one `LayerInput`.

    Every record of a layer shares one list of rows (found by the identity of the
    rows' items), which the tape turns into slots once. A run is a record when its
    weights are Values and its inputs all Values or all numbers, and it has two rows or
    more, or shares its rows with another record; every other node stays as it was.
    """
    made: Made = []
    done = 0  # the nodes before it are in `made`
    for start, end, rows, inputs in _dot_runs(heard):
        made.extend(heard[done:start])
        if rows.weights_are_values and (end - start > 1 or rows.uses > 1):
            made.append(LayerInput([node for node, _ in heard[start:end]], rows.rows, inputs))
        else:
            made.extend(heard[start:end])
        done = end
    made.extend(heard[done:])
    return made


@dataclass(slots=True)
class _Rows:
    """A layer's rows, as its dot nodes were made from them: node j of a run has the
    operands ``prefixes[j] + inputs`` (its bias if given, its weights, then the input)."""

    prefixes: list[tuple]
    rows: list[tuple]  # (bias, w_1, ..., w_k) each, a bias of NO_BIAS where none was given
    weights_are_values: bool
    zero_free: bool  # no number among the prefixes is a zero (see `_same_objects`)
    inputs: int  # how many inputs each of its nodes takes
    uses: int = 0  # how many runs were made from these rows


class _Run(NamedTuple):
    """The dot nodes start..end-1 of the trace: one row each of `rows`, on `inputs`."""

    start: int
    end: int
    rows: _Rows
    inputs: tuple


def _dot_runs(heard: list[Heard]) -> list[_Run]:
    """Each run of consecutive dot nodes with one input (all Values or all numbers).

    A layer on a batch makes a run per input from the same rows, one after another:
    once a run is found node by node (`_run_end`), the runs that follow are checked
    against its rows, a run at a time (`_runs_of_rows`). Rows met again later (a layer
    called once per sample) are found by their first operand."""
    runs: list[_Run] = []
    ops = [node.op for node, _ in heard]
    rows_by_ids: dict[tuple, _Rows] = {}
    rows_by_first: dict[Value, _Rows] = {}  # the rows last seen with this first operand
    by_identity = _values_compare_by_identity()
    i = _next_dot(ops, 0)
    while i < len(ops):
        operands = heard[i][1]
        k = _dot_inputs(operands)
        if not k:
            i = _next_dot(ops, i + 1)
            continue
        first = operands[0]
        rows = rows_by_first.get(first) if isinstance(first, Value) else None
        found = _runs_of_rows(rows, heard, ops, i, by_identity) if rows else []
        if not found:
            j = _run_end(ops, heard, i + 1, len(operands), operands[-k:])
            prefixes = [each[:-k] for _, each in heard[i:j]]  # (the operands before the input)
            rows = _rows_of(prefixes, k, rows_by_ids)
            if isinstance(first, Value):
                rows_by_first[first] = rows
            found = [_Run(i, j, rows, operands[-k:])]
            found += _runs_of_rows(rows, heard, ops, j, by_identity)
        rows.uses += len(found)
        runs += found
        i = _next_dot(ops, found[-1].end)
    return runs


def _next_dot(ops: list[str], i: int) -> int:
    """The index of the first dot node from i on; len(ops) if none."""
    try:
        return ops.index("dot", i)
    except ValueError:
        return len(ops)


def _rows_of(prefixes: list[tuple], k: int, rows_by_ids: dict[tuple, _Rows]) -> _Rows:
    """The `_Rows` of these prefixes (for k inputs): the same object for every run made
    from the very same items (the key: their ids, which the rows kept alive cannot
    pass on)."""
    key = (len(prefixes), *map(id, chain.from_iterable(prefixes)))
    found = rows_by_ids.get(key)
    if found is None:
        has_bias = len(prefixes[0]) > k  # (bias, w_1, ..., w_k), or (w_1, ..., w_k)
        rows = prefixes if has_bias else [(NO_BIAS, *prefix) for prefix in prefixes]
        zero_free = all(map(_zero_free, prefixes))
        found = _Rows(prefixes, rows, _weights_are_values(rows), zero_free, k)
        rows_by_ids[key] = found
    return found


def _runs_of_rows(
    rows: _Rows, heard: list[Heard], ops: list[str], i: int, by_identity: bool
) -> list[_Run]:
    """The runs from node i on made of `rows`, each on its input, as long as they come
    one after another: node j of a run has the operands ``rows.prefixes[j] + inputs``
    (the very objects), the input is all Values or all numbers, and the run ends there.
    `by_identity`: == between Values is `is` (see `_same_objects`)."""
    runs: list[_Run] = []
    prefixes, k = rows.prefixes, rows.inputs
    size, first, width = len(prefixes), prefixes[0][0], len(prefixes[0]) + k
    while i + size <= len(heard) and heard[i][1][0] is first:
        inputs, end = heard[i][1][-k:], i + size
        by_eq = by_identity and rows.zero_free and _zero_free_inputs(inputs)
        expected = [prefix + inputs for prefix in prefixes]
        if not (
            _dot_inputs(heard[i][1]) == k
            and ops[i:end].count("dot") == size
            and _same_objects([each for _, each in heard[i:end]], expected, by_eq)
            and _run_end(ops, heard, end, width, inputs) == end
        ):
            break
        runs.append(_Run(i, end, rows, inputs))
        i = end
    return runs


def _same_objects(found: list[tuple], expected: list[tuple], by_eq: bool) -> bool:
    """Is `found`, tuple for tuple and item for item, the very objects `expected` holds?

    A dot's operands are Values and numbers, so == answers it, in a fraction of the
    time `is` item by item takes, if `expected` holds no zero and no subclass of Value
    defines __eq__ (`by_eq`): == is then identity for Values, and a number equal to a
    nonzero number is the same constant; but 0.0 == -0.0, and a zero's sign matters.
    """
    if by_eq:
        return found == expected
    return len(found) == len(expected) and all(
        len(a) == len(b) and all(map(is_, a, b)) for a, b in zip(found, expected)
    )


def _zero_free(items: tuple) -> bool:
    """No number among `items` is a zero (of either sign)."""
    return all(isinstance(x, Value) or x != 0 for x in items)


def _zero_free_inputs(inputs: tuple) -> bool:
    """`_zero_free` for a dot's inputs, which are all Values or all numbers."""
    return isinstance(inputs[0], Value) or _zero_free(inputs)


def _values_compare_by_identity() -> bool:
    """Whether == between Values is `is`: no subclass of Value defines __eq__."""
    classes = [Value]
    while classes:
        cls = classes.pop()
        if cls.__eq__ is not object.__eq__:
            return False
        classes.extend(cls.__subclasses__())
    return True


def _run_end(ops: list[str], heard: list[Heard], j: int, width: int, inputs: tuple) -> int:
    """Where the run of dot nodes from `j` on, each of `width` operands ending with these
    very `inputs`, ends (the index of the first node that is not one of them)."""
    start, last = width - len(inputs), inputs[-1]
    while j < len(ops):
        operands = heard[j][1]
        if (
            ops[j] != "dot"
            or len(operands) != width
            or operands[-1] is not last  # (the quick test; then every input)
            or not all(map(is_, operands[start:], inputs))
            or isinstance(operands[0], CustomOp)
        ):
            break
        j += 1
    return j


def _dot_inputs(operands: tuple) -> int:
    """How many inputs a dot node of these operands has if they are all Values or all
    numbers, else 0."""
    if len(operands) < 2 or isinstance(operands[0], CustomOp):
        return 0
    k = len(operands) // 2
    values = sum(map(isinstance, operands[-k:], repeat(Value)))
    return k if values in (0, k) else 0


def _weights_are_values(rows: list[tuple]) -> bool:
    return all(isinstance(w, Value) for row in rows for w in row[1:])


def build(outputs: list[Value], leaves: list[Value], made: Made) -> Tape:
    """The tape of `outputs`: `leaves` first (the inputs, in order), then what they need.
    It empties `made`, record by record, as the tape takes them over."""
    needed = _needed(outputs, made)
    tape = Tape()
    for leaf in leaves:
        _slot_of_leaf(tape, leaf)
    rows_found: dict[int, tuple] = {}  # a layer's rows, found for its first input
    add_node = _node_adder(tape)
    made.reverse()
    while made:
        heard = made.pop()
        if type(heard) is LayerInput:
            if not needed.isdisjoint(heard.nodes):
                _add_layer(tape, heard, rows_found)
        elif heard[0] in needed:
            add_node(*heard)
    tape.node_count = len(tape.rules) + sum(len(layer.slots) for layer in tape.layers)
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
                    needed.update(chain.from_iterable(heard.rows))
        elif heard[0] in needed:
            needed.update(heard[0]._parents)
    return needed


def _add_layer(tape: Tape, heard: LayerInput, rows_found: dict[int, tuple]) -> None:
    """A layer's nodes for one input on the tape. `layer_records` checked each node's
    operands against the rows and the input: the rows' slots are found once."""
    found = rows_found.get(id(heard.rows))
    if found is None:  # (the record keeps its rows alive: no other takes their id)
        rows = heard.rows
        slots = np.array([_slots_of(tape, row) for row in rows])
        parents = np.ones(slots.shape, dtype=bool)
        parents[:, 0] = [isinstance(row[0], Value) for row in rows]  # (a bias may be a number)
        depth = max(map(tape.depth.__getitem__, slots.ravel().tolist()))
        found = rows_found[id(rows)] = (rows, slots, parents, depth)
    _, row_slots, row_parents, rows_depth = found
    inputs = _slots_of(tape, heard.inputs)
    depth = 1 + max(rows_depth, *map(tape.depth.__getitem__, inputs))
    first = len(tape.template)
    tape.template.extend(node.data for node in heard.nodes)
    tape.depth.extend([depth] * len(heard.nodes))
    tape.slot_of.update(zip(heard.nodes, range(first, len(tape.template))))
    slots = range(first, len(tape.template))
    is_value = bool(heard.inputs) and isinstance(heard.inputs[0], Value)
    rule, after = BUILT_IN["dot"], len(tape.rules)
    tape.layers.append(
        TapeLayer(rule, slots, row_slots, inputs, row_parents, is_value, depth, after)
    )


def _slots_of(tape: Tape, items: list | tuple) -> list[int]:
    """The slots of operands, giving new leaves and constants theirs as they are met."""
    slots = list(map(tape.slot_of.get, items))  # None: a new leaf, or a constant
    if None in slots:
        for k, slot in enumerate(slots):
            if slot is None:  # (a new leaf may stand twice among the operands: one slot)
                slots[k] = tape.slot_of.get(items[k]) or new_slot(tape, items[k])
    return slots


CONSTANT_OPERAND = {"+", "-", "*", "/", "**"}  # ops recorded as (self, c) or (c, self)
PARENT, PARENT_CONSTANT, CONSTANT_PARENT = b"\x01", b"\x01\x00", b"\x00\x01"  # flags


def _node_adder(tape: Tape) -> Callable[[Value, tuple], None]:
    """`add(node, operands)`: give `node` a slot, and its operands theirs, on `tape`.

    This runs once per node of the graph, so it does as little as it can: the tape's
    columns are bound once here, and the two commonest kinds of node (every operand
    a parent, as in ``a * b``; a parent and a number, as in ``a * 2.0``) take a short
    way. Every other node's operands are flattened and checked by `_operands`.
    """
    slot_of, template, depth, rules = tape.slot_of, tape.template, tape.depth, tape.rules
    get, built_in = slot_of.get, BUILT_IN.get
    node_slots, operand_slots, is_parent, starts = (
        tape.node_slots,
        tape.operands,
        tape.is_parent,
        tape.starts,
    )

    def add(node: Value, operands: tuple) -> None:
        parents, op = node._parents, node.op
        if operands is parents and (op != "dot" or len(parents) % 2):  # all are parents
            # (a dot's rule starts from its bias: one given no bias goes the long way)
            rule, flags = built_in(op) or _rule(node, operands), PARENT * len(parents)
        elif len(parents) == 1 and op in CONSTANT_OPERAND and len(operands) == 2:
            rule, operands, flags = _parent_and_constant(node, operands)
        else:
            rule, operands, flags = _operands(node, operands)
        if len(operands) == 1:  # (the commonest node, as relu(x): the shortest way)
            operand_slot = get(operands[0])
            if operand_slot is None:  # a new leaf, a zero or a nan
                operand_slot = _slots_of(tape, operands)[0]
            operand_slots.append(operand_slot)
            depth.append(1 + depth[operand_slot])
        else:
            slots = list(map(get, operands))  # None: a new leaf, a zero or a nan
            if None in slots:
                slots = _slots_of(tape, operands)
            operand_slots.extend(slots)
            depth.append(1 + max(map(depth.__getitem__, slots)) if slots else 1)
        slot = slot_of[node] = len(template)
        template.append(node.data)
        rules.append(rule)
        node_slots.append(slot)
        is_parent.frombytes(flags)
        starts.append(len(operand_slots))

    return add


def _parent_and_constant(node: Value, operands: tuple) -> tuple[VectorisedRule, tuple, bytes]:
    """The rule, operands and flags of a node of two operands, one its parent: the
    parent and a float (``a * 2.0``, ``2.0 - a``) in a short way, else `_operands`."""
    a, b = operands
    parent = node._parents[0]
    if a is parent and type(b) is float:
        return BUILT_IN[node.op], operands, PARENT_CONSTANT
    if b is parent and type(a) is float:
        return BUILT_IN[node.op], operands, CONSTANT_PARENT
    return _operands(node, operands)


def _operands(node: Value, operands: tuple) -> tuple[VectorisedRule, list, bytearray]:
    """The rule of a node whose operands are not just its parents, its operands as one
    flat list, and a flag per operand: 1 for a parent. (The engine made the node's
    parents the Values among its operands, in order: the flags say which they are.)"""
    items = _flat_operands(node, operands)
    return _rule(node, operands), items, bytearray(isinstance(item, Value) for item in items)


def _flat_operands(node: Value, operands: tuple) -> list:
    """The operands of `node` as one flat list, in its rule's column order."""
    if operands and isinstance(operands[0], CustomOp):  # whatever its name ("dot" too)
        return list(operands[1:])
    if node.op == "dot" and len(operands) % 2 == 0:  # no bias given: it starts at 0.0
        return [0.0, *operands]
    return list(operands)


def _rule(node: Value, operands: tuple) -> VectorisedRule:
    if operands and isinstance(operands[0], CustomOp):
        return Custom(operands[0])
    if node.op not in BUILT_IN:
        raise CompileError(f"compile: no rule to replay op {node.op!r}")
    return BUILT_IN[node.op]


def new_slot(tape: Tape, item: object) -> int:
    """Place an operand not placed yet, a new leaf or a constant, in a new slot (a
    constant already placed keeps its slot); its slot."""
    if isinstance(item, Value):
        if item.parents:
            raise CompileError(
                f"compile: the function uses a Value computed outside it (op {item.op!r}), "
                "whose graph the trace cannot see: compute it inside the function"
            )
        return _slot_of_leaf(tape, item)
    value = float(item)
    by_value = value and value == value  # (not a zero, not a nan)
    places, key = (tape.slot_of, value) if by_value else (tape.constants, struct.pack("<d", value))
    if key not in places:
        places[key] = len(tape.template)
        tape.template.append(value)
        tape.depth.append(0)
    return places[key]


def _slot_of_leaf(tape: Tape, leaf: Value) -> int:
    tape.slot_of[leaf] = len(tape.template)
    tape.leaves.append(leaf)
    tape.template.append(leaf.data)
    tape.depth.append(0)
    return tape.slot_of[leaf]


def backward_order(root: Value, tape: Tape) -> tuple[np.ndarray, list[int]]:
    """The slots of the interior nodes in the order eager backward visits them (root
    first), an array, and the slots of the leaves it reaches, in the order it adds to
    them."""
    interior, leaves = graph_parents_first(root)
    slot_of = tape.slot_of
    visit = np.fromiter(map(slot_of.__getitem__, reversed(interior)), np.intp, len(interior))
    return visit, [slot_of[v] for v in leaves]
