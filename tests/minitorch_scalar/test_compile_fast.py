"""The fast mode, compile(fn, exact=False): the same trace replayed with matrix products
and numpy's ufuncs. Every value and gradient is held to the eager engine within the
mode's tolerance, |a - b| <= 1e-12 * max(1, |a|, |b|) (`fast.close`): every op, random
graphs of all ops, every loss, the MLPs of the benchmark sweep, training with SGD;
check=True compares within it and raises beyond it; the guards retrace as in exact mode.
"""

import math
import random

import numpy as np
import pytest
from scalar_op_table import OP_CASES
from scalar_random_programs import ALL_OPS, MINITORCH, Backend, random_program, run

import minitorch_scalar as ms
import nn
import optim
from minitorch_scalar import Value
from minitorch_scalar.compiler import CompileCheckError, fast
from minitorch_scalar.compiler.fast import TOLERANCE, close


def assert_close(replayed: list[float], eager: list[float]) -> None:
    """Every pair within the fast mode's tolerance; the first that is not, named."""
    assert len(replayed) == len(eager)
    for index, (r, e) in enumerate(zip(replayed, eager)):
        assert close(r, e), f"item {index}: replayed {r!r}, eagerly {e!r}"


# ------------------------------------------------------------------ the tolerance


def test_close_is_relative_above_one_and_absolute_below() -> None:
    assert close(1.0, 1.0 + 9e-13) and not close(1.0, 1.0 + 2e-12)
    assert close(1e6, 1e6 * (1 + 9e-13)) and not close(1e6, 1e6 * (1 + 2e-12))
    assert close(1e-20, 3e-20) and close(0.0, -5e-13) and not close(0.0, 2e-12)
    assert close(math.inf, math.inf) and not close(math.inf, -math.inf)
    assert not close(math.inf, 1.0) and not close(1e300, math.inf)
    assert close(math.nan, math.nan) and not close(math.nan, 0.0)
    assert close(None, None) and not close(None, 0.0)
    a = np.array([1.0, 0.0, math.inf, math.nan, 1e6])
    b = np.array([1.0 + 9e-13, 2e-12, math.inf, math.nan, 1e6 + 1e-5])
    assert fast.all_close(a, b).tolist() == [True, False, True, True, False]


# ---------------------------------------------------------------- every op, in bulk


def batched(case, copies: int = 24):
    """The op of `case` on `copies` nodes at once (a vectorised step), summed."""

    def fn(*columns):
        return ms.sum([case.fn(*operands) for operands in zip(*columns)])

    return fn


@pytest.mark.parametrize("case", OP_CASES, ids=str)
def test_every_op_in_bulk_is_eager_within_the_tolerance(case) -> None:
    fn, copies = batched(case), 24
    compiled = ms.compile(fn, exact=False)
    compiled(*[[Value(x) for _ in range(copies)] for x in case.args])  # the trace
    scales = [1.0 + 0.001 * k for k in range(copies)]  # other data: the replay's own
    columns = [[x * s if case.op != "**" else x for s in scales] for x in case.args]
    eager_leaves = [[Value(x) for x in column] for column in columns]
    replay_leaves = [[Value(x) for x in column] for column in columns]
    eager, replayed = fn(*eager_leaves), compiled(*replay_leaves)
    assert close(replayed.data, eager.data)
    eager.backward(0.75)
    replayed.backward(0.75)
    assert_close(
        [v.grad for col in replay_leaves for v in col],
        [v.grad for col in eager_leaves for v in col],
    )
    assert len(compiled.traces) == 1


PASS_THROUGH = Backend(leaf=lambda v: v, sum=MINITORCH.sum, dot=MINITORCH.dot)


@pytest.mark.parametrize("seed", range(25))
def test_random_programs_of_every_op_are_eager_within_the_tolerance(seed: int) -> None:
    rng = random.Random(seed)
    inputs = [rng.uniform(-2.0, 2.0) for _ in range(4)]
    program = random_program(rng, inputs, steps=30, ops=ALL_OPS)

    def root(*leaves):
        return run(program, list(leaves), PASS_THROUGH)[-1]

    compiled = ms.compile(root, exact=False)
    compiled(*[Value(x) for x in inputs])  # the trace
    eager_leaves, replay_leaves = [Value(x) for x in inputs], [Value(x) for x in inputs]
    eager, replayed = root(*eager_leaves), compiled(*replay_leaves)
    assert close(replayed.data, eager.data)
    eager.backward(0.75)
    replayed.backward(0.75)
    assert_close([v.grad for v in replay_leaves], [v.grad for v in eager_leaves])


def test_a_chain_replays_node_by_node_within_the_tolerance() -> None:
    def chain(x):
        for k in range(200):
            x = (x * 1.01).tanh() + 0.001 * k if k % 2 else (x - 0.5).sigmoid() * 3.0
        return x

    compiled = ms.compile(chain, exact=False)
    compiled(Value(0.3))
    assert "one by one" in repr(compiled)
    a, b = Value(0.7), Value(0.7)
    eager, replayed = chain(a), compiled(b)
    eager.backward()
    replayed.backward()
    assert_close([replayed.data, b.grad], [eager.data, a.grad])


def test_the_engines_errors_are_raised_in_the_fast_mode_too() -> None:
    compiled = ms.compile(lambda xs: ms.sum([x.log() for x in xs]), exact=False)
    compiled([Value(1.0), Value(2.0)])
    with pytest.raises(ValueError, match=r"log: expected a positive operand, got -1\.0"):
        compiled([Value(1.0), Value(-1.0)])
    divided = ms.compile(lambda xs: ms.sum([1.0 / x for x in xs]), exact=False)
    divided([Value(1.0), Value(2.0)])
    with pytest.raises(ZeroDivisionError, match="divides by zero"):
        divided([Value(1.0), Value(0.0)])
    powered = ms.compile(lambda xs: ms.sum([x**0.5 for x in xs]), exact=False)
    powered([Value(1.0), Value(2.0)])
    with pytest.raises(ValueError, match="is not a real number"):
        powered([Value(1.0), Value(-2.0)])


def test_a_custom_op_a_leaf_returned_and_an_interior_argument() -> None:
    softplus = ms.custom_op("softplus")(
        lambda a: (math.log1p(math.exp(a)), (1.0 / (1.0 + math.exp(-a)),))
    )

    def fn(xs):
        return ms.sum([softplus(v * 1.5) for v in xs])

    compiled = ms.compile(fn, exact=False)
    compiled([Value(0.1 * i) for i in range(20)])  # the trace
    weights = [Value(0.5), Value(0.5)]
    args = [weights[0] * 3.0] + [Value(0.2 * i - 1.0) for i in range(1, 20)]  # one interior
    eager_args = [weights[1] * 3.0] + [Value(0.2 * i - 1.0) for i in range(1, 20)]
    replayed, eager = compiled(args), fn(eager_args)
    replayed.backward()
    eager.backward()
    assert_close([replayed.data, weights[0].grad], [eager.data, weights[1].grad])
    assert_close([v.grad for v in args[1:]], [v.grad for v in eager_args[1:]])
    same = ms.compile(lambda a: a, exact=False)
    leaf = Value(2.0)
    same(leaf)
    out = same(leaf)
    out.backward()
    assert (out.data, leaf.grad) == (2.0, 1.0)


# ------------------------------------------------------------- losses and models


X, LABELS = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 3

LOSSES = {  # the loss, and its targets made from the labels
    "hinge": (nn.hinge_loss, lambda y: 2.0 * (y == 1) - 1.0),
    "bce": (nn.binary_cross_entropy_with_logits, lambda y: (y == 1) * 1.0),
    "mse": (nn.mse_loss, lambda y: y * 0.5),
    "cross_entropy": (nn.cross_entropy, lambda y: y),
}


def loss_and_grads(model: nn.MLP, fn, *args) -> list[float]:
    """The loss fn(*args)'s data, then every parameter's gradient, from zeroed gradients."""
    model.zero_grad()
    loss = fn(*args)
    loss.backward()
    return [loss.data, *(p.grad for p in model.parameters())]


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_every_loss_is_eager_within_the_tolerance(loss_name: str, activation: str) -> None:
    outputs = 3 if loss_name == "cross_entropy" else 1
    model = nn.MLP(3, [6, 5, outputs], seed=7, activation=activation)
    loss_fn, targets = LOSSES[loss_name]

    def objective(x, t):
        return loss_fn(model(x), t) + 1e-3 * nn.l2_penalty(model.parameters())

    compiled = ms.compile(objective, exact=False)
    for k in range(3):  # the trace, then two replays on other minibatches
        rows = np.arange(k * 8, (k + 1) * 8)
        x, t = X[rows], targets(LABELS[rows])
        replayed = loss_and_grads(model, compiled, x, t)
        eager = loss_and_grads(model, objective, x.tolist(), t.tolist())
        assert_close(replayed, eager)
    assert len(compiled.traces) == 1


def moons_like(batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(batch, 2)), np.where(rng.random(batch) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("width", [16, 64, 256])
@pytest.mark.parametrize("batch", [10, 100])
def test_the_sweeps_moons_mlps_are_eager_within_the_tolerance(width: int, batch: int) -> None:
    model = nn.MLP(2, [width, width, 1], seed=1)

    def objective(x, t):
        return nn.hinge_loss(model(x), t) + 1e-4 * nn.l2_penalty(model.parameters())

    compiled = ms.compile(objective, exact=False)
    compiled(*moons_like(batch, seed=1))  # the trace
    x, t = moons_like(batch, seed=2)
    replayed = loss_and_grads(model, compiled, x, t)
    eager = loss_and_grads(model, objective, x.tolist(), t.tolist())
    assert_close(replayed, eager)


@pytest.mark.parametrize("hidden", [32, 128])
def test_digits_sized_mlps_with_cross_entropy_are_eager_within_the_tolerance(hidden) -> None:
    rng = np.random.default_rng(3)
    model = nn.MLP(64, [hidden, 10], seed=2)
    images, labels = rng.uniform(0.0, 16.0, size=(2, 20, 64)), rng.integers(0, 10, (2, 20))

    def objective(x, y):
        return nn.cross_entropy(model(x), y)

    compiled = ms.compile(objective, exact=False)
    compiled(images[0], labels[0])  # the trace
    replayed = loss_and_grads(model, compiled, images[1], labels[1])
    eager = loss_and_grads(model, objective, images[1].tolist(), labels[1].tolist())
    assert_close(replayed, eager)


def test_layers_whose_rows_and_inputs_are_not_consecutive_slots() -> None:
    """The penalty meets the parameters first, neuron by neuron (weights, then bias),
    so a layer's rows are gathered, not a view; the inputs are reversed and scaled."""
    model = nn.MLP(3, [5, 4, 1], seed=3)

    def objective(x):
        penalty = 1e-2 * nn.l2_penalty(model.parameters())
        rows = [[v * 2.0 for v in reversed(row)] for row in x]
        return nn.mse_loss(model(rows[::-1]), [0.5] * len(x)) + penalty

    compiled = ms.compile(objective, exact=False)
    x = np.random.default_rng(0).normal(size=(6, 3))
    compiled(x)
    steps = next(iter(compiled.traces.values())).fast.steps
    layers = [step for step in steps if isinstance(step, fast.FastLayer)]
    assert [isinstance(layer.rows, slice) for layer in layers] == [False, False, False]
    assert [isinstance(layer.inputs, slice) for layer in layers] == [False, True, True]
    replayed = loss_and_grads(model, compiled, x * 0.5)
    assert_close(replayed, loss_and_grads(model, objective, (x * 0.5).tolist()))


def test_training_with_sgd_stays_within_the_tolerance_of_eager_training() -> None:
    records = []
    for exact_mode in (None, False):
        model = nn.MLP(2, [16, 16, 1], seed=5)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

        def objective(x, t, model=model):
            return nn.hinge_loss(model(x), t) + 1e-4 * nn.l2_penalty(model.parameters())

        step = objective if exact_mode is None else ms.compile(objective, exact=False)
        record = []
        for k in range(10):
            x, t = moons_like(20, seed=k)
            loss = step(x.tolist(), t.tolist()) if exact_mode is None else step(x, t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            record += [loss.data, *(p.data for p in model.parameters())]
        records.append(record)
    assert_close(records[1], records[0])


def test_several_outputs_under_no_grad_are_eager_within_the_tolerance() -> None:
    model = nn.MLP(2, [16, 16, 1], seed=1)
    scores = ms.compile(lambda points: model(points), exact=False)
    points = moons_like(50)[0]
    with ms.no_grad():
        scores(points[:25])
        replayed = [s.data for s in scores(points[25:])]
        eager = [s.data for s in model(points[25:].tolist())]
    assert_close(replayed, eager)


# ------------------------------------------------------------------ check=True


def hinge_objective(model: nn.MLP):
    return lambda x, t: nn.hinge_loss(model(x), t) + 1e-4 * nn.l2_penalty(model.parameters())


def test_check_passes_within_the_tolerance() -> None:
    model = nn.MLP(2, [64, 64, 1], seed=1)
    step = ms.compile(hinge_objective(model), exact=False, check=True)
    for seed in range(3):
        model.zero_grad()
        step(*moons_like(30, seed)).backward()  # compared with eager: no error


def test_check_raises_beyond_the_tolerance_on_a_value(monkeypatch) -> None:
    model = nn.MLP(2, [8, 1], seed=1)
    step = ms.compile(hinge_objective(model), exact=False, check=True)
    step(*moons_like(10))
    forward = fast.FastProgram.forward

    def perturbed(self, values):
        forward(self, values)
        values[-1] *= 1.0 + 10 * TOLERANCE

    monkeypatch.setattr(fast.FastProgram, "forward", perturbed)
    with pytest.raises(CompileCheckError, match="output 0"):
        step(*moons_like(10, seed=1))


def test_check_raises_beyond_the_tolerance_on_a_gradient(monkeypatch) -> None:
    model = nn.MLP(2, [8, 1], seed=1)
    step = ms.compile(hinge_objective(model), exact=False, check=True)
    step(*moons_like(10)).backward()
    gradients = fast.FastProgram.gradients
    monkeypatch.setattr(
        fast.FastProgram,
        "gradients",
        lambda self, values, seed: gradients(self, values, seed) * (1.0 + 10 * TOLERANCE) + 1e-11,
    )
    loss = step(*moons_like(10, seed=1))
    with pytest.raises(CompileCheckError, match="the gradient of leaf"):
        loss.backward()


# ---------------------------------------------------------- the mode, the guards


def test_exact_must_be_a_bool_and_exact_stays_the_default() -> None:
    for wrong in (0, 1, None, "no"):
        with pytest.raises(TypeError, match=r"compile\(exact\) expects True or False"):
            ms.compile(lambda x: x * 2.0, exact=wrong)
    assert ms.compile(lambda x: x * 2.0).exact is True
    assert ms.compile(exact=False)(lambda x: x * 2.0).exact is False


def test_print_says_the_mode_and_shows_the_matrix_products() -> None:
    model = nn.MLP(2, [16, 16, 1], seed=1)
    step = ms.compile(hinge_objective(model), exact=False)
    step(*moons_like(100))
    program = repr(step)
    assert "(fast mode, exact=False)" in program.splitlines()[0]
    assert program.count("X @ W.T + b") == 3
    assert "(a layer: 100 inputs x 16 rows)" in program
    assert "G.T @ [1 | X], G @ W   G 100x16" in program  # the second layer
    assert "G.T @ [1 | X]   G 100x16" in program  # the first: the data get no gradient
    exact = ms.compile(hinge_objective(model))
    exact(*moons_like(100))
    assert "exact=False" not in repr(exact) and "X @ W.T" not in repr(exact)


def test_a_structure_change_traces_again_in_the_fast_mode() -> None:
    model = nn.MLP(2, [8, 8, 1], seed=1)
    objective = hinge_objective(model)
    step = ms.compile(objective, exact=False)
    x, t = moons_like(12)
    step(x, t)
    step(x, t)
    assert step.trace_count == 1
    model.layers[0].activation = "tanh"  # a change of structure: the guard retraces
    replayed = loss_and_grads(model, step, x, t)
    assert step.trace_count == 2 and step.retrace_count == 1
    eager = loss_and_grads(model, objective, x.tolist(), t.tolist())
    assert_close(replayed, eager)
