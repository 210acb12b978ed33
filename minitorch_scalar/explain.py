"""Backward, step by step, on any graph: what formula 6 does on each edge, and names.

`explain_backward(root)` runs ``root.backward()`` (the same loop, in the same order, with
the same gradients left behind) and returns its steps, one per edge: along the edge
from a node to one of its parents, formula 6 adds

    grad(parent) <- grad(parent) + (d node / d parent) * grad(node)

Printed, the steps read like the article's walk-through::

    loss(-50, 1) sends its gradient to its parents:
      y1-y2.grad += 1 * 1 = 1  ->  y1-y2(-16, 1)

`node_names(root, names)` names every node of a graph for printing and drawing: its
label, else the name a model gives it (``layers.0.weight[3, 1]``), else its op and its
place in forward order (``relu#7``, ``leaf#0``). `first_nonfinite(root)` finds where a
nan or an inf was born.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple, overload

from .engine import Value, backpropagate
from .graph_walk import topological_order
from .real import as_float, is_integer

Names = object  # a model with named_parameters(), (name, Value) pairs, or {Value: name}


class BackwardStep(NamedTuple):
    """One step of backward: formula 6 along the edge from `node` to `parent`.

    Invariant: ``after == before + local * arriving`` (as floats, bit for bit). For a leaf,
    `before` and `after` are this call's running sum: backward adds what the leaf held
    before the call once the loop is done (PyTorch's order of additions).
    """

    node: Value  # the node whose gradient flows back
    node_name: str
    parent: Value  # the parent that receives it
    parent_name: str
    local: float  # d node / d parent, computed in the forward pass
    arriving: float  # grad(node): final by then, every user of node has sent its share
    before: float  # grad(parent) before this step
    after: float  # grad(parent) after it

    def __str__(self) -> str:
        """``x.grad += 17 * 1 = 17  ->  x(-2, 17)``: the step, then the parent's new pair."""
        product = self.local * self.arriving
        return (
            f"{self.parent_name}.grad += {factor(self.local)} * {factor(self.arriving)}"
            f" = {_number(product)}  ->  {self.parent_name}"
            f"({_number(self.parent.data)}, {_number(self.after)})"
        )


class BackwardSteps(Sequence[BackwardStep]):
    """The steps of one backward, in the order they happened, and how it was seeded.

    `names` names every node of the graph (`node_names`). `total` counts every step
    backward made (`into` and `max_steps` keep fewer). `held` maps each leaf that held
    a gradient other than 0 before the call to (that gradient, this call's sum): once
    the loop is done, backward adds the first to the second (PyTorch's order).
    """

    def __init__(
        self,
        root: Value,
        seed: float,
        steps: list[BackwardStep],
        names: dict[Value, str],
        total: int,
        held: dict[Value, tuple[float, float]],
    ) -> None:
        self.root = root
        self.root_name = names[root]
        self.seed = seed
        self.names = names
        self.total = total
        self.held = held
        self._steps = steps

    @overload
    def __getitem__(self, index: int) -> BackwardStep: ...
    @overload
    def __getitem__(self, index: slice) -> list[BackwardStep]: ...
    def __getitem__(self, index: int | slice) -> BackwardStep | list[BackwardStep]:
        return self._steps[index]

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[BackwardStep]:
        return iter(self._steps)

    def __repr__(self) -> str:
        return f"<BackwardSteps of {self.root_name}: {len(self)} steps>"

    def __str__(self) -> str:
        """The walk-through: the seed, then each node's steps under a line naming it."""
        lines = [f"backward sets {self.root_name}.grad = {_number(self.seed)}, then:"]
        current = None
        for step in self._steps:
            if step.node is not current:
                current = step.node
                pair = f"({_number(current.data)}, {_number(step.arriving)})"
                lines.append(f"  {step.node_name}{pair} sends its gradient to its parents:")
            lines.append(f"    {step}")
        if len(self._steps) < self.total:
            lines.append(f"  ({self.total - len(self._steps)} more steps not shown)")
        if self.held:
            lines.append(
                "then each leaf that held a gradient before adds it to this sum "
                "(zero_grad() before backward would have made it 0):"
            )
        for leaf, (before, this_call) in self.held.items():
            total = _number(this_call + before)
            lines.append(
                f"    {self.names[leaf]}.grad = {_number(this_call)} + {factor(before)} = {total}"
            )
        return "\n".join(lines)

    def print(self) -> None:
        """Print the walk-through (``str(steps)``)."""
        print(self)


def explain_backward(
    root: Value,
    grad: float = 1.0,
    names: Names | None = None,
    *,
    into: Iterable[Value] | None = None,
    max_steps: int | None = None,
) -> BackwardSteps:
    """Run ``root.backward(grad)`` and return its steps of formula 6, one per edge, in order.

    The gradients it leaves are exactly those ``root.backward(grad)`` leaves: it is the
    same loop (`engine.backpropagate`), watched. A node that uses a parent twice
    (``z * z``) gives two steps, one per use (formula 7 adds them).

    `names` names the nodes without a label (see `node_names`). To keep a big graph
    readable, `into` keeps only the steps into those Values (e.g. a model's parameters)
    and `max_steps` keeps at most that many; backward still runs in full.
    """
    _check_root(root, "explain_backward")
    if type(root).backward is not Value.backward:
        raise ValueError(
            f"explain_backward expects a Value whose backward is Value.backward, got a "
            f"{type(root).__name__} with its own (a compiled step's output has no graph "
            "of scalar nodes to show: call the function without compile)"
        )
    seed = as_float(grad, "explain_backward(grad)")
    wanted = None if into is None else _value_set(into, "explain_backward(into)")
    limit = _check_max_steps(max_steps)
    found = node_names(root, names)
    held = {node: node.grad for node in found if not node.parents and node.grad}
    sums = dict.fromkeys(held, 0.0)  # this call's sum of each leaf that held a gradient
    if root in sums:
        sums[root] = seed
    steps: list[BackwardStep] = []
    total = 0

    def record(node: Value, parent: Value, local: float, arriving: float, before: float) -> None:
        nonlocal total
        total += 1
        if parent in sums:
            sums[parent] = parent.grad
        if len(steps) < limit and (wanted is None or parent in wanted):
            steps.append(
                BackwardStep(
                    node, found[node], parent, found[parent], local, arriving, before, parent.grad
                )
            )

    backpropagate(root, seed, record)
    kept = {leaf: (before, sums[leaf]) for leaf, before in held.items()}
    return BackwardSteps(root, seed, steps, found, total, kept)


def node_names(root: Value, names: Names | None = None) -> dict[Value, str]:
    """A name for every node of `root`'s graph, in forward (topological) order.

    A node's name is its label, else the name `names` gives it, else its op and its
    index in `topological_order(root)`: ``relu#7``, ``+#9``, ``leaf#0`` (a Value made
    by ``Value(...)``). `names` is a model (anything with ``named_parameters()``), an
    iterable of (name, Value) pairs, or a mapping Value -> name (name -> Value too).
    """
    _check_root(root, "node_names")
    given = _given_names(names)
    return {
        node: node.label or given.get(node) or f"{node.op or 'leaf'}#{index}"
        for index, node in enumerate(topological_order(root))
    }


class NonFinite(NamedTuple):
    """Where a nan or an inf is in a graph: the node, and what made it.

    `where` is ``"value"`` (the forward pass made it) or ``"grad"`` (backward did).
    `operands` are the values of the node's parents; `index` its place in forward order.
    `cause`, for a gradient, names the step of formula 6 that made it.
    """

    node: Value
    name: str
    op: str
    operands: tuple[float, ...]
    where: str
    index: int = 0
    cause: str = ""

    def __str__(self) -> str:
        """``value inf at exp#12 (operands: 800.0)``, or the gradient and its cause."""
        amount = self.node.data if self.where == "value" else self.node.grad
        details = (
            []
            if self.name == f"{self.op or 'leaf'}#{self.index}"
            else [f"{self.op or 'leaf'}, node {self.index}"]
        )
        if self.operands:
            details.append("operands: " + ", ".join(repr(x) for x in self.operands))
        text = f"{self.where} {amount!r} at {self.name}"
        text += f" ({'; '.join(details)})" if details else ""
        return f"{text}: {self.cause}" if self.cause else text


def first_nonfinite(root: Value, names: Names | None = None) -> NonFinite | None:
    """Where the first nan or inf of `root`'s graph was made; None if there is none.

    A non-finite value is looked for first, in forward order: the first one has finite
    operands, so its op made it (``exp`` of 800.0 is inf). Failing that, a non-finite
    gradient, in backward's order: the first one backward made, whose users' gradients
    are all finite, so a step of formula 6 into it made it (a local derivative of inf,
    or a product that overflows); `cause` names that step. Nodes are named as
    `node_names(root, names)` names them.
    """
    found = node_names(root, names)
    order = list(found)
    for index, node in enumerate(order):
        if not math.isfinite(node.data):
            return _non_finite(node, found, index, "value")
    users = _users(order)
    for index in range(len(order) - 1, -1, -1):
        node = order[index]
        if node.grad is not None and not math.isfinite(node.grad):
            cause = _grad_cause(node, users[node], found) if node is not root else "the seed"
            return _non_finite(node, found, index, "grad", cause)
    return None


# ------------------------------------------------------------------------ helpers


def _non_finite(
    node: Value, found: dict[Value, str], index: int, where: str, cause: str = ""
) -> NonFinite:
    operands = tuple(parent.data for parent in node.parents)
    return NonFinite(node, found[node], node.op, operands, where, index, cause)


def _users(order: list[Value]) -> dict[Value, list[Value]]:
    """For each node, the nodes computed from it (each once), in forward order."""
    users: dict[Value, list[Value]] = {node: [] for node in order}
    for node in order:
        for parent in dict.fromkeys(node.parents):
            users[parent].append(node)
    return users


def _grad_cause(node: Value, users: list[Value], found: dict[Value, str]) -> str:
    """The steps of formula 6 into `node` whose term is not finite, as text."""
    terms = [
        f"d({found[user]})/d({found[node]}) * grad({found[user]}) = {local!r} * {user.grad!r}"
        for user in users
        for parent, local in zip(user.parents, user.local_grads)
        if parent is node and not math.isfinite(local * user.grad)
    ]
    if terms:
        return "; ".join(terms)
    return "its terms are finite: their sum overflows, or it was held from before this backward"


def _given_names(names: Names | None) -> dict[Value, str]:
    """`names` as a dict Value -> name (see `node_names`)."""
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        names = names.named_parameters()
    pairs = names.items() if isinstance(names, Mapping) else names
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        raise TypeError(_NAMES_EXPECTED + f", got {type(names).__name__}")
    given: dict[Value, str] = {}
    for pair in pairs:
        first, second = _pair(pair)
        value, name = (first, second) if isinstance(first, Value) else (second, first)
        if not (isinstance(value, Value) and isinstance(name, str)):
            raise TypeError(_NAMES_EXPECTED + f", got a pair {pair!r}")
        given[value] = name
    return given


_NAMES_EXPECTED = (
    "names expects a model with named_parameters(), (name, Value) pairs or a mapping Value -> name"
)


def _pair(pair: object) -> tuple[object, object]:
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise TypeError(_NAMES_EXPECTED + f", got an item {pair!r}")
    return pair[0], pair[1]


def _value_set(values: Iterable[Value], what: str) -> set[Value]:
    if isinstance(values, Value) or not isinstance(values, Iterable):
        raise TypeError(f"{what} expects an iterable of Values, got {type(values).__name__}")
    chosen = set()
    for value in values:
        if not isinstance(value, Value):
            raise TypeError(f"{what} expects an iterable of Values, got an item {value!r}")
        chosen.add(value)
    return chosen


def _check_max_steps(max_steps: object) -> float:
    """`max_steps` as a limit on the number of steps kept (inf for None)."""
    if max_steps is None:
        return math.inf
    if not is_integer(max_steps):
        raise TypeError(
            f"explain_backward(max_steps) expects an int or None, got {type(max_steps).__name__}"
        )
    if max_steps < 0:
        raise ValueError(f"explain_backward(max_steps) expects an int >= 0, got {max_steps!r}")
    return max_steps


def _check_root(root: object, what: str) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"{what}(root) expects a Value, got {type(root).__name__}")


def _number(x: float) -> str:
    """`x` in at most six significant digits: -2, 0.5, 1.23457e+06; -0.0 as 0."""
    return f"{x + 0.0:g}"  # adding +0.0 turns -0.0 into 0.0 and changes nothing else


def factor(x: float, number: Callable[[float], str] = _number) -> str:
    """`x` written by `number` as a factor of a product: negative numbers in parentheses."""
    return f"({number(x)})" if x < 0 else number(x)


__all__ = [
    "BackwardStep",
    "BackwardSteps",
    "NonFinite",
    "explain_backward",
    "first_nonfinite",
    "node_names",
]
