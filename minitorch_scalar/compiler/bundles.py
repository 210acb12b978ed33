"""A layer's edges in the backward plan, ranked line by line, never listed one by one.

Where you are: inside backward (backward.py, whose docstring defines the words and the
index spaces used here: slot, visit, rank, place; edge, term, receiver). Read it first.

A layer on a batch of S inputs and R rows of 1 + k operands has S * R * (1 + 2k)
edges: most of a network's. `backward_plan` ranks the edges it lists with one sort of
a few arrays of one number per edge: for a layer's edges, those would be the trace's
largest arrays, several times the size of the graph itself.

A layer's edges have a structure that makes listing them needless. Its rows' part is
R *lines*, row j's bias and weights, each used by the S nodes of row j (one per
input); its inputs' part is S lines, input s, each used by the R nodes of input s.
Each node of a line sends one term to each receiver of the line, so every receiver
of a line gets its terms from the line's nodes in the order eager backward visits
them: one sort of the line's nodes (of S or R numbers) gives the order for all its
receivers. A node's *position* in its line is its place in that order: 0 for the
node eager visits first. A receiver's other terms, from other steps (a weight's L2
penalty), are listed one by one as every other edge, and counted in among the line's.

A part is a `Bundle` where this holds: each of its receivers is in no other line of
any layer (else its edges are listed, as any step's).

Next: replay.py, which runs the forward steps and the backward plan on a new call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .layer_grid import LayerGrid

if TYPE_CHECKING:
    from .backward import PlaceArray, RankArray, SlotArray, VisitArray

CHUNK = 1 << 12  # terms placed per numpy call (bounds the temporary arrays)


@dataclass
class Bundle:
    """One part of a layer on a batch, as L lines of m operands, each line used by n
    nodes: line l's operands are in slots `slots[l]` (`is_parent[l]`: which are
    receivers, not constants), and the nodes that use it are the `visits[l]`-th that
    eager visits. The terms are laid out as the layer makes them
    (`LayerGrid.row_terms`, `input_terms`): node c of line l sends operand i its term
    at [c, l * m + i]."""

    step: int  # the index of the layer's step
    what: str  # "rows" or "inputs"
    slots: SlotArray  # (L, m)
    is_parent: np.ndarray  # (L, m) bools
    visits: VisitArray  # (L, n)

    @property
    def receivers(self) -> SlotArray:
        """The operands that get terms (not constants), line by line."""
        return self.slots[self.is_parent]


def bundles_of(grid: LayerGrid, index: int, visits: VisitArray) -> list[Bundle]:
    """The rows' and the inputs' parts of step `index`, a layer whose node (s, j) eager
    visits `visits[s * R + j]`-th."""
    v = visits.reshape(len(grid.inputs), len(grid.rows))
    return [
        Bundle(index, "rows", grid.rows, grid.row_parents, v.T),
        Bundle(index, "inputs", grid.inputs, grid.input_parents, v),
    ]


def alone(candidates: list[Bundle], slots: int) -> list[bool]:
    """Of each candidate, whether every receiver is in no other line."""
    receivers = [b.receivers for b in candidates]
    lines = np.bincount(np.concatenate([np.empty(0, np.intp), *receivers]), minlength=slots)
    return [bool((lines[r] == 1).all()) for r in receivers]


class Lines:
    """Every bundle's lines, numbered one after another: which line each receiver is
    in (`line_of`, by slot: -1 for none), and each line's visits, sorted."""

    def __init__(self, bundles: list[Bundle], slots: int, visits: int) -> None:
        self.line_of = np.full(slots, -1, dtype=np.intp)
        keys, start, first, offset = [], [], 0, 0
        for b in bundles:
            lines, n = b.visits.shape
            ids = first + np.arange(lines)
            self.line_of[b.receivers] = np.broadcast_to(ids[:, None], b.is_parent.shape)[
                b.is_parent
            ]
            keys.append((ids[:, None] * visits + np.sort(b.visits, axis=1)).ravel())
            start.append(offset + np.arange(lines) * n)
            first, offset = first + lines, offset + lines * n
        self.visits = visits
        self.keys = np.concatenate([np.empty(0, np.intp), *keys])  # sorted: line, then visit
        self.start = np.concatenate([np.empty(0, np.intp), *start])  # of each line in keys
        self.longest = max([b.visits.shape[1] for b in bundles], default=0)  # nodes of a line

    def terms_before(self, receiver: SlotArray, visit: VisitArray) -> np.ndarray:
        """For listed edges, each to `receiver` from the node visited `visit`-th: how
        many terms of the receiver's line eager adds before it (0 if it is in no line)."""
        line = self.line_of[receiver]
        mine = line >= 0
        count = np.zeros(len(receiver), dtype=np.intp)
        ranks = np.searchsorted(self.keys, line[mine] * self.visits + visit[mine])
        count[mine] = ranks - self.start[line[mine]]
        return count


class OtherTerms:
    """The listed edges to the receivers of lines, by receiver: how many of its line's
    terms eager adds before each (one sorted key per edge: receiver, then that count)."""

    def __init__(self, receiver: SlotArray, line_terms_before: np.ndarray, lines: Lines):
        mine = lines.line_of[receiver] >= 0
        self.span = lines.longest + 1
        self.keys = np.sort(receiver[mine] * self.span + line_terms_before[mine])

    def ranks(self, receivers: SlotArray, position: np.ndarray) -> RankArray:
        """The rank, among all its terms, of the term each receiver gets from the node
        at `position` in its line: that position, plus the listed terms eager adds
        before it. receivers (c, m), position (c, n) -> (c, n, m)."""
        base = receivers * self.span
        start = np.searchsorted(self.keys, base)
        query = base[:, None, :] + position[:, :, None]
        return (
            position[:, :, None] + np.searchsorted(self.keys, query, side="right") - start[:, None]
        )


def positions(b: Bundle) -> np.ndarray:
    """(L, n): each node's position in its line (its place in eager's order for it)."""
    by_visit = np.argsort(b.visits, axis=1)
    position = np.empty_like(by_visit)
    np.put_along_axis(position, by_visit, np.arange(b.visits.shape[1])[None, :], axis=1)
    return position


def line_chunks(b: Bundle) -> list[slice]:
    """The lines in chunks of about CHUNK terms."""
    per_line = max(1, b.slots.shape[1] * b.visits.shape[1])
    step = max(1, CHUNK // per_line)
    return [slice(first, first + step) for first in range(0, len(b.slots), step)]


def same_rank_per_node(b: Bundle, others: OtherTerms, position: np.ndarray) -> np.ndarray | None:
    """If each node gives all its line's operands, in every line, terms of one rank
    (and every operand is a receiver): that rank per node, in the terms' row order.
    Else None. (Then the part can write its terms as whole rows of a block.)"""
    if not b.is_parent.all() or not (position == position[:1]).all():
        return None
    first = others.ranks(b.slots[:1], position[:1])[0, :, 0]  # line 0's first receiver's
    for lines in line_chunks(b):
        if not (others.ranks(b.slots[lines], position[lines]) == first[:, None]).all():
            return None
    return first


def places(
    b: Bundle,
    others: OtherTerms,
    position: np.ndarray,
    place: Callable[[SlotArray, RankArray], PlaceArray],
) -> PlaceArray:
    """Each term's place, laid out as the terms (0 for a constant's): `place(receiver,
    rank)` for each, chunk by chunk."""
    lines, m = b.slots.shape
    out = np.empty((b.visits.shape[1], lines * m), dtype=np.intp)
    for chunk in line_chunks(b):
        slots = b.slots[chunk]
        rank = others.ranks(slots, position[chunk])
        at = place(np.broadcast_to(slots[:, None, :], rank.shape), rank)
        at[~np.broadcast_to(b.is_parent[chunk][:, None, :], rank.shape)] = 0
        out[:, chunk.start * m : chunk.start * m + at.shape[0] * m] = at.transpose(1, 0, 2).reshape(
            at.shape[1], -1
        )
    return out
