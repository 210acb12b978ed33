"""micrograd as the reference: the same expressions give the same values and grads.

micrograd 0.1.0 has + - * / ** (number exponents), neg and relu; it divides as
a * b**-1, so values may differ in the last bit: compared to ~1e-12 relative.
"""

import random

import pytest
from scalar_article import article_program
from scalar_random_programs import (
    MICROGRAD_OPS,
    MINITORCH,
    Backend,
    chained_dot,
    chained_sum,
    random_program,
    run,
)

from minitorch_scalar import Value

micrograd_engine = pytest.importorskip("micrograd.engine")

MICROGRAD = Backend(leaf=micrograd_engine.Value, sum=chained_sum, dot=chained_dot)


def _close(ours: float, theirs: float, scale: float) -> bool:
    return abs(ours - theirs) <= 1e-12 * max(abs(theirs), scale)


@pytest.mark.parametrize("seed", range(20))
def test_random_graphs_match_micrograd(seed: int) -> None:
    rng = random.Random(1000 + seed)
    inputs = [round(rng.uniform(-2.0, 2.0), 3) for _ in range(4)]
    program = random_program(rng, inputs, steps=30, ops=MICROGRAD_OPS)
    ours = run(program, inputs, MINITORCH)
    theirs = run(program, inputs, MICROGRAD)
    ours[-1].backward()
    theirs[-1].backward()
    value_scale = max(abs(v.data) for v in theirs)
    grad_scale = max(abs(v.grad) for v in theirs)
    for index, (node, reference) in enumerate(zip(ours, theirs)):  # every step's output
        assert _close(node.data, reference.data, 1e-3 * value_scale), f"value of node {index}"
        assert _close(node.grad, reference.grad, 1e-3 * grad_scale), f"grad of node {index}"


def test_the_article_program_on_micrograd() -> None:
    x = micrograd_engine.Value(-2.0)
    z = 2 * x
    y1 = z + 5
    y2 = (z * z).relu() + x + 3
    loss = y1 - y2 + y2 * x
    loss.backward()
    ours = Value(-2.0)
    article_program(ours)["loss"].backward()
    assert (loss.data, x.grad, z.grad, y1.grad, y2.grad) == (-50.0, 64.0, 25.0, 1.0, -3.0)
    assert ours.grad == x.grad


def test_relu_at_zero_matches_micrograd() -> None:
    x = micrograd_engine.Value(0.0)
    x.relu().backward()
    ours = Value(0.0)
    ours.relu().backward()
    assert ours.grad == x.grad == 0
