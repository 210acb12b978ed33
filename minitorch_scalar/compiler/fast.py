"""The fast mode, ``compile(fn, exact=False)``: the same trace, replayed with BLAS.

Exact mode keeps eager's bits: every sum adds its terms left to right, one rounding
per term, in eager's order. BLAS cannot: a matrix product sums in its own order
(blocked, vectorised, with fused multiply-adds), and floating-point addition is not
associative, so its last bits differ. The fast mode takes the same forward steps
(`program.Step`, `program.Run`) and replays them with whole-array numpy:

- a layer on a batch (`LayerGrid`: R rows of weights, S inputs) is one matrix product
  forward, ``X @ W.T + b``, and backward ``G @ W`` for the inputs, ``G.T @ X`` for
  the weights and the column sums of G for the biases (G: the nodes' gradients, S x R);
- exp, log, tanh, sigmoid and ``**`` are numpy's ufuncs, not the C library's on each
  element;
- a node's gradient is accumulated as the steps run, deepest first, with numpy adds
  (a slice or distinct slots: ``+=``; repeated slots: ``np.add.at``), in no fixed order.

What it keeps: the forward steps and runs (a run is still replayed node by node), the
engine's errors (a division by zero, the log of a non-positive number, a power with no
real value raise the engine's error), and every guard. What it gives up: the bits.
Values and gradients agree with eager's within `TOLERANCE` (see `close`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..float_math import float_log, float_power
from .forward import SMALL, Run, Step
from .layer_grid import LayerGrid
from .rules import ONE, Dot, Elementwise, Max, Select, Sum

TOLERANCE = 1e-12
"""Fast mode's agreement with eager: see `close`."""

Array = np.ndarray
Index = slice | np.ndarray


def close(a: float | None, b: float | None) -> bool:
    """|a - b| <= TOLERANCE * max(1, |a|, |b|): relative for numbers of size 1 or more,
    absolute (1e-12) below; an infinity agrees with itself only, nan with nan, None
    with None.

    Why this rule: reordering a sum of n terms changes it by at most about
    n * 2^-53 * (|t_1| + ... + |t_n|), so the error scales with the terms, not with
    the result, which cancellation can make as small as it likes. A training step's
    terms are of the size of its values and gradients, at most a few units, and its
    sums have at most a few thousand terms: a few times 1e-13 at worst, typically about
    1e-16 (errors of random sign grow as sqrt(n)). The floor of 1 keeps a gradient
    that cancels to about zero (eager's 1e-17 beside the replay's 3e-17) from failing
    a relative test that no reordered sum could pass."""
    if a is None or b is None:
        return a is b
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    finite = math.isfinite(a) and math.isfinite(b)  # (an infinity agrees with itself only)
    return finite and abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def all_close(a: Array, b: Array) -> Array:
    """`close` elementwise on two arrays, as an array of bools."""
    with np.errstate(all="ignore"):
        scale = np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
        near = np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) <= TOLERANCE * scale)
        return (a == b) | (np.isnan(a) & np.isnan(b)) | near


# ------------------------------------------------ the libm functions, vectorised


def _log(a: Array) -> Array:
    """ln(a); the engine's error (`float_log`) for the first operand not positive."""
    bad = np.flatnonzero(a <= 0.0)
    if bad.size:
        float_log(float(a[bad[0]]))  # raises, naming the operand
    return np.log(a)


def _sigmoid(a: Array) -> Array:
    """1 / (1 + e^-a) with the e^... taken of -|a| (no overflow), as `float_sigmoid`."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0.0, 1.0, e) / (1.0 + e)


def _power(a: Array, b: Array) -> Array:
    """a ** b; the engine's error (`float_power`) where it has no real value."""
    bad = np.flatnonzero(
        ((a == 0.0) & (b < 0.0)) | ((a < 0.0) & np.isfinite(b) & (b != np.floor(b)))
    )
    if bad.size:
        float_power(float(a[bad[0]]), float(b[bad[0]]))  # raises, naming the operands
    return np.power(a, b)


def _power_grads(a: Array, b: Array, out: Array) -> tuple[Array, Array]:
    """(b a^(b-1), a^b ln a) with `float_math`'s values at a == 0, b == 0 and a < 0."""
    d_base = np.where(b == 0.0, 0.0, np.where((a == 0.0) & (b < 1.0), np.inf, b * a ** (b - 1)))
    d_exponent = np.where(a > 0.0, out * np.log(np.where(a > 0.0, a, 1.0)), np.nan)
    return d_base, np.where((a == 0.0) & (b >= 0.0), 0.0, d_exponent)


VALUES: dict[str, Callable[..., Array]] = {
    "tanh": np.tanh,
    "exp": np.exp,  # inf where it overflows, as `float_exp`
    "log": _log,
    "sigmoid": _sigmoid,
    "**": _power,
}
"""The elementwise ops whose exact rule calls a `math` function on each element."""

INTO: dict[str, Callable[..., Array]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "neg": np.negative,
    "relu": lambda a, out: np.maximum(a, 0.0, out=out),  # (nan stays nan)
    "tanh": np.tanh,
    "exp": np.exp,
}
"""The elementwise ops that write their values straight into the nodes' slots (`out=`):
those that check nothing first."""

LOCAL_GRADS: dict[str, Callable[..., tuple]] = {
    "**": _power_grads,
    "relu": lambda a, out: (a > 0.0,),  # (bools: times g, 1.0 or 0.0 times g)
}
"""Local derivatives other than the exact rule's: those that call `float_math` on each
element, and a relu's as a mask, one numpy call fewer."""


# ------------------------------------------------------- adding into gradients


def adder(index: Index) -> Callable[[Array, Array], None]:
    """``add(grads, terms)``: grads[index] += terms, each term to its slot (terms shaped
    as `index`, or broadcast to it). A slice or distinct slots: one ``+=``; a slot
    repeated: each slot's terms summed first (``np.bincount``), then added."""
    if isinstance(index, slice):

        def add_view(grads: Array, terms: Array) -> None:
            view = grads[index]
            np.add(view, terms.ravel(), out=view)  # (in place: no copy back, as += makes)

        return add_view
    distinct, inverse = np.unique(index, return_inverse=True)
    if len(distinct) == index.size:

        def add(grads: Array, terms: Array) -> None:
            grads[index] += terms

        return add
    inverse, count, shape = inverse.ravel(), len(distinct), index.shape

    def add_repeated(grads: Array, terms: Array) -> None:
        grads[distinct] += np.bincount(inverse, np.broadcast_to(terms, shape).ravel(), count)

    return add_repeated


def as_view(slots: np.ndarray) -> Index:
    """`slots` as a slice when they are consecutive slots in order (read as a view,
    reshaped to their shape), else as they are."""
    first = int(slots.flat[0]) if slots.size else 0
    if slots.size and np.array_equal(slots.ravel(), np.arange(first, first + slots.size)):
        return slice(first, first + slots.size)
    return slots


def read(values: Array, index: Index, shape: tuple[int, ...]) -> Array:
    """values at `index` (`as_view`), shaped `shape`: a view for a slice, else a copy."""
    if isinstance(index, slice):
        return values[index].reshape(shape)
    return values.take(index)


# ---------------------------------------------------------------- the steps


class FastLayer:
    """A layer on a batch as matrix products: O = X W^T + b (O: S x R, the nodes in
    grid order); backward dX = G W, and dW = G^T X with db = the column sums of G as
    one product, [db | dW] = G^T [1 | X], laid out as the rows (bias, then weights)."""

    def __init__(self, step: Step, needs: Array) -> None:
        grid: LayerGrid = step.grid
        self.out, self.name = step.out, "dot"
        self.shape = (len(grid.inputs), len(grid.rows))
        self.rows, self.inputs = as_view(grid.rows), as_view(grid.inputs)
        self.rows_shape, self.inputs_shape = grid.rows.shape, grid.inputs.shape
        self.add_rows = adder(self.rows) if needs[grid.rows].any() else None
        self.add_inputs = adder(self.inputs) if needs[grid.inputs].any() else None

    def forward(self, values: Array) -> None:
        rows = read(values, self.rows, self.rows_shape)
        x = read(values, self.inputs, self.inputs_shape)
        out = values[self.out].reshape(self.shape)
        np.matmul(x, rows[:, 1:].T, out=out)
        out += rows[:, 0]

    def backward(self, values: Array, grads: Array) -> None:
        g = grads[self.out].reshape(self.shape)
        if self.add_rows is not None:  # (one product: numpy's sum along G's columns
            with_ones = np.empty((self.shape[0], self.rows_shape[1]))  # is slower)
            with_ones[:, 0] = 1.0
            with_ones[:, 1:] = read(values, self.inputs, self.inputs_shape)
            self.add_rows(grads, g.T @ with_ones)
        if self.add_inputs is not None:
            self.add_inputs(grads, g @ read(values, self.rows, self.rows_shape)[:, 1:])

    def describe(self) -> tuple[str, str]:
        s, r = self.shape
        k = self.inputs_shape[1]
        return (
            f"X @ W.T + b   X {s}x{k}, W {r}x{k}  (a layer: {s} inputs x {r} rows)",
            ", ".join(  # what backward computes: the inputs of data get no gradient
                ["G.T @ [1 | X]"] * (self.add_rows is not None)
                + ["G @ W"] * (self.add_inputs is not None)
            )
            + f"   G {s}x{r}",
        )


class FastElementwise:
    """An op of one or two operands on whole columns: numpy's ufuncs for the libm
    functions (`VALUES`); backward, each column's local derivative times the gradients."""

    def __init__(self, step: Step, needs: Array) -> None:
        rule: Elementwise = step.rule
        self.out, self.name, self.columns = step.out, rule.name, step.columns
        self.values = VALUES.get(rule.name, rule.values_of)
        self.into = INTO.get(rule.name)
        self.local_grads = LOCAL_GRADS.get(rule.name, rule.local_columns)
        parents = step.parents.any(axis=0)
        self.adds = [
            adder(column) if parents[c] and needs[column].any() else None
            for c, column in enumerate(self.columns)
        ]

    def forward(self, values: Array) -> None:
        x = [values[column] for column in self.columns]
        if self.into is None:
            values[self.out] = self.values(*x)
        else:
            self.into(*x, out=values[self.out])

    def backward(self, values: Array, grads: Array) -> None:
        x = [values[column] for column in self.columns]
        g = grads[self.out]
        for add, local in zip(self.adds, self.local_grads(*x, values[self.out])):
            if add is not None:
                add(grads, g if local is ONE else local * g)

    def describe(self) -> tuple[str, str]:
        n = len(values_range(self.out))
        return f"{self.name:>8} x {n}", f"d{self.name:<8} x {n}"


class FastScalar:
    """An elementwise step of fewer than `program.SMALL` nodes: node by node on Python
    floats, by the rule's scalar forms (numpy gains nothing on a few numbers)."""

    def __init__(self, step: Step, needs: Array) -> None:
        self.rule, self.name = step.rule, step.rule.name
        self.slots = list(values_range(step.out))
        self.operands, self.parents = step.operands.tolist(), step.parents.tolist()

    def forward(self, values: Array) -> None:
        item, scalar = values.item, self.rule.scalar
        for slot, operands in zip(self.slots, self.operands):
            values[slot] = scalar(*map(item, operands))

    def backward(self, values: Array, grads: Array) -> None:
        item, terms_of = values.item, self.rule.scalar_terms
        for slot, operands, parents in zip(self.slots, self.operands, self.parents):
            terms = terms_of(list(map(item, operands)), item(slot), grads.item(slot))
            for operand, term, parent in zip(operands, terms, parents):
                if parent:
                    grads[operand] += term

    def describe(self) -> tuple[str, str]:
        n = len(self.slots)
        return f"{self.name:>8} x {n}  (on floats)", f"d{self.name:<8} x {n}  (on floats)"


class FastSum:
    """Sums: each node's operands (a row) added by numpy; backward, g to each."""

    def __init__(self, step: Step, needs: Array) -> None:
        self.out, self.operands, self.name = step.out, step.operands, "sum"
        self.add = adder(self.operands) if needs[self.operands].any() else None

    def forward(self, values: Array) -> None:
        values[self.out] = np.add.reduce(values.take(self.operands), axis=1)

    def backward(self, values: Array, grads: Array) -> None:
        if self.add is not None:
            self.add(grads, grads[self.out][:, None])  # (a constant's term: never read)

    def describe(self) -> tuple[str, str]:
        n, arity = self.operands.shape
        return f"     sum x {n}   operands {n}x{arity}", f"dsum      x {n}"


class FastPick:
    """max and select: each node is one of its operands (the first largest; the one at
    its index), its local derivative 1 there and 0 elsewhere: backward adds g there."""

    def __init__(self, step: Step, needs: Array) -> None:
        self.out, self.rule, self.name = step.out, step.rule, step.rule.name
        self.operands, self.nodes = step.operands, np.arange(len(step.operands))

    def picked(self, x: Array) -> Array:
        """The column each node picks (select's index checked by the engine's rule)."""
        return np.argmax(x, axis=1) if isinstance(self.rule, Max) else self.rule.picked(x)

    def forward(self, values: Array) -> None:
        x = values.take(self.operands)
        values[self.out] = x[self.nodes, self.picked(x)]

    def backward(self, values: Array, grads: Array) -> None:
        slots = self.operands[self.nodes, self.picked(values.take(self.operands))]
        np.add.at(grads, slots, grads[self.out])

    def describe(self) -> tuple[str, str]:
        n, arity = self.operands.shape
        return f"{self.name:>8} x {n}   operands {n}x{arity}", f"d{self.name:<8} x {n}"


class FastDot:
    """Dots d = b + w . x, operands (b, w_1..w_n, x_1..x_n) gathered as rows: the values
    by numpy; backward, g to the bias, x g to the weights, w g to the inputs, each part
    by its own adder (an L2 penalty's weights are its inputs: each part's slots are
    distinct, though the two parts share them)."""

    def __init__(self, step: Step, needs: Array) -> None:
        self.out, self.operands, self.name = step.out, step.operands, "dot"
        self.n = n = (step.operands.shape[1] - 1) // 2
        parts = [slice(0, 1), slice(1, n + 1), slice(n + 1, 2 * n + 1)]
        self.adds = [
            adder(np.ascontiguousarray(step.operands[:, part]))
            if needs[step.operands[:, part][step.parents[:, part]]].any()
            else None
            for part in parts
        ]

    def forward(self, values: Array) -> None:
        x, n = values.take(self.operands), self.n
        values[self.out] = x[:, 0] + np.einsum("ij,ij->i", x[:, 1 : n + 1], x[:, n + 1 :])

    def backward(self, values: Array, grads: Array) -> None:
        x, n, g = values.take(self.operands), self.n, grads[self.out][:, None]
        to_bias, to_weights, to_inputs = self.adds
        if to_bias is not None:
            to_bias(grads, g)
        if to_weights is not None:
            to_weights(grads, x[:, n + 1 :] * g)
        if to_inputs is not None:
            to_inputs(grads, x[:, 1 : n + 1] * g)

    def describe(self) -> tuple[str, str]:
        nodes, arity = self.operands.shape
        return f"     dot x {nodes}   operands {nodes}x{arity}", f"ddot      x {nodes}"


class FastGather:
    """Any other step (your own op): its operands gathered as (nodes, arity), by its
    exact rule. Backward
    sends terms to the columns up to the last that holds a parent (a term to a constant
    in between goes to its slot, whose gradient is never read)."""

    def __init__(self, step: Step, needs: Array) -> None:
        self.out, self.rule, self.operands = step.out, step.rule, step.operands
        self.name = step.rule.name
        with_parent = np.flatnonzero(step.parents.any(axis=0))
        self.columns = int(with_parent[-1]) + 1 if with_parent.size else 0
        sent = self.operands[:, : self.columns]
        self.add = adder(sent) if needs[sent[step.parents[:, : self.columns]]].any() else None

    def forward(self, values: Array) -> None:
        x = values.take(self.operands)
        values[self.out] = self.rule.values(x)

    def backward(self, values: Array, grads: Array) -> None:
        if self.add is not None:
            x, g = values.take(self.operands), grads[self.out]
            self.add(grads, self.rule.terms(x, values[self.out], g, self.columns))

    def describe(self) -> tuple[str, str]:
        n, arity = self.operands.shape
        return f"{self.name:>8} x {n}   operands {n}x{arity}", f"d{self.name:<8} x {n}"


class FastRun:
    """A run (a chain's nodes), as in exact mode: node by node on Python floats;
    backward, last node first, each term added to its parent's gradient."""

    def __init__(self, run: Run, needs: Array) -> None:
        self.run, self.name = run, "run"

    def forward(self, values: Array) -> None:
        self.run.forward(values)

    def backward(self, values: Array, grads: Array) -> None:
        run, numbers = self.run, self.run.numbers(values)
        first_node = len(numbers) - len(run.rules)
        local, starts = run.local.tolist(), run.starts.tolist()
        operands, parents = run.operands.tolist(), run.is_parent.tolist()
        for i in reversed(range(len(run.rules))):
            begin, end = starts[i], starts[i + 1]
            x = [numbers[k] for k in local[begin:end]]
            g = grads.item(run.out.start + i)
            terms = run.rules[i].scalar_terms(x, numbers[first_node + i], g)
            for slot, term, parent in zip(operands[begin:end], terms, parents[begin:end]):
                if parent:
                    grads[slot] += term

    def describe(self) -> tuple[str, str]:
        n = len(self.run.rules)
        return f"{n} nodes one by one (a run)", f"{n} nodes one by one, the last first"


FastStep = (
    FastLayer | FastElementwise | FastScalar | FastSum | FastPick | FastDot | FastGather | FastRun
)


def values_range(out: Index) -> range:
    """The slots of a step's nodes, as a range."""
    return range(out.start, out.stop) if isinstance(out, slice) else range(len(out))


def fast_step(step: Step | Run, needs: Array) -> FastStep:
    """The fast form of a forward step or run; `needs[slot]`: whether backward needs
    that slot's gradient (a node, or a leaf handed a gradient)."""
    if type(step) is Run:
        return FastRun(step, needs)
    if step.grid is not None:
        return FastLayer(step, needs)
    if isinstance(step.rule, Elementwise) and len(step.operands) < SMALL:
        return FastScalar(step, needs)
    if isinstance(step.rule, Elementwise) and step.columns is not None:
        return FastElementwise(step, needs)
    kinds = {Sum: FastSum, Max: FastPick, Select: FastPick, Dot: FastDot}
    return kinds.get(type(step.rule), FastGather)(step, needs)


class FastProgram:
    """The forward steps as matrix products and ufuncs (see the module), and, for a
    function that returns one Value (`root`: its slot; -1 for none), its backward: the
    gradients it hands the leaves in slots `leaves`. `size`: the slots; the nodes'
    are from `first_node` on."""

    def __init__(
        self, steps: list[Step | Run], size: int, first_node: int, root: int, leaves: list[int]
    ) -> None:
        needs = np.zeros(size, dtype=bool)  # whose gradient backward needs
        if root >= 0:
            needs[first_node:] = True
            needs[leaves] = True
        self.size, self.root, self.leaves = size, root, np.array(leaves, dtype=np.intp)
        self.steps: list[FastStep] = [fast_step(step, needs) for step in steps]

    def forward(self, values: Array) -> None:
        """Every node's slot in `values`, step by step."""
        with np.errstate(all="ignore"):  # inf and nan come out as the engine's, silently
            for step in self.steps:
                step.forward(values)

    def gradients(self, values: Array, seed: float) -> Array:
        """d(root)/d(leaf) * seed for each of `leaves`, within `TOLERANCE` of eager's."""
        grads = np.zeros(self.size)
        grads[self.root] = seed
        with np.errstate(all="ignore"):
            for step in reversed(self.steps):
                step.backward(values, grads)
        return grads.take(self.leaves)

    def describe(self) -> list[str]:
        """The program in words: the forward steps, then backward (deepest first)."""
        lines = [step.describe() for step in self.steps]
        out = [f"    forward  {forward}" for forward, _ in lines]
        if self.root >= 0:
            count = len(lines)
            out.append(f"  backward, deepest first: {count} steps, gradients added as they come")
            out += [f"    {backward}" for _, backward in reversed(lines)]
        return out
