"""Backward by the forward steps, with eager backward's gradients to the bit.

Eager backward visits the nodes in one order and adds each contribution
local * grad(consumer) to a parent as it goes, so a node's gradient is
((0 + c_1) + c_2) + ... in that visiting order. Here the forward steps run again in
reverse order of depth: every node that uses a node is deeper than it, so by the time
the steps of depth d run, the gradients of the nodes at depth d are complete. Depth
by depth: first each node's gradient is summed from the terms stored for it, in
eager's order; then each step computes its nodes' local derivatives times their
gradients, the terms they send their parents, and stores them. The leaves are summed
last.

Where the terms wait: one float array holds each slot's gradient, then the store. The
store is laid out for the sums: the nodes of one depth that sum the same number of
terms get one block, a column per node, holding 0.0 and then its terms in eager's
order, a row for each. A sum adds the block's rows one after another
(`rules.sum_rows`), as eager adds them. A node (not a leaf) with a single term takes
it in its own place instead: 0.0 + c is c but for the sign of a zero, which no leaf
can see (a zero times a local derivative is a zero, or nan, and a sum that starts at
0.0 is never -0.0, so adding either zero leaves it as it was). A term for a constant,
an input, or a node eager backward does not visit goes to place 0, never read.

A step writes its terms with one scatter (`put`). A layer on a batch writes two parts,
its rows' and its inputs' (`layer_grid`). The layout gives each part's receivers
consecutive columns of one block where it can, and where eager adds the part's terms
in the same order for every receiver (sample after sample, as a model on a batch
does), the part writes whole rows of its block instead of single numbers. A run
(`program.Run`, a chain's nodes) goes backward node by node, last first.

The plan is made in time and memory proportional to the edges: every edge but a
layer's is listed once, step by step; one sort by (parent, visit, column) ranks each
among its parent's terms; each step then reads its own stretch of the list. A layer's
edges are never listed: they are ranked line by line (`bundles`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import bundles
from .layer_grid import LayerGrid
from .program import Run, Step, as_index
from .rules import sum_rows

Terms = Callable[..., np.ndarray]  # (values, g) -> the terms; (values, g, out=view): made in it


@dataclass
class Summation:
    """grads[out[i]] = 0.0 + block[1, i] + block[2, i] + ..., the block being the
    places `rows` seen as (count + 1, nodes): a row per term, a column per node."""

    out: slice | np.ndarray  # (nodes,) slots
    rows: slice
    count: int

    @property
    def nodes(self) -> int:
        """How many nodes (columns) the block sums for."""
        return (self.rows.stop - self.rows.start) // (self.count + 1)


@dataclass
class Scatter:
    """Terms written one by one: each to its place in `places` (shaped as the terms)."""

    places: np.ndarray

    def write(self, store: np.ndarray, terms: Terms, values: np.ndarray, g: np.ndarray) -> None:
        store.put(self.places, terms(values, g))


@dataclass
class BlockWrite:
    """Terms written as rows of a block: row a of the terms to `rows[a]` of the block
    (the places `block` seen `width` wide), in its `columns`."""

    block: slice
    width: int
    rows: slice | np.ndarray
    columns: slice

    def write(self, store: np.ndarray, terms: Terms, values: np.ndarray, g: np.ndarray) -> None:
        block = store[self.block].reshape(-1, self.width)
        if isinstance(self.rows, slice):  # a view of the block: the terms are made in it
            terms(values, g, out=block[self.rows, self.columns])
        else:
            block[self.rows, self.columns] = terms(values, g)


@dataclass
class Send:
    """A step's terms, or a part of them (`what`): `terms(values, the step's nodes'
    gradients)`, written `to` their places."""

    step: Step
    what: str  # "operands"; for a layer on a batch, "rows" or "inputs"
    terms: Terms
    to: Scatter | BlockWrite
    scalar_places: list[list[int]] | None = None  # a small step's places: on floats

    def __post_init__(self) -> None:
        if self.step.scalar_nodes is not None and isinstance(self.to, Scatter):
            self.scalar_places = self.to.places.tolist()

    def run(self, values: np.ndarray, grads: np.ndarray) -> None:
        """Make the terms from the gradients of the step's nodes, and write them."""
        if self.scalar_places is not None:
            self.step.scalar_send(values, grads, self.scalar_places)
        else:
            self.to.write(grads, self.terms, values, grads[self.step.out])


@dataclass
class Level:
    """The steps of one depth, backward: the sums of their nodes' gradients, then what
    each step sends."""

    depth: int
    sums: list[Summation]
    sends: list[Send]


@dataclass
class RunBackward:
    """A `Run` backward, node by node from its last: the node's gradient (its one term,
    written in its own place, or the sum of its terms, in eager's order, from its
    places `first[i]` on), then its terms, each written to `places` (0: never read)."""

    run: Run
    places: np.ndarray  # aligned with run.operands: where each operand's term goes
    first: np.ndarray  # per node: 0 (the gradient is in its own place) or its first place
    count: np.ndarray  # per node: how many terms it sums

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        """Each node's gradient, and its terms to its parents' places, last node first."""
        run, numbers = self.run, self.run.numbers(values)
        read, first_node = numbers.__getitem__, len(numbers) - len(run.rules)
        local, starts, places = run.local.tolist(), run.starts.tolist(), self.places.tolist()
        first, count = self.first.tolist(), self.count.tolist()
        for i in reversed(range(len(run.rules))):
            slot, begin, end = run.out.start + i, starts[i], starts[i + 1]
            if first[i]:
                g = 0.0  # then each term, in eager's order, as `sum_rows` adds them
                for term in grads[first[i] : first[i] + count[i]].tolist():
                    g += term
            else:
                g = grads.item(slot)
            x = list(map(read, local[begin:end]))
            terms = run.rules[i].scalar_terms(x, numbers[first_node + i], g)
            for place, term in zip(places[begin:end], terms):
                grads[place] = term


@dataclass
class BackwardPlan:
    """The steps and runs in reverse (`levels`): a step's level sums the gradients of
    its depth's nodes, then sends; a run goes node by node. Then the leaves' sums.
    `size`: the slots' gradients and the store, in places."""

    levels: list[Level | RunBackward]
    leaf_sums: list[Summation]
    leaves: np.ndarray  # the leaves' slots, in the order eager backward lists them
    size: int
    zeros: np.ndarray = field(init=False)  # every block's row 0: the 0.0 each sum starts from

    def __post_init__(self) -> None:
        sums = [s for level in self.levels if type(level) is Level for s in level.sums]
        rows = [np.arange(s.rows.start, s.rows.start + s.nodes) for s in sums + self.leaf_sums]
        self.zeros = np.concatenate(rows) if rows else np.empty(0, dtype=np.intp)


def backward_plan(
    steps: list[Step | Run], slots: int, visit: list[int], leaves: list[int]
) -> BackwardPlan:
    """The plan for a root whose eager backward visits the interior `visit` (root first);
    `leaves` are the leaves whose gradients are handed back, in eager backward's order.
    Every edge is looked at a bounded number of times: the work grows with the edges.
    A layer's edges are not listed, but found line by line (see `bundles`)."""
    order = np.full(slots, -1, dtype=np.intp)
    order[visit] = np.arange(len(visit))
    bundled = _bundles(steps, order, slots)
    listed = _edges(steps, order, bundled)
    lines = bundles.Lines([b for pair in bundled.values() for b in pair], slots, len(visit))
    before = lines.before(listed.parent, listed.visit)
    listed.rank += before
    count = _term_counts(listed, bundled, slots)
    longest = max([b.visits.shape[1] for pair in bundled.values() for b in pair], default=0)
    others = bundles.Others(listed.parent, before, lines, longest)
    in_run = _in_runs(steps, slots)
    interior = np.array(visit[1:], dtype=np.intp)  # not the root: its gradient is the seed
    single = interior[count[interior] == 1]  # one term: taken in its own place
    summed_in_runs = interior[in_run[interior] & (count[interior] > 1)]
    groups = _groups(steps, slots, interior[~in_run[interior]], leaves, count)
    layout = _Layout(groups, single, summed_in_runs, count, slots)
    where = layout.place(listed.parent, listed.rank)  # each listed edge's place
    levels: list[Level | RunBackward] = []
    for index in reversed(range(len(steps))):
        step = steps[index]
        if index in bundled:
            sends = [_bundle_send(step, b, others, layout) for b in bundled[index]]
        else:
            places = np.zeros(step.operands.shape if type(step) is Run else step.shape, np.intp)
            mine = slice(listed.offsets[index], listed.offsets[index + 1])
            places.ravel()[listed.at[mine]] = where[mine]
            if type(step) is Run:
                first = layout.first[step.out]
                levels.append(RunBackward(step, places, first, count[step.out]))
                continue
            sends = _sends(step, places, listed.rows.get(index), layout)
        if not levels or type(levels[-1]) is RunBackward or levels[-1].depth != step.depth:
            levels.append(Level(step.depth, layout.sums.pop(step.depth, []), []))
        levels[-1].sends[:0] = [send for send in sends if send is not None]  # step order
    return BackwardPlan(levels, layout.sums.get(-1, []), np.array(leaves, np.intp), layout.size)


def _term_counts(listed: Edges, bundled: dict[int, list], slots: int) -> np.ndarray:
    """For each slot, how many terms its gradient sums: its listed edges, and the
    edges of the bundles it is a parent in."""
    count = np.bincount(listed.parent, minlength=slots)
    for pair in bundled.values():
        for b in pair:
            count[b.parents] += b.visits.shape[1]
    return count


def _in_runs(steps: list[Step | Run], slots: int) -> np.ndarray:
    """For each slot, whether it is a node of a run."""
    in_run = np.zeros(slots, dtype=bool)
    for step in steps:
        if type(step) is Run:
            in_run[step.out] = True
    return in_run


def _bundles(steps: list[Step | Run], order: np.ndarray, slots: int) -> dict[int, list]:
    """The layers whose two parts are bundles (see `bundles`), by step index: those
    whose every node eager visits, and whose receivers are in no other line."""
    candidates = []
    for index, step in enumerate(steps):
        if type(step) is Step and step.grid is not None and (order[step.out] >= 0).all():
            candidates += bundles.bundles_of(step.grid, index, order[step.out])
    alone = bundles.alone(candidates, slots)
    by_step: dict[int, list] = defaultdict(list)
    for bundle, ok in zip(candidates, alone):
        by_step[bundle.step].append((bundle, ok))
    return {i: [b for b, _ in pair] for i, pair in by_step.items() if all(ok for _, ok in pair)}


@dataclass
class Edges:
    """The listed edges (those from a node eager backward visits to one of its parents,
    but a bundle's), step by step (`offsets`): the parent's slot, the consumer's visit,
    where the edge is among its step's operands (`at`, flat), and its `rank`: how many
    terms eager adds to the parent before it. `rows`: the operand and parent arrays of
    the layers whose edges are listed, written out."""

    parent: np.ndarray
    visit: np.ndarray
    at: np.ndarray
    rank: np.ndarray
    offsets: list[int]
    rows: dict[int, tuple[np.ndarray, np.ndarray]]


def _edges(steps: list[Step | Run], order: np.ndarray, bundled: dict) -> Edges:
    """The listed edges, and their ranks among themselves from one sort: by parent,
    then the order eager adds them in (the consumer's visit, then its column)."""
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    written: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for index, step in enumerate(steps):
        if index in bundled:
            rows, columns, at, operands = (np.empty(0, np.intp),) * 4
        elif type(step) is Run:
            node = np.repeat(np.arange(len(step.rules)), np.diff(step.starts))
            at = np.flatnonzero(step.is_parent & (order[step.out][node] >= 0))
            rows, columns, operands = node[at], at - step.starts[node[at]], step.operands
        else:
            if step.grid is not None:
                written[index] = step.grid.operands()
            operands, parents = written.get(index, (step.operands, step.parents))
            visited = order[step.out] >= 0
            rows, columns = np.nonzero(parents & visited[:, None])
            at = rows * operands.shape[1] + columns
        parts["parent"].append(operands.ravel()[at])
        parts["visit"].append(order[step.out][rows] if len(rows) else rows)
        parts["column"].append(columns)
        parts["at"].append(at)
    lengths = [len(at) for at in parts["at"]]
    edges = {key: np.concatenate(arrays) for key, arrays in parts.items()}
    by = _eager_order(edges, len(order), int(order.max(initial=0)) + 1)
    parent = edges["parent"][by]
    first = np.ones(len(parent), dtype=bool)
    first[1:] = parent[1:] != parent[:-1]
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(parent)), 0))
    rank = np.empty(len(parent), dtype=np.intp)
    rank[by] = np.arange(len(parent)) - run_start
    offsets = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    return Edges(edges["parent"], edges["visit"], edges["at"], rank, offsets, written)


def _eager_order(edges: dict, slots: int, visits: int) -> np.ndarray:
    """The order that sorts the edges by parent, then visit, then column: one sort of
    one number per edge where it fits in 63 bits (no two edges share all three)."""
    columns = int(edges["column"].max(initial=0)) + 1
    if slots * visits * columns < 2**63:
        return np.argsort((edges["parent"] * visits + edges["visit"]) * columns + edges["column"])
    return np.lexsort((edges["column"], edges["visit"], edges["parent"]))


def _groups(
    steps: list[Step | Run],
    slots: int,
    interior: np.ndarray,
    leaves: list[int],
    count: np.ndarray,
) -> dict[tuple[int, int], np.ndarray]:
    """The receivers that sum their terms in blocks, grouped by (depth, number of terms)
    (leaves at depth -1), the groups in the order their first member comes in eager
    backward's. In each group, the receivers of a layer's part come first,
    consecutive and in the part's order (the largest parts first), where the whole part
    falls in the group; then the others, in eager backward's order. `interior`: the
    nodes eager visits (not the root), but those of runs."""
    depth = np.zeros(slots, dtype=np.intp)
    for step in steps:
        if type(step) is Step:
            depth[step.out] = step.depth
    blocks = interior[count[interior] != 1]  # (one term: taken in its own place)
    receivers = np.concatenate([blocks, np.array(leaves, dtype=np.intp)])
    depths = np.concatenate([depth[blocks], np.full(len(leaves), -1, dtype=np.intp)])
    terms = count[receivers]
    keys = (depths + 1) * (int(terms.max(initial=0)) + 1) + terms
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    by_first = np.argsort(first)  # the groups in the order of their first members
    rank = np.empty(len(first), dtype=np.intp)
    rank[by_first] = np.arange(len(first))
    group_of = np.full(slots, -1, dtype=np.intp)
    group_of[receivers] = rank[inverse.ravel()]
    sizes = np.bincount(group_of[receivers], minlength=len(first))
    in_groups = receivers[np.argsort(group_of[receivers], kind="stable")]
    members = np.split(in_groups, np.cumsum(sizes)[:-1]) if len(first) else []
    placed = np.zeros(slots, dtype=bool)
    firsts: dict[int, list[np.ndarray]] = defaultdict(list)
    for part in sorted(_layer_parts(steps), key=len, reverse=True):
        group = group_of[part]
        whole = group[0] >= 0 and (group == group[0]).all() and not placed[part].any()
        if whole and len(np.unique(part)) == len(part):
            placed[part] = True
            firsts[int(group[0])].append(part)
    ordered = {}
    for index, group in enumerate(members):
        key = (int(depths[first[by_first[index]]]), int(terms[first[by_first[index]]]))
        ordered[key] = np.concatenate([*firsts[index], group[~placed[group]]])
    return ordered


def _layer_parts(steps: list[Step]) -> list[np.ndarray]:
    """The receivers of each part of each layer on a batch: its rows', its inputs'."""
    grids = [step.grid for step in steps if type(step) is Step and step.grid is not None]
    return [part for grid in grids for part in (grid.rows.ravel(), grid.inputs.ravel())]


class _Layout:
    """Where each term goes: a receiver's column in its block, one place per term; for
    a node of a run that sums several terms, consecutive places of its own."""

    def __init__(
        self,
        groups: dict[tuple[int, int], np.ndarray],
        single: np.ndarray,
        summed_in_runs: np.ndarray,
        count: np.ndarray,
        slots: int,
    ):
        self.count = count
        self.direct = np.zeros(slots, dtype=bool)  # a node with one term: its own place
        self.direct[single] = True
        self.column = np.zeros(slots, dtype=np.intp)  # the place of its row 0
        self.width = np.zeros(slots, dtype=np.intp)  # its block's columns (0: none)
        self.block = np.zeros(slots, dtype=np.intp)  # its block's first place
        self.sums: dict[int, list[Summation]] = defaultdict(list)
        size = slots  # the slots' gradients come first
        for (d, terms), members in groups.items():
            n = len(members)
            self.block[members], self.width[members] = size, n
            self.column[members] = size + np.arange(n)
            rows = slice(size, size + (terms + 1) * n)
            self.sums[d].append(Summation(as_index(members), rows, terms))
            size += (terms + 1) * n
        self.first = np.zeros(slots, dtype=np.intp)  # a run's node: its first term's place
        ends = size + np.cumsum(count[summed_in_runs])
        self.first[summed_in_runs] = ends - count[summed_in_runs]
        self.size = int(ends[-1]) if len(ends) else size

    def place(self, parent: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The place of the term of rank k for each parent (0 for those never read)."""
        width = self.width[parent]
        in_block = np.where(width > 0, self.column[parent] + (1 + k) * width, 0)
        first = self.first[parent]
        in_block = np.where(first > 0, first + k, in_block)
        return np.where(self.direct[parent], parent, in_block)

    def read(self, receivers: np.ndarray) -> np.ndarray:
        """Whether anything reads each receiver's terms (those of a leaf not handed a
        gradient, as an input's number, go to place 0)."""
        return self.direct[receivers] | (self.width[receivers] > 0) | (self.first[receivers] > 0)

    def block_of(self, receivers: np.ndarray) -> tuple[int, int] | None:
        """(block, width) if the receivers are consecutive columns of one block."""
        first = receivers[0]
        width, block = int(self.width[first]), int(self.block[first])
        consecutive = (
            width > 0
            and (self.block[receivers] == block).all()
            and (self.column[receivers] == self.column[first] + np.arange(len(receivers))).all()
        )
        return (block, width) if consecutive else None

    def block_write(self, block: tuple[int, int], receivers: np.ndarray, rows: np.ndarray):
        """Terms written as whole rows `rows` of the receivers' block."""
        first, (start, width) = receivers[0], block
        column = int(self.column[first]) - start
        places = slice(start, start + int(self.count[first] + 1) * width)
        return BlockWrite(places, width, as_index(rows), slice(column, column + len(receivers)))

    def writer(self, places: np.ndarray, receivers: np.ndarray) -> Scatter | BlockWrite:
        """How a layer's part writes its terms: (sources, receivers) to `places`."""
        block = self.block_of(receivers)
        if block is None:
            return Scatter(places)
        offset = places - self.column[receivers]  # (1 + k) * width where k is the rank
        rows = offset[:, 0] // block[1]
        if (places == 0).any() or (offset != (rows * block[1])[:, None]).any():
            return Scatter(places)  # the receivers add this part's terms in other orders
        return self.block_write(block, receivers, rows)


def _sends(
    step: Step, places: np.ndarray, written: tuple | None, layout: _Layout
) -> list[Send | None]:
    """What `step` sends, given each (node, operand) term's place (0: never read);
    `written`: a layer's operand and parent arrays, written out."""
    grid = step.grid
    if grid is None:
        read = np.flatnonzero(places.any(axis=0))  # the operands some term of is read
        if not len(read):
            return []
        columns = read[-1] + 1
        terms = functools.partial(_local_terms, step, columns)
        return [Send(step, "operands", terms, Scatter(places[:, :columns]))]
    sends = []
    for what, part in (("rows", grid.row_part), ("inputs", grid.input_part)):
        part_places = part(places)
        if part_places.any():
            receivers = part(written[0])[0]  # (every source's row holds the same)
            sends.append(
                Send(step, what, _part_terms(grid, what), layout.writer(part_places, receivers))
            )
    return sends


def _bundle_send(step: Step, b: bundles.Bundle, others: bundles.Others, layout: _Layout):
    """What a layer's part sends, found line by line (None if it sends nothing)."""
    if not layout.read(b.parents).any():  # (inputs' numbers get no gradient)
        return None
    receivers, position = b.receivers.ravel(), bundles.positions(b)
    block = layout.block_of(receivers)
    rank = None if block is None else bundles.same_rank_per_node(b, others, position)
    if rank is not None:
        to: Scatter | BlockWrite = layout.block_write(block, receivers, 1 + rank)
    else:
        to = Scatter(bundles.places(b, others, position, layout.place))
    return Send(step, b.what, _part_terms(step.grid, b.what), to)


def _part_terms(grid: LayerGrid, what: str) -> Terms:
    return grid.row_terms if what == "rows" else grid.input_terms


def _local_terms(step: Step, columns: int, values: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Each node's local derivatives times its gradient, for its first `columns`
    operands (the others get nothing eager backward would read)."""
    return step.rule.terms(step.rule.gather(values, step), values[step.out], g, columns)


def run_backward(plan: BackwardPlan, values: np.ndarray, root: int, seed: float) -> np.ndarray:
    """The gradients of this backward call by slot (the leaves': before adding what they
    held), then the store."""
    grads = _unwritten(plan.size)
    grads[plan.zeros] = 0.0
    grads[root] = seed
    with np.errstate(all="ignore"):
        for level in plan.levels:
            if type(level) is Level:
                _sum(level.sums, grads)
                for send in level.sends:
                    send.run(values, grads)
            else:
                level.backward(values, grads)
        _sum(plan.leaf_sums, grads)
    return grads


def _unwritten(size: int) -> np.ndarray:
    """The places of a backward call, not cleared: every place that is read is written
    first (a block's row 0 by `run_backward`, each term by its step, each gradient by its
    sum or its one term), but for the gradients of nodes eager backward does not visit,
    whose terms go to place 0, never read."""
    return np.empty(size)


def _sum(sums: list[Summation], grads: np.ndarray) -> None:
    for s in sums:
        grads[s.out] = sum_rows(grads[s.rows].reshape(s.count + 1, -1))
