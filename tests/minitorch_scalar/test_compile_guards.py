"""compile is never silently wrong: guards on the models, results that compose, arguments
(aliasing, lists of Values, interior nodes), parameters' data, a bounded cache, and the
errors of issue 17, each case a class. Every replay is compared with an eager call on
the same parameters: values and gradients to the bit, or to 1e-12 where the issue allows
(a compiled result inside a larger expression)."""

import copy
import math
import random
import struct
import warnings
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_scalar as ms
import nn
import optim
from minitorch_scalar import Value
from minitorch_scalar.compiler import RetraceWarning


def bits(x: float):
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def same_bits(a, b) -> bool:
    return list(map(bits, a)) == list(map(bits, b))


def grads_after(model, make_loss) -> tuple[float, list[float]]:
    """The loss's data and every parameter's gradient, from zeroed gradients."""
    model.zero_grad()
    loss = make_loss()
    loss.backward()
    return loss.data, [p.grad for p in model.parameters()]


def eager_and_compiled(model, loss_fn, step, *args) -> tuple:
    eager = grads_after(model, lambda: loss_fn(*[_eager(a) for a in args]))
    compiled = grads_after(model, lambda: step(*args))
    return eager, compiled


def _eager(arg):
    return arg.tolist() if isinstance(arg, np.ndarray) else arg


def assert_same(eager, compiled) -> None:
    assert bits(eager[0]) == bits(compiled[0])
    assert same_bits(eager[1], compiled[1])


BATCH = np.random.default_rng(0).normal(size=(6, 2))
TARGETS = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])


# ------------------------------------------------------------------ 1. composition


def _combine(op: str, out: Value, other: Value, c: float) -> Value:
    if op == "+":
        return out + other
    if op == "-":
        return out - c * other
    if op == "*":
        return out * other
    if op == "/":
        return out / (1.0 + other * other)
    return (out * c).tanh()


class TestCompiledResultsCompose:
    def setup_method(self) -> None:
        self.model = nn.MLP(2, [4, 3, 1], activation="tanh", seed=3)
        self.loss = lambda xs, t: nn.hinge_loss(self.model(xs), t)
        self.step = ms.compile(self.loss)

    def close(self, expression) -> None:
        """`expression(f)` with f eager and compiled: the same gradients, to 1e-12."""
        eager = grads_after(self.model, lambda: expression(lambda xs, t: self.loss(xs.tolist(), t)))
        compiled = grads_after(self.model, lambda: expression(self.step))
        assert compiled[0] == pytest.approx(eager[0], rel=1e-12, abs=0.0)
        assert any(g != 0.0 for g in compiled[1])
        np.testing.assert_allclose(compiled[1], eager[1], rtol=1e-12, atol=1e-15)

    def test_a_scaled_result_backpropagates(self) -> None:
        self.close(lambda f: f(BATCH, TARGETS) * 2.0)
        self.close(lambda f: f(BATCH, TARGETS) / 3.0 - 1.0)

    def test_a_sum_of_compiled_calls_over_minibatches(self) -> None:
        self.close(lambda f: f(BATCH[:3], TARGETS[:3]) + f(BATCH[3:], TARGETS[3:]))

    def test_a_penalty_outside_the_compiled_function(self) -> None:
        params = self.model.parameters()
        self.close(lambda f: f(BATCH, TARGETS) + 1e-3 * nn.l2_penalty(params))
        self.close(lambda f: (f(BATCH, TARGETS) * f(BATCH * 2.0, TARGETS)).tanh())

    @settings(max_examples=25, deadline=None, derandomize=True)
    @given(st.lists(st.tuples(st.sampled_from("+-*/t"), st.floats(0.5, 2.0)), max_size=5))
    def test_random_expressions_of_compiled_calls(self, ops) -> None:
        def expression(f):
            out = f(BATCH, TARGETS)
            for op, c in ops:
                out = _combine(op, out, f(BATCH * c, TARGETS), c)
            return out

        self.close(expression)

    def test_backward_of_the_output_itself_is_eager_to_the_bit_for_any_seed(self) -> None:
        self.step(BATCH, TARGETS)
        for seed in (1.0, 0.3, -7.25):
            self.model.zero_grad()
            eager = self.loss(BATCH.tolist(), TARGETS)
            eager.backward(seed)
            expected = [p.grad for p in self.model.parameters()]
            self.model.zero_grad()
            self.step(BATCH, TARGETS).backward(seed)
            assert same_bits([p.grad for p in self.model.parameters()], expected)

    def test_micrograds_view_is_the_node_of_the_whole_function(self) -> None:
        out = self.step(BATCH, TARGETS)
        params = self.model.parameters()
        assert out._prev == set(params)
        assert len(out.local_grads) == len(out.parents)
        _, expected = grads_after(self.model, lambda: self.loss(BATCH.tolist(), TARGETS))
        self.model.zero_grad()
        out.grad = 1.0
        out._backward()  # micrograd's step: parent.grad += local * out.grad
        assert same_bits([p.grad for p in params], expected)

    def test_a_compiled_call_inside_another_compiled_function_is_traced_inline(self) -> None:
        outer = ms.compile(lambda xs, t: self.step(xs, t) * 2.0 + 1.0)
        outer(BATCH, TARGETS)
        eager, compiled = eager_and_compiled(
            self.model, lambda xs, t: self.loss(xs, t) * 2.0 + 1.0, outer, BATCH * 3.0, TARGETS
        )
        assert_same(eager, compiled)

    def test_an_output_of_several_cannot_be_backpropagated_and_nothing_changes(self) -> None:
        forward = ms.compile(lambda xs: self.model(xs))
        outputs = forward(BATCH)
        for p in self.model.parameters():
            p.grad = 0.5
        with pytest.raises(ValueError, match="one of several"):
            (outputs[0] * 2.0 + outputs[1]).backward()
        with pytest.raises(ValueError, match="one of several"):
            outputs[0].backward()
        assert all(p.grad == 0.5 for p in self.model.parameters())


# ------------------------------------------------------------------- 2. model guards


class Micro(nn.Module):
    """A model written as micrograd's: its own parameters() and __call__, a list of layers."""

    def __init__(self) -> None:
        self.layers = [nn.Layer(2, 3, seed=0, activation="tanh"), nn.Layer(3, 1, seed=1)]
        self.scale = Value(0.5)

    def __call__(self, batch):
        rows = [list(row) for row in batch]
        for layer in self.layers:
            rows = layer.forward_batch(rows)
        return [row[0] * self.scale for row in rows]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()] + [self.scale]


def _neurons(model) -> list:
    return [n for layer in model.layers for n in layer.neurons]


def _change(model, kind: str, rng: random.Random) -> bool:
    """One change of `model`; True if its structure changed (a retrace is due)."""
    neuron = rng.choice(_neurons(model))
    layer = rng.choice(model.layers)
    if kind == "weight item":
        neuron.w[rng.randrange(len(neuron.w))] = Value(rng.uniform(-1, 1))
    elif kind == "weight list":
        neuron.w = [Value(rng.uniform(-1, 1)) for _ in neuron.w]
    elif kind == "bias":
        neuron.b = Value(rng.uniform(-1, 1))
    elif kind == "neuron activation":
        neuron.activation = rng.choice(["relu", "tanh", "sigmoid", None])
    elif kind == "layer activation":
        layer.activation = rng.choice(["relu", "tanh", None])
    elif kind == "swap neurons":
        i, j = rng.randrange(layer.nout), rng.randrange(layer.nout)
        layer.neurons[i], layer.neurons[j] = layer.neurons[j], layer.neurons[i]
    elif kind == "add layer":
        model.layers.append(nn.Layer(1, 1, seed=rng.randrange(100), nonlin=False))
    elif kind == "remove layer":
        if model.layers[-1].nin != 1:
            return False
        model.layers.pop()
    elif kind == "replace layer":
        index = rng.randrange(len(model.layers))
        old = model.layers[index]
        model.layers[index] = nn.Layer(old.nin, old.nout, seed=rng.randrange(100))
    elif kind == "same-shape load":
        model.load_state_dict({k: v * 0.5 for k, v in model.state_dict().items()})
        return False
    elif kind == "data":
        neuron.w[0].data = rng.uniform(-1, 1)
        return False
    elif kind == "unrelated model":
        nn.MLP(3, [2, 2], seed=1).layers.append(nn.Layer(2, 2))
        return False
    return kind not in ("swap neurons",) or i != j


CHANGES = [
    "weight item", "weight list", "bias", "neuron activation", "layer activation",
    "swap neurons", "add layer", "remove layer", "replace layer", "same-shape load",
    "data", "unrelated model",
]  # fmt: skip


class TestModelGuards:
    @pytest.mark.parametrize("make", [lambda: nn.MLP(2, [3, 2, 1], seed=2), Micro])
    @settings(max_examples=15, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(CHANGES), min_size=1, max_size=6), st.integers(0, 99))
    def test_random_changes_each_followed_by_a_replay_equal_to_eager(self, make, kinds, seed):
        model = make()
        rng = random.Random(seed)

        def loss(xs, t):
            return nn.mse_loss(model(xs), t)

        step = ms.compile(loss, cache_size=100)
        step(BATCH, TARGETS)
        for kind in kinds:
            traces_before = step.trace_count
            structural = _change(model, kind, rng)
            eager, compiled = eager_and_compiled(model, loss, step, BATCH, TARGETS)
            assert_same(eager, compiled)
            if not structural:
                assert step.trace_count == traces_before, kind

    def test_the_model_as_an_argument_is_guarded_too(self) -> None:
        model = nn.MLP(2, [3, 1], seed=0)
        step = ms.compile(lambda m, xs, t: nn.mse_loss(m(xs), t))
        step(model, BATCH, TARGETS)
        model.layers[0].neurons[1].activation = "sigmoid"
        eager, compiled = eager_and_compiled(
            model, lambda xs, t: nn.mse_loss(model(xs), t), lambda xs, t: step(model, xs, t),
            BATCH, TARGETS,
        )  # fmt: skip
        assert_same(eager, compiled)

    def test_a_model_the_function_reads_without_calling_it(self) -> None:
        neuron = nn.Neuron(2, seed=4)

        def fn(x):
            return ms.dot(neuron.w, list(x), neuron.b).tanh()

        step = ms.compile(fn)
        step(np.ones(2))
        neuron.w[0] = Value(3.0)
        assert step(np.ones(2)).data == fn([1.0, 1.0]).data
        assert step.trace_count == 2

    def test_a_global_model_rebound_to_a_new_one(self) -> None:
        namespace = {"nn": nn, "model": nn.MLP(2, [2, 1], seed=0)}
        exec("def loss(xs):\n    return model(xs)[0]", namespace)
        step = ms.compile(namespace["loss"])
        step(BATCH)
        namespace["model"] = nn.MLP(2, [2, 1], seed=9)
        assert step(BATCH).data == namespace["loss"](BATCH.tolist()).data

    def test_a_name_rebound_to_a_model_made_before_the_trace(self) -> None:
        first, second = nn.MLP(2, [2, 1], seed=0), nn.MLP(2, [2, 1], seed=9)  # no change after
        model = first

        def loss(xs):
            return model(xs)[0]

        step = ms.compile(loss)
        step(BATCH)
        model = second
        assert step(BATCH).data == loss(BATCH.tolist()).data
        model = first
        assert step(BATCH).data == loss(BATCH.tolist()).data

    def test_a_list_stored_on_a_module_is_a_tracked_list_with_list_behaviour(self) -> None:
        neuron = nn.Neuron(3, seed=0)
        weights = [Value(1.0), Value(2.0), Value(3.0)]
        neuron.w = weights
        assert neuron.w == weights and isinstance(neuron.w, list)
        version = ms.structure.version()
        for change in (
            lambda w: w.append(Value(0.0)), lambda w: w.pop(), lambda w: w.insert(0, w[0]),
            lambda w: w.remove(w[0]), lambda w: w.reverse(), lambda w: w.sort(key=id),
            lambda w: w.extend([]), lambda w: w.__iadd__([]), lambda w: w.__imul__(1),
            lambda w: w.__delitem__(slice(3, None)), lambda w: w.__setitem__(0, w[0]),
        ):  # fmt: skip
            change(neuron.w)
            assert ms.structure.version() > version
            version = ms.structure.version()
        assert copy.deepcopy(neuron).w[0].data == neuron.w[0].data


# ------------------------------------------------------------------- 3. arguments


class TestArguments:
    def test_aliasing_is_part_of_the_signature(self) -> None:
        f = ms.compile(lambda a, b: a * b + a * 20.0)
        p = Value(10.0)
        f(p, p)
        a, b = Value(10.0), Value(20.0)
        out = f(a, b)
        out.backward()
        assert (out.data, a.grad, b.grad) == (400.0, 40.0, 10.0)
        f(b, a).backward()
        assert (a.grad, b.grad) == (40.0 + 20.0, 10.0 + 30.0)
        p.grad = 0.0
        f(p, p).backward()
        assert p.grad == 40.0  # d(p*p + 20p)/dp = 2p + 20
        assert len(f.traces) == 2

    @pytest.mark.parametrize(
        "pattern", [(0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 1, 2), (0, 0, 0)]
    )  # fmt: skip
    def test_every_aliasing_pattern_replays_as_eager(self, pattern) -> None:
        def fn(a, b, c):
            return (a * b - c).tanh() * a + c * c

        f = ms.compile(fn)
        for traced in [(0, 1, 2), (0, 0, 0), (0, 1, 0)]:  # traces of other patterns first
            f(*[Value(0.5 + k) for k in traced])
        leaves = [Value(0.3), Value(-0.7), Value(1.1)]
        out = f(*[leaves[k] for k in pattern])
        out.backward()
        eager_leaves = [Value(0.3), Value(-0.7), Value(1.1)]
        expected = fn(*[eager_leaves[k] for k in pattern])
        expected.backward()
        assert bits(out.data) == bits(expected.data)
        assert same_bits([v.grad for v in leaves], [v.grad for v in eager_leaves])

    def test_lists_tuples_and_nested_lists_of_values_are_value_arguments(self) -> None:
        def fn(ws, pair, grid):
            return ms.dot(ws, ws) * pair[0] * pair[1] + ms.sum([v for row in grid for v in row])

        def arguments(k):
            return (
                [Value(1.5 + k), Value(-2.0)],
                (Value(3.0 - k), 0.5 * k),
                [[Value(1.0), 2.0 + k], [Value(-1.0), Value(4.0)]],
            )

        f = ms.compile(fn)
        for k in range(3):
            compiled_args, eager_args = arguments(k), arguments(k)
            out, eager = f(*compiled_args), fn(*eager_args)
            out.backward()
            eager.backward()
            leaves = [[*a[0], a[1][0], a[2][0][0], *a[2][1]] for a in (compiled_args, eager_args)]
            assert bits(out.data) == bits(eager.data)
            assert same_bits([v.grad for v in leaves[0]], [v.grad for v in leaves[1]])
        assert len(f.traces) == 1
        objects = np.empty((1, 2), dtype=object)
        objects[0, :] = [Value(2.0), Value(3.0)]
        g = ms.compile(lambda grid: grid[0, 0] * grid[0, 1])
        g(objects)
        objects[0, 0] = Value(5.0)
        g(objects).backward()
        assert (objects[0, 0].grad, objects[0, 1].grad, len(g.traces)) == (3.0, 5.0, 1)

    def test_a_mask_or_a_list_changed_in_place_traces_again(self) -> None:
        def fn(x, mask, names):
            return ms.sum([v for v, keep in zip(x, mask) if keep]) * len(names)

        f = ms.compile(fn)
        mask, names, x = np.array([True, False, True]), ["a"], [1.0, 2.0, 4.0]
        assert f(x, mask, names).data == 5.0
        mask[1] = True
        assert f(x, mask, names).data == 7.0
        names.append("b")
        assert f(x, mask, names).data == 14.0
        assert f(x, [True, False, False], names).data == 2.0  # a list of bools: static

    def test_a_bool_among_numbers_is_refused_as_eagerly(self) -> None:
        model = nn.MLP(2, [2, 1], seed=0)
        step = ms.compile(lambda x: model(x))
        with pytest.raises(TypeError):
            model([True, 0.5])
        with pytest.raises(TypeError, match="bool"):
            step([True, 0.5])
        with pytest.raises(TypeError, match="bool"):
            step([[0.5, 1.0], [np.True_, 0.5]])

    def test_a_value_argument_that_is_also_a_parameter_keeps_its_own_slot(self) -> None:
        w = Value(2.0)

        def fn(x):
            return x * w + w * 3.0

        f = ms.compile(fn)
        f(w)  # traced with the parameter itself as the argument
        v = Value(5.0)
        assert f(v).data == 16.0  # 5 * 2 + 6, not 5 * 5 + 15
        w.grad = 0.0
        f(w).backward()
        assert w.grad == 2.0 * 2.0 + 3.0


class TestInteriorValueArguments:
    def test_the_gradient_passes_on_into_the_arguments_graph(self) -> None:
        f = ms.compile(lambda v: v * v * v)
        f(Value(1.0))
        x = Value(3.0)
        f(x * 2.0).backward()
        assert x.grad == 3 * 36 * 2

    def test_an_argument_computed_from_the_models_parameters(self) -> None:
        model = nn.MLP(2, [3, 1], seed=5)
        first = model.parameters()[0]

        def fn(scale, xs, t):
            return nn.mse_loss(model(xs), t) * scale

        step = ms.compile(fn)
        step(Value(1.0), BATCH, TARGETS)
        eager = grads_after(model, lambda: fn(first * first, BATCH.tolist(), TARGETS))
        compiled = grads_after(model, lambda: step(first * first, BATCH, TARGETS))
        assert compiled[0] == eager[0]
        np.testing.assert_allclose(compiled[1], eager[1], rtol=1e-12, atol=1e-15)

    def test_a_compiled_output_as_the_argument_of_another(self) -> None:
        w = Value(0.7)
        inner = ms.compile(lambda x: (w * x).tanh())
        outer = ms.compile(lambda y: y * y + w)
        inner(1.0), outer(Value(1.0))
        outer(inner(2.0)).backward()
        eager_w = w.grad
        w.grad = 0.0
        y = (w * 2.0).tanh()
        (y * y + w).backward()
        assert eager_w == pytest.approx(w.grad, rel=1e-12)


# ------------------------------------------------------------- 5. parameters' data


class TestParameterData:
    def setup_method(self) -> None:
        self.model = nn.MLP(2, [3, 1], seed=1)
        self.loss = lambda xs, t: nn.mse_loss(self.model(xs), t)
        self.step = ms.compile(self.loss)
        self.step(BATCH, TARGETS)

    @pytest.mark.parametrize("bad", [None, "0.5", True, [1.0], complex(1, 0)])
    def test_data_that_is_not_a_real_number_is_a_type_error_naming_the_parameter(self, bad):
        p = self.model.layers[1].neurons[0].w[2]
        grads = [0.25] * len(self.model.parameters())
        for q, g in zip(self.model.parameters(), grads):
            q.grad = g
        p.data = bad
        with pytest.raises(TypeError, match=r"layers\.1\.weight\[0, 2\]"):
            self.step(BATCH, TARGETS)
        assert [q.grad for q in self.model.parameters()] == grads

    @pytest.mark.parametrize("odd", [np.float32(0.1), 3, np.int64(-2), np.float16(0.3)])
    def test_numpy_scalars_and_ints_give_eagers_numbers(self, odd) -> None:
        self.model.layers[0].neurons[1].w[0].data = odd
        eager, compiled = eager_and_compiled(self.model, self.loss, self.step, BATCH, TARGETS)
        assert_same(eager, compiled)
        self.model.layers[0].neurons[1].w[0].data = np.float64(0.1)  # a float: replayed
        eager, compiled = eager_and_compiled(self.model, self.loss, self.step, BATCH, TARGETS)
        assert_same(eager, compiled)
        assert self.step.trace_count == 1


# ----------------------------------------------------------------- 6. bounded cache


class TestBoundedCache:
    def test_many_shapes_keep_at_most_the_limit_and_warn_once_saying_why(self) -> None:
        f = ms.compile(lambda x, name: ms.sum(list(x)) * len(name))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for n in range(1, 40):
                assert f(np.ones(n), "ab").data == 2.0 * n
        assert len(f.traces) == ms.compiler.CACHE_SIZE == 8
        assert len(caught) == 1 and caught[0].category is RetraceWarning
        assert "argument 0's shape keeps changing" in str(caught[0].message)

    def test_the_least_recently_used_is_dropped(self) -> None:
        f = ms.compile(lambda x: ms.sum(list(x)), cache_size=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RetraceWarning)
            for n in (1, 2, 3):
                f(np.ones(n))
            f(np.ones(1))  # 1 used again: 2 is now the oldest
            f(np.ones(4))
        assert [key[0][1] for key in f.traces] == [(3,), (1,), (4,)]

    def test_a_changing_static_argument_is_named(self) -> None:
        f = ms.compile(lambda x, tag: x * 2.0, cache_size=2)
        with pytest.warns(RetraceWarning, match="argument 1's value keeps changing"):
            for tag in "abc":
                f(1.0, tag)

    def test_cache_size_is_checked(self) -> None:
        with pytest.raises(ValueError, match="cache_size"):
            ms.compile(lambda x: x, cache_size=0)
        with pytest.raises(TypeError, match="cache_size"):
            ms.compile(lambda x: x, cache_size=2.5)


# ------------------------------------------------------------------------ 8. errors


class TestErrors:
    @pytest.mark.parametrize("which", ["argument", "parameter", "new leaf", "input"])
    def test_a_leaf_returned_gives_its_value_and_gradient_as_eagerly(self, which) -> None:
        p = Value(5.0)
        fn = {
            "argument": lambda v, x: v,
            "parameter": lambda v, x: p,
            "new leaf": lambda v, x: Value(3.0),
            "input": lambda v, x: x,
        }[which]
        f = ms.compile(fn)
        for _ in range(2):
            arg = Value(2.0)
            eager = fn(arg, 7.0)
            before = p.grad
            out = f(arg, 7.0)
            assert out.data == (eager.data if which != "input" else 7.0)
            out.backward(2.0)
            assert out.grad == 2.0
            if which == "argument":
                assert arg.grad == 2.0
            if which == "parameter":
                assert p.grad == before + 2.0

    @pytest.mark.parametrize("name", ["dot", "select", "sum", "+", "tanh"])
    def test_a_custom_op_named_as_a_built_in_replays_as_itself(self, name) -> None:
        op = ms.custom_op(name)(lambda a, b: (a * b + 1.0, (b, a)))

        def fn(x, y):
            return op(x * 1.0, y) * 2.0

        f = ms.compile(fn)
        f(1.0, 2.0)
        a, b = Value(3.0), Value(-0.5)
        out = f(a, b)
        out.backward()
        ea, eb = Value(3.0), Value(-0.5)
        eager = fn(ea, eb)
        eager.backward()
        assert (out.data, a.grad, b.grad) == (eager.data, ea.grad, eb.grad)

    @pytest.mark.parametrize("result", [3.0, None, {"loss": 1.0}, "x", np.float64(1.0)])
    def test_a_wrong_return_type_is_a_type_error(self, result) -> None:
        with pytest.raises(TypeError, match="must return a Value"):
            ms.compile(lambda x: result)(1.0)

    def test_backward_or_an_optimizer_step_inside_is_refused_before_any_change(self) -> None:
        model = nn.MLP(2, [3, 1], seed=0)
        opt = optim.Adam(model.parameters(), lr=0.1)

        def train(xs, t):
            loss = nn.mse_loss(model(xs), t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        def only_step(xs, t):
            opt.step()
            return nn.mse_loss(model(xs), t)

        for fn in (train, only_step):
            for p in model.parameters():
                p.grad = 0.125
            before = [p.data for p in model.parameters()]
            with pytest.raises(ValueError, match="inside the function being compiled"):
                ms.compile(fn)(BATCH, TARGETS)
            assert [p.data for p in model.parameters()] == before
            assert opt.state == {}
            assert ms.is_grad_enabled() and not ms.grad_mode.is_tracing()


def test_a_model_that_keeps_changing_structure_warns_once_and_stays_right() -> None:
    neuron = nn.Neuron(2, seed=0)
    step = ms.compile(lambda x: neuron(x))
    with pytest.warns(RetraceWarning, match="structure of the models it uses keeps changing"):
        for k in range(12):
            neuron.activation = ["relu", "tanh"][k % 2]
            assert step([0.5, -0.25]).data == neuron([0.5, -0.25]).data
    assert len(step.traces) == 1 and step.retrace_count == 11


def test_a_list_of_numpy_rows_is_an_input_not_a_static_argument() -> None:
    model = nn.MLP(2, [3, 1], seed=0)
    step = ms.compile(lambda rows, t: nn.mse_loss(model(rows), t))
    for k in range(3):
        rows = [np.array([0.5 * k, -1.0]), np.array([1.0, 2.0 + k])]
        eager = nn.mse_loss(model([r.tolist() for r in rows]), [1.0, -1.0])
        assert bits(step(rows, [1.0, -1.0]).data) == bits(eager.data)
    assert len(step.traces) == 1


class TorchStyle(nn.Module):
    """A model written as in PyTorch: children registered by attribute, a forward."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Layer(2, 3, seed=6)
        self.middle = nn.Layer(3, 3, seed=7, activation="tanh")
        self.out = nn.Linear(3, 1, seed=8)

    def forward(self, x):
        return self.out(self.middle(self.hidden(x)))


# Generic over modules: the changes are found by walking any Module's attributes, so the
# test holds for module types it does not know (a new nn.Linear, a user's module).


def _sites(obj, found: dict, seen: set) -> None:
    """Where a structural change can be made: Values (in lists or attributes), lists of
    modules (swap two alike), modules with an activation."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    items = list(vars(obj).items()) if isinstance(obj, nn.Module) else list(enumerate(obj))
    setter = getattr(getattr(type(obj), "activation", None), "fset", None)
    if isinstance(obj, nn.Module) and setter is not None:
        found["activation"].append(obj)
    modules = [i for i, v in items if isinstance(v, nn.Module)]
    if len(modules) > 1:  # a list's items, or a module's children (a Sequential's "0", "1")
        found["swap"].append((obj, modules))
    for key, value in items:
        if isinstance(value, Value):
            found["value"].append((obj, key))
        elif isinstance(value, nn.Module | list):
            _sites(value, found, seen)


def _shapes(module) -> tuple:
    return type(module), [(g.name, g.shape) for g in module.parameter_groups()]


def _generic_change(model, rng: random.Random) -> None:
    found: dict = {"value": [], "swap": [], "activation": []}
    _sites(model, found, set())
    kind = rng.choice([k for k, v in found.items() if v])
    if kind == "value":
        holder, key = rng.choice(found["value"])
        new = Value(rng.uniform(-1.0, 1.0))
        if isinstance(holder, list):
            holder[key] = new
        else:
            setattr(holder, key, new)
    elif kind == "swap":
        holder, keys = rng.choice(found["swap"])
        i, j = rng.sample(keys, 2)
        get = holder.__getitem__ if isinstance(holder, list) else partial(getattr, holder)
        put = holder.__setitem__ if isinstance(holder, list) else partial(setattr, holder)
        first, second = get(i), get(j)
        if _shapes(first) == _shapes(second):  # modules alike: the model still runs
            put(i, second)
            put(j, first)
    else:
        module = rng.choice(found["activation"])
        module.activation = rng.choice(["relu", "tanh", "sigmoid", None])


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.MLP(2, [3, 3, 1], seed=1),
        lambda: nn.Layer(2, 3, seed=2),
        lambda: nn.Neuron(2, seed=3),
        Micro,
        lambda: nn.Sequential(
            nn.Linear(2, 3, seed=4), nn.Tanh(), nn.Linear(3, 3, seed=5), nn.ReLU(), nn.Linear(3, 1)
        ),
        TorchStyle,
    ],
)
@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(1, 6))
def test_random_changes_found_by_walking_any_module(make, seed, count) -> None:
    model = make()
    rng = random.Random(seed)

    def loss(xs):
        out = model(xs)
        flat = [v for row in out for v in (row if isinstance(row, list) else [row])]
        return ms.sum([v * v for v in flat])

    step = ms.compile(loss)
    step(BATCH)
    for _ in range(count):
        _generic_change(model, rng)
        params = model.parameters()
        for p in params:
            p.grad = 0.0
        eager = loss(BATCH.tolist())
        eager.backward()
        expected = [p.grad for p in params]
        for p in params:
            p.grad = 0.0
        out = step(BATCH)
        out.backward()
        assert bits(out.data) == bits(eager.data)
        assert same_bits([p.grad for p in params], expected)
