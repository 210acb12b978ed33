"""The outputs of a replay: Values that are nodes of the engine's graph, like eager's.

A compiled function's output is one node of the graph whose parents are the leaves its
value depends on (the parameters and the Value arguments the function read), with
d(output)/d(leaf) as the local derivative of each: as if the whole function were one op.
So it composes: ``(step(X1) + step(X2)) * 0.5 + penalty`` backpropagates through
it as through any node (formula 6), and micrograd's view (`_prev`, `_backward()`) is
consistent with that. The local derivatives are computed only when something asks for
them (the engine's backward, `_backward()`, `local_grads`), by one run of the compiled
backward with a seed of 1.0.

``out.backward()`` on the output itself runs the compiled backward once with the seed,
handing each leaf eager backward's gradient to the bit. Through a larger expression,
each leaf gets the chain rule's terms through this node: local * grad(output), which
equals eager's to rounding (about 1e-16 relative per term; eager multiplies the seed in
at each node of the function, this node at its end, and adds the terms of the
function and of the rest in another order).

A function that returns several Values (a model's outputs on a batch) gives outputs
whose value is exact but that cannot be backpropagated through: any backward that
reaches one raises, before any gradient changes.

Next: arguments.py (a call's signature), then guards.py (what retraces).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Value
from ..grad_mode import refuse_while_tracing
from ..real import SEED_ONE, backward_seed


class Replayed:
    """One replay: its slots' numbers, and what backward through its output needs."""

    __slots__ = ("_grads", "backward_by", "check", "exact", "parents", "values")

    def __init__(
        self, values: np.ndarray, parents: tuple, backward_by: Callable | None, exact: bool
    ) -> None:
        self.values = values
        self.parents = parents  # the leaves, in the order of the compiled backward's
        self.backward_by = backward_by  # (values, leaves, seed) -> gradients; None: a leaf out
        self.exact = exact  # the compiled backward alone gives eager's bits
        self.check: tuple | None = None  # with check=True: (eager output, leaves to
        # compare, how they must agree: `same`, or the fast mode's `close`)
        self._grads: tuple | None = None

    def local_grads(self) -> tuple[float, ...]:
        """d(output)/d(leaf) for each parent, computed once."""
        if self._grads is None:
            if self.backward_by is None:
                self._grads = (1.0,) * len(self.parents)  # the output is the leaf itself
            else:
                self._grads = tuple(self.backward_by(self.values, 1.0).tolist())
        return self._grads


class CompiledValue(Value):
    """An output of a compiled function: a node whose parents are the leaves it depends
    on (see the module). `_replayed` is None under `no_grad()` (no graph, as eagerly)."""

    __slots__ = ("_replayed", "_several")

    @property
    def _parents(self) -> tuple:  # type: ignore[override]
        replayed = self._replayed
        if replayed is None:
            return ()
        if self._several:
            raise ValueError(
                "backward: this compiled output is one of several the function returned; "
                "backward works through a compiled function that returns one Value "
                "(compile a function that returns the loss)"
            )
        return replayed.parents

    @property
    def _local_grads(self) -> tuple:  # type: ignore[override]
        replayed = self._replayed
        return () if replayed is None or self._several else replayed.local_grads()

    def backward(self, grad: Any = SEED_ONE, *, gradient: Any = None) -> None:
        """As `Value.backward` (`grad`, or PyTorch's `gradient`): every leaf gets
        d(self)/d(leaf) * grad added."""
        refuse_while_tracing("backward()")
        seed = backward_seed(grad, gradient)
        replayed = self._replayed
        if replayed is None:
            raise ValueError(
                "backward: this compiled output has no graph: it was computed under no_grad()"
            )
        if not replayed.parents and not self._several:  # a leaf, or what no leaf is under
            self.grad = seed if self.grad is None else self.grad + seed
        elif replayed.check is not None:
            _checked(self, replayed, seed)
        else:
            _backward(self, replayed, seed)


def _backward(out: CompiledValue, replayed: Replayed, seed: float) -> None:
    if not replayed.exact or out._several:
        Value.backward(out, seed)  # the engine's walk, through this node and beyond
        return
    grads = replayed.backward_by(replayed.values, seed).tolist()
    parents = replayed.parents
    before = [leaf.grad for leaf in parents]
    if before.count(None) != len(before):  # (after zero_grad, every one is None)
        grads = [g if b is None else g + b for g, b in zip(grads, before)]
    for leaf, grad in zip(parents, grads):
        leaf.grad = grad
    out.grad = seed


def make_output(data: float, replayed: Replayed | None, several: bool) -> CompiledValue:
    out = Value.__new__(CompiledValue)
    out.data, out.grad, out.label, out.op = data, 0.0, "", "compiled"
    out._replayed, out._several = replayed, several
    return out


def make_outputs(data: list[float], replayed: Replayed | None, several: bool) -> list:
    """`make_output` of each number: one loop, for a function that returns many Values
    (a model's outputs on a batch)."""
    new, made = Value.__new__, []
    for number in data:
        out = new(CompiledValue)
        out.data, out.grad, out.label, out.op = number, 0.0, "", "compiled"
        out._replayed, out._several = replayed, several
        made.append(out)
    return made


class CompileCheckError(AssertionError):
    """Raised with ``check=True`` when a replay differs from the eager engine."""


def _checked(out: CompiledValue, replayed: Replayed, seed: float) -> None:
    """The backward of an output made with check=True, compared leaf by leaf with eager
    backward's gradients (the leaves end with the replay's)."""
    eager_root, leaves, agree = replayed.check
    held = [leaf.grad for leaf in leaves]
    eager_root.backward(seed)
    expected = [leaf.grad for leaf in leaves]
    for leaf, before in zip(leaves, held):
        leaf.grad = before
    _backward(out, replayed, seed)
    for index, (leaf, want) in enumerate(zip(leaves, expected)):
        if not agree(leaf.grad, want):
            name = f" ({leaf.label})" if leaf.label else ""
            raise CompileCheckError(
                f"compile(check=True): the gradient of leaf {index}{name} is {leaf.grad!r} "
                f"replayed but {want!r} eagerly"
            )


def same(a: float | None, b: float | None) -> bool:
    """The same float to the bit (any nan the same), or both None."""
    return a is b if a is None or b is None else bits(a) == bits(b)


def bits(x: float) -> bytes | str:
    """A float's bits (nan as one text, whatever its sign and payload)."""
    return "nan" if math.isnan(x) else struct.pack("<d", x)
