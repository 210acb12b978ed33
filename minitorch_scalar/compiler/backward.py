"""Backward by the forward steps, with eager backward's gradients to the bit.

Eager backward visits the nodes in one order and adds each contribution
local * grad(consumer) to a parent as it goes, so a node's gradient is
((0 + c_1) + c_2) + ... in that visiting order. Here the forward steps run again in
reverse order of depth: every node that uses a node is deeper than it, so by the time
the steps of depth d run, the gradients of the nodes at depth d are complete. Depth
by depth: first each node's gradient is summed from the contributions stored for it,
in eager's order; then each step computes its nodes' local derivatives times their
gradients, the contributions they send their parents, and stores them. The leaves
are summed last.

The store of contributions is laid out for the sums: the nodes of one depth that sum
the same number of contributions get one block, a column per node, holding 0.0 and
then its contributions in eager's order, a row for each. A sum adds the block's rows
one after another (`rules.sum_rows`), as eager adds them. What goes to a constant, or
to a node eager backward does not visit, is stored at index 0 and never read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .program import Step
from .rules import sum_rows


@dataclass
class Summation:
    """grads[out[i]] = 0.0 + block[1, i] + block[2, i] + ..., the block being the store's
    `rows` seen as (count + 1, nodes): a row per contribution, a column per node."""

    out: np.ndarray  # (nodes,) slots
    rows: slice
    count: int


@dataclass
class _Sends:
    """A step's part in backward: where its nodes' terms go, for its first `columns`
    operands (the others get nothing eager backward would read: no terms are made)."""

    step: Step
    edges: np.ndarray  # (nodes, columns) store indices; 0: never read
    columns: int


@dataclass
class BackwardPlan:
    """Depth by depth, deepest first: the sums, then each step with where its
    contributions go; then the leaves' sums. `size`: the length of the store."""

    levels: list[tuple[list[Summation], list[_Sends]]]
    leaf_sums: list[Summation]
    leaves: np.ndarray  # the leaves' slots, in the order eager backward lists them
    size: int


def backward_plan(
    steps: list[Step], slots: int, visit: list[int], leaves: list[int]
) -> BackwardPlan:
    """The plan for a root whose eager backward visits the interior `visit` (root first);
    `leaves` are the leaves whose gradients are handed back, in eager backward's order."""
    edges = _edges_in_eager_order(steps, slots, visit)
    depth = np.zeros(slots, dtype=np.intp)
    for step in steps:
        depth[step.out] = step.depth
    count = np.bincount(edges["parent"], minlength=slots)
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)  # (depth, count) -> slots
    for slot in visit[1:]:  # not the root: its gradient is the seed
        groups[int(depth[slot]), int(count[slot])].append(slot)
    for slot in leaves:
        groups[-1, int(count[slot])].append(slot)
    sums, store_of, size = _blocks(groups, slots)
    where = store_of(edges["parent"], edges["k"])
    levels = []
    for d in sorted({step.depth for step in steps}, reverse=True):
        level = []
        for index, step in enumerate(steps):
            if step.depth == d:
                step_edges = np.zeros(step.operands.shape, dtype=np.intp)
                mine = edges["step"] == index
                step_edges[edges["row"][mine], edges["column"][mine]] = where[mine]
                read = np.flatnonzero(step_edges.any(axis=0))  # operands that get a term
                if len(read):
                    level.append(_Sends(step, step_edges[:, : read[-1] + 1], read[-1] + 1))
        levels.append((sums.get(d, []), level))
    return BackwardPlan(levels, sums.get(-1, []), np.array(leaves, dtype=np.intp), size)


def _edges_in_eager_order(steps: list[Step], slots: int, visit: list[int]) -> dict:
    """Every edge from a node eager backward visits to one of its parents, as arrays
    (parent, step, row, column), sorted parent by parent in the order eager adds them
    (the consumer's visit, then its column); and k, each edge's rank for its parent."""
    order = np.full(slots, -1, dtype=np.intp)
    order[visit] = np.arange(len(visit))
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    for index, step in enumerate(steps):
        visited = order[step.out] >= 0
        rows, columns = np.nonzero(step.parents & visited[:, None])
        parts["parent"].append(step.operands[rows, columns])
        parts["visit"].append(order[step.out][rows])
        parts["column"].append(columns)
        parts["row"].append(rows)
        parts["step"].append(np.full(len(rows), index, dtype=np.intp))
    edges = {key: np.concatenate(arrays) for key, arrays in parts.items()}
    by = np.lexsort((edges["column"], edges["visit"], edges["parent"]))
    edges = {key: array[by] for key, array in edges.items()}
    parent = edges["parent"]
    first = np.ones(len(parent), dtype=bool)
    first[1:] = parent[1:] != parent[:-1]
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(parent)), 0))
    edges["k"] = np.arange(len(parent)) - run_start
    return edges


def _blocks(groups: dict[tuple[int, int], list[int]], slots: int):
    """Lay out one block per group; the sums by depth, a function giving the store
    index of (receiver, k) (0 for a slot that receives nothing), and the store's size."""
    base = np.zeros(slots, dtype=np.intp)  # a receiver's column in its block's row 0
    width = np.zeros(slots, dtype=np.intp)  # its block's number of columns (0: none)
    sums: dict[int, list[Summation]] = defaultdict(list)
    size = 1  # [0] takes what is never read
    for (d, count), group in groups.items():
        n = len(group)
        base[group], width[group] = size + np.arange(n), n
        rows = slice(size, size + (count + 1) * n)
        sums[d].append(Summation(np.array(group, dtype=np.intp), rows, count))
        size += (count + 1) * n

    def store_of(parent: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.where(width[parent] > 0, base[parent] + (1 + k) * width[parent], 0)

    return sums, store_of, size


def run_backward(plan: BackwardPlan, values: np.ndarray, root: int, seed: float) -> np.ndarray:
    """The gradients of this backward call, by slot (leaves: before adding what they held)."""
    grads = np.zeros(len(values))
    grads[root] = seed
    store = np.zeros(plan.size)
    with np.errstate(all="ignore"):
        for sums, steps in plan.levels:
            _sum(sums, store, grads)
            for sends in steps:
                store.put(sends.edges, _times_grads(sends, values, grads[sends.step.out]))
        _sum(plan.leaf_sums, store, grads)
    return grads


def _times_grads(sends: _Sends, values: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Each node's local derivatives times its gradient, for the first `columns`
    operands: the terms it sends its parents."""
    step = sends.step
    if step.grid is not None:
        return step.grid.contributions(values, g, sends.columns)
    local = step.rule.local_grads(values.take(step.operands), values[step.out])
    local *= g[:, None]
    return local[:, : sends.columns]


def _sum(sums: list[Summation], store: np.ndarray, grads: np.ndarray) -> None:
    for s in sums:
        grads[s.out] = sum_rows(store[s.rows].reshape(s.count + 1, -1))
