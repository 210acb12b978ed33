"""Group the tape into vectorised steps, and replay them: forward, then backward.

Forward: a node's *depth* is 1 + the largest depth of its operands (leaves and constants
are at 0). Nodes of the same op, arity and depth do not depend on one another, so one
step computes them all: gather their operands from the slots, apply the rule, write the
results. The nodes are given new slots, step after step, so that each step writes one
contiguous range. A 2-16-16-1 network on 100 points has 6,800 nodes and 13 such steps.

Backward gives each node the gradient eager backward gives it, to the bit. Eager visits
the nodes in one order and adds each contribution local * grad(consumer) to a parent as
it goes, so a node's gradient is ((0 + c_1) + c_2) + ... in that visiting order. Here,
a node's *height* is 1 + the largest height of the nodes that use it (the root is at
0). Height by height: first each node's gradient is summed from the contributions
stored for it, in eager's order; then the contributions it sends its parents are
computed, one step per op and arity, and stored. The leaves are summed last.

The store of contributions is laid out for the sums: the nodes that sum the same number
of contributions at one height get one block, a row per node, holding 0.0 and then its
contributions in eager's order. A sum is then `np.add.accumulate` along the rows, which
adds left to right by definition (`np.sum` would add in pairs, and round differently).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .rules import Rule
from .tape import Tape, TapeNode, slots_array


@dataclass
class Step:
    """One vectorised op: `rule` on the nodes in slots `out`, operands in `operands`."""

    rule: Rule
    out: slice | np.ndarray  # forward: a contiguous range of slots; backward: any slots
    operands: np.ndarray  # (nodes, arity) slots
    edges: np.ndarray | None = None  # backward: (nodes, arity), where each term is stored


@dataclass
class Summation:
    """out[i] = 0.0 + store[rows][i, 1] + store[rows][i, 2] + ..., left to right."""

    out: np.ndarray  # (nodes,) slots
    rows: slice  # the block of the store, (nodes, count + 1) once reshaped
    count: int  # contributions per node


def forward_steps(tape: Tape) -> list[Step]:
    """The tape's nodes grouped into steps (by depth, then op, then arity), each step's
    nodes moved to consecutive slots, in `tape` too."""
    depth: dict[int, int] = {}
    groups: dict[tuple, list[TapeNode]] = defaultdict(list)
    for node in tape.nodes:
        depth[node.slot] = 1 + max((depth.get(s, 0) for s in node.operands), default=0)
        groups[depth[node.slot], id(node.rule), len(node.operands)].append(node)
    ordered = [nodes for _, nodes in sorted(groups.items(), key=lambda kv: kv[0][0])]
    _renumber(tape, [node for nodes in ordered for node in nodes])
    steps, start = [], len(tape.template) - len(tape.nodes)
    for nodes in ordered:
        operands = np.array([node.operands for node in nodes], dtype=np.intp)
        steps.append(Step(nodes[0].rule, slice(start, start + len(nodes)), operands))
        start += len(nodes)
    return steps


def _renumber(tape: Tape, order: list[TapeNode]) -> None:
    """Move the nodes, in `order`, to the last slots; the other slots keep their order."""
    moving = {node.slot for node in order}
    old_of_new = [s for s in range(len(tape.template)) if s not in moving]
    old_of_new += [node.slot for node in order]
    new = np.empty(len(old_of_new), dtype=np.intp)
    new[old_of_new] = np.arange(len(old_of_new))
    tape.template[:] = [tape.template[old] for old in old_of_new]
    for node in order:
        node.slot = int(new[node.slot])
        node.operands = new[node.operands].tolist()
    tape.slot_of = {value: int(new[slot]) for value, slot in tape.slot_of.items()}
    tape.constants = {bits: int(new[slot]) for bits, slot in tape.constants.items()}
    tape.nodes = order


@dataclass
class BackwardPlan:
    """What backward does, height by height: [(sums, contribution steps)], then the
    leaves' sums; `size` is the length of the store of contributions."""

    levels: list[tuple[list[Summation], list[Step]]]
    leaf_sums: list[Summation]
    leaves: np.ndarray  # the leaves' slots, in the order eager backward lists them
    size: int


def backward_plan(tape: Tape, visit: list[int], leaves: list[int]) -> BackwardPlan:
    """The plan for a root whose eager backward visits the interior `visit` (root first);
    `leaves` are the leaves whose gradients are handed back, in eager backward's order."""
    node_at = {node.slot: node for node in tape.nodes}
    senders: dict[int, list[tuple[int, int]]] = defaultdict(list)  # slot -> (consumer, column)
    height = {visit[0]: 0}
    for slot in visit:
        node = node_at[slot]
        for column in node.parents:
            parent = node.operands[column]
            senders[parent].append((slot, column))
            height[parent] = max(height.get(parent, 0), height[slot] + 1)
    by_height: dict[int, list[int]] = defaultdict(list)
    for slot in visit[1:]:
        by_height[height[slot]].append(slot)
    store = _Store()
    sums = {h: store.blocks(by_height[h], senders) for h in sorted(by_height)}
    leaf_sums = store.blocks(leaves, senders)
    levels = [
        (sums.get(h, []), _contributions([s for s in visit if height[s] == h], node_at, store))
        for h in range(max(height[s] for s in visit) + 1)
    ]
    return BackwardPlan(levels, leaf_sums, slots_array(leaves), store.size)


class _Store:
    """Lays out the store: [0] takes what goes to constants (never read), then blocks."""

    def __init__(self) -> None:
        self.size = 1
        self.edge: dict[tuple[int, int], int] = {}  # (consumer, column) -> store index

    def blocks(self, slots: list[int], senders: dict) -> list[Summation]:
        """One block per count of contributions among `slots`, each row in eager's order."""
        by_count: dict[int, list[int]] = defaultdict(list)
        for slot in slots:
            by_count[len(senders[slot])].append(slot)
        sums = []
        for count, group in by_count.items():
            start = self.size
            for slot in group:
                for k, sender in enumerate(senders[slot]):
                    self.edge[sender] = self.size + 1 + k  # after the row's 0.0
                self.size += count + 1
            sums.append(Summation(slots_array(group), slice(start, self.size), count))
        return sums


def _contributions(slots: list[int], node_at: dict[int, TapeNode], store: _Store) -> list[Step]:
    """The nodes of one height grouped by op and arity, with where each sends its terms."""
    groups: dict[tuple, list[TapeNode]] = defaultdict(list)
    for slot in slots:
        node = node_at[slot]
        groups[id(node.rule), len(node.operands)].append(node)
    steps = []
    for nodes in groups.values():
        operands = np.array([node.operands for node in nodes], dtype=np.intp)
        edges = np.zeros(operands.shape, dtype=np.intp)
        for row, node in enumerate(nodes):
            for column in node.parents:
                edges[row, column] = store.edge.get((node.slot, column), 0)  # 0: unread
        steps.append(Step(nodes[0].rule, slots_array(n.slot for n in nodes), operands, edges))
    return steps


def run_forward(steps: list[Step], values: np.ndarray) -> None:
    """Fill every node's slot in `values`, step by step."""
    with np.errstate(all="ignore"):  # inf and nan come out as the engine's, silently
        for step in steps:
            values[step.out] = step.rule.values(values.take(step.operands))


def run_backward(plan: BackwardPlan, values: np.ndarray, root: int, seed: float) -> np.ndarray:
    """The gradients of this backward call, by slot (leaves: before adding what they held)."""
    grads = np.zeros(len(values))
    grads[root] = seed
    store = np.zeros(plan.size)
    with np.errstate(all="ignore"):
        for sums, steps in plan.levels:
            _sum(sums, store, grads)
            for step in steps:
                local = step.rule.local_grads(values.take(step.operands), values.take(step.out))
                local *= grads.take(step.out)[:, None]
                store.put(step.edges, local)
        _sum(plan.leaf_sums, store, grads)
    return grads


def _sum(sums: list[Summation], store: np.ndarray, grads: np.ndarray) -> None:
    for s in sums:
        block = store[s.rows].reshape(-1, s.count + 1)
        if s.count == 1:  # 0.0 + c, as eager adds it (-0.0 becomes 0.0)
            grads[s.out] = block[:, 0] + block[:, 1]
        else:
            grads[s.out] = np.add.accumulate(block, axis=1)[:, -1]
