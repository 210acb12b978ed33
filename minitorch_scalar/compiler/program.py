"""Group the tape into vectorised steps, and replay them forward (backward: backward.py).

Forward: a node's *depth* is 1 + the largest depth of its operands (leaves and constants
are at 0). Nodes of the same op, arity and depth do not depend on one another, so one
step computes them all: gather their operands from the slots, apply the rule, write the
results. The nodes are given new slots, step after step, so that each step writes one
contiguous range. A 2-16-16-1 network on 100 points has 6,800 nodes and 13 such steps.

Backward runs the same steps in reverse order of depth.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .layer_grid import LayerGrid, as_grid
from .rules import Rule
from .tape import Tape, TapeLayer, TapeNode


@dataclass
class Step:
    """One vectorised op: `rule` on the nodes in slots `out`, operands in `operands`."""

    rule: Rule
    out: slice | np.ndarray  # the nodes' slots: a contiguous range, once renumbered
    operands: np.ndarray  # (nodes, arity) slots
    depth: int  # 1 + the largest depth of the operands (leaves and constants: 0)
    parents: np.ndarray  # (nodes, arity) bools: which operands are parents (get a gradient)
    grid: LayerGrid | None = None  # for a layer on a batch: its operands as a grid
    columns: list[slice | np.ndarray] | None = None  # of one or two operands: their slots

    def index_columns(self) -> None:
        """Each operand column's slots as a slice where they are evenly spaced (read as a
        view, not gathered), for a step of one or two operands."""
        arity = self.operands.shape[1]
        self.columns = [as_index(self.operands[:, c]) for c in range(arity)] if arity <= 2 else None


def forward_steps(tape: Tape) -> list[Step]:
    """The tape's nodes grouped into steps (by depth, then op, then arity), each step's
    nodes moved to consecutive slots (in `tape` too: its template and `slot_of`)."""
    depth = [0] * len(tape.template)
    rows_depth: dict[int, int] = {}  # a layer's rows' largest depth (its inputs share them)
    groups: dict[tuple, list[TapeNode | TapeLayer]] = defaultdict(list)
    for entry in tape.nodes:
        if type(entry) is TapeLayer:
            if id(entry.rows) not in rows_depth:
                rows_depth[id(entry.rows)] = max(map(depth.__getitem__, entry.rows.flat))
            below = max(rows_depth[id(entry.rows)], *map(depth.__getitem__, entry.inputs))
            for slot in entry.slots:
                depth[slot] = 1 + below
            key = (1 + below, id(entry.rule), entry.rows.shape[1] + len(entry.inputs))
        else:
            depth[entry.slot] = 1 + max(map(depth.__getitem__, entry.operands), default=0)
            key = (depth[entry.slot], id(entry.rule), len(entry.operands))
        groups[key].append(entry)
    steps = [_step(nodes, key[0]) for key, nodes in sorted(groups.items(), key=lambda kv: kv[0][0])]
    for step in steps:
        ordered = as_grid(step.rule, step.operands)
        if ordered is not None:  # a layer on a batch: its nodes in grid order
            order, step.grid = ordered
            step.out, step.operands = step.out[order], step.operands[order]
            step.parents = step.parents[order]
    new = _renumber(tape, steps)
    start = len(tape.template) - tape.node_count
    for step in steps:
        step.operands = new[step.operands]
        step.out = slice(start, start + len(step.out))
        start = step.out.stop
        if step.grid is not None:
            step.grid = LayerGrid(new[step.grid.rows], new[step.grid.inputs])
        step.index_columns()
    return steps


def as_index(slots: np.ndarray) -> slice | np.ndarray:
    """`slots` as a slice when they are evenly spaced (a view, not a copy), else as they are."""
    step = int(slots[1] - slots[0]) if len(slots) > 1 else 1
    if step == 0 or (np.diff(slots) != step).any():
        return slots
    stop = int(slots[-1]) + step
    return slice(int(slots[0]), None if stop < 0 else stop, step)


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # a row per node: slot, operands, parents


def _step(entries: list[TapeNode | TapeLayer], depth: int) -> Step:
    """The step of a group of nodes; until `forward_steps` renumbers them, `out` holds
    the slots the tape gave them, as an array."""
    nodes = [entry for entry in entries if type(entry) is TapeNode]
    layers: dict[int, list[TapeLayer]] = defaultdict(list)  # by rows: one layer's inputs
    for entry in entries:
        if type(entry) is TapeLayer:
            layers[id(entry.rows)].append(entry)
    parts = ([_nodes_arrays(nodes)] if nodes else []) + list(map(_layer_arrays, layers.values()))
    out, operands, parents = (np.concatenate(arrays) for arrays in zip(*parts))
    return Step(entries[0].rule, out, operands, depth, parents)


def _nodes_arrays(nodes: list[TapeNode]) -> Arrays:
    operands = np.array([node.operands for node in nodes], dtype=np.intp)
    parents = np.zeros(operands.shape, dtype=bool)
    rows = np.repeat(np.arange(len(nodes)), [len(node.parents) for node in nodes])
    parents[rows, [k for node in nodes for k in node.parents]] = True
    return np.array([node.slot for node in nodes], dtype=np.intp), operands, parents


def _layer_arrays(layer: list[TapeLayer]) -> Arrays:
    """A layer's records, one per input: node (s, j) has row j's operands, then input s's."""
    rows, row_parents = layer[0].rows, layer[0].row_parents
    inputs = np.array([record.inputs for record in layer], dtype=np.intp)
    input_parents = np.array([record.input_parents for record in layer])
    s, r = len(layer), len(rows)
    operands = np.hstack([np.tile(rows, (s, 1)), np.repeat(inputs, r, axis=0)])
    input_flags = np.repeat(input_parents, r)[:, None].repeat(inputs.shape[1], axis=1)
    parents = np.hstack([np.tile(row_parents, (s, 1)), input_flags])
    out = np.array([record.slots for record in layer], dtype=np.intp).ravel()
    return out, operands, parents


def _renumber(tape: Tape, steps: list[Step]) -> np.ndarray:
    """Move the nodes, step after step, to the last slots (the other slots keep their
    order); `new[old]` is the new slot of the old one."""
    moving = np.concatenate([step.out for step in steps]) if steps else np.empty(0, np.intp)
    keep = np.ones(len(tape.template), dtype=bool)
    keep[moving] = False
    old_of_new = np.concatenate([np.flatnonzero(keep), moving])
    new = np.empty(len(old_of_new), dtype=np.intp)
    new[old_of_new] = np.arange(len(old_of_new))
    tape.template[:] = np.asarray(tape.template)[old_of_new].tolist()
    tape.slot_of = {value: int(new[slot]) for value, slot in tape.slot_of.items()}
    tape.constants = {bits: int(new[slot]) for bits, slot in tape.constants.items()}
    return new


def run_forward(steps: list[Step], values: np.ndarray) -> None:
    """Fill every node's slot in `values`, step by step."""
    with np.errstate(all="ignore"):  # inf and nan come out as the engine's, silently
        for step in steps:
            if step.grid is not None:
                values[step.out] = step.grid.values(values)
            else:
                values[step.out] = step.rule.values(step.rule.gather(values, step))
