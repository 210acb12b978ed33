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

from .rules import Dot, sum_rows
from .tape import TapeNode


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

    def contributions(self, values: np.ndarray, grads: np.ndarray) -> np.ndarray:
        """Each node's local derivatives (1, x..., w...) times its gradient, as
        `Dot.local_grads` times the gradient."""
        w, x = values.take(self.rows), values.take(self.inputs)
        s, r, k = len(x), len(w), x.shape[1]
        g = grads.reshape(s, r, 1)
        out = np.empty((s, r, 1 + 2 * k))
        out[:, :, :1] = g
        np.multiply(x[:, None, :], g, out=out[:, :, 1 : k + 1])
        np.multiply(w[None, :, 1:], g, out=out[:, :, k + 1 :])
        return out.reshape(s * r, -1)


def as_grid(nodes: list[TapeNode]) -> tuple[list[TapeNode], LayerGrid] | None:
    """The nodes in grid order and their grid, if they are a layer on a batch."""
    if not isinstance(nodes[0].rule, Dot):
        return None
    k = (len(nodes[0].operands) - 1) // 2
    rows: dict[tuple, int] = {}
    inputs: dict[tuple, int] = {}
    place = {}
    for node in nodes:
        row = rows.setdefault(tuple(node.operands[: k + 1]), len(rows))
        x = inputs.setdefault(tuple(node.operands[k + 1 :]), len(inputs))
        place[id(node)] = (x, row)
    if len(rows) * len(inputs) != len(nodes) or len(set(place.values())) != len(nodes):
        return None
    ordered = sorted(nodes, key=lambda node: place[id(node)])
    grid = LayerGrid(
        np.array(list(rows), dtype=np.intp).reshape(len(rows), k + 1),
        np.array(list(inputs), dtype=np.intp).reshape(len(inputs), k),
    )
    return ordered, grid
