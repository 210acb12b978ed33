"""What mutation testing of the compiler found no test pinned down (issue 17, "What the
tests leave unchecked today"): layer shapes the other tests never build, the trace's
self-checks, check=True on a gradient, a replayed select out of range, a custom op's
backward, the grad mode after a failed trace, argument kinds, and `print(step)`'s text."""

import math
import struct

import numpy as np
import pytest

import minitorch_scalar as ms
import nn
from minitorch_scalar import Value
from minitorch_scalar.compiler import CompileCheckError, CompileError
from minitorch_scalar.grad_mode import is_tracing


def bits(x: float):
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def same_bits(a, b) -> bool:
    return list(map(bits, a)) == list(map(bits, b))


def replays_as_eager(fn, leaves: list[Value], calls: list[tuple]) -> None:
    """The first call traces; every later one gives eager's value and leaves' gradients."""
    step = ms.compile(fn)
    for index, args in enumerate(calls):
        for leaf in leaves:
            leaf.grad = 0.0
        eager = fn(*[_as_eager(a) for a in args])
        eager.backward()
        expected = [leaf.grad for leaf in leaves]
        for leaf in leaves:
            leaf.grad = 0.0
        out = step(*args)
        out.backward()
        assert bits(out.data) == bits(eager.data), index
        assert same_bits([leaf.grad for leaf in leaves], expected), index
    assert len(step.traces) == 1


def _as_eager(arg):
    """What eager code is given: lists for arrays, a float for a 0-d array (a number
    argument: the engine itself takes no numpy array as a number)."""
    if isinstance(arg, np.ndarray):
        return arg.tolist() if arg.ndim else float(arg)
    return arg


RNG = np.random.default_rng(7)
BATCHES = [(RNG.normal(size=(4, 2)),) for _ in range(3)]


# --------------------------------------------------------------------- layer shapes


class TestLayerShapes:
    def test_two_layer_widths_at_one_depth(self) -> None:
        narrow, wide = nn.Layer(2, 3, seed=0), nn.Layer(2, 5, seed=1, activation="tanh")

        def fn(xs):
            rows = [list(row) for row in xs]
            outs = narrow.forward_batch(rows) + wide.forward_batch(rows)
            return ms.sum([v for row in outs for v in row])

        replays_as_eager(fn, narrow.parameters() + wide.parameters(), BATCHES)

    def test_weights_computed_inside_the_function(self) -> None:
        layer = nn.Layer(2, 3, seed=2)

        def fn(xs):
            rows = [[w * 2.0 - 0.5 for w in n.w] for n in layer.neurons]
            biases = [n.b * n.b for n in layer.neurons]
            outs = ms.linear_batch(rows, [list(row) for row in xs], biases)
            return ms.sum([v.tanh() for row in outs for v in row])

        replays_as_eager(fn, layer.parameters(), BATCHES)

    def test_an_mlp_plus_one_more_parameter(self) -> None:
        model, scale = nn.MLP(2, [4, 1], seed=3), Value(0.75)

        def fn(xs):
            return nn.mse_loss(model(xs), [1.0] * len(xs)) * scale + scale

        replays_as_eager(fn, [*model.parameters(), scale], BATCHES)

    def test_a_layer_with_no_inputs(self) -> None:
        biases = [Value(0.5), Value(-1.5)]

        def fn(xs):
            outs = ms.linear_batch([[], []], [[] for _ in xs], biases)  # each: its bias
            return ms.sum([v * row[0] for outs_row, row in zip(outs, xs) for v in outs_row])

        replays_as_eager(fn, biases, BATCHES)

    def test_a_compiled_model_called_on_one_sample(self) -> None:
        model = nn.MLP(2, [3, 1], seed=4)
        samples = [(row,) for row in RNG.normal(size=(3, 2))]
        replays_as_eager(lambda x: model(x).tanh(), model.parameters(), samples)


# ------------------------------------------------------------- trace's self-checks


class TestTheTraceChecksItself:
    def test_an_op_that_does_not_replay_exactly_is_an_error_at_trace_time(self) -> None:
        calls = [0]

        @ms.custom_op("drifting")
        def drifting(a):
            calls[0] += 1
            return a + 1e-9 * calls[0], (1.0,)  # another value on every call of the rule

        with pytest.raises(CompileError, match="'drifting' did not replay exactly"):
            ms.compile(lambda x: drifting(x * 2.0))(1.0)

    def test_check_true_catches_a_gradient_that_differs_where_the_value_does_not(self) -> None:
        w = Value(3.0)

        def fn(v):  # the same value either way; v gets a gradient in one branch only
            return v * w if v.data > 0 else v.data * w

        step = ms.compile(fn, check=True)
        step(Value(1.0))
        step(Value(2.0)).backward()  # the traced branch: fine
        out = step(Value(-1.0))
        assert out.data == -3.0  # the value agrees with eager
        with pytest.raises(CompileCheckError, match="gradient of leaf"):
            out.backward()


# ---------------------------------------------------------------- replays of ops


class TestReplayedOps:
    def test_a_replayed_select_out_of_range_raises_as_eager(self) -> None:
        f = ms.compile(lambda xs, i: ms.select([x * 1.0 for x in xs], i))
        assert f([1.0, 2.0, 3.0], 1).data == 2.0
        assert f([1.0, 2.0, 3.0], 2).data == 3.0
        for bad in (3, -1, 7):
            with pytest.raises(IndexError):
                ms.select([Value(1.0)] * 3, bad)
            with pytest.raises(IndexError):
                f([1.0, 2.0, 3.0], bad)

    def test_the_backward_of_a_custom_op_replayed(self) -> None:
        @ms.custom_op("softplus")
        def softplus(a):
            return math.log1p(math.exp(a)), (1.0 / (1.0 + math.exp(-a)),)

        w = Value(0.3)
        replays_as_eager(
            lambda x: softplus(w * x) * softplus(x + w), [w], [(0.5,), (-1.25,), (2.0,)]
        )

    @pytest.mark.parametrize("outer_no_grad", [False, True])
    def test_the_grad_mode_is_restored_after_a_trace_that_fails(self, outer_no_grad) -> None:
        def failing(x):
            raise RuntimeError("inside the function")

        if outer_no_grad:
            with ms.no_grad():
                with pytest.raises(RuntimeError, match="inside the function"):
                    ms.compile(failing)(1.0)
                assert not ms.is_grad_enabled() and not is_tracing()
        else:
            with pytest.raises(RuntimeError, match="inside the function"):
                ms.compile(failing)(1.0)
        assert ms.is_grad_enabled() and not is_tracing()
        assert (Value(2.0) * 3.0).parents  # ops record again


# ------------------------------------------------------------------ argument kinds


class TestArgumentKinds:
    def test_a_range_is_static_and_traces_again_when_it_changes(self) -> None:
        w = Value(2.0)
        f = ms.compile(lambda r, x: ms.sum([w * x * k for k in r]))
        assert f(range(3), 1.0).data == 6.0
        assert f(range(3), 2.0).data == 12.0
        assert f(range(4), 1.0).data == 12.0
        assert len(f.traces) == 2

    def test_a_zero_d_array_is_an_input_number(self) -> None:
        w = Value(0.5)
        replays_as_eager(lambda x: (w * x).tanh(), [w], [(np.array(1.0),), (np.array(-2.0),)])

    def test_int_and_numpy_scalar_inputs_to_a_layer(self) -> None:
        layer = nn.Layer(3, 2, seed=5)
        rows = [(1, np.float32(0.5), np.int64(-2)), (3, np.float64(0.25), np.float32(-1.5))]
        calls = [([*row],) for row in rows]

        def fn(x):
            return ms.sum(layer(x))

        replays_as_eager(fn, layer.parameters(), calls)

    def test_a_numpy_batch_of_rows(self) -> None:
        model = nn.MLP(2, [3, 1], seed=6)

        def fn(xs):
            return nn.mse_loss(model(xs), [0.5] * len(xs))

        replays_as_eager(fn, model.parameters(), BATCHES)

    def test_compile_check_true_as_a_decorator_keeps_the_name_and_the_doc(self) -> None:
        @ms.compile(check=True)
        def loss_of(x):
            """The loss, documented."""
            return x * 2.0

        assert loss_of.__name__ == "loss_of" and loss_of.__doc__ == "The loss, documented."
        assert loss_of.check is True
        loss_of(1.0)
        assert loss_of(3.0).data == 6.0


# ------------------------------------------------------------------- print(step)


def test_print_step_reads_line_by_line_on_a_known_program() -> None:
    w = Value(0.5)

    @ms.compile
    def known(x):
        return ms.sum([(w * xi + 1.0).tanh() * xi for xi in x])

    known([1.0, 2.0])
    assert repr(known).splitlines() == [
        "compiled known: 1 trace(s)",
        "  trace of 9 scalar nodes -> 5 forward steps",
        "    forward         * x 2      operands 2x2",
        "    forward         + x 2      operands 2x2",
        "    forward      tanh x 2      operands 2x1",
        "    forward         * x 2      operands 2x2",
        "    forward       sum x 1      operands 1x3",
        "  backward in 5 depths, deepest first: 6 steps",
        "    dsum      x grad, to parents     1x3, scattered",
        "    d*        x grad, to parents     2x2, scattered",
        "    dtanh     x grad, to parents     2x1, scattered",
        "    d+        x grad, to parents     2x2, scattered",
        "    d*        x grad, to parents     2x2, scattered",
        "    sum the grads of 1 leaves, 2 terms each",
    ]
