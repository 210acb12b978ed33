"""PyTorch as the reference: the same graphs in float64 give the same values and grads."""

import math
import random

import pytest
from scalar_article import article_program
from scalar_random_programs import (
    MINITORCH,
    Backend,
    chained_dot,
    chained_sum,
    random_program,
    run,
)

from minitorch_scalar import Value

torch = pytest.importorskip("torch")

TORCH = Backend(
    leaf=lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True),
    sum=chained_sum,
    dot=chained_dot,
)


def _close(ours: float, theirs: float, scale: float) -> bool:
    """Equal to ~1e-12 relative; `scale` bounds the rounding of sums that cancel."""
    if math.isnan(theirs) or math.isinf(theirs):
        return ours == theirs or (math.isnan(ours) and math.isnan(theirs))
    return abs(ours - theirs) <= 1e-12 * max(abs(theirs), scale)


def _torch_grads(nodes: list) -> list[float]:
    return [0.0 if t.grad is None else t.grad.item() for t in nodes]


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_match_torch_values_and_every_gradient(seed: int) -> None:
    rng = random.Random(seed)
    inputs = [round(rng.uniform(-2.0, 2.0), 3) for _ in range(4)]
    program = random_program(rng, inputs, steps=30)

    ours = run(program, inputs, MINITORCH)
    theirs = run(program, inputs, TORCH)
    for t in theirs[len(inputs) :]:
        t.retain_grad()
    ours[-1].backward()
    theirs[-1].backward()

    values = [t.item() for t in theirs]
    grads = _torch_grads(theirs)
    value_scale = max(abs(v) for v in values)
    grad_scale = max(abs(g) for g in grads)
    for index, (node, value, grad) in enumerate(zip(ours, values, grads)):
        assert _close(node.data, value, 1e-3 * value_scale), f"value of node {index}"
        assert _close(node.grad, grad, 1e-3 * grad_scale), f"grad of node {index}"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_article_program_on_torch(dtype: str) -> None:
    """The article's PyTorch program, with retain_grad on the intermediates."""
    x = torch.tensor([-2.0], dtype=getattr(torch, dtype), requires_grad=True)
    z = 2 * x
    y1 = z + 5
    y2 = (z * z).relu() + x + 3
    loss = y1 - y2 + y2 * x
    for t in (z, y1, y2, loss):
        t.retain_grad()
    loss.backward()
    assert [t.item() for t in (x, z, y1, y2, loss)] == [-2.0, -4.0, 1.0, 17.0, -50.0]
    assert [t.grad.item() for t in (x, z, y1, y2, loss)] == [64.0, 25.0, 1.0, -3.0, 1.0]

    v = Value(-2.0)
    nodes = article_program(v)
    nodes["loss"].backward()
    ours = [v.grad, *(nodes[k].grad for k in ("z", "y1", "y2", "loss"))]
    assert ours == [t.grad.item() for t in (x, z, y1, y2, loss)]


def test_the_article_problem_2_and_seeded_example_on_torch() -> None:
    x = torch.tensor([2.0], requires_grad=True)
    z = x**2
    y = 2 * z
    z.retain_grad()
    y.backward()
    assert (z.grad.item(), x.grad.item()) == (2.0, 8.0)
    x0, x1 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)
    (2 * x0 - x1).backward(torch.tensor(3.0))
    assert x0.grad.item() == 6.0


def _torch_pow(a: float, b: float) -> tuple[float, float, float]:
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    out = ta**tb
    out.backward()
    return out.item(), ta.grad.item(), tb.grad.item()


@pytest.mark.parametrize(
    ("a", "b"),
    [(0.0, 0.0), (0.0, 2.0), (0.0, 1.0), (0.0, 0.5), (2.0, 0.0), (-2.0, 3.0), (-2.0, 2.0)],
)
def test_pow_edge_cases_follow_torch(a: float, b: float) -> None:
    x, y = Value(a), Value(b)
    out = x**y
    out.backward()
    expected = _torch_pow(a, b)
    for ours, theirs in zip((out.data, x.grad, y.grad), expected):
        assert _close(ours, theirs, 0.0)


@pytest.mark.parametrize("a", [-1000.0, -30.0, 0.0, 30.0, 1000.0])
def test_sigmoid_and_relu_at_the_extremes_follow_torch(a: float) -> None:
    for method in ("sigmoid", "relu", "tanh"):
        x = Value(a)
        out = getattr(x, method)()
        out.backward()
        t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        t_out = getattr(t, method)()
        t_out.backward()
        assert _close(out.data, t_out.item(), 0.0), method
        assert _close(x.grad, t.grad.item(), 1e-300), method


def test_backward_twice_doubles_leaves_like_torch() -> None:
    x = Value(0.7)
    y = (x * 3).tanh() * x
    y.backward()
    y.backward()
    t = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    ty = (t * 3).tanh() * t
    ty.backward(retain_graph=True)
    ty.backward()
    assert _close(x.grad, t.grad.item(), 0.0)
