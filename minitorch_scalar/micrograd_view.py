"""micrograd's view of a node, read-only: ``_prev``, ``_op`` and ``_backward()``.

micrograd's tutorials and graph helpers read these three names; `Value` inherits them
from `MicrogradView`, so they run unchanged. They are views of the engine's own
records (``_parents``, ``_local_grads``, ``op``): nothing here is stored, and no
closure is kept (the local derivatives are data, computed in the forward pass).
"""

from __future__ import annotations

from typing import Any


class MicrogradView:
    """micrograd's names for a node's parents, op and step of backprop (no slots of its own)."""

    __slots__ = ()
    _parents: tuple[Any, ...]  # a Value's slots: its parents, d(node)/d(parent) each, op
    _local_grads: tuple[float, ...]
    op: str
    grad: float

    @property
    def _prev(self) -> set[Any]:
        """micrograd's name for the parents: a set (the order is in `parents`)."""
        return set(self._parents)

    @property
    def _op(self) -> str:
        """micrograd's name for `op`."""
        return self.op

    def _backward(self) -> None:
        """micrograd's step of backprop: push this node's gradient to its parents.

        One application of formula 6 along each edge: parent.grad += local * self.grad.
        """
        for parent, local in zip(self._parents, self._local_grads):
            parent.grad += local * self.grad
