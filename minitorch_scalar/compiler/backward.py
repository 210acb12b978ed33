"""Backward: the forward steps run again, deepest first, with eager backward's bits.

Where you are. A compiled step is made in stages: trace (tape.py) -> the tape -> group
(forward.py) -> forward (forward.py, layer_grid.py) -> backward (this module, with
bundles.py) -> replay (replay.py, output.py). This module computes what the first
interpreter's backward loop computes (`interpret.Interpreter.backward`, a dozen lines:
read it first), by whole steps instead of node by node; the tests hold it to that loop,
leaf by leaf (tests/minitorch_scalar/test_compile_stages.py). Open next: bundles.py
(a layer's edges, ranked without listing them), then replay.py (the replay).

The idea. Eager backward visits the nodes in one order and adds each *term*
local * grad(node) to a parent as it goes, so a gradient is ((0 + t_1) + t_2) + ...
in that order. Here the forward steps run again in reverse order of depth: every node
that uses a node is deeper than it, so when the steps of depth d run, the nodes of
depth d have all their terms. Depth by depth (a `Level`), each node's gradient is
summed from its terms, in eager's order; then each step *sends* (`Send`): it computes
its nodes' local derivatives times their gradients, and writes each term where its
parent's sum will read it. The leaves are summed last.

Words. An *edge* goes from a node eager backward visits to one of its parents (an
operand that is a Value, not a constant). That parent is the edge's *receiver*: it
gets the edge's term.

Index spaces. Four kinds of integer index appear below, each named by an alias in the
signatures (`Slot`; `SlotArray` for an integer array of them; and so on):

- Slot: one number of the trace, an index into a replay's `values` (tape.py): 0 holds
  0.0, then the leaves, the constants, the nodes. Range [0, slots).
- Visit: a node's position in the order eager backward visits the nodes
  (`tape.backward_order`), the output first, at 0. Range [0, visits). `visit_of[slot]`
  is -1 for a slot it does not visit (a leaf, a constant, a node the output does not use).
- Rank: a term's position among its receiver's terms in the order eager adds them
  (how many it adds before it). Range [0, term_count[receiver]).
- Place: an index into one backward call's float array `grads`. Places [0, slots) are
  the slots' own gradients (slot s's at place s); places [slots, size) are the *store*,
  where terms wait to be summed. Place 0 is the sink: a term that nothing reads goes
  there (slot 0 is the constant 0.0, whose gradient nothing reads).

Where the terms wait (`StoreLayout`). The store is laid out for the sums: receivers of
one depth that sum the same number of terms share a `Block`, a column each, whose row 0
holds the 0.0 the sum starts from and row 1 + k the term of rank k; a block's sum adds
its rows one after another (`rules.sum_rows`), so each column's terms in rank order,
eager's. Two shortcuts, each exact. A node (not a leaf) with a single term takes it at
its own place, with no block and no sum: 0.0 + t is t but for the sign of a zero, which
no leaf can see (a zero times a local derivative is a zero, or nan, and a sum that
starts at 0.0 is never -0.0, so adding either zero leaves it as it was). A node of a
run (`program.Run`, a chain's nodes) that sums several terms has consecutive places
of its own.

How a step writes its terms: with one scatter (`Scatter`), or, for a part of a layer on
a batch (its rows' terms, its inputs'), as whole rows of a block (`WholeRows`), where
the part's receivers are consecutive columns of one block and every receiver adds the
part's terms in one order (sample after sample, as a model on a batch does). A run goes
backward node by node, last first (`RunBackward`).

The plan (`backward_plan`, once per trace) takes time and memory in proportion to the
edges: every edge but a layer's is listed once, step by step (`ListedEdges`); one sort
by (receiver, visit, column) ranks each among its receiver's listed terms; a layer's
edges are never listed, but ranked line by line (bundles.py); then each step reads its
own stretch of the list.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

from . import bundles
from .forward import Run, Step, as_index
from .layer_grid import LayerGrid
from .rules import sum_rows

# The index spaces of the module docstring, by name: what an integer indexes.
Slot: TypeAlias = int
Visit: TypeAlias = int
Rank: TypeAlias = int
Place: TypeAlias = int
SlotArray: TypeAlias = np.ndarray  # an integer array of slots
VisitArray: TypeAlias = np.ndarray  # of visits (-1: a slot eager backward does not visit)
RankArray: TypeAlias = np.ndarray  # of ranks
PlaceArray: TypeAlias = np.ndarray  # of places

Terms = Callable[..., np.ndarray]  # (values, g) -> the terms; (values, g, out=view): made in it


def place_of(first: PlaceArray, rank: RankArray, stride: np.ndarray) -> PlaceArray:
    """The place of the term of rank `rank` of a receiver whose terms start at place
    `first` and lie `stride` places apart: ``first + rank * stride``.

    What `StoreLayout` guarantees with it: a receiver in a block has `first` in row 1 of
    its column and `stride` the block's width, so its term of rank k lands in row 1 + k
    of its column, and the block's sum, row after row, adds its terms in rank order, as
    eager does; a node of a run that sums several terms has stride 1 (consecutive places
    of its own); a node with one term has its own slot as `first` and stride 0; a
    receiver whose terms nothing reads has both 0 (the sink). So no two terms that are
    read share a place. It is exact: integers, every place below the plan's size."""
    return first + rank * stride


# ------------------------------------------------------------------- what a call runs


@dataclass
class Block:
    """Where the receivers of one depth that sum the same number of terms wait, and
    their sum: the places from `start` seen as (count + 1) rows of `width` columns.
    Column c is receiver `receivers[c]`'s: row 0 holds the 0.0 its sum starts from,
    row 1 + k its term of rank k. The sum adds the rows one after another, as eager
    adds the terms."""

    depth: int  # the receivers' depth (-1: leaves)
    receivers: slice | SlotArray  # (width,)
    start: Place
    width: int  # how many receivers: a column each
    count: int  # how many terms each receiver sums
    places: slice = field(init=False)  # all the block's places

    def __post_init__(self) -> None:
        self.places = slice(self.start, self.start + (self.count + 1) * self.width)

    def sum_into(self, grads: np.ndarray) -> None:
        """Each receiver's gradient: row 0 + row 1 + ..., added row after row."""
        grads[self.receivers] = sum_rows(grads[self.places].reshape(self.count + 1, -1))


@dataclass
class Scatter:
    """Terms written one by one: the term at [i, j] to place `places[i, j]`."""

    places: PlaceArray  # shaped as the terms

    def write(self, grads: np.ndarray, terms: Terms, values: np.ndarray, g: np.ndarray) -> None:
        grads.put(self.places, terms(values, g))


@dataclass
class WholeRows:
    """Terms written as whole rows of one block: the terms' row a (a source's terms, a
    column per receiver) to the block's row `rows[a]`, in the block's `columns`."""

    block: Block
    rows: slice | np.ndarray
    columns: slice

    def write(self, grads: np.ndarray, terms: Terms, values: np.ndarray, g: np.ndarray) -> None:
        block = grads[self.block.places].reshape(-1, self.block.width)
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
    to: Scatter | WholeRows
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
    """The steps of one depth, backward: the sums of their nodes' gradients (`blocks`),
    then what each step sends."""

    depth: int
    blocks: list[Block]
    sends: list[Send]


@dataclass
class RunBackward:
    """A `Run` backward, node by node from its last: the node's gradient (its one term,
    at its own place, or the sum of its `count` terms, in eager's order, from place
    `sum_from`), then its terms, each written to its place in `places`."""

    run: Run
    places: PlaceArray  # aligned with run.operands: where each operand's term goes
    sum_from: PlaceArray  # per node: its first term's place (0: it has one, at its own place)
    count: np.ndarray  # per node: how many terms it sums

    def backward(self, values: np.ndarray, grads: np.ndarray) -> None:
        """Each node's gradient, and its terms to its parents' places, last node first."""
        run, numbers = self.run, self.run.numbers(values)
        read, first_node = numbers.__getitem__, len(numbers) - len(run.rules)
        local, starts, places = run.local.tolist(), run.starts.tolist(), self.places.tolist()
        sum_from, count = self.sum_from.tolist(), self.count.tolist()
        for i in reversed(range(len(run.rules))):
            slot, begin, end = run.out.start + i, starts[i], starts[i + 1]
            if sum_from[i]:
                g = 0.0  # then each term, in eager's order, as `sum_rows` adds them
                for term in grads[sum_from[i] : sum_from[i] + count[i]].tolist():
                    g += term
            else:
                g = grads.item(slot)
            x = list(map(read, local[begin:end]))
            terms = run.rules[i].scalar_terms(x, numbers[first_node + i], g)
            for place, term in zip(places[begin:end], terms):
                grads[place] = term


@dataclass
class BackwardPlan:
    """A backward call's work, in order: `levels`, deepest first (a `Level`: one depth's
    blocks summed, then its steps' sends; a `RunBackward`: a run, node by node), then
    `leaf_blocks`, the sums of the grad leaves. `grad_leaf_slots`: the slots of the grad
    leaves (the leaves given a gradient: see `replay.CompiledProgram`), in the order eager
    backward adds to them, the order a call returns their gradients in. `size`: the
    places of a call, the slots' gradients and the store."""

    levels: list[Level | RunBackward]
    leaf_blocks: list[Block]
    grad_leaf_slots: SlotArray
    size: int
    row_zeros: PlaceArray = field(init=False)  # every block's row 0: where its sum starts

    def __post_init__(self) -> None:
        blocks = [b for level in self.levels if type(level) is Level for b in level.blocks]
        rows = [np.arange(b.start, b.start + b.width) for b in blocks + self.leaf_blocks]
        self.row_zeros = np.concatenate(rows) if rows else np.empty(0, dtype=np.intp)


def run_backward(plan: BackwardPlan, values: np.ndarray, root: Slot, seed: float) -> np.ndarray:
    """One backward call: every place (the slots' gradients, the leaves' before adding
    what they held, then the store), from the output's gradient `seed`."""
    grads = _unwritten(plan.size)
    grads[plan.row_zeros] = 0.0
    grads[root] = seed
    with np.errstate(all="ignore"):
        for level in plan.levels:
            if type(level) is Level:
                for block in level.blocks:
                    block.sum_into(grads)
                for send in level.sends:
                    send.run(values, grads)
            else:
                level.backward(values, grads)
        for block in plan.leaf_blocks:
            block.sum_into(grads)
    return grads


def _unwritten(size: int) -> np.ndarray:
    """The places of a backward call, not cleared: every place that is read is written
    first (a block's row 0 by `run_backward`, each term by its step, each gradient by its
    sum or its one term), but for the gradients of nodes eager backward does not visit,
    whose terms go to place 0, never read."""
    return np.empty(size)


# ----------------------------------------------------------------------- the plan


def backward_plan(
    steps: list[Step | Run], slots: int, visit: SlotArray, grad_leaf_slots: list[Slot]
) -> BackwardPlan:
    """The plan for an output whose eager backward visits the nodes `visit` (their
    slots, by visit: the output first) and adds to the grad leaves `grad_leaf_slots`
    in that order. Every edge is looked at a bounded number of times: the work grows
    with the edges. A layer's edges are not listed, but ranked line by line (bundles.py)."""
    visit_of = np.full(slots, -1, dtype=np.intp)
    visit_of[visit] = np.arange(len(visit))
    bundled = _bundled_layers(steps, visit_of, slots)
    in_lines = [b for pair in bundled.values() for b in pair]
    edges = _listed_edges(steps, visit_of, bundled)
    lines = bundles.Lines(in_lines, slots, len(visit))
    line_terms_before = lines.terms_before(edges.receiver, edges.visit)
    edges.rank += line_terms_before  # now among all its receiver's terms
    term_count = _term_counts(edges, in_lines, slots)
    others = bundles.OtherTerms(edges.receiver, line_terms_before, lines)
    layout = store_layout(steps, slots, visit, grad_leaf_slots, term_count)
    levels = _levels(steps, bundled, edges, others, layout, term_count)
    leaf_blocks = [block for block in layout.blocks if block.depth == -1]
    return BackwardPlan(levels, leaf_blocks, np.array(grad_leaf_slots, np.intp), layout.size)


def _levels(
    steps: list[Step | Run],
    bundled: dict[int, list[bundles.Bundle]],
    edges: ListedEdges,
    others: bundles.OtherTerms,
    layout: StoreLayout,
    term_count: np.ndarray,
) -> list[Level | RunBackward]:
    """The steps backward, deepest first: each depth's blocks, summed before its first
    step sends, then what its steps send, in their forward order; a run, node by node."""
    waiting = defaultdict(list)  # each depth's blocks, until its level is made
    for block in layout.blocks:
        waiting[block.depth].append(block)
    listed_places = layout.place(edges.receiver, edges.rank)
    levels: list[Level | RunBackward] = []
    for index in reversed(range(len(steps))):
        step = steps[index]
        if index in bundled:
            sends = [_bundle_send(step, b, others, layout) for b in bundled[index]]
        else:
            places = np.zeros(step.operands.shape if type(step) is Run else step.shape, np.intp)
            mine = edges.of_step(index)
            places.ravel()[edges.at[mine]] = listed_places[mine]
            if type(step) is Run:
                sum_from = layout.sum_from(step.out)
                levels.append(RunBackward(step, places, sum_from, term_count[step.out]))
                continue
            sends = _sends(step, places, layout)
        if not levels or type(levels[-1]) is RunBackward or levels[-1].depth != step.depth:
            levels.append(Level(step.depth, waiting.pop(step.depth, []), []))
        levels[-1].sends[:0] = [send for send in sends if send is not None]  # step order
    return levels


def _term_counts(edges: ListedEdges, in_lines: list[bundles.Bundle], slots: int) -> np.ndarray:
    """For each slot, how many terms its gradient sums: its listed edges, and one from
    each node of the line it is a receiver in."""
    count = np.bincount(edges.receiver, minlength=slots)
    for b in in_lines:
        count[b.receivers] += b.visits.shape[1]
    return count


def _bundled_layers(
    steps: list[Step | Run], visit_of: VisitArray, slots: int
) -> dict[int, list[bundles.Bundle]]:
    """The layers on a batch whose edges are ranked line by line (bundles.py), by step
    index, each as its two parts: those whose every node eager visits, and each of whose
    receivers is in no other line."""
    candidates = []
    for index, step in enumerate(steps):
        if type(step) is Step and step.grid is not None and (visit_of[step.out] >= 0).all():
            candidates += bundles.bundles_of(step.grid, index, visit_of[step.out])
    alone = bundles.alone(candidates, slots)
    by_step: dict[int, list] = defaultdict(list)
    for bundle, ok in zip(candidates, alone):
        by_step[bundle.step].append((bundle, ok))
    return {i: [b for b, _ in pair] for i, pair in by_step.items() if all(ok for _, ok in pair)}


# ------------------------------------------------------------------ the listed edges


@dataclass
class ListedEdges:
    """The edges listed one by one, every edge but a bundled layer's, step by step, as
    the columns of one table: edge e goes to `receiver[e]` from the node eager visits
    `visit[e]`-th, stands at flat index `at[e]` of its step's operands (node * arity +
    operand; in a run, its index in `operands`), and its term has the rank `rank[e]`
    among its receiver's terms."""

    receiver: SlotArray
    visit: VisitArray
    at: np.ndarray
    rank: RankArray
    step_starts: list[int]  # step i's edges: from step_starts[i] to step_starts[i + 1]

    def of_step(self, index: int) -> slice:
        """The edges of step `index`."""
        return slice(self.step_starts[index], self.step_starts[index + 1])


def _listed_edges(
    steps: list[Step | Run], visit_of: VisitArray, bundled: dict[int, list]
) -> ListedEdges:
    """The listed edges, each ranked among its receiver's listed terms."""
    empty = (np.empty(0, np.intp),) * 4
    per_step = [empty if i in bundled else _edges_of(s, visit_of) for i, s in enumerate(steps)]
    receiver, visit, column, at = (np.concatenate(arrays) for arrays in zip(*per_step))
    rank = _ranks_among_listed(receiver, visit, column, len(visit_of), visit_of)
    step_starts = np.concatenate([[0], np.cumsum([len(edges[3]) for edges in per_step])])
    return ListedEdges(receiver, visit, at, rank, step_starts.tolist())


def _edges_of(step: Step | Run, visit_of: VisitArray) -> tuple[np.ndarray, ...]:
    """A step's edges from the nodes eager visits: each one's receiver, visit, column
    (which operand of its node) and flat index `at` (see `ListedEdges`)."""
    if type(step) is Run:
        node_of = np.repeat(np.arange(len(step.rules)), np.diff(step.starts))  # per operand
        at = np.flatnonzero(step.is_parent & (visit_of[step.out][node_of] >= 0))
        node = node_of[at]
        return step.operands[at], visit_of[step.out][node], at - step.starts[node], at
    if step.grid is None:
        operands, parents = step.operands, step.parents
    else:  # a layer whose edges are listed: its operands written out
        operands, parents = step.grid.operands()
    visited = visit_of[step.out] >= 0
    node, column = np.nonzero(parents & visited[:, None])
    at = node * operands.shape[1] + column
    return operands.ravel()[at], visit_of[step.out][node], column, at


def _ranks_among_listed(
    receiver: SlotArray, visit: VisitArray, column: np.ndarray, slots: int, visit_of: VisitArray
) -> RankArray:
    """Each edge's rank among its receiver's listed edges: eager adds a receiver's terms
    by visit, and a node's to one receiver by column. One sort, by (receiver, visit,
    column); an edge's rank is then its distance from its receiver's first edge."""
    by = _eager_order(receiver, visit, column, slots, int(visit_of.max(initial=0)) + 1)
    in_order = receiver[by]
    first = np.ones(len(in_order), dtype=bool)  # the first edge of its receiver
    first[1:] = in_order[1:] != in_order[:-1]
    receiver_start = np.maximum.accumulate(np.where(first, np.arange(len(in_order)), 0))
    rank = np.empty(len(in_order), dtype=np.intp)
    rank[by] = np.arange(len(in_order)) - receiver_start
    return rank


def _eager_order(
    receiver: SlotArray, visit: VisitArray, column: np.ndarray, slots: int, visits: int
) -> np.ndarray:
    """The order that sorts the edges by receiver, then visit, then column: one sort of
    one number per edge where it fits in 63 bits (no two edges share all three)."""
    columns = int(column.max(initial=0)) + 1
    if slots * visits * columns < 2**63:
        return np.argsort((receiver * visits + visit) * columns + column)
    return np.lexsort((column, visit, receiver))


# ----------------------------------------------------------- where the terms wait


@dataclass
class StoreLayout:
    """Where each receiver's terms wait, by slot: receiver r's term of rank k is at
    `place_of(first[r], k, stride[r])` (what that guarantees is stated there)."""

    first: PlaceArray  # per slot: its term of rank 0's place (0: nothing reads its terms)
    stride: np.ndarray  # per slot: places from one of its terms to the next
    block_index: np.ndarray  # per slot: its block in `blocks` (-1: none)
    blocks: list[Block]  # in the order of their places
    size: int  # places in all: the slots' gradients, then the store

    def place(self, receivers: SlotArray, rank: RankArray) -> PlaceArray:
        """The place of each receiver's term of rank `rank`."""
        return place_of(self.first[receivers], rank, self.stride[receivers])

    def is_read(self, receivers: SlotArray) -> np.ndarray:
        """Whether anything reads each receiver's terms (not those of a leaf that gets
        no gradient, as an input's number: they go to the sink)."""
        return self.first[receivers] > 0

    def sum_from(self, nodes: slice) -> PlaceArray:
        """For a run's nodes: where each sums its terms from (0: it takes its one term
        at its own place)."""
        return np.where(self.stride[nodes] > 0, self.first[nodes], 0)

    def block_with_columns(self, receivers: SlotArray) -> Block | None:
        """The block of which the receivers are consecutive columns, if any."""
        index = int(self.block_index[receivers[0]])
        first = self.first[receivers]
        consecutive = (
            index >= 0
            and (self.block_index[receivers] == index).all()
            and (first == first[0] + np.arange(len(receivers))).all()
        )
        return self.blocks[index] if consecutive else None

    def whole_rows(self, block: Block, receivers: SlotArray, rows: np.ndarray) -> WholeRows:
        """Terms written as rows `rows` of the receivers' block."""
        column = int(self.first[receivers[0]]) - block.start - block.width  # row 1 is 1 width in
        return WholeRows(block, as_index(rows), slice(column, column + len(receivers)))

    def writer(self, places: PlaceArray, receivers: SlotArray) -> Scatter | WholeRows:
        """How a layer's part writes its terms, given their places (a row per source, a
        column per receiver): as whole rows where every receiver adds them in one order."""
        block = self.block_with_columns(receivers)
        if block is None:
            return Scatter(places)
        offset = places - self.first[receivers]  # rank * width
        rank = offset[:, 0] // block.width
        if (places == 0).any() or (offset != (rank * block.width)[:, None]).any():
            return Scatter(places)  # the receivers add this part's terms in other orders
        return self.whole_rows(block, receivers, 1 + rank)


def store_layout(
    steps: list[Step | Run],
    slots: int,
    visit: SlotArray,
    grad_leaf_slots: list[Slot],
    term_count: np.ndarray,
) -> StoreLayout:
    """The places of every receiver's terms: a node with one term at its own place, the
    other nodes (but a run's) and the grad leaves in blocks (`_block_members`), after
    the slots; then a run's nodes with several terms, consecutive places each."""
    in_run = _in_runs(steps, slots)
    interior = np.array(visit[1:], dtype=np.intp)  # not the output: its gradient is the seed
    several = term_count[interior] != 1
    in_blocks = interior[several & ~in_run[interior]]
    summed_in_runs = interior[several & in_run[interior]]
    first = np.zeros(slots, dtype=np.intp)
    stride = np.zeros(slots, dtype=np.intp)
    block_index = np.full(slots, -1, dtype=np.intp)
    one_term = interior[~several]
    first[one_term] = one_term
    blocks: list[Block] = []
    start = slots
    groups = _block_members(steps, slots, in_blocks, grad_leaf_slots, term_count)
    for depth, count, members in groups:
        block = Block(depth, as_index(members), start, len(members), count)
        first[members] = start + block.width + np.arange(block.width)  # row 1, column by column
        stride[members] = block.width
        block_index[members] = len(blocks)
        blocks.append(block)
        start = block.places.stop
    ends = start + np.cumsum(term_count[summed_in_runs])
    first[summed_in_runs] = ends - term_count[summed_in_runs]
    stride[summed_in_runs] = 1
    size = int(ends[-1]) if len(ends) else start
    return StoreLayout(first, stride, block_index, blocks, size)


def _in_runs(steps: list[Step | Run], slots: int) -> np.ndarray:
    """For each slot, whether it is a node of a run."""
    in_run = np.zeros(slots, dtype=bool)
    for step in steps:
        if type(step) is Run:
            in_run[step.out] = True
    return in_run


def _block_members(
    steps: list[Step | Run],
    slots: int,
    in_blocks: SlotArray,
    grad_leaf_slots: list[Slot],
    term_count: np.ndarray,
) -> list[tuple[int, int, SlotArray]]:
    """(depth, terms each, receivers) of each block: the receivers that sum in blocks
    (`in_blocks`, nodes in visit order; then the grad leaves, at depth -1) grouped by
    depth and number of terms, the groups in the order their first members come. In a
    group, the receivers of a layer's part come first, consecutive and in the part's
    order (the largest parts first), where the whole part falls in the group; then the
    others, in eager backward's order."""
    leaves = np.array(grad_leaf_slots, dtype=np.intp)
    receivers = np.concatenate([in_blocks, leaves])
    depths = np.concatenate([_depths(steps, slots)[in_blocks], np.full(len(leaves), -1, np.intp)])
    counts = term_count[receivers]
    keys = (depths + 1) * (int(counts.max(initial=0)) + 1) + counts
    group, firsts = _groups_by_first_member(keys)
    group_of = np.full(slots, -1, dtype=np.intp)
    group_of[receivers] = group
    by_group = receivers[np.argsort(group_of[receivers], kind="stable")]
    sizes = np.bincount(group_of[receivers], minlength=len(firsts))
    members = np.split(by_group, np.cumsum(sizes)[:-1]) if len(firsts) else []
    leading, placed = _whole_layer_parts(steps, group_of, slots)
    return [
        (int(depths[f]), int(counts[f]), np.concatenate([*leading[g], m[~placed[m]]]))
        for g, (f, m) in enumerate(zip(firsts.tolist(), members))
    ]


def _depths(steps: list[Step | Run], slots: int) -> np.ndarray:
    """Each slot's depth, for the nodes of steps (0 for the others)."""
    depth = np.zeros(slots, dtype=np.intp)
    for step in steps:
        if type(step) is Step:
            depth[step.out] = step.depth
    return depth


def _groups_by_first_member(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The groups of equal keys, numbered in the order their first members come: each
    item's group, and each group's first item."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    by_first = np.argsort(first)
    number = np.empty(len(first), dtype=np.intp)
    number[by_first] = np.arange(len(first))
    return number[inverse.ravel()], first[by_first]


def _whole_layer_parts(
    steps: list[Step | Run], group_of: np.ndarray, slots: int
) -> tuple[dict[int, list[SlotArray]], np.ndarray]:
    """The layers' parts whose receivers fall whole in one group (each once, none in an
    earlier part), by group, the largest parts first; and which slots they hold."""
    placed = np.zeros(slots, dtype=bool)
    leading: dict[int, list[SlotArray]] = defaultdict(list)
    for part in sorted(_layer_parts(steps), key=len, reverse=True):
        group = group_of[part]
        whole = group[0] >= 0 and (group == group[0]).all() and not placed[part].any()
        if whole and len(np.unique(part)) == len(part):
            placed[part] = True
            leading[int(group[0])].append(part)
    return leading, placed


def _layer_parts(steps: list[Step | Run]) -> list[SlotArray]:
    """The receivers of each part of each layer on a batch: its rows', its inputs'."""
    grids = [step.grid for step in steps if type(step) is Step and step.grid is not None]
    return [part for grid in grids for part in (grid.rows.ravel(), grid.inputs.ravel())]


# ------------------------------------------------------------------ what steps send


def _sends(step: Step, places: PlaceArray, layout: StoreLayout) -> list[Send]:
    """What `step` sends, given each (node, operand) term's place (0: never read)."""
    grid = step.grid
    if grid is None:
        read = np.flatnonzero(places.any(axis=0))  # the operands some term of is read
        if not len(read):
            return []
        columns = read[-1] + 1
        terms = functools.partial(_local_terms, step, columns)
        return [Send(step, "operands", terms, Scatter(places[:, :columns]))]
    sends = []
    for what, part, receivers in (
        ("rows", grid.row_part, grid.rows),
        ("inputs", grid.input_part, grid.inputs),
    ):
        part_places = part(places)
        if part_places.any():
            to = layout.writer(part_places, receivers.ravel())
            sends.append(Send(step, what, _part_terms(grid, what), to))
    return sends


def _bundle_send(
    step: Step, b: bundles.Bundle, others: bundles.OtherTerms, layout: StoreLayout
) -> Send | None:
    """What a layer's part sends, ranked line by line (None if nothing reads it)."""
    if not layout.is_read(b.receivers).any():  # (inputs' numbers get no gradient)
        return None
    slots, position = b.slots.ravel(), bundles.positions(b)
    block = layout.block_with_columns(slots)
    rank = None if block is None else bundles.same_rank_per_node(b, others, position)
    if rank is not None:
        to: Scatter | WholeRows = layout.whole_rows(block, slots, 1 + rank)
    else:
        to = Scatter(bundles.places(b, others, position, layout.place))
    return Send(step, b.what, _part_terms(step.grid, b.what), to)


def _part_terms(grid: LayerGrid, what: str) -> Terms:
    return grid.row_terms if what == "rows" else grid.input_terms


def _local_terms(step: Step, columns: int, values: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Each node's local derivatives times its gradient, for its first `columns`
    operands (the others get nothing eager backward would read)."""
    return step.rule.terms(step.rule.gather(values, step), values[step.out], g, columns)
