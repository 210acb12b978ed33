"""minitorch_scalar.compile on deep and wide graphs: a chain replays node by node (a run)
and a layer's edges are found line by line (a bundle), both to the eager engine's bits;
the trace's work and memory grow linearly with the graph (counted, never timed)."""

import gc
import math
import random
import sys
import tracemalloc

import numpy as np
import pytest
from scalar_random_programs import ALL_OPS, MINITORCH, Backend, random_program, run
from test_compile import backward_places, same_bits  # noqa: F401 (a fixture, autouse)

import minitorch_scalar as ms
import nn
from minitorch_scalar import Value

PASS_THROUGH = Backend(leaf=lambda v: v, sum=MINITORCH.sum, dot=MINITORCH.dot)


def data_and_grads(f, leaves: list[Value], *args) -> list[float]:
    """f(*args)'s value, then each leaf's gradient after backward(0.75)."""
    for leaf in leaves:
        leaf.grad = 0.0
    out = f(*args)
    out.backward(0.75)
    return [out.data, *(leaf.grad for leaf in leaves)]


# ------------------------------------------------------------------ runs: chains


@pytest.mark.parametrize("seed", range(6))
def test_deep_random_programs_replay_node_by_node_to_the_bit(seed: int) -> None:
    """Programs that mostly use their last nodes are deep and narrow: their single
    nodes are replayed as runs, every op of the engine among them."""
    rng = random.Random(seed)
    inputs = [rng.uniform(-2.0, 2.0) for _ in range(2)]
    program = random_program(rng, inputs, steps=150, ops=ALL_OPS)

    def root(*leaves):
        return run(program, list(leaves), PASS_THROUGH)[-1]

    compiled = ms.compile(root)
    compiled(*[Value(x) for x in inputs])  # the trace
    assert "one by one" in repr(compiled)  # (a run)
    eager_leaves, replay_leaves = [Value(x) for x in inputs], [Value(x) for x in inputs]
    eager = data_and_grads(root, eager_leaves, *eager_leaves)
    assert same_bits(data_and_grads(compiled, replay_leaves, *replay_leaves), eager)


def test_a_chain_of_max_select_sum_dot_and_custom_ops_replays_with_new_data() -> None:
    softplus = ms.custom_op("softplus")(
        lambda a: (math.log1p(math.exp(a)), (1.0 / (1.0 + math.exp(-a)),))
    )
    w = Value(0.3)

    def fn(x, index):
        v = x
        for k in range(12):  # 5 ops a round, each node alone at its depth
            v = ms.max([v * 0.5, w])
            v = ms.select([v, v * w, v - 1.0], index)
            v = ms.sum([v, w, 0.25 * k])
            v = ms.dot([v, w], [w, 0.5], bias=0.1)
            v = softplus(v) - 1.0
        return v

    compiled = ms.compile(fn)
    compiled(0.5, 1)
    assert "one by one" in repr(compiled)
    for x, index in [(0.5, 1), (-1.5, 1), (2.0, 1)]:
        eager = data_and_grads(fn, [w], Value(x), index)
        assert same_bits(data_and_grads(compiled, [w], x, index), eager)
    with pytest.raises(IndexError):  # select's check, at the replay as eagerly
        compiled(0.5, 7)


def chain(x: Value, w: Value, depth: int) -> Value:
    """Every op of the engine in turn, about `depth` nodes deep (17 a round); x and w
    used all along."""
    ops = [
        lambda v: v * 1.01,
        lambda v: v + x,
        lambda v: v.tanh(),
        lambda v: 2.0 - v,
        lambda v: v * w,
        lambda v: v.sigmoid(),
        lambda v: v / 0.9,
        lambda v: (v - 0.3).relu() + 0.1,
        lambda v: v**2.0,
        lambda v: (v + 1.0).log(),
        lambda v: (-v).exp(),
        lambda v: 1.5**v,
        lambda v: v / w,
    ]
    v = x
    while depth > 0:
        for op in ops:
            v = op(v)
        depth -= 17
    return v


def test_a_chain_200_000_nodes_deep_traces_and_replays_to_the_bit(request) -> None:
    """No recursion limit, nothing quadratic: the chain traces, and its replay and
    backward give the engine's bits (the value and both leaves' gradients). The first
    call's result is the eager one. (Once: places poisoned with nan are tried above.)"""
    if request.node.callspec.params["backward_places"] != "as allocated":
        pytest.skip("the deep chain runs once")
    w, eager_x, replay_x = Value(0.7), Value(0.2), Value(0.2)
    compiled = ms.compile(lambda x: chain(x, w, 200_000))
    eager = data_and_grads(compiled, [eager_x, w], eager_x)  # the trace: eager's graph
    assert same_bits(data_and_grads(compiled, [replay_x, w], replay_x), eager)
    assert all(map(math.isfinite, eager))


# ------------------------------------------------------------------ bundles: layers


def test_layers_whose_receivers_have_other_terms_or_share_lines_replay_to_the_bit() -> None:
    """A layer's parts are found line by line unless a receiver is in two lines: a
    hidden layer read by two layers, a weight used by two layers, a penalty on the
    weights (terms from other steps), inputs given as Values."""
    rng = random.Random(3)
    first = [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(4)]
    second = [[Value(rng.uniform(-1, 1)) for _ in range(4)] for _ in range(2)]
    shared = [second[0], [first[0][0], *second[1][1:]]]  # a weight of each layer
    biases = [Value(0.1), None, Value(-0.2), 0.5]
    leaves = [w for row in first + second for w in row] + [biases[0], biases[2]]

    def fn(x):
        hidden = [[h.relu() for h in row] for row in ms.linear_batch(first, x, biases)]
        a = ms.linear_batch(second, hidden, [0.0, Value(0.3)])
        b = ms.linear_batch(shared, hidden, None)
        penalty = ms.sum([w * w for row in first for w in row])
        return ms.sum([o.tanh() for row in a + b for o in row]) + 0.01 * penalty

    compiled = ms.compile(fn)
    x = np.array([[rng.uniform(-2, 2) for _ in range(3)] for _ in range(6)])
    compiled([[Value(v) for v in row] for row in x])
    for _ in range(2):
        x = np.array([[rng.uniform(-2, 2) for _ in range(3)] for _ in range(6)])
        eager_x = [[Value(v) for v in row] for row in x]
        replay_x = [[Value(v) for v in row] for row in x]
        flat_eager = [v for row in eager_x for v in row]
        flat_replay = [v for row in replay_x for v in row]
        eager = data_and_grads(fn, leaves + flat_eager, eager_x)
        assert same_bits(data_and_grads(compiled, leaves + flat_replay, replay_x), eager)


@pytest.mark.parametrize("width", [1, 7])
def test_an_mlp_with_a_penalty_replays_to_the_bit_line_by_line(width: int) -> None:
    model = nn.MLP(2, [width, width, 1], seed=2)
    parameters = model.parameters()

    def fn(points, labels):
        return nn.hinge_loss(model(points), labels) + 1e-3 * nn.l2_penalty(parameters)

    compiled = ms.compile(fn)
    rng = np.random.default_rng(width)
    for _ in range(3):
        points, labels = rng.normal(size=(9, 2)), np.sign(rng.normal(size=9))
        eager = data_and_grads(fn, parameters, points.tolist(), labels.tolist())
        assert same_bits(data_and_grads(compiled, parameters, points, labels), eager)


# ------------------------------------------------------------- linear work and memory


def chains(n: int):
    """Two chains side by side: n nodes, two a depth."""

    def fn(x, y):
        for _ in range(n // 2):
            x, y = x * 1.001, y * 0.999
        return x + y

    return fn, (Value(1.0), Value(2.0))


def mlp(n: int):
    """A 2-8-8-1 MLP on a batch of n / 20 (about 20 nodes a sample), with a penalty."""
    model = nn.MLP(2, [8, 8, 1], seed=0)
    points, labels = np.linspace(-1, 1, n // 10).reshape(-1, 2), np.ones(n // 20)

    def fn(p, t):
        return nn.hinge_loss(model(p), t) + 1e-4 * nn.l2_penalty(model.parameters())

    return fn, (points, labels)


def one_chain(n: int):
    return (lambda x: chain(x, Value(0.5), n)), (Value(0.2),)


def calls_in_trace(fn, args) -> int:
    """Function calls (Python's and C's, numpy's among them) made by a first call."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        count += event in ("call", "c_call")

    compiled = ms.compile(fn)
    sys.setprofile(profile)
    try:
        compiled(*args)
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("graph", [one_chain, chains, mlp])
def test_the_trace_s_function_calls_grow_linearly_with_the_graph(graph) -> None:
    """Twice the graph, twice the calls (not four times): counted, deterministic. The
    eager call inside the trace is counted too; it is linear."""
    small, large = (calls_in_trace(*graph(n)) for n in (2_000, 4_000))
    assert large <= 2.1 * small, (small, large)


def peak_bytes(fn) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("graph", [one_chain, chains, mlp])
def test_the_trace_s_memory_grows_linearly_within_twice_an_eager_step_s(graph) -> None:
    """tracemalloc's peak, deterministic: a trace holds the eager graph, and at most as
    much again; twice the graph, at most twice the memory."""

    def eager(n):
        fn, args = graph(n)
        return lambda: fn(*args).backward()

    def trace(n):
        fn, args = graph(n)
        return lambda: ms.compile(fn)(*args)

    small, large = peak_bytes(trace(4_000)), peak_bytes(trace(8_000))
    assert large <= 2.1 * small, (small, large)
    assert large <= 2.0 * peak_bytes(eager(8_000)), (large, peak_bytes(eager(8_000)))
