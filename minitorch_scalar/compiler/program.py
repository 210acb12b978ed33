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
from .tape import Tape, TapeNode


@dataclass
class Step:
    """One vectorised op: `rule` on the nodes in slots `out`, operands in `operands`."""

    rule: Rule
    out: slice | np.ndarray  # the nodes' slots: a contiguous range, once renumbered
    operands: np.ndarray  # (nodes, arity) slots
    depth: int  # 1 + the largest depth of the operands (leaves and constants: 0)
    parents: np.ndarray  # (nodes, arity) bools: which operands are parents (get a gradient)
    grid: LayerGrid | None = None  # for a layer on a batch: its operands as a grid


def forward_steps(tape: Tape) -> list[Step]:
    """The tape's nodes grouped into steps (by depth, then op, then arity), each step's
    nodes moved to consecutive slots (in `tape` too: its template and `slot_of`)."""
    depth = [0] * len(tape.template)
    groups: dict[tuple, list[TapeNode]] = defaultdict(list)
    for node in tape.nodes:
        depth[node.slot] = 1 + max(map(depth.__getitem__, node.operands), default=0)
        groups[depth[node.slot], id(node.rule), len(node.operands)].append(node)
    steps = [_step(nodes, key[0]) for key, nodes in sorted(groups.items(), key=lambda kv: kv[0][0])]
    new = _renumber(tape, steps)
    start = len(tape.template) - len(tape.nodes)
    for step in steps:
        step.operands = new[step.operands]
        step.out = slice(start, start + len(step.out))
        start = step.out.stop
        ordered = as_grid(step.rule, step.operands)
        if ordered is not None:  # a layer on a batch: its nodes in grid order
            order, step.grid = ordered
            step.operands, step.parents = step.operands[order], step.parents[order]
            _reorder_slots(tape, step, order)
    return steps


def _step(nodes: list[TapeNode], depth: int) -> Step:
    """The step of a group of nodes; until `forward_steps` renumbers them, `out` holds
    the slots the tape gave them, as an array."""
    operands = np.array([node.operands for node in nodes], dtype=np.intp)
    parents = np.zeros(operands.shape, dtype=bool)
    rows = np.repeat(np.arange(len(nodes)), [len(node.parents) for node in nodes])
    parents[rows, [k for node in nodes for k in node.parents]] = True
    out = np.array([node.slot for node in nodes], dtype=np.intp)
    return Step(nodes[0].rule, out, operands, depth, parents)


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


def _reorder_slots(tape: Tape, step: Step, order: np.ndarray) -> None:
    """The step's nodes put in `order` within its slots: the template and `slot_of` too."""
    slots = np.arange(step.out.start, step.out.stop)
    template = np.asarray(tape.template)
    template[slots] = template[slots[order]]
    tape.template[:] = template.tolist()
    moved = dict(zip(slots[order].tolist(), slots.tolist()))
    for value, slot in tape.slot_of.items():
        if step.out.start <= slot < step.out.stop:
            tape.slot_of[value] = moved[slot]


def run_forward(steps: list[Step], values: np.ndarray) -> None:
    """Fill every node's slot in `values`, step by step."""
    with np.errstate(all="ignore"):  # inf and nan come out as the engine's, silently
        for step in steps:
            if step.grid is not None:
                values[step.out] = step.grid.values(values)
            else:
                values[step.out] = step.rule.values(values.take(step.operands))
