"""The autograd engine: `Value`, the chain rule in `backward()`, and `no_grad()`.

Every node remembers two things besides its value: its parents, and the local derivative
of its value with respect to each parent, computed once in the forward pass. Backward is
then one loop, the same for every op: walk the nodes so that each comes after every node
that uses it, and along each edge apply the article's formula 6,

    grad(parent) <- grad(parent) + (d node / d parent) * grad(node)

summing over every node that uses the parent (formula 7).

A node keeps its parents in one tuple and the local derivatives, in the same order,
in another. Derivatives that are the same for every node of an op (1 and 1 for ``+``)
are one shared tuple, so most nodes allocate a single small tuple of their own.
Python numbers in an expression are constants: they are folded into the local
derivatives and never become nodes.
"""

from __future__ import annotations

import gc
import math
import numbers
from collections.abc import Callable, Iterator
from contextlib import ContextDecorator, contextmanager
from typing import Any

Number = int | float

_recording = True  # False inside `no_grad()`: ops then build leaves, not graph nodes


class Value:
    """A scalar with a gradient, and the node of the graph that produced it.

    Attributes:
        data: the value, a Python float.
        grad: d(root)/d(self) after ``root.backward()``; 0.0 at creation. Leaves
            accumulate across calls (PyTorch's rule); interior nodes hold the gradient
            of the latest call only.
        label: a free name for printing and drawing graphs.
        op: the op that made this node (``"+"``, ``"tanh"``, ...), ``""`` for a leaf.

    Memory (CPython 3.11, tracemalloc): ``a + b`` records 161 bytes (the node, its
    float, its tuple of parents; its derivatives are a shared tuple), ``a * b`` 217;
    micrograd records 689 for either, for its ``__dict__``, its set of children and a
    closure (benchmarks/bench.py measures both on a long expression).
    """

    __slots__ = ("_local_grads", "_parents", "data", "grad", "label", "op")
    __array_ufunc__ = None  # numpy defers to our reflected ops: np.float64(2) * v is a Value

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"Value(label) expects a str, got {type(label).__name__}: {label!r}")
        self.data = _as_float(data, "Value(data)")
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
        if type(other) is Value:
            return _node(self.data + other.data, "+", (self, other), _ONES)
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data + c, "+", (self,), _ONE)

    def __radd__(self, other: Number) -> Value:
        """c + a;  d/da = 1."""
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _node(c + self.data, "+", (self,), _ONE)

    def __sub__(self, other: Value | Number) -> Value:
        """a - b;  d/da = 1, d/db = -1."""
        if type(other) is Value:
            return _node(self.data - other.data, "-", (self, other), _ONE_MINUS_ONE)
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data - c, "-", (self,), _ONE)

    def __rsub__(self, other: Number) -> Value:
        """c - a;  d/da = -1."""
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _node(c - self.data, "-", (self,), _MINUS_ONE)

    def __mul__(self, other: Value | Number) -> Value:
        """a * b;  d/da = b, d/db = a."""
        if type(other) is Value:
            return _node(self.data * other.data, "*", (self, other), (other.data, self.data))
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data * c, "*", (self,), (c,))

    def __rmul__(self, other: Number) -> Value:
        """c * a;  d/da = c."""
        c = _constant(other)
        if c is None:
            return NotImplemented
        return _node(c * self.data, "*", (self,), (c,))

    def __truediv__(self, other: Value | Number) -> Value:
        """a / b;  d/da = 1/b, d/db = -a/b^2."""
        if type(other) is Value:
            b = other.data
            _check_divisor(self.data, b)
            return _node(self.data / b, "/", (self, other), (1.0 / b, -self.data / (b * b)))
        c = _constant(other)
        if c is None:
            return NotImplemented
        _check_divisor(self.data, c)
        return _node(self.data / c, "/", (self,), (1.0 / c,))

    def __rtruediv__(self, other: Number) -> Value:
        """c / a;  d/da = -c/a^2."""
        c = _constant(other)
        if c is None:
            return NotImplemented
        a = self.data
        _check_divisor(c, a)
        return _node(c / a, "/", (self,), (-c / (a * a),))

    def __pow__(self, other: Value | Number) -> Value:
        """a ** b;  d/da = b * a^(b-1), d/db = a^b * ln(a).

        As PyTorch: d/da is 0 when b == 0, d/db is 0 when a == 0 and b >= 0, and
        d/db is nan for a negative base (ln is undefined there).
        """
        if type(other) is Value:
            a, b = self.data, other.data
            out = _power(a, b)
            return _node(out, "**", (self, other), (_d_base(a, b), _d_exponent(a, b, out)))
        b = _constant(other)
        if b is None:
            return NotImplemented
        return _node(_power(self.data, b), "**", (self,), (_d_base(self.data, b),))

    def __rpow__(self, other: Number) -> Value:
        """c ** a;  d/da = c^a * ln(c)."""
        c = _constant(other)
        if c is None:
            return NotImplemented
        out = _power(c, self.data)
        return _node(out, "**", (self,), (_d_exponent(c, self.data, out),))

    # ---------------------------------------------------------------- unary ops

    def __neg__(self) -> Value:
        """-a;  d/da = -1."""
        return _node(-self.data, "neg", (self,), _MINUS_ONE)

    def relu(self) -> Value:
        """max(a, 0);  d/da = 1 if a > 0 else 0 (0 at a == 0, as PyTorch)."""
        if self.data > 0.0:
            return _node(self.data, "relu", (self,), _ONE)
        return _node(0.0, "relu", (self,), _ZERO)

    def tanh(self) -> Value:
        """tanh(a) = (e^a - e^-a) / (e^a + e^-a);  d/da = 1 - tanh(a)^2."""
        t = math.tanh(self.data)
        return _node(t, "tanh", (self,), (1.0 - t * t,))

    def exp(self) -> Value:
        """e^a;  d/da = e^a."""
        try:
            e = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp: e ** {self.data!r} overflows a float") from None
        return _node(e, "exp", (self,), (e,))

    def log(self) -> Value:
        """ln(a) for a > 0;  d/da = 1/a."""
        a = self.data
        if not a > 0.0:
            raise ValueError(f"log: expected a positive operand, got {a!r}")
        return _node(math.log(a), "log", (self,), (1.0 / a,))

    def sigmoid(self) -> Value:
        """s(a) = 1 / (1 + e^-a);  d/da = s(a) * (1 - s(a)).

        Computed without overflow for any finite a: e^-|a| is at most 1.
        """
        a = self.data
        if a >= 0.0:
            s = 1.0 / (1.0 + math.exp(-a))
        else:
            e = math.exp(a)
            s = e / (1.0 + e)
        return _node(s, "sigmoid", (self,), (s * (1.0 - s),))

    # ----------------------------------------------------------------- backward

    def backward(self, grad: Number = 1.0) -> None:
        """Fill ``.grad`` of every node this one depends on with d(self)/d(node).

        ``grad`` seeds this node (``y.backward(3)`` is d(3y)/dx), as PyTorch's
        ``gradient`` argument. Then, in reverse topological order, every node pushes
        its gradient to its parents along its edges (formula 6).

        Interior nodes hold this call's gradient. Leaves add this call's gradient,
        summed on its own first, to what they held: PyTorch's order of additions, so
        that a second call gives exactly twice the gradient.
        """
        seed = _as_float(grad, "backward(grad)")
        if not self._parents:  # a leaf: it is its own gradient
            self.grad += seed
            return
        with cyclic_gc_paused():
            interior, leaves = _graph_parents_first(self)
            for node in interior:
                node.grad = 0.0
            held = [leaf.grad for leaf in leaves]
            for leaf in leaves:
                leaf.grad = 0.0
            self.grad = seed
            for node in reversed(interior):
                g = node.grad
                local_grads = node._local_grads
                if g == 0.0 and math.isfinite(sum(local_grads)):
                    continue  # 0 * a finite derivative adds nothing: skip the node's edges
                for parent, local in zip(node._parents, local_grads):
                    parent.grad += local * g
            for leaf, before in zip(leaves, held):
                leaf.grad += before


# ------------------------------------------------------------------ node building

_new_value = object.__new__


# Local derivatives shared by every node of an op: (1, 1) for a + b, (1,) for a relu
# of a positive input, ...: such nodes allocate no tuple of derivatives of their own.
_ONE, _ZERO, _MINUS_ONE = (1.0,), (0.0,), (-1.0,)
_ONES, _ONE_MINUS_ONE = (1.0, 1.0), (1.0, -1.0)


def _node(data: float, op: str, parents: tuple, local_grads: tuple) -> Value:
    """The result of an op: a node with its parents and d(node)/d(parent) for each, or
    a leaf under `no_grad()`.

    Bypasses `Value.__init__`: `data` is already a float and needs no checking.
    """
    out = _new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _recording:
        out.op = op
        out._parents = parents
        out._local_grads = local_grads
    else:
        out.op = ""
        out._parents = out._local_grads = ()
    return out


def _graph_parents_first(root: Value) -> tuple[list[Value], list[Value]]:
    """The nodes `root` depends on: (interior nodes, each after all its parents; leaves).

    An iterative depth-first walk with an explicit stack of parent iterators, so the
    depth of the graph never meets Python's recursion limit. A node whose parents have
    all been placed already (`issuperset`, one C-level call) is placed at once, without
    a Python loop over its parents: in a network most nodes share their inputs.
    """
    interior: list[Value] = []
    leaves: list[Value] = []
    seen = {root}
    node, parents = root, iter(root._parents)
    stack: list[tuple[Value, Iterator[Value]]] = []  # the nodes `node` was reached from
    while True:
        for parent in parents:
            if parent in seen:
                continue
            seen.add(parent)
            grandparents = parent._parents
            if not grandparents:
                leaves.append(parent)
                continue
            if seen.issuperset(grandparents):
                interior.append(parent)
            else:  # go down to `parent`; come back to `node` when it is placed
                stack.append((node, parents))
                node, parents = parent, iter(grandparents)
                break
        else:
            interior.append(node)
            if not stack:
                break
            node, parents = stack.pop()
    return interior, leaves


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its parents, `root` last.

    The leaves come first, then the interior nodes; `backward()` visits this list in
    reverse. Changes nothing in the graph.
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order expects a Value, got {type(root).__name__}")
    if not root._parents:
        return [root]
    interior, leaves = _graph_parents_first(root)
    return leaves + interior


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a graph is built or walked.

    Building or walking a graph allocates many small objects and never a reference
    cycle, yet every allocation counts toward the collector's next run, which then
    scans the live graph again and again for nothing. Reference counting still frees
    everything; the collector resumes afterwards, as it was. `backward()` walks under
    it, and an `nn` model called on a batch builds under it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ------------------------------------------------------------------- numbers

_FAST_NUMBERS = (float, int)


def _is_real_number(x: object) -> bool:
    """int, float, numpy integer or floating scalar, Fraction; never bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _constant(x: object) -> float | None:
    """`x` as a float if it may take part in an op as a constant, else None."""
    if type(x) in _FAST_NUMBERS:
        return float(x)
    if _is_real_number(x):
        return float(x)
    return None


def _as_float(x: object, what: str) -> float:
    """`x` as a float, or a TypeError naming `what` and the type given."""
    if type(x) in _FAST_NUMBERS or _is_real_number(x):
        return float(x)
    raise TypeError(f"{what} expects a real number (int or float), got {type(x).__name__}: {x!r}")


def _check_divisor(numerator: float, divisor: float) -> None:
    if divisor == 0.0:
        raise ZeroDivisionError(f"division: {numerator!r} / {divisor!r} divides by zero")


def _power(base: float, exponent: float) -> float:
    """base ** exponent as a real float, or a clear error where it has none."""
    if base == 0.0 and exponent < 0.0:
        raise ZeroDivisionError(f"pow: {base!r} ** {exponent!r} divides by zero")
    if base < 0.0 and not float(exponent).is_integer():
        raise ValueError(f"pow: {base!r} ** {exponent!r} is not a real number")
    try:
        return base**exponent
    except OverflowError:
        raise OverflowError(f"pow: {base!r} ** {exponent!r} overflows a float") from None


def _d_base(a: float, b: float) -> float:
    """d(a^b)/da = b * a^(b-1); 0 for b == 0 and +-inf at a == 0 for 0 < b < 1."""
    if b == 0.0:
        return 0.0
    if a == 0.0 and b < 1.0:
        return math.inf
    try:
        return b * a ** (b - 1.0)
    except OverflowError:  # a tiny |a| with b < 1: the slope is infinite
        negative_power = a < 0.0 and (b - 1.0) % 2.0 == 1.0
        return math.copysign(math.inf, -b if negative_power else b)


def _d_exponent(a: float, b: float, a_pow_b: float) -> float:
    """d(a^b)/db = a^b * ln(a); 0 where a == 0 and b >= 0, nan where a < 0."""
    if a > 0.0:
        return a_pow_b * math.log(a)
    if a == 0.0 and b >= 0.0:
        return 0.0
    return math.nan


# ------------------------------------------------------------------- grad mode


class no_grad(ContextDecorator):  # noqa: N801 - named as torch.no_grad
    """Record no graph: ops inside give leaves. A context manager and a decorator.

    Use it for inference (evaluation, plotting): nothing is kept for backward, so it
    is faster and frees each intermediate at once. The mode is global to the process,
    not per thread. As with PyTorch's, ``@no_grad`` and ``@no_grad()`` both decorate.
    """

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        if func is None:
            return super().__new__(cls)
        if not callable(func):
            raise TypeError(f"no_grad expects a function to decorate, got {type(func).__name__}")
        return super().__new__(cls)(func)  # bare @no_grad: decorate at once

    def _recreate_cm(self) -> no_grad:
        # A decorated function gets a fresh context per call, so that recursion or
        # re-entry restores the mode each call found (ContextDecorator reuses one).
        return no_grad()

    def __enter__(self) -> no_grad:
        global _recording
        self._previous = _recording
        _recording = False
        return self

    def __exit__(self, *exc_info: Any) -> None:
        global _recording
        _recording = self._previous


def is_grad_enabled() -> bool:
    """True unless inside `no_grad()`."""
    return _recording


__all__ = ["Value", "cyclic_gc_paused", "is_grad_enabled", "no_grad", "topological_order"]
