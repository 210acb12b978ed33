"""Group the tape into vectorised steps, and replay them forward (backward: backward.py).

Forward: a node's *depth* is 1 + the largest depth of its operands (leaves and constants
are at 0). Nodes of the same op, arity and depth do not depend on one another, so one
step computes them all: gather their operands from the slots, apply the rule, write the
results. The nodes are given new slots, step after step, so that each step writes one
contiguous range. A 2-16-16-1 network on 100 points has 6,800 nodes and 13 such steps.
The groups are found by sorting the nodes' (depth, op, arity), arrays of integers.

A chain has one node per depth: a step each would be a million numpy steps for a
million ops. Steps of fewer than SMALL nodes one after another make a `Run` instead,
replayed node by node on Python floats, as the engine computes.

Backward runs the same steps in reverse order of depth.

Next: layer_grid.py (a layer's step, read as a grid), then backward.py.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .layer_grid import LayerGrid, as_grid
from .rules import BUILT_IN, Elementwise, VectorisedRule
from .tape import Tape, TapeLayer


@dataclass
class Step:
    """One vectorised op: `rule` on the nodes in slots `out`, operands in `operands`."""

    rule: VectorisedRule
    out: slice | np.ndarray  # the nodes' slots: a contiguous range, once renumbered
    operands: np.ndarray | None  # (nodes, arity) slots; None for a layer (see `grid`)
    depth: int  # 1 + the largest depth of the operands (leaves and constants: 0)
    parents: np.ndarray | None  # (nodes, arity) bools: which operands are parents
    grid: LayerGrid | None = None  # for a layer on a batch: its operands as a grid
    columns: list[slice | np.ndarray] | None = None  # of one or two operands: their slots
    scalar_nodes: list[tuple[int, tuple[int, ...]]] | None = None  # a small step: see below

    @property
    def shape(self) -> tuple[int, int]:
        """(nodes, operands of each)."""
        return self.grid.shape if self.grid is not None else self.operands.shape

    def op_name(self, index: int) -> str:
        """The op of the step's nodes."""
        return self.rule.name

    def index_columns(self) -> None:
        """Each operand column's slots as a slice where they are evenly spaced (read as a
        view, not gathered), for a step of one or two operands."""
        arity = self.operands.shape[1]
        self.columns = [as_index(self.operands[:, c]) for c in range(arity)] if arity <= 2 else None
        if isinstance(self.rule, Elementwise) and len(self.operands) < SMALL:
            slots = range(self.out.start, self.out.stop)
            self.scalar_nodes = list(zip(slots, map(tuple, self.operands.tolist())))

    def forward(self, values: np.ndarray) -> None:
        """The step's nodes' values into their slots. A small elementwise step (fewer
        than SMALL nodes: `scalar_nodes`, each node's slot and its operands' slots) is
        computed on Python floats by the rule's scalar form, as a `Run` is (the same
        bits: see `VectorisedRule.scalar`): numpy's arrays cost more than they save."""
        if self.scalar_nodes is not None:
            scalar, read = self.rule.scalar, values.item
            for slot, operands in self.scalar_nodes:
                values[slot] = scalar(*map(read, operands))
        elif self.grid is not None:
            values[self.out] = self.grid.values(values)
        else:
            values[self.out] = self.rule.values(self.rule.gather(values, self))

    def scalar_send(self, values: np.ndarray, grads: np.ndarray, places: list[list[int]]) -> None:
        """Backward for a small elementwise step, on Python floats (see `forward`): each
        node's terms, its local derivatives times its gradient (the rule's
        `scalar_terms`, as the interpreter makes them), to its row of `places`."""
        terms, read, grad = self.rule.scalar_terms, values.item, grads.item
        for (slot, operands), to in zip(self.scalar_nodes, places):
            for place, term in zip(to, terms(list(map(read, operands)), read(slot), grad(slot))):
                grads[place] = term


SMALL = 8  # a group of fewer nodes than this is a small step: not worth numpy's arrays
RUN_MIN = 16  # small steps one after another, of this many nodes or more, make a Run


@dataclass
class Run:
    """Nodes few at their depth (a chain): replayed one by one, on Python floats.

    A step of a node or two gains nothing from numpy and costs a Step's arrays: a
    chain of a million ops would be a million steps. Small steps one after another,
    of RUN_MIN nodes or more in all, are one Run instead, whose node i (in the steps'
    order: each after its operands) has the rule `rules[i]`, the slot out.start + i
    once renumbered, and the operands `operands[starts[i]:starts[i + 1]]`
    (`is_parent`: which are parents). The rules' scalar forms compute what the engine
    computes, to the bit (`VectorisedRule.scalar`).
    """

    rules: list[VectorisedRule]
    out: slice | np.ndarray  # the nodes' slots: a contiguous range, once renumbered
    starts: np.ndarray  # (nodes + 1,) offsets into `operands`
    operands: np.ndarray  # every node's operands' slots, one after another
    is_parent: np.ndarray  # the same length: bools
    outside: np.ndarray | None = None  # the operands' slots before the run's, sorted
    local: np.ndarray | None = None  # each operand's place in `numbers`

    def op_name(self, index: int) -> str:
        """The op of node `index` of the run."""
        return self.rules[index].name

    def index_locals(self) -> None:
        """Once renumbered: where each operand stands in `numbers` (the operands from
        outside the run, then the run's nodes), so that the run reads Python floats."""
        inside = self.operands >= self.out.start  # (a run's operands come before its end)
        self.outside = np.unique(self.operands[~inside])
        self.local = np.where(
            inside,
            len(self.outside) + self.operands - self.out.start,
            np.searchsorted(self.outside, self.operands),
        )

    def numbers(self, values: np.ndarray) -> list[float]:
        """The numbers the run reads: its operands from outside it, then its nodes'."""
        return values.take(self.outside).tolist() + values[self.out].tolist()

    def forward(self, values: np.ndarray) -> None:
        """Each node's value into its slot, in order (each after its operands)."""
        numbers = values.take(self.outside).tolist()
        first_node, read = len(numbers), numbers.__getitem__
        local, starts = self.local.tolist(), self.starts.tolist()
        for rule, begin, end in zip(self.rules, starts, starts[1:]):
            numbers.append(rule.scalar(*map(read, local[begin:end])))
        values[self.out] = numbers[first_node:]


def forward_steps(tape: Tape) -> list[Step | Run]:
    """The tape's nodes grouped into steps (by depth, then op, then arity) and runs,
    each step's or run's nodes moved to consecutive slots (in `tape` too: its
    template and `slot_of`). The tape's nodes are emptied: the steps hold them now."""
    units = _steps_and_runs(tape)
    _find_layers(units)
    tape.rules, tape.layers = [], []  # (the arrays, too: read by the steps only)
    tape.node_slots = tape.starts = tape.operands = tape.is_parent = tape.depth = array("q")
    _move_to_consecutive_slots(tape, units)
    return units


def _steps_and_runs(tape: Tape) -> list[Step | Run]:
    """The tape's groups (`_grouped`) in order: each a step, but small groups one
    after another, enough of them, one run (`_runs`)."""
    entries, sizes, small = _grouped(tape)
    units: list[Step | Run] = []
    first = np.concatenate([[0], np.cumsum(sizes)])
    runs = _runs(small, sizes)
    g = 0
    for start, stop in [*runs, (len(sizes), len(sizes))]:
        units += [_step(tape, entries[first[i] : first[i + 1]]) for i in range(g, start)]
        if start < stop:
            units.append(_run(tape, entries[first[start] : first[stop]]))
        g = stop
    return units


def _find_layers(units: list[Step | Run]) -> None:
    """Each step of scalar dots that is a layer on a batch gets its grid (`as_grid`),
    its nodes in the grid's order; its operand and parent arrays are dropped."""
    for step in units:
        if type(step) is Step and step.grid is None:
            ordered = as_grid(step.rule, step.operands, step.parents)
            if ordered is not None:  # a layer on a batch: its nodes in grid order
                order, step.grid = ordered
                step.out, step.operands, step.parents = step.out[order], None, None


def _move_to_consecutive_slots(tape: Tape, units: list[Step | Run]) -> None:
    """Renumber the slots (`_renumber`) so that each step's or run's nodes are
    consecutive, in order; each step's out becomes a slice, its operands renumbered."""
    new = _renumber(tape, units)
    start = len(tape.template) - tape.node_count
    for step in units:
        step.out = slice(start, start + len(step.out))
        start = step.out.stop
        if type(step) is Step and step.grid is not None:
            step.grid = step.grid.renumbered(new)
        else:
            step.operands = new[step.operands]
            if type(step) is Step:
                step.index_columns()
            else:
                step.index_locals()


def _grouped(tape: Tape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tape's entries (scalar node i is entry i, layer record j is entry n + j) in
    groups of one depth, op and arity: the groups by depth, those of one depth in the
    order they first occur on the tape, each group's entries in tape order. Returns
    the entries in that order, each group's size, and whether it is small (fewer
    than SMALL scalar nodes, no layer). Sorts of arrays: no Python work per node but
    reading each node's rule."""
    n, layers = len(tape.rules), tape.layers
    rule_ids: dict[int, int] = {}
    node_rules = [rule_ids.setdefault(id(rule), len(rule_ids)) for rule in tape.rules]
    dot = rule_ids.setdefault(id(BUILT_IN["dot"]), len(rule_ids))
    starts = np.frombuffer(tape.starts, dtype=np.int64)
    depth = np.frombuffer(tape.depth, dtype=np.int64)
    keys = [  # depth, op, arity, place on the tape: of the nodes, then of the layers
        np.concatenate(
            [
                depth[np.frombuffer(tape.node_slots, dtype=np.int64)],
                [layer.depth for layer in layers],
            ]
        ),
        np.concatenate([node_rules, [dot] * len(layers)]),
        np.concatenate([np.diff(starts), [lr.rows.shape[1] + len(lr.inputs) for lr in layers]]),
        np.concatenate([2 * np.arange(n) + 1, [2 * layer.after for layer in layers]]),
    ]
    keys = [np.asarray(key, dtype=np.int64) for key in keys]
    by_key = np.lexsort(keys[::-1])  # sorted by depth, op, arity, then place
    sorted_keys = [key[by_key] for key in keys]
    new_group = np.zeros(len(by_key), dtype=bool)
    new_group[:1] = True
    for key in sorted_keys[:3]:
        new_group[1:] |= key[1:] != key[:-1]
    group_of = np.cumsum(new_group) - 1
    heads = np.flatnonzero(new_group)
    group_rank = np.empty(len(heads), dtype=np.intp)  # by depth, then first place
    group_rank[np.lexsort((sorted_keys[3][heads], sorted_keys[0][heads]))] = np.arange(len(heads))
    entries = by_key[np.argsort(group_rank[group_of], kind="stable")]
    sizes = np.bincount(group_rank[group_of], minlength=len(heads))
    heads = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    layers = np.maximum.reduceat(entries, heads) >= n if len(entries) else sizes > 0
    return entries, sizes, (sizes < SMALL) & ~layers


def _runs(small: np.ndarray, sizes: np.ndarray) -> list[tuple[int, int]]:
    """The (first, stop) groups of each stretch of small groups of RUN_MIN nodes or more."""
    edges = np.diff(np.concatenate([[0], small.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    nodes = np.concatenate([[0], np.cumsum(sizes)])
    long = nodes[stops] - nodes[starts] >= RUN_MIN
    return list(zip(starts[long].tolist(), stops[long].tolist()))


def as_index(slots: np.ndarray) -> slice | np.ndarray:
    """`slots` as a slice when they are evenly spaced (a view, not a copy), else as they are."""
    step = int(slots[1] - slots[0]) if len(slots) > 1 else 1
    if step == 0 or (np.diff(slots) != step).any():
        return slots
    stop = int(slots[-1]) + step
    return slice(int(slots[0]), None if stop < 0 else stop, step)


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # a row per node: slot, operands, parents


def _step(tape: Tape, entries: np.ndarray) -> Step:
    """The step of a group of entries; until `forward_steps` renumbers them, `out`
    holds the slots the tape gave them, as an array."""
    n = len(tape.rules)
    nodes = entries[entries < n]
    layers: dict[int, list[TapeLayer]] = defaultdict(list)  # by rows: one layer's inputs
    for j in entries[entries >= n].tolist():
        layers[id(tape.layers[j - n].rows)].append(tape.layers[j - n])
    if not len(nodes) and len(layers) == 1:  # one layer on a batch: a grid as it is
        (records,) = layers.values()
        out = np.array([record.slots for record in records], dtype=np.intp).ravel()
        return Step(BUILT_IN["dot"], out, None, records[0].depth, None, _grid(records))
    parts = ([_nodes_arrays(tape, nodes)] if len(nodes) else []) + [
        _layer_arrays(records) for records in layers.values()
    ]
    out, operands, parents = (np.concatenate(arrays) for arrays in zip(*parts))
    first = tape.rules[nodes[0]] if len(nodes) else BUILT_IN["dot"]
    depth = tape.depth[int(out[0])]
    return Step(first, out, operands, depth, parents)


def _nodes_arrays(tape: Tape, nodes: np.ndarray) -> Arrays:
    """Scalar nodes of one arity: their slots, and their operands and parents as rows."""
    starts = np.frombuffer(tape.starts, dtype=np.int64)[nodes]
    arity = int(tape.starts[int(nodes[0]) + 1] - starts[0])
    columns = starts[:, None] + np.arange(arity)
    operands = np.frombuffer(tape.operands, dtype=np.int64)[columns]
    parents = np.frombuffer(tape.is_parent, dtype=np.int8)[columns].astype(bool)
    return np.frombuffer(tape.node_slots, dtype=np.int64)[nodes], operands, parents


def _run(tape: Tape, nodes: np.ndarray) -> Run:
    """The run of scalar nodes `nodes` (in this order), its operands in flat arrays."""
    starts = np.frombuffer(tape.starts, dtype=np.int64)
    lengths = starts[nodes + 1] - starts[nodes]
    new_starts = np.concatenate([[0], np.cumsum(lengths)])
    at = np.repeat(starts[nodes] - new_starts[:-1], lengths) + np.arange(new_starts[-1])
    return Run(
        [tape.rules[i] for i in nodes.tolist()],
        np.frombuffer(tape.node_slots, dtype=np.int64)[nodes],
        new_starts,
        np.frombuffer(tape.operands, dtype=np.int64)[at],
        np.frombuffer(tape.is_parent, dtype=np.int8)[at].astype(bool),
    )


def _grid(layer: list[TapeLayer]) -> LayerGrid:
    """A layer's records, one per input: node (s, j) has row j's operands, then input s's."""
    inputs = np.array([record.inputs for record in layer], dtype=np.intp)
    inputs = inputs.reshape(len(layer), len(layer[0].inputs))
    flags = np.array([record.input_parents for record in layer])[:, None]
    return LayerGrid(layer[0].rows, inputs, layer[0].row_parents, flags.repeat(inputs.shape[1], 1))


def _layer_arrays(layer: list[TapeLayer]) -> Arrays:
    """A layer's nodes as rows of operands, to be grouped with other dot nodes."""
    out = np.array([record.slots for record in layer], dtype=np.intp).ravel()
    return (out, *_grid(layer).operands())


def _renumber(tape: Tape, steps: list[Step | Run]) -> np.ndarray:
    """Move the nodes, step after step, to the last slots (the other slots keep their
    order); `new[old]` is the new slot of the old one. The tape's template becomes an
    array, and `slot_of` is changed in place (no second dict of every node)."""
    moving = np.concatenate([step.out for step in steps]) if steps else np.empty(0, np.intp)
    keep = np.ones(len(tape.template), dtype=bool)
    keep[moving] = False
    old_of_new = np.concatenate([np.flatnonzero(keep), moving])
    new = np.empty(len(old_of_new), dtype=np.intp)
    new[old_of_new] = np.arange(len(old_of_new))
    tape.template = np.asarray(tape.template)[old_of_new]
    new_slot, slot_of = new.item, tape.slot_of
    for value, slot in slot_of.items():  # (new values for the same keys: no new dict)
        slot_of[value] = new_slot(slot)
    tape.constants = {bits: new_slot(slot) for bits, slot in tape.constants.items()}
    return new


def run_forward(steps: list[Step | Run], values: np.ndarray) -> None:
    """Fill every node's slot in `values`, step by step."""
    with np.errstate(all="ignore"):  # inf and nan come out as the engine's, silently
        for step in steps:
            step.forward(values)
