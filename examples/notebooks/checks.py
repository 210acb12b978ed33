"""The checks of the notebooks' exercises: each says what is right or, precisely, what is wrong.

A check returns a `Verdict`; a notebook shows it as its text. `right` is True or False,
or None while the exercise is not answered yet (the placeholder still in place), so a
notebook runs top to bottom before any answer is written. Every wrong number is shown
with the input it was taken at, the expected number, the learner's, and a central
difference, (f(a + h) - f(a - h)) / 2h, which needs no calculus and settles who is right.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import minitorch_scalar as ms
import nn
from minitorch_scalar import Value

H = 1e-6  # the step of the central differences
INPUTS = (-2.0, -0.5, 0.0, 0.5, 3.0)  # where a local derivative is checked


class Verdict(NamedTuple):
    """The outcome of a check: `right` (None: not answered yet) and what to tell."""

    right: bool | None
    lines: tuple[str, ...]

    def __str__(self) -> str:
        mark = {True: "RIGHT", False: "WRONG", None: "NOT ANSWERED YET"}[self.right]
        return "\n".join([mark, *("  " + line for line in self.lines)])

    __repr__ = __str__


def close(a: float, b: float) -> bool:
    """Equal up to rounding: within 1e-6 relative (1e-9 absolute near 0)."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def central_difference(f: Callable[[float], float], a: float) -> float:
    """(f(a + H) - f(a - H)) / 2H: the slope of f at a, measured."""
    return (f(a + H) - f(a - H)) / (2 * H)


def check_local_derivative(
    op: ms.CustomOp,
    expected: Callable[[float], float],
    formula: str,
    inputs: Sequence[float] = INPUTS,
    compiled: bool = False,
) -> Verdict:
    """Is the derivative `op`'s rule gives, d op(a) / d a, right at every input?

    `expected(a)` is the closed form (`formula` says it in words). The learner's number
    is what backward gives through the op. With `compiled`, backward runs through
    `minitorch_scalar.compile` too, and must give the eager number to the bit.
    """
    eager = _derivatives(op, inputs, compiled=False)
    if isinstance(eager, str):
        return Verdict(None, (eager,))
    replayed = _derivatives(op, inputs, compiled=True) if compiled else eager
    lines, right = [], True
    for a, mine, again in zip(inputs, eager, replayed):
        want = expected(a)
        measured = central_difference(lambda t: op(t).data, a)
        ok = close(mine, want)
        right &= ok and again == mine
        lines.append(
            f"at a = {a:g}: expected {want:.6g} ({formula}), your rule gives {mine:.6g}, "
            f"the central difference gives {measured:.6g}" + ("" if ok else "  <- wrong")
        )
        if again != mine:
            lines.append(f"  the compiled step gives {again!r}, eager {mine!r}: not the same bits")
    return Verdict(right, tuple(lines))


def _derivatives(op: ms.CustomOp, inputs: Sequence[float], compiled: bool) -> list[float] | str:
    """d op(a) / d a by backward at each input (through compile if asked), or why not."""
    leaves = [Value(a) for a in inputs]
    total = ms.compile(lambda *xs: ms.sum([op(x) for x in xs])) if compiled else None
    try:
        root = total(*leaves) if total else ms.sum([op(x) for x in leaves])
    except (TypeError, ValueError) as error:
        return f"your rule does not give a number yet ({type(error).__name__}: {error})"
    root.backward()
    return [x.grad for x in leaves]


def check_gradients(
    predicted: Mapping[str, float | None], graph: Callable[..., Value], at: Mapping[str, float]
) -> Verdict:
    """Are the predicted gradients of ``graph(**at)`` with respect to each input right?

    Each prediction is compared with backward's number and a central difference.
    """
    missing = [name for name in at if predicted.get(name) is None]
    if missing:
        return Verdict(None, (f"write a number for {', '.join(missing)}",))
    leaves = {name: Value(number, label=name) for name, number in at.items()}
    graph(**leaves).backward()
    lines, right = [], True
    for name, number in at.items():
        measured = central_difference(functools.partial(_value_at, graph, at, name), number)
        ok = close(predicted[name], leaves[name].grad)
        right &= ok
        lines.append(
            f"d out / d {name} at {name} = {number:g}: you predicted {predicted[name]:g}, "
            f"backward gives {leaves[name].grad:g}, the central difference "
            f"{measured:.6g}" + ("" if ok else "  <- wrong")
        )
    return Verdict(right, tuple(lines))


def _value_at(graph: Callable[..., Value], at: Mapping[str, float], name: str, t: float) -> float:
    """graph's value with input `name` moved to t, the others as in `at`."""
    return graph(**{key: Value(t if key == name else x) for key, x in at.items()}).data


def check_dead_neurons(
    named: Mapping[str, Iterable[int]] | None, model: nn.MLP, batch: Any
) -> Verdict:
    """Did the learner name exactly the dead relu neurons of each layer, on `batch`?"""
    if named is None:
        return Verdict(None, ("name the dead neurons: {'layers.0': [...], 'layers.1': [...]}",))
    diagnosis = nn.diagnose(model, batch, show=False)
    lines, right = [], True
    for report in diagnosis:
        if not report.relu_units:
            continue
        said, dead = set(named.get(report.name, ())), set(report.dead)
        if said == dead:
            lines.append(f"{report.name}: {_listed(sorted(dead))}: right")
            continue
        right = False
        line = f"{report.name}: you named {_listed(sorted(said))}; dead: {_listed(sorted(dead))}"
        if dead - said:
            line += f"; missing {_listed(sorted(dead - said))}"
        for j in sorted(said - dead):
            fired = int((report.outputs[:, j] > 0).sum())
            line += f"; neuron {j} is alive (its relu is > 0 on {fired} of {diagnosis.rows} rows)"
        lines.append(line)
    return Verdict(right, tuple(lines))


def _listed(indices: Sequence[int]) -> str:
    return "neurons " + ", ".join(map(str, indices)) if indices else "none"


def check_dot_count(predicted: int | None, model: nn.MLP, batch: Any) -> Verdict:
    """Did the learner predict how many `dot` nodes ``model(batch)`` makes?"""
    if predicted is None:
        return Verdict(None, ("write a number for `predicted`",))
    outputs = model(batch)
    flat = [o for out in outputs for o in (out if isinstance(out, list) else [out])]
    found = sum(1 for node in ms.topological_order(ms.sum(flat)) if node.op == "dot")
    rows = len(batch)
    parts = [
        f"{rows * layer.nout} in layers.{i} ({rows} rows x {layer.nout} "
        f"neuron{'s' if layer.nout > 1 else ''})"
        for i, layer in enumerate(model.layers)
    ]
    line = f"you predicted {predicted}; the graph has {found} dot nodes: " + " and ".join(parts)
    return Verdict(predicted == found, (line,))
