"""A fast path for the commonest group of nodes: a layer's dot products on a batch.

A dot step whose nodes are every pair (input s, row j) of S inputs and R rows of
weights is a layer on a batch: node (s, j) is b_j + w_j1 x_s1 + ... + w_jk x_sk. Its
operands are then R rows and S inputs, not R*S copies of them, so the step reads those
and broadcasts: the same products, summed in the same order as `rules.Dot` sums them
(bias first, then left to right), so the same bits, with far less copying.

Next: backward.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rules import Dot, VectorisedRule, sum_rows

SHORT_ROW = 4  # rows of fewer weights than this make their terms weight by weight
ALL_TERMS = 1 << 19  # a layer's forward makes up to this many terms at once,
CACHED_TERMS = 1 << 17  # a larger layer's about this many at a time (at least 5 rows)


def terms_at_once(rows: int, nodes: int) -> int:
    """How many rows of terms (the running sum, then the next terms) a layer of `nodes`
    dot products, `rows` rows of terms each (the bias, then one per weight), makes at
    once: all of them when they are at most ALL_TERMS numbers, else about CACHED_TERMS."""
    if rows * nodes <= ALL_TERMS:
        return rows
    return max(5, CACHED_TERMS // nodes)


@dataclass
class LayerGrid:
    """The operands of a dot step laid out as a grid: node i is (input i // R, row i % R).
    Its (S * R, 1 + 2k) operands are never written out but by `operands`."""

    rows: np.ndarray  # (R, 1 + k) slots: each row's bias, then its weights
    inputs: np.ndarray  # (S, k) slots
    row_parents: np.ndarray  # (R, 1 + k) bools: which are parents (a bias may be a number)
    input_parents: np.ndarray  # (S, k) bools

    @property
    def shape(self) -> tuple[int, int]:
        """(nodes, operands of each): what the step's operand array would be."""
        return len(self.inputs) * len(self.rows), self.rows.shape[1] + self.inputs.shape[1]

    def operands(self) -> tuple[np.ndarray, np.ndarray]:
        """Every node's operands' slots and parent flags, a row per node, written out."""
        s, r = len(self.inputs), len(self.rows)
        operands = np.hstack([np.tile(self.rows, (s, 1)), np.repeat(self.inputs, r, axis=0)])
        parents = np.hstack(
            [np.tile(self.row_parents, (s, 1)), np.repeat(self.input_parents, r, axis=0)]
        )
        return operands, parents

    def renumbered(self, new: np.ndarray) -> LayerGrid:
        """The grid with each slot `old` moved to `new[old]`."""
        return LayerGrid(new[self.rows], new[self.inputs], self.row_parents, self.input_parents)

    def values(self, values: np.ndarray) -> np.ndarray:
        """Each node's b + w . x, bias first and then left to right, as `Dot.values`.

        The terms are laid out (term, row, input): the longest axis, the batch, last,
        where numpy's loops run; the sums come out (row, input), read input-major. A
        large layer's terms are made and added a few rows at a time (`terms_at_once`),
        the running sum as the first row of each few: the same additions in the same
        order, on fewer numbers at once (which stay in the caches)."""
        w, x = values.take(self.rows.T), values.take(self.inputs.T)  # (1 + k, R), (k, S)
        r, s = w.shape[1], x.shape[1]
        count = terms_at_once(len(w), r * s)
        terms = np.empty((min(count, len(w)), r, s))  # b (then the sum so far), w_k x_k, ...
        terms[0] = w[0][:, None]
        if count >= len(w):  # all at once
            np.multiply(w[1:, :, None], x[:, None, :], out=terms[1:])
            return sum_rows(terms.reshape(len(w), -1)).reshape(r, s).T.ravel()
        sums = np.empty(r * s)
        for first in range(1, len(w), count - 1):
            last = min(first + count - 1, len(w))
            few = terms[: last - first + 1]
            if first > 1:
                few[0] = sums.reshape(r, s)
            np.multiply(w[first:last, :, None], x[first - 1 : last - 1, None, :], out=few[1:])
            sums[:] = sum_rows(few.reshape(len(few), -1))
        return sums.reshape(r, s).T.ravel()

    # Backward: what each node (s, j) sends its operands is g_sj times its local
    # derivatives (1, x_s..., w_j...), as `Dot.local_grads`. They are made in two
    # parts, each laid out a row per source and a column per receiver, so that where
    # every receiver adds them in one order, the part can be written as one block.

    def row_terms(self, values: np.ndarray, grads: np.ndarray, out: np.ndarray | None = None):
        """What the rows get, (S, R * (1 + k)): at [s, (j, i)] the local derivative
        (1, x_s1, ..., x_sk)[i] times g_sj: the bias's, then each weight's. Into `out`
        (a view of that shape) if given, else a new array."""
        x = values.take(self.inputs)
        s, r, k = len(x), len(self.rows), x.shape[1]
        terms = np.empty((s, r * (1 + k))) if out is None else out
        by_operand = terms.reshape(s, r, 1 + k)
        g = grads.reshape(s, r)
        if k < SHORT_ROW:  # numpy loops over the last axis: operand by operand is faster
            by_operand[:, :, 0] = g  # (1 times g is g, to the bit)
            for i in range(k):
                np.multiply(x[:, i : i + 1], g, out=by_operand[:, :, 1 + i])
            return terms
        local = np.empty((s, 1, 1 + k))
        local[:, 0, 0] = 1.0
        local[:, 0, 1:] = x
        np.multiply(local, g[:, :, None], out=by_operand)
        return terms

    def input_terms(self, values: np.ndarray, grads: np.ndarray, out: np.ndarray | None = None):
        """What the inputs get, (R, S * k): at [j, (s, i)] w_ji g_sj. Into `out` (a view
        of that shape) if given, else a new array."""
        w = values.take(self.rows)[:, 1:]
        s, r, k = len(self.inputs), len(w), w.shape[1]
        terms = np.empty((r, s * k)) if out is None else out
        g = grads.reshape(s, r).T[:, :, None]
        np.multiply(g, w[:, None, :], out=terms.reshape(r, s, k))
        return terms

    def row_part(self, columns: np.ndarray) -> np.ndarray:
        """A (nodes, operands) array's entries for the rows, laid out as `row_terms`."""
        k = self.inputs.shape[1]
        return columns[:, : k + 1].reshape(len(self.inputs), -1)

    def input_part(self, columns: np.ndarray) -> np.ndarray:
        """A (nodes, operands) array's entries for the inputs, laid out as `input_terms`."""
        s, r, k = len(self.inputs), len(self.rows), self.inputs.shape[1]
        return columns[:, k + 1 :].reshape(s, r, k).transpose(1, 0, 2).reshape(r, s * k)


def as_grid(
    rule: VectorisedRule, operands: np.ndarray, parents: np.ndarray
) -> tuple[np.ndarray, LayerGrid] | None:
    """If a step of `rule` on `operands` (nodes x slots; `parents`: which are parents)
    is a layer on a batch: the order that puts its nodes in grid order, and the grid.
    Else None."""
    if not isinstance(rule, Dot) or len(operands) < 2:
        return None
    k = (operands.shape[1] - 1) // 2
    rows, row_of = _distinct_rows(operands[:, : k + 1])
    inputs, input_of = _distinct_rows(operands[:, k + 1 :])
    if len(rows) * len(inputs) != len(operands):
        return None
    order = np.lexsort((row_of, input_of))  # input-major, as the grid lays them out
    cell = input_of[order] * len(rows) + row_of[order]
    if not np.array_equal(cell, np.arange(len(operands))):  # every pair exactly once
        return None
    flags = parents[order]  # (a slot is a parent or not wherever it stands)
    return order, LayerGrid(rows, inputs, flags[: len(rows), : k + 1], flags[:: len(rows), k + 1 :])


def _distinct_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `a`, in the order they first occur, and the index of each
    row of `a` among them. (Rows are compared as whole byte strings: one sort.)"""
    a = np.ascontiguousarray(a)
    keys = a.view(np.dtype((np.void, a.itemsize * a.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    by_occurrence = np.argsort(first)
    rank = np.empty_like(by_occurrence)
    rank[by_occurrence] = np.arange(len(first))
    return a[first[by_occurrence]], rank[inverse.ravel()]
