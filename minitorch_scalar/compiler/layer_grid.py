"""A fast path for the commonest group of nodes: a layer's dot products on a batch.

A dot step whose nodes are every pair (input s, row j) of S inputs and R rows of
weights is a layer on a batch: node (s, j) is b_j + w_j1 x_s1 + ... + w_jk x_sk. Its
operands are then R rows and S inputs, not R*S copies of them, so the step reads those
and broadcasts: the same products, summed in the same order as `rules.Dot` sums them
(bias first, then left to right), so the same bits, with far less copying.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rules import Dot, Rule, sum_rows


@dataclass
class LayerGrid:
    """The operands of a dot step laid out as a grid: node i is (input i // R, row i % R)."""

    rows: np.ndarray  # (R, 1 + k) slots: each row's bias, then its weights
    inputs: np.ndarray  # (S, k) slots

    def values(self, values: np.ndarray) -> np.ndarray:
        """Each node's b + w . x, bias first and then left to right, as `Dot.values`."""
        w, x = values.take(self.rows), values.take(self.inputs)
        terms = np.empty((w.shape[1], len(x), len(w)))  # a row per term: b, then w_k x_k
        terms[0] = w[:, 0]
        np.multiply(x.T[:, :, None], w[:, 1:].T[:, None, :], out=terms[1:])
        return sum_rows(terms.reshape(w.shape[1], -1))

    def contributions(self, values: np.ndarray, grads: np.ndarray, columns: int) -> np.ndarray:
        """Each node's local derivatives (1, x..., w...) times its gradient, as
        `Dot.local_grads` times the gradient, for its first `columns` operands (all
        of them, or only the bias and weights when the inputs get nothing)."""
        w, x = values.take(self.rows), values.take(self.inputs)
        s, r, k = len(x), len(w), x.shape[1]
        g = grads.reshape(s, r, 1)
        out = np.empty((s, r, columns))
        out[:, :, :1] = g
        np.multiply(x[:, None, : columns - 1], g, out=out[:, :, 1 : min(columns, k + 1)])
        if columns > k + 1:
            np.multiply(w[None, :, 1 : columns - k], g, out=out[:, :, k + 1 :])
        return out.reshape(s * r, columns)


def as_grid(rule: Rule, operands: np.ndarray) -> tuple[np.ndarray, LayerGrid] | None:
    """If a step of `rule` on `operands` (nodes x slots) is a layer on a batch: the
    order that puts its nodes in grid order, and the grid. Else None."""
    if not isinstance(rule, Dot) or len(operands) < 2:
        return None
    k = (operands.shape[1] - 1) // 2
    rows, row_of = np.unique(operands[:, : k + 1], axis=0, return_inverse=True)
    inputs, input_of = np.unique(operands[:, k + 1 :], axis=0, return_inverse=True)
    row_of, input_of = row_of.ravel(), input_of.ravel()
    if len(rows) * len(inputs) != len(operands):
        return None
    order = np.lexsort((row_of, input_of))  # input-major, as the grid lays them out
    cell = input_of[order] * len(rows) + row_of[order]
    if not np.array_equal(cell, np.arange(len(operands))):  # every pair exactly once
        return None
    return order, LayerGrid(rows, inputs)
