"""A layer's edges in the backward plan, found line by line, never listed one by one.

A layer on a batch of S inputs and R rows of 1 + k operands has S * R * (1 + 2k)
edges: most of a network's. `backward_plan` finds each edge's place from one sort of
all the edges it lists, a few arrays of one number per edge: for a layer's edges those
would be the trace's largest arrays, several times the size of the graph itself.

A layer's edges have a structure that makes listing them needless. Its rows' part is
R *lines*, row j's bias and weights, each used by the S nodes of row j (one per
input); its inputs' part is S lines, input s, each used by the R nodes of input s.
Each node of a line sends one term to each receiver of the line, so every receiver
of a line gets its terms from the line's nodes in the order eager backward visits
them: one sort of the line's nodes (of S or R numbers) gives the order for all its
receivers. A receiver's other terms, from other steps (a weight's L2 penalty), are
listed one by one as every other edge, and each is counted in among the line's.

A part is a `Bundle` where this holds: each of its receivers is a parent in no other
line of any layer (else its edges are listed, as any step's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .layer_grid import LayerGrid

CHUNK = 1 << 12  # terms placed per numpy call (bounds the temporary arrays)


@dataclass
class Bundle:
    """One part of a layer on a batch: line l has the receivers `receivers[l]` (the
    parents among them: `flags[l]`) and is used by n nodes, whose eager visits are
    `visits[l]`. The terms are laid out as the layer makes them (`LayerGrid.row_terms`,
    `input_terms`): node c of line l sends receiver i its term at [c, l * m + i]."""

    step: int  # the index of the layer's step
    what: str  # "rows" or "inputs"
    receivers: np.ndarray  # (L, m) slots
    flags: np.ndarray  # (L, m) bools
    visits: np.ndarray  # (L, n) each node's place in eager backward's visiting order

    @property
    def parents(self) -> np.ndarray:
        """The receivers that get terms (not constants)."""
        return self.receivers[self.flags]


def bundles_of(grid: LayerGrid, index: int, visits: np.ndarray) -> list[Bundle]:
    """The rows' and the inputs' parts of step `index`, a layer whose node (s, j) eager
    visits `visits[s * R + j]`-th."""
    v = visits.reshape(len(grid.inputs), len(grid.rows))
    return [
        Bundle(index, "rows", grid.rows, grid.row_parents, v.T),
        Bundle(index, "inputs", grid.inputs, grid.input_parents, v),
    ]


def alone(candidates: list[Bundle], slots: int) -> list[bool]:
    """Of each candidate, whether every receiver is a parent in no other line."""
    parents = [b.parents for b in candidates]
    lines = np.bincount(np.concatenate([np.empty(0, np.intp), *parents]), minlength=slots)
    return [bool((lines[p] == 1).all()) for p in parents]


class Lines:
    """Every bundle's lines, numbered one after another: which line each receiver is
    in, and each line's visits, sorted."""

    def __init__(self, bundles: list[Bundle], slots: int, visits: int) -> None:
        self.line_of = np.full(slots, -1, dtype=np.intp)
        keys, start, first, offset = [], [], 0, 0
        for b in bundles:
            lines, n = b.visits.shape
            ids = first + np.arange(lines)
            self.line_of[b.parents] = np.broadcast_to(ids[:, None], b.flags.shape)[b.flags]
            keys.append((ids[:, None] * visits + np.sort(b.visits, axis=1)).ravel())
            start.append(offset + np.arange(lines) * n)
            first, offset = first + lines, offset + lines * n
        self.visits = visits
        self.keys = np.concatenate([np.empty(0, np.intp), *keys])  # sorted: line, then visit
        self.start = np.concatenate([np.empty(0, np.intp), *start])  # of each line in keys

    def before(self, parent: np.ndarray, visit: np.ndarray) -> np.ndarray:
        """For listed edges, each to `parent` from a node visited `visit`-th: how many
        terms of the parent's line eager adds before it (0 for a parent in no line)."""
        line = self.line_of[parent]
        mine = line >= 0
        count = np.zeros(len(parent), dtype=np.intp)
        ranks = np.searchsorted(self.keys, line[mine] * self.visits + visit[mine])
        count[mine] = ranks - self.start[line[mine]]
        return count


class Others:
    """The listed edges to a bundle's receivers, by receiver: before how many of the
    line's terms eager adds each (a sorted key per edge: receiver, then that count)."""

    def __init__(self, parent: np.ndarray, before: np.ndarray, lines: Lines, longest: int):
        mine = lines.line_of[parent] >= 0
        self.span = longest + 1
        self.keys = np.sort(parent[mine] * self.span + before[mine])

    def ranks(self, receivers: np.ndarray, position: np.ndarray) -> np.ndarray:
        """The rank, among all its terms, of the term each receiver gets from the node
        at `position` in its line's order: that position, plus the listed terms eager
        adds before it. receivers (c, m), position (c, n) -> (c, n, m)."""
        base = receivers * self.span
        start = np.searchsorted(self.keys, base)
        query = base[:, None, :] + position[:, :, None]
        return (
            position[:, :, None] + np.searchsorted(self.keys, query, side="right") - start[:, None]
        )


def positions(b: Bundle) -> np.ndarray:
    """(L, n): the place of each node of a line in eager backward's order for it."""
    by_visit = np.argsort(b.visits, axis=1)
    position = np.empty_like(by_visit)
    np.put_along_axis(position, by_visit, np.arange(b.visits.shape[1])[None, :], axis=1)
    return position


def line_chunks(b: Bundle) -> list[slice]:
    """The lines in chunks of about CHUNK terms."""
    per_line = max(1, b.receivers.shape[1] * b.visits.shape[1])
    step = max(1, CHUNK // per_line)
    return [slice(first, first + step) for first in range(0, len(b.receivers), step)]


def same_rank_per_node(b: Bundle, others: Others, position: np.ndarray) -> np.ndarray | None:
    """If each node gives all its line's receivers, in every line, terms of one rank
    (and every receiver is a parent): that rank per node, in the terms' row order.
    Else None. (Then the part can write its terms as whole rows of a block.)"""
    if not b.flags.all() or not (position == position[:1]).all():
        return None
    first = others.ranks(b.receivers[:1], position[:1])[0, :, 0]  # line 0's first receiver's
    for lines in line_chunks(b):
        if not (others.ranks(b.receivers[lines], position[lines]) == first[:, None]).all():
            return None
    return first


def places(b: Bundle, others: Others, position: np.ndarray, place: Callable) -> np.ndarray:
    """Each term's place, laid out as the terms (0 for a constant's): `place(receiver,
    rank)` for each, chunk by chunk."""
    lines, m = b.receivers.shape
    out = np.empty((b.visits.shape[1], lines * m), dtype=np.intp)
    for chunk in line_chunks(b):
        receivers = b.receivers[chunk]
        rank = others.ranks(receivers, position[chunk])
        at = place(np.broadcast_to(receivers[:, None, :], rank.shape), rank)
        at[~np.broadcast_to(b.flags[chunk][:, None, :], rank.shape)] = 0
        out[:, chunk.start * m : chunk.start * m + at.shape[0] * m] = at.transpose(1, 0, 2).reshape(
            at.shape[1], -1
        )
    return out
