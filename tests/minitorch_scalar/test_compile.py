"""minitorch_scalar.compile: a replay gives the eager engine's values and gradients, to
the bit, for every op, for the nn models and losses, over minibatches; a trace is reused
per signature; what a trace cannot see is caught by check=True."""

import math
import random
import struct

import numpy as np
import pytest
from scalar_random_programs import ALL_OPS, MINITORCH, Backend, random_program, run

import minitorch_scalar as ms
import nn
import optim
from minitorch_scalar import Value
from minitorch_scalar.compiler import CompileCheckError, CompileError


@pytest.fixture(autouse=True, params=["as allocated", "poisoned with nan"])
def backward_places(request, monkeypatch):
    """Backward does not clear its places: every place it reads, it writes first. Each
    test also runs with every place starting as nan, where a place read unwritten
    would show in a gradient."""
    if request.param == "poisoned with nan":
        import minitorch_scalar.compiler.backward as backward

        monkeypatch.setattr(backward, "_unwritten", lambda size: np.full(size, np.nan))


def bits(x: float):
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def same_bits(a: list[float], b: list[float]) -> bool:
    return list(map(bits, a)) == list(map(bits, b))


# ------------------------------------------------------------ every op, random graphs

PASS_THROUGH = Backend(leaf=lambda v: v, sum=MINITORCH.sum, dot=MINITORCH.dot)


@pytest.mark.parametrize("seed", range(25))
def test_random_programs_of_every_op_replay_to_the_bit(seed: int) -> None:
    rng = random.Random(seed)
    inputs = [rng.uniform(-2.0, 2.0) for _ in range(4)]
    program = random_program(rng, inputs, steps=30, ops=ALL_OPS)

    def root(*leaves):
        return run(program, list(leaves), PASS_THROUGH)[-1]

    compiled = ms.compile(root)
    compiled(*[Value(x) for x in inputs])  # the trace
    eager_leaves = [Value(x) for x in inputs]
    replay_leaves = [Value(x) for x in inputs]
    eager, replayed = root(*eager_leaves), compiled(*replay_leaves)
    assert bits(eager.data) == bits(replayed.data)
    eager.backward(0.75)
    replayed.backward(0.75)
    assert same_bits([v.grad for v in eager_leaves], [v.grad for v in replay_leaves])


def test_max_select_and_custom_ops_replay_with_new_data() -> None:
    softplus = ms.custom_op("softplus")(
        lambda a: (math.log1p(math.exp(a)), (1.0 / (1.0 + math.exp(-a)),))
    )

    def fn(row, index):
        values = [x * 1.5 for x in row]
        return softplus(ms.max(values) - ms.select(values, index))

    compiled = ms.compile(fn)
    rows = [[0.5, -1.0, 2.0], [3.0, 3.0, -4.0], [-1.0, -2.0, -0.5]]
    for row, index in zip(rows, [0, 2, 1]):
        eager = fn([Value(x) for x in row], index)
        assert bits(compiled(row, index).data) == bits(eager.data)
    assert len(compiled.traces) == 1


# ------------------------------------------------------- the nn models and their losses

X, LABELS = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 3

LOSSES = {  # (the loss, its targets made from the labels), the targets are inputs
    "hinge": (nn.hinge_loss, lambda y: 2.0 * (y == 1) - 1.0),
    "bce": (nn.binary_cross_entropy_with_logits, lambda y: (y == 1) * 1.0),
    "mse": (nn.mse_loss, lambda y: y * 0.5),
    "cross_entropy": (nn.cross_entropy, lambda y: y),
}


def train(loss_name: str, compiled: bool, batch: int, steps: int = 4):
    """Losses and final parameters of a few Adam steps on minibatches of `batch`."""
    outputs = 3 if loss_name == "cross_entropy" else 1
    model = nn.MLP(3, [5, 4, outputs], seed=7)
    opt = optim.Adam(model.parameters(), lr=0.05)

    loss_fn, targets = LOSSES[loss_name]

    def objective(x, t):
        return loss_fn(model(x), t) + 1e-3 * nn.l2_penalty(model.parameters())

    step = ms.compile(objective) if compiled else objective
    losses = []
    for k in range(steps):
        rows = np.arange(k * batch, (k + 1) * batch) % len(X)
        x, t = X[rows], targets(LABELS[rows])
        loss = step(x, t) if compiled else step(x.tolist(), t.tolist())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.data)
    return losses, [p.data for p in model.parameters()], step


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("batch", [40, 10])
def test_mlp_training_with_each_loss_is_the_eager_training_to_the_bit(loss_name, batch) -> None:
    eager_losses, eager_params, _ = train(loss_name, compiled=False, batch=batch)
    losses, params, step = train(loss_name, compiled=True, batch=batch)
    assert same_bits(losses, eager_losses)
    assert same_bits(params, eager_params)
    assert len(step.traces) == 1  # new minibatches of one size: no new trace


# A layer on a batch writes its terms as whole rows of a block where eager adds them in
# the same order for every receiver, and scatters them where it does not: both paths
# must give eager's gradients. The program says which path each part took.
TWO_BATCHES = np.random.default_rng(2).normal(size=(2, 3, 6, 3))  # 3 steps of 2 batches


def weights_only_penalty(model: nn.MLP):
    """Biases get one term fewer than weights: a layer's rows fall in two blocks."""
    weights = [w for layer in model.layers for neuron in layer.neurons for w in neuron.w]
    return lambda x1, x2: nn.mse_loss(model(x1), [0.5] * len(x1)) + 0.01 * (nn.l2_penalty(weights))


def one_layer_on_two_batches(model: nn.MLP):
    """Every row gets terms from two layers on a batch, at two depths (the second
    batch is scaled first): one after the other in eager's order, each a block."""
    return lambda x1, x2: (
        nn.mse_loss(model(x1), [0.5] * len(x1))
        + nn.hinge_loss(model([[v * 2.0 for v in row] for row in x2]), [1.0] * len(x2))
    )


def samples_in_a_shuffled_order(model: nn.MLP):
    """Each output unit's samples summed in its own order: the rows of the last layer
    get their terms in different orders (sample order reversed for unit 1)."""

    def objective(x1, x2):
        outputs = model(x1)
        first = ms.sum([o[0] for o in outputs])
        second = ms.sum([o[1] * o[1] for o in reversed(outputs)])
        return first + second

    return objective


def plain_mlp(model: nn.MLP):
    return lambda x1, x2: (
        nn.mse_loss(model(x1), [0.5] * len(x1)) + 1e-3 * (nn.l2_penalty(model.parameters()))
    )


def train_eager_and_compiled(objective_of, outputs: int = 1):
    """Per step: the loss and every parameter's gradient, eagerly and compiled (SGD)."""
    records = []
    for compiled in (False, True):
        model = nn.MLP(3, [4, 5, outputs], seed=11)
        objective = objective_of(model)
        step = ms.compile(objective) if compiled else objective
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
        record = []
        for x1, x2 in zip(*TWO_BATCHES):
            loss = step(x1, x2) if compiled else step(x1.tolist(), x2.tolist())
            opt.zero_grad()
            loss.backward()
            record += [loss.data, *(p.grad for p in model.parameters())]
            opt.step()
        records.append(record)
    return records, repr(step)


@pytest.mark.parametrize(
    ("objective_of", "outputs", "rows_written"),
    [
        (plain_mlp, 1, "whole rows of a block"),
        (weights_only_penalty, 1, "scattered"),
        (one_layer_on_two_batches, 1, "whole rows of a block"),
        (samples_in_a_shuffled_order, 2, "scattered"),
    ],
)
def test_layer_terms_written_as_blocks_or_scattered_give_eager_gradients(
    objective_of, outputs, rows_written
) -> None:
    (eager, replayed), program = train_eager_and_compiled(objective_of, outputs)
    assert same_bits(replayed, eager)
    rows_lines = [line for line in program.splitlines() if "to its rows" in line]
    assert any(line.endswith(rows_written) for line in rows_lines), program


def test_a_new_shape_or_a_new_static_argument_traces_again() -> None:
    model = nn.MLP(2, [3, 1], seed=1)
    step = ms.compile(lambda x, kind: nn.mse_loss(model(x), [0.0] * len(x)) * len(kind))
    step(np.zeros((4, 2)), "a")
    step(np.ones((4, 2)), "a")
    assert len(step.traces) == 1
    step(np.ones((5, 2)), "a")
    step(np.ones((5, 2)), "bb")
    step(np.ones((5, 2)).tolist(), "bb")  # a list, not an array: another type
    assert len(step.traces) == 4


# ------------------------------------------------------------- what a trace cannot see


def test_check_catches_a_branch_frozen_by_the_trace() -> None:
    def fn(x):
        return x * 2.0 if x.data > 0 else x * 3.0

    step = ms.compile(lambda v: fn(v * 1.0), check=True)
    step(1.0)
    assert step(2.0).data == 4.0  # the same branch: fine
    with pytest.raises(CompileCheckError, match="output 0"):
        step(-1.0)


def test_check_compares_gradients_too() -> None:
    w = Value(0.5)
    step = ms.compile(lambda x: (w * x).tanh(), check=True)
    step(1.0)
    out = step(2.0)
    out.backward()
    assert w.grad == pytest.approx(2.0 * (1.0 - math.tanh(1.0) ** 2))


def test_under_no_grad_a_replay_does_no_backward_work(monkeypatch) -> None:
    import minitorch_scalar.compiler.replay as compiler_module

    w = Value(0.5)
    step = ms.compile(lambda x: (w * x).relu())
    step(1.0)
    monkeypatch.setattr(compiler_module, "run_backward", None)  # any call would fail
    with ms.no_grad():
        out = step(3.0)
    assert out.data == 1.5
    with pytest.raises(ValueError, match="no_grad"):
        out.backward()
    assert w.grad == 0.0


def test_errors_at_trace_time_are_clear() -> None:
    with pytest.raises(TypeError, match="must return a Value"):
        ms.compile(lambda x: 3.0)(1.0)
    outside = Value(2.0) * 3.0
    with pytest.raises(CompileError, match="computed outside"):
        ms.compile(lambda x: outside * x)(1.0)
    with pytest.raises(TypeError):
        ms.compile(3)


def test_layers_on_a_batch_in_every_form_replay_to_the_bit() -> None:
    """`linear_batch` tells the tracer each input's nodes as one record: with Value and
    number biases (None too), Value and number inputs, and outputs nobody uses."""
    rng = random.Random(5)
    weights = [[Value(rng.uniform(-1.0, 1.0)) for _ in range(3)] for _ in range(4)]
    biases = [Value(0.3), 0.25, None, Value(-0.7)]
    constant_rows = [[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]]
    leaves = [w for row in weights for w in row] + [biases[0], biases[3]]

    def fn(x):
        rows = [[v * 1.0 for v in row] for row in x]
        on_values = ms.linear_batch(weights, rows, biases)
        on_numbers = ms.linear_batch(weights, constant_rows, biases)
        used = [out.tanh() for outputs in on_values for out in outputs[:3]]  # not row 3's
        return ms.sum(used) + ms.sum([out * out for outputs in on_numbers for out in outputs])

    def data_and_grads(f, x):
        for leaf in leaves:
            leaf.grad = None
        out = f(x)
        out.backward()
        return [out.data, *(leaf.grad for leaf in leaves)]

    compiled = ms.compile(fn)
    compiled(np.zeros((5, 3)))
    for _ in range(2):
        x = np.array([[rng.uniform(-2.0, 2.0) for _ in range(3)] for _ in range(5)])
        eager = data_and_grads(fn, [[Value(v) for v in row] for row in x])
        assert same_bits(data_and_grads(compiled, x), eager)
    assert len(compiled.traces) == 1


def test_a_list_a_layer_read_and_the_function_changed_after_does_not_rewire_the_tape():
    """A layer on a batch, traced, is recorded from what it read when it ran: a function
    that changes the lists afterwards replays as eagerly, not with the new contents."""
    layer = nn.Layer(2, 3, seed=0)

    def fn(x):
        rows = [[v * 1.0 for v in row] for row in x]
        outputs = layer.forward_batch(rows)
        rows[0][0] = rows[1][1]
        return ms.sum([o for row in outputs for o in row]) + ms.sum(rows[0])

    compiled = ms.compile(fn)
    compiled([[1.0, 2.0], [3.0, 4.0]])
    x = [[0.5, -1.5], [2.5, 0.25]]
    eager = fn([[Value(v) for v in row] for row in x])
    assert bits(compiled(x).data) == bits(eager.data)


def test_several_outputs_replay_their_data_and_say_backward_needs_one() -> None:
    model = nn.MLP(2, [4, 2], seed=3)
    forward = ms.compile(lambda x: model(x))
    grid = np.random.default_rng(1).normal(size=(6, 2))
    forward(grid)
    replayed = forward(grid * 2.0)
    eager = model((grid * 2.0).tolist())
    flat = [v.data for row in replayed for v in row]
    assert same_bits(flat, [v.data for row in eager for v in row])
    with pytest.raises(ValueError, match="one Value"):
        replayed[0][0].backward()


def test_the_program_reads_as_a_few_vectorised_steps() -> None:
    model = nn.MLP(2, [16, 16, 1], seed=0)
    step = ms.compile(lambda x, t: nn.hinge_loss(model(x), t))
    step(np.zeros((50, 2)), np.ones(50))
    text = repr(step)
    assert "scalar nodes" in text and "forward       dot x 800" in text
    assert text.count("forward") < 20


@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (101, 1), (3, 2), (17, 1600), (103, 337)])
def test_sum_rows_adds_row_after_row_as_a_loop_does(shape) -> None:
    """The compiler's sums rely on numpy adding the rows of a block in order (it sums
    pairwise only along the contiguous axis): held against an explicit loop, on numbers
    whose sum depends on the order of the additions."""
    from minitorch_scalar.compiler.rules import sum_rows

    rng = np.random.default_rng(sum(shape))
    block = rng.normal(size=shape) * np.exp(rng.normal(size=shape) * 20)
    expected = loop_sum(block)
    assert same_bits(sum_rows(block).tolist(), expected.tolist())
    zeros = rng.choice([0.0, -0.0, 1.5], size=shape)
    zeros[:, 0] = -0.0  # a sum of -0.0 only is -0.0
    assert same_bits(sum_rows(zeros).tolist(), loop_sum(zeros).tolist())


def loop_sum(block: np.ndarray) -> np.ndarray:
    expected = block[0].copy()
    for row in block[1:]:
        expected = expected + row
    return expected


def test_a_leaf_first_met_twice_in_one_node_gets_one_slot_and_the_sum_of_its_gradients():
    """x * x, and dot(ws, ws), meet a leaf twice in the same node before the trace has
    seen it: both operands must be the one leaf, whose gradient sums both edges."""
    compiled = ms.compile(lambda a, ws: a * a + ms.dot(ws, ws))
    ws = [Value(1.0), Value(2.0)]  # a list of Values is static: the same list replays
    compiled(Value(3.0), ws)  # the trace
    a = Value(5.0)
    compiled(a, ws).backward()
    assert (a.grad, [w.grad for w in ws], len(compiled.traces)) == (10.0, [2.0, 4.0], 1)
    w_fixed = [Value(1.0), Value(2.0)]
    static = ms.compile(lambda a: a * a + ms.dot(w_fixed, w_fixed))
    static(Value(3.0))
    static(Value(4.0)).backward()
    assert [w.grad for w in w_fixed] == [2.0, 4.0]


def test_a_new_unhashable_argument_traces_again_even_where_an_old_one_was_freed() -> None:
    """An object that cannot be hashed (here a dict holding a model) is keyed by
    identity; the key keeps it alive, so a new one can never take a freed one's id and
    replay with the old one's model. A list of Values is an argument like a Value."""
    compiled = ms.compile(lambda ws: ms.dot(ws, ws))
    for _ in range(3):
        ws = [Value(1.5), Value(-2.0)]
        compiled(ws).backward()
        assert [w.grad for w in ws] == [3.0, -4.0]
    assert len(compiled.traces) == 1
    by_identity = ms.compile(lambda holder, x: holder["m"](x))
    for seed in range(3):
        holder = {"m": nn.Neuron(1, activation=None, seed=seed), "cache": {1, 2}}
        assert by_identity(holder, [2.0]).data == holder["m"]([2.0]).data
    assert len(by_identity.traces) == 3


EDGES = [1.0, 708.9, 709.5, 710.0, 1e308, math.nan, -math.inf, math.inf, -745.2, 1e-300]


def test_exp_and_log_replay_the_engines_numbers_at_their_edges() -> None:
    """A step of exp or log (10 nodes: a vectorised step, not one on floats) replayed on
    numbers where exp overflows (inf, as the engine gives) or log has no value (the
    engine's ValueError), and on nan and infinities, gives what the engine gives."""
    exp_each = ms.compile(lambda x: [xi.exp() for xi in x])
    log_each = ms.compile(lambda x: [xi.log() for xi in x])
    exp_each([0.5] * len(EDGES))
    log_each([0.5] * len(EDGES))  # traced on harmless numbers; replayed below
    replayed = [v.data for v in exp_each(EDGES)]
    assert same_bits(replayed, [Value(x).exp().data for x in EDGES])
    positive = [abs(x) or 1.0 for x in EDGES]
    replayed = [v.data for v in log_each(positive)]
    assert same_bits(replayed, [Value(x).log().data for x in positive])
    for bad in (0.0, -1.0, -math.inf):
        with pytest.raises(ValueError, match="log"):
            Value(bad).log()
        with pytest.raises(ValueError, match="log"):
            log_each([*positive[:-1], bad])
    assert len(exp_each.traces) == len(log_each.traces) == 1


def test_a_replays_gradients_add_to_what_the_leaves_held_as_eagers_do() -> None:
    """Backward without zero_grad adds to each parameter's grad; a parameter whose grad
    is None takes the gradient as it is: the same bits as eager, for a mix of both."""
    x, t = [[0.5, -1.0], [2.0, 0.25], [-1.5, 1.0]], [1.0, -1.0, 1.0]
    models = [nn.MLP(2, [4, 1], seed=0) for _ in range(2)]
    step = ms.compile(lambda: nn.hinge_loss(models[0](x), t))
    step()  # the trace
    grads = []
    for model, loss_of in zip(models, (step, lambda: nn.hinge_loss(models[1](x), t))):
        params = model.parameters()
        for p in params:
            p.grad = None
        loss_of().backward()
        params[0].grad, params[1].grad = None, 0.25  # a mix: None, and a number held
        loss_of().backward()
        loss_of().backward()
        grads.append([p.grad for p in params])
    assert same_bits(grads[0], grads[1])
