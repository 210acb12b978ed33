"""The autograd engine: `Value` and the chain rule in `backward()`.

Every node remembers two things besides its value: its parents, and the local derivative
of its value with respect to each parent, computed once in the forward pass. Backward is
then one loop, the same for every op: walk the nodes so that each comes after every node
that uses it, and along each edge apply formula 6,

    grad(parent) <- grad(parent) + (d node / d parent) * grad(node)

summing over every node that uses the parent (formula 7).

Read it in order: `Value` and its ops, each giving `make_node` its value, its operands
(its arguments as called) and a local derivative for each Value among them; then
`backward` and its loop `backpropagate`; then `make_node`, the one constructor of an
op's result. Python numbers in an expression are constants: operands, but never nodes,
and folded into the local derivatives. Derivatives that are the same for every node of
an op (1 and 1 for ``+``) are one shared tuple.

Around it, in their own modules: what counts as a number (`real`), the walk of a graph
(`graph_walk`), micrograd's names for a node (`micrograd_view`), and grad mode with the
one hook through which the compiler hears of every node made (`grad_mode.listening`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
from .graph_walk import cyclic_gc_paused, graph_parents_first
from .micrograd_view import MicrogradView
from .real import SEED_ONE, as_constant, as_float, backward_seed

Number = int | float

# Local derivatives shared by every node of an op: (1, 1) for a + b, (1,) for a relu
# of a positive input, ...: such nodes allocate no tuple of derivatives of their own.
_DERIVATIVE_1, _DERIVATIVE_0, _DERIVATIVE_MINUS_1 = (1.0,), (0.0,), (-1.0,)
_DERIVATIVES_1_1, _DERIVATIVES_1_MINUS_1 = (1.0, 1.0), (1.0, -1.0)


class Value(MicrogradView):
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

    micrograd's view of a node is inherited, read-only: ``_prev`` (the set of parents),
    ``_op`` and ``_backward()`` (see `micrograd_view`).
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

    # --------------------------------------------------------------- binary ops

    def __add__(self, other: Value | Number) -> Value:
        """a + b;  d/da = 1, d/db = 1."""
        if isinstance(other, Value):
            return make_node(self.data + other.data, "+", (self, other), _DERIVATIVES_1_1)
        c = as_constant(other, "+")
        if c is None:
            return NotImplemented
        return make_node(self.data + c, "+", (self, c), _DERIVATIVE_1, parents=(self,))

    def __radd__(self, other: Number) -> Value:
        """c + a;  d/da = 1."""
        c = as_constant(other, "+")
        if c is None:
            return NotImplemented
        return make_node(c + self.data, "+", (c, self), _DERIVATIVE_1, parents=(self,))

    def __sub__(self, other: Value | Number) -> Value:
        """a - b;  d/da = 1, d/db = -1."""
        if isinstance(other, Value):
            return make_node(self.data - other.data, "-", (self, other), _DERIVATIVES_1_MINUS_1)
        c = as_constant(other, "-")
        if c is None:
            return NotImplemented
        return make_node(self.data - c, "-", (self, c), _DERIVATIVE_1, parents=(self,))

    def __rsub__(self, other: Number) -> Value:
        """c - a;  d/da = -1."""
        c = as_constant(other, "-")
        if c is None:
            return NotImplemented
        return make_node(c - self.data, "-", (c, self), _DERIVATIVE_MINUS_1, parents=(self,))

    def __mul__(self, other: Value | Number) -> Value:
        """a * b;  d/da = b, d/db = a."""
        if isinstance(other, Value):
            return make_node(self.data * other.data, "*", (self, other), (other.data, self.data))
        c = as_constant(other, "*")
        if c is None:
            return NotImplemented
        return make_node(self.data * c, "*", (self, c), (c,), parents=(self,))

    def __rmul__(self, other: Number) -> Value:
        """c * a;  d/da = c."""
        c = as_constant(other, "*")
        if c is None:
            return NotImplemented
        return make_node(c * self.data, "*", (c, self), (c,), parents=(self,))

    def __truediv__(self, other: Value | Number) -> Value:
        """a / b;  d/da = 1/b, d/db = -a/b^2, computed as -(a/b)/b (no b^2 to underflow)."""
        if isinstance(other, Value):
            out = float_divide(self.data, other.data)
            grads = (1.0 / other.data, -out / other.data)
            return make_node(out, "/", (self, other), grads)
        c = as_constant(other, "/")
        if c is None:
            return NotImplemented
        return make_node(float_divide(self.data, c), "/", (self, c), (1.0 / c,), parents=(self,))

    def __rtruediv__(self, other: Number) -> Value:
        """c / a;  d/da = -c/a^2, computed as -(c/a)/a."""
        c = as_constant(other, "/")
        if c is None:
            return NotImplemented
        out = float_divide(c, self.data)
        return make_node(out, "/", (c, self), (-out / self.data,), parents=(self,))

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
        b = as_constant(other, "**")
        if b is None:
            return NotImplemented
        a = self.data
        grads = (d_power_d_base(a, b),)
        return make_node(float_power(a, b), "**", (self, b), grads, parents=(self,))

    def __rpow__(self, other: Number) -> Value:
        """c ** a;  d/da = c^a * ln(c)."""
        c = as_constant(other, "**")
        if c is None:
            return NotImplemented
        out = float_power(c, self.data)
        grads = (d_power_d_exponent(c, self.data, out),)
        return make_node(out, "**", (c, self), grads, parents=(self,))

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


_new_value = object.__new__


def make_node(
    data: float,
    op: str,
    operands: tuple,
    local_grads: tuple[float, ...],
    parents: tuple[Value, ...] | None = None,
) -> Value:
    """The result of an op: a node of value `data` made from `operands`.

    `operands` are the op's arguments as called, Values and numbers (constants), in
    order: what the node is (``x * 2.0`` is made from ``(x, 2.0)``). Its `parents` are
    the Values among them, in order, the edges backward walks, and `local_grads` holds
    d(node)/d(parent) for each parent. When every operand is a Value (the common case)
    the parents are the operands themselves, and an op passes only those; an op with a
    number among its operands names its parents (``parents=(x,)``: a constant is no
    node, and gets no gradient). See `values_among`.

    Under `no_grad()` the result keeps its op but no parents: nothing to backprop.
    **The hook**: while a listener is installed in this thread (`grad_mode.listening`,
    the compiler's trace), it is called with ``(node, operands)`` for each node
    recorded. While no block is open in any thread, the mode is not even read.
    Sets the same slots as `Value.__init__`, without checking `data`, a float already.
    """
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out.op = op
    out._parents = operands if parents is None else parents
    out._local_grads = local_grads
    if open_blocks[0]:  # some thread is in no_grad() or listening(): this one's mode decides
        recording, listener = mode.now
        if not recording:
            out._parents = out._local_grads = ()
        elif listener is not None:
            listener(out, operands)  # the hook
    return out


def values_among(operands: tuple) -> tuple[Value, ...]:
    """The Values among an op's operands, in order: its parents (for n-ary ops)."""
    return tuple([x for x in operands if isinstance(x, Value)])


__all__ = ["Value", "backpropagate", "make_node", "values_among"]
