"""The autograd engine: `Value` and the chain rule in `backward()`.

Every node remembers two things besides its value: its parents, and the local derivative
of its value with respect to each parent, computed once in the forward pass. Backward is
then one loop, the same for every op: walk the nodes so that each comes after every node
that uses it, and along each edge apply formula 6,

    grad(parent) <- grad(parent) + (d node / d parent) * grad(node)

summing over every node that uses the parent (formula 7).

A node keeps its parents in one tuple and the local derivatives, in the same order,
in another. Derivatives that are the same for every node of an op (1 and 1 for ``+``)
are one shared tuple. Python numbers in an expression are constants: they are folded
into the local derivatives and never become nodes.

The rest of the library builds on three functions of this module besides `Value`:
`make_node`, the one constructor of an op's result (the fused ops, `custom_op` and
`linear` make their nodes with it); `backpropagate`, the loop of `backward`, which
`explain_backward` watches; and `graph_parents_first`, the walk of a graph that both
`backward` and the compiler use.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .float_math import (
    d_power_d_base,
    d_power_d_exponent,
    float_divide,
    float_exp,
    float_log,
    float_power,
    float_sigmoid,
)
from .grad_mode import mode, open_blocks, refuse_while_tracing
from .real import as_float, is_real_number

Number = int | float


class _SeedOne(float):
    """The default seed of `Value.backward`, 1.0, told apart from a 1.0 passed in."""

    def __repr__(self) -> str:
        return "1.0"


SEED_ONE = _SeedOne(1.0)


class Value:
    """A scalar with a gradient, and the node of the graph that produced it.

    Attributes:
        data: the value, a Python float.
        grad: d(root)/d(self) after ``root.backward()``; 0.0 at creation. Leaves
            accumulate across calls (PyTorch's rule); interior nodes hold the gradient
            of the latest call only. A leaf's grad may be None, PyTorch's "no gradient"
            (an optimizer's ``zero_grad()`` leaves it so): backward then sets it
            afresh, and an optimizer's step skips that parameter.
        label: a free name for printing and drawing graphs.
        op: the op that made this node (``"+"``, ``"tanh"``, ...), ``""`` for a leaf
            made by ``Value(...)``. An op's result made under `no_grad()` keeps its op
            but has no parents.

    micrograd's view of a node is here too, read-only: ``_prev`` (the set of parents),
    ``_op`` and ``_backward()``, so micrograd's graph helpers and step-by-step
    backprop run unchanged.
    """

    __slots__ = ("_local_grads", "_parents", "data", "grad", "label", "op")
    __array_ufunc__ = None  # numpy defers to our reflected ops: np.float64(2) * v is a Value

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"Value(label) expects a str, got {type(label).__name__}: {label!r}")
        # The same slots as `make_node` sets for an op's result: keep the two in step.
        self.data = as_float(data, "Value(data)")
        self.grad = 0.0
        self.label = label
        self.op = ""
        self._parents: tuple[Value, ...] = ()
        self._local_grads: tuple[float, ...] = ()

    # ----------------------------------------------------------------- inspection

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this node was computed from, in the op's argument order."""
        return self._parents

    @property
    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(parent) for each parent, as computed in the forward pass."""
        return self._local_grads

    def item(self) -> float:
        """The value as a Python float, as ``torch.Tensor.item()``."""
        return self.data

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("op", self.op), ("label", self.label)) if v)
        return f"Value(data={self.data!r}, grad={self.grad!r}{extra})"

    def detach(self) -> Value:
        """A new leaf with the same data, cut off from this node's graph."""
        return Value(self.data)

    # --------------------------------------------------- micrograd's view, read-only

    @property
    def _prev(self) -> set[Value]:
        """micrograd's name for the parents: a set (the order is in `parents`)."""
        return set(self._parents)

    @property
    def _op(self) -> str:
        """micrograd's name for `op`."""
        return self.op

    def _backward(self) -> None:
        """micrograd's step of backprop: push this node's gradient to its parents.

        One application of formula 6 along each edge: parent.grad += local * self.grad.
        No closure is stored: the local derivatives are data, computed in the forward pass.
        """
        for parent, local in zip(self._parents, self._local_grads):
            parent.grad += local * self.grad

    # --------------------------------------------------------------- binary ops

    def __add__(self, other: Value | Number) -> Value:
        """a + b;  d/da = 1, d/db = 1."""
        if isinstance(other, Value):
            return make_node(self.data + other.data, "+", (self, other), _DERIVATIVES_1_1)
        c = _constant(other, "+")
        if c is None:
            return NotImplemented
        return make_node(self.data + c, "+", (self,), _DERIVATIVE_1, (self, c))

    def __radd__(self, other: Number) -> Value:
        """c + a;  d/da = 1."""
        c = _constant(other, "+")
        if c is None:
            return NotImplemented
        return make_node(c + self.data, "+", (self,), _DERIVATIVE_1, (c, self))

    def __sub__(self, other: Value | Number) -> Value:
        """a - b;  d/da = 1, d/db = -1."""
        if isinstance(other, Value):
            return make_node(self.data - other.data, "-", (self, other), _DERIVATIVES_1_MINUS_1)
        c = _constant(other, "-")
        if c is None:
            return NotImplemented
        return make_node(self.data - c, "-", (self,), _DERIVATIVE_1, (self, c))

    def __rsub__(self, other: Number) -> Value:
        """c - a;  d/da = -1."""
        c = _constant(other, "-")
        if c is None:
            return NotImplemented
        return make_node(c - self.data, "-", (self,), _DERIVATIVE_MINUS_1, (c, self))

    def __mul__(self, other: Value | Number) -> Value:
        """a * b;  d/da = b, d/db = a."""
        if isinstance(other, Value):
            return make_node(self.data * other.data, "*", (self, other), (other.data, self.data))
        c = _constant(other, "*")
        if c is None:
            return NotImplemented
        return make_node(self.data * c, "*", (self,), (c,), (self, c))

    def __rmul__(self, other: Number) -> Value:
        """c * a;  d/da = c."""
        c = _constant(other, "*")
        if c is None:
            return NotImplemented
        return make_node(c * self.data, "*", (self,), (c,), (c, self))

    def __truediv__(self, other: Value | Number) -> Value:
        """a / b;  d/da = 1/b, d/db = -a/b^2, computed as -(a/b)/b (no b^2 to underflow)."""
        if isinstance(other, Value):
            out = float_divide(self.data, other.data)
            grads = (1.0 / other.data, -out / other.data)
            return make_node(out, "/", (self, other), grads)
        c = _constant(other, "/")
        if c is None:
            return NotImplemented
        return make_node(float_divide(self.data, c), "/", (self,), (1.0 / c,), (self, c))

    def __rtruediv__(self, other: Number) -> Value:
        """c / a;  d/da = -c/a^2, computed as -(c/a)/a."""
        c = _constant(other, "/")
        if c is None:
            return NotImplemented
        out = float_divide(c, self.data)
        return make_node(out, "/", (self,), (-out / self.data,), (c, self))

    def __pow__(self, other: Value | Number) -> Value:
        """a ** b;  d/da = b * a^(b-1), d/db = a^b * ln(a).

        As PyTorch: d/da is 0 when b == 0, d/db is 0 when a == 0 and b >= 0, d/db is
        nan for a negative base (ln is undefined there), and what overflows is +-inf.
        """
        if isinstance(other, Value):
            a, b = self.data, other.data
            out = float_power(a, b)
            grads = (d_power_d_base(a, b), d_power_d_exponent(a, b, out))
            return make_node(out, "**", (self, other), grads)
        b = _constant(other, "**")
        if b is None:
            return NotImplemented
        a = self.data
        return make_node(float_power(a, b), "**", (self,), (d_power_d_base(a, b),), (self, b))

    def __rpow__(self, other: Number) -> Value:
        """c ** a;  d/da = c^a * ln(c)."""
        c = _constant(other, "**")
        if c is None:
            return NotImplemented
        out = float_power(c, self.data)
        return make_node(out, "**", (self,), (d_power_d_exponent(c, self.data, out),), (c, self))

    # ---------------------------------------------------------------- unary ops

    def __neg__(self) -> Value:
        """-a;  d/da = -1."""
        return make_node(-self.data, "neg", (self,), _DERIVATIVE_MINUS_1)

    def relu(self) -> Value:
        """max(a, 0);  d/da = 1 if a > 0 else 0. As PyTorch: 0 at a == 0; relu(nan) is nan."""
        a = self.data
        if a > 0.0:
            return make_node(a, "relu", (self,), _DERIVATIVE_1)
        return make_node(0.0 if a <= 0.0 else a, "relu", (self,), _DERIVATIVE_0)

    def tanh(self) -> Value:
        """tanh(a) = (e^a - e^-a) / (e^a + e^-a);  d/da = 1 - tanh(a)^2."""
        t = math.tanh(self.data)
        return make_node(t, "tanh", (self,), (1.0 - t * t,))

    def exp(self) -> Value:
        """e^a;  d/da = e^a (inf where e^a overflows, as PyTorch)."""
        e = float_exp(self.data)
        return make_node(e, "exp", (self,), (e,))

    def log(self) -> Value:
        """ln(a) for a > 0;  d/da = 1/a."""
        return make_node(float_log(self.data), "log", (self,), (1.0 / self.data,))

    def sigmoid(self) -> Value:
        """s(a) = 1 / (1 + e^-a);  d/da = s(a) * (1 - s(a))."""
        s = float_sigmoid(self.data)
        return make_node(s, "sigmoid", (self,), (s * (1.0 - s),))

    # ----------------------------------------------------------------- backward

    def backward(self, grad: Number = SEED_ONE, *, gradient: Number | None = None) -> None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        ``grad`` seeds this node (``y.backward(3)`` is d(3y)/dx); 1.0 when not given.
        ``gradient=`` is PyTorch's name for it, None meaning 1.0 as in PyTorch (see
        `backward_seed`).
        Then, in reverse topological order, every node pushes its gradient to its
        parents along its edges (formula 6).

        Interior nodes hold this call's gradient. Leaves add this call's gradient,
        summed on its own first, to what they held: PyTorch's order of additions, so
        that a second call gives exactly twice the gradient. A leaf whose grad is None
        (as PyTorch's ``zero_grad`` leaves it) takes this call's gradient.
        """
        refuse_while_tracing("backward()")
        backpropagate(self, backward_seed(grad, gradient))


Watcher = Callable[[Value, Value, float, float, float], None]


def backpropagate(root: Value, seed: float, watch: Watcher | None = None) -> None:
    """`root.backward(seed)`: the one loop of backprop, for `backward` and its explainers.

    `watch`, when given, is called after each edge's step of formula 6, in the order
    they happen, as ``watch(node, parent, local, arriving, before)``; ``parent.grad`` is
    then the sum after it. A watched run also pushes gradients of 0.0, which the
    unwatched one skips: adding 0.0 to a sum that started at +0.0 changes no bit of it,
    so both leave the same gradients, and the watcher sees every edge.
    """
    if not root._parents:
        _check_has_graph(root)
        root.grad = seed if root.grad is None else root.grad + seed
        return
    with cyclic_gc_paused():  # the walk allocates much and makes no cycle
        interior, leaves = graph_parents_first(root)
        held = _take_grads(leaves)  # so that this call's sum comes first (PyTorch's order)
        for node in interior:
            node.grad = 0.0
        root.grad = seed
        for node in reversed(interior):
            g = node.grad
            if watch is not None:
                _push_watched(node, g, watch)  # explain_backward: the same steps, each told
                continue
            if g == 0.0 and math.isfinite(sum(node._local_grads)):
                continue  # it would add 0.0 to each parent: skip (a nan or inf still spreads)
            for parent, local in zip(node._parents, node._local_grads):
                parent.grad += local * g
        _add_back(leaves, held)


def _push_watched(node: Value, g: float, watch: Watcher) -> None:
    """Formula 6 along each edge of `node`, as `backpropagate` does, telling `watch`."""
    for parent, local in zip(node._parents, node._local_grads):
        before = parent.grad
        parent.grad += local * g
        watch(node, parent, local, g, before)


def backward_seed(grad: object, gradient: object) -> float:
    """The seed of `Value.backward` as a float: `grad`, or PyTorch's `gradient`, or 1.0.

    `grad` is SEED_ONE when not given; `gradient` None when not given (PyTorch's
    default, 1.0 for a scalar). TypeError when both are given, or for a seed that is
    not a real number (``grad=None`` too), naming the argument used; ValueError for an
    int beyond a float's range.
    """
    if grad is SEED_ONE:
        return 1.0 if gradient is None else as_float(gradient, "backward(gradient)")
    if gradient is not None:
        raise TypeError(
            "backward expects the seed as grad or as gradient (PyTorch's name), got both"
        )
    return as_float(grad, "backward(grad)")


# ------------------------------------------------------------------ node building

# Local derivatives shared by every node of an op: (1, 1) for a + b, (1,) for a relu
# of a positive input, ...: such nodes allocate no tuple of derivatives of their own.
_DERIVATIVE_1, _DERIVATIVE_0, _DERIVATIVE_MINUS_1 = (1.0,), (0.0,), (-1.0,)
_DERIVATIVES_1_1, _DERIVATIVES_1_MINUS_1 = (1.0, 1.0), (1.0, -1.0)

_new_value = object.__new__


def make_node(
    data: float,
    op: str,
    parents: tuple[Value, ...],
    local_grads: tuple[float, ...],
    operands: tuple | None = None,
) -> Value:
    """The result of an op: a node with its parents and d(node)/d(parent) for each.

    Under `no_grad()` the result keeps its op but no parents: nothing to backprop.
    `operands` are the op's arguments as called, constants included, for a tracer
    (`minitorch_scalar.compile`) that must replay the op; None when they are `parents`.
    Sets the same slots as `Value.__init__`, without checking `data`, a float already.
    """
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out.op = op
    # True, False (in no_grad), or the compiler's listener; read only if a block is open
    recording = mode.recording if open_blocks[0] else True
    if recording:
        out._parents = parents
        out._local_grads = local_grads
        if recording is not True:
            recording(out, parents if operands is None else operands)
    else:
        out._parents = out._local_grads = ()
    return out


def graph_parents_first(root: Value) -> tuple[list[Value], list[Value]]:
    """The nodes `root` depends on: (interior nodes, each after all its parents; leaves).

    An iterative depth-first walk with an explicit stack, so the depth of the graph
    never meets Python's recursion limit. The stack holds the path from `root` down
    to the node being expanded, each with the iterator over its parents still to see.
    """
    interior: list[Value] = []
    leaves: list[Value] = []
    seen = {root}
    stack: list[tuple[Value, Iterator[Value]]] = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent in seen:
                continue
            seen.add(parent)
            if not parent._parents:
                leaves.append(parent)
            elif seen.issuperset(parent._parents):
                # Each seen node is placed already or on the stack; one on the stack
                # uses `parent`, so it cannot be a parent of it too (no cycles). So all
                # of `parent`'s parents are placed: place it without going down.
                interior.append(parent)
            else:
                stack.append((parent, iter(parent._parents)))
                break
        else:  # every parent of `node` is placed
            stack.pop()
            interior.append(node)
    return interior, leaves


def _take_grads(leaves: list[Value]) -> list[float | None]:
    """The leaves' gradients before this call; each leaf's is set to 0.0."""
    held = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = 0.0
    return held


def _add_back(leaves: list[Value], held: list[float | None]) -> None:
    """Each leaf's gradient: this call's sum, plus what it held before (unless None)."""
    for leaf, before in zip(leaves, held):
        if before is not None:
            leaf.grad += before


def _check_has_graph(value: Value) -> None:
    """A ValueError for an op's result that was computed under `no_grad()`."""
    if value.op:
        raise ValueError(
            f"backward: this Value (op {value.op!r}) was computed under no_grad(), so no "
            "graph was recorded to backpropagate through; compute it with grad enabled"
        )


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its parents, `root` last.

    The leaves come first, then the interior nodes; `backward()` visits this list in
    reverse. Changes nothing in the graph.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order expects a Value, got {type(root).__name__}")
    if not root._parents:
        return [root]
    interior, leaves = graph_parents_first(root)
    return leaves + interior


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a graph is built or walked.

    Building or walking a graph allocates many small objects and never a reference
    cycle, yet every allocation counts toward the collector's next run, which then
    scans the live graph again and again for nothing. Reference counting still frees
    everything; the collector resumes afterwards, as it was.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ------------------------------------------------------------------- numbers


def _constant(x: object, op: str) -> float | None:
    """`x` as a float if it may take part in `op` as a constant, else None (not ours)."""
    if type(x) is float:
        return x
    if not is_real_number(x):
        return None
    return as_float(x, f"{op} (the number operand)")


__all__ = ["Value", "cyclic_gc_paused", "topological_order"]
