"""backward(): seeding, accumulation rules, shared nodes, and graphs far deeper than the stack."""

import gc
import sys

import numpy as np
import pytest

from minitorch_scalar import Value


def test_backward_twice_doubles_leaves_and_leaves_interior_nodes_unchanged() -> None:
    x, w = Value(1.5), Value(-2.0)
    h = (x * w).tanh()
    y = h * h + x
    y.backward()
    first = {"x": x.grad, "w": w.grad, "h": h.grad, "y": y.grad}
    y.backward()
    assert x.grad == 2 * first["x"]  # exactly: doubling a float is exact
    assert w.grad == 2 * first["w"]
    assert h.grad == first["h"]  # interior: this call's gradient only
    assert y.grad == first["y"] == 1.0


def test_backward_twice_doubles_a_leaf_with_several_uses_exactly() -> None:
    """b is used three times in y = b + a / (b * b + 1); found by test_properties."""
    a, b = Value(1.25), Value(0.375)
    y = b + a / (b * b + 1)
    y.backward()
    once = b.grad
    y.backward()
    assert b.grad == 2 * once


def test_a_reused_interior_node_gets_the_sum_over_its_uses() -> None:
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert (c.data, b.grad, a.grad) == (12.0, 2.0, 4.0)


def test_a_node_reached_along_paths_of_different_depth_is_finished_before_its_parents() -> None:
    """y = (x^2)^2 * x^2 = x^6: x^2 feeds y directly and through the square."""
    x = Value(1.5)
    s = x * x
    y = (s * s) * s
    y.backward()
    assert s.grad == pytest.approx(3 * 1.5**4, rel=1e-15)  # dy/ds = 3 s^2
    assert x.grad == pytest.approx(6 * 1.5**5, rel=1e-15)


def test_interior_gradients_are_reset_when_the_node_is_reused_in_a_new_graph() -> None:
    a = Value(2.0)
    b = a * 3
    (b * 5).backward()
    assert (b.grad, a.grad) == (5.0, 15.0)
    (b * 7).backward()
    assert b.grad == 7.0  # not 12: interior nodes hold the latest call
    assert a.grad == 15.0 + 21.0  # leaves accumulate


def test_backward_on_a_leaf_adds_the_seed_to_its_grad() -> None:
    x = Value(4.0)
    x.backward()
    x.backward(2.5)
    assert x.grad == 3.5


@pytest.mark.parametrize("seed", [3, np.float64(3.0), np.int32(3)], ids=lambda s: type(s).__name__)
def test_backward_accepts_any_real_seed(seed) -> None:
    x = Value(2.0)
    y = x * x
    y.backward(seed)
    assert (y.grad, x.grad) == (3.0, 12.0)
    assert type(x.grad) is float


def test_zeroing_a_leaf_between_calls_starts_afresh() -> None:
    x = Value(2.0)
    y = x**3
    y.backward()
    x.grad = 0.0
    y.backward()
    assert x.grad == 12.0


@pytest.mark.parametrize("enabled", [True, False])
def test_backward_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        y = (Value(2.0) * 3).tanh()
        y.backward()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_chain_of_a_million_nodes_runs_at_the_default_recursion_limit() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default
    gc.disable()  # only for speed: a million tracked nodes make each collection slow
    try:
        x = Value(0.5)
        y = x
        for _ in range(1_000_000):
            y = y + 1.0
        y.backward()
        assert y.data == 1_000_000.5
        assert x.grad == 1.0
        assert y.parents[0].grad == 1.0
        del y  # freeing the chain must not recurse either
    finally:
        gc.enable()
        sys.setrecursionlimit(limit)


def test_a_dropped_graph_holds_no_reference_cycle() -> None:
    """No closures: reference counting frees a graph, the cyclic collector finds nothing."""
    import minitorch_scalar as ms

    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        x, w = Value(0.3), [Value(0.1), Value(-0.2)]
        h = ms.linear([w, w], [x, x * 2], [Value(0.0), Value(1.0)])
        loss = ms.sum([(h[0].tanh() - h[1].sigmoid()) ** 2, h[1].relu().exp().log()])
        loss.backward()
        del h, loss
        assert gc.collect() == 0  # nothing unreachable was left for the collector
    finally:
        (gc.enable if was else gc.disable)()
