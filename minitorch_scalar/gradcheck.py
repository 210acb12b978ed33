"""Check backward's gradients against central differences."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from .engine import Value
from .grad_mode import is_grad_enabled, no_grad
from .real import as_float


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when a backward gradient disagrees with the numbers."""


def gradcheck(
    fn: Callable[..., Value],
    inputs: Iterable[Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Compare d fn(*inputs) / d x from backward with central differences, for each x.

    The numerical gradient of input x is (f(x + eps) - f(x - eps)) / (2 eps), the other
    inputs held. They agree when |analytic - numerical| <= atol + rtol * |numerical|.
    Returns True, or raises `GradcheckError` listing each input that disagrees with
    both numbers. The inputs' data and grads are left as they were.
    """
    eps, atol, rtol = _checked_tolerances(eps, atol, rtol)
    inputs = _checked_inputs(inputs)
    analytic = _backward_gradients(fn, inputs)
    mismatches = []
    for index, x in enumerate(inputs):
        numerical = _central_difference(fn, inputs, x, eps)
        # written as "not <=" so that a nan on either side is a disagreement
        if not abs(analytic[index] - numerical) <= atol + rtol * abs(numerical):
            name = f" ({x.label})" if x.label else ""
            mismatches.append(
                f"input {index}{name}: backward {analytic[index]!r}, numerical {numerical!r}"
            )
    if mismatches:
        raise GradcheckError("gradients disagree:\n" + "\n".join(mismatches))
    return True


def _checked_inputs(inputs: Iterable[Value]) -> list[Value]:
    """`inputs` as a list of at least one Value, in a mode that records a graph."""
    if isinstance(inputs, Value) or not isinstance(inputs, Iterable):
        raise TypeError(f"gradcheck expects a sequence of Values, got {type(inputs).__name__}")
    inputs = list(inputs)
    if not inputs:
        raise ValueError("gradcheck expects at least one input Value, got none: nothing to check")
    for index, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(
                f"gradcheck expects inputs of Values, got {type(x).__name__} at {index}"
            )
    if not is_grad_enabled():
        raise ValueError("gradcheck needs a graph to run backward on: called inside no_grad()")
    return inputs


def _checked_tolerances(eps: float, atol: float, rtol: float) -> tuple[float, float, float]:
    """The three as floats. TypeError unless each is a real number; ValueError for an int
    beyond a float's range (``10**400``), and unless 0 < eps < inf, atol >= 0 and
    rtol >= 0 (written so that nan, which fails every comparison, is refused)."""
    eps, atol, rtol = (
        as_float(number, f"gradcheck({name})")
        for name, number in (("eps", eps), ("atol", atol), ("rtol", rtol))
    )
    if not 0.0 < eps < math.inf:
        raise ValueError(f"gradcheck expects a finite eps > 0, got {eps!r}")
    if not (atol >= 0.0 and rtol >= 0.0):
        raise ValueError(f"gradcheck expects atol, rtol >= 0, got atol={atol!r}, rtol={rtol!r}")
    return eps, atol, rtol


def _backward_gradients(fn: Callable[..., Value], inputs: list[Value]) -> list[float]:
    """d fn(*inputs) / d x for each input, by backward; the inputs' grads are restored."""
    saved_grads = [x.grad for x in inputs]
    try:
        for x in inputs:
            x.grad = 0.0
        out = fn(*inputs)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck expects fn to return a Value, got {type(out).__name__}")
        out.backward()
        return [x.grad for x in inputs]
    finally:
        for x, grad in zip(inputs, saved_grads):
            x.grad = grad


def _central_difference(
    fn: Callable[..., Value], inputs: list[Value], x: Value, eps: float
) -> float:
    """(f(x + eps) - f(x - eps)) / (2 eps), recording no graph; x.data is restored."""
    original = x.data
    try:
        with no_grad():
            x.data = original + eps
            upper = fn(*inputs).data
            x.data = original - eps
            lower = fn(*inputs).data
    finally:
        x.data = original
    return (upper - lower) / (2.0 * eps)
