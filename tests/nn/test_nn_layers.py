"""Neuron, Layer and MLP: forward and backward against hand computations, init, inputs."""

import doctest
import itertools
import math
import random
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from minitorch_scalar import Value, gradcheck
from nn._checks import MAX_PARAMETERS


def set_parameters(module, numbers):
    """Give the module's parameters these values, in `parameters()` order."""
    params = module.parameters()
    assert len(params) == len(numbers)
    for p, number in zip(params, numbers):
        p.data = number


def small_mlp(activation="relu"):
    """MLP(2, [2, 1]) with the weights worked through by hand below.

    Hidden neuron 0: w = (0.5, -1), b = 0.1; neuron 1: w = (-0.25, 2), b = -0.2;
    output: w = (1.5, -0.5), b = 0.3.
    """
    model = nn.MLP(2, [2, 1], activation=activation, seed=0)
    set_parameters(model, [0.5, -1.0, 0.1, -0.25, 2.0, -0.2, 1.5, -0.5, 0.3])
    return model


# ---------------------------------------------------------------------------- Neuron


@pytest.mark.parametrize(
    ("activation", "f", "df"),
    [
        ("relu", lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
        ("tanh", math.tanh, lambda z: 1.0 - math.tanh(z) ** 2),
        (
            "sigmoid",
            lambda z: 1 / (1 + math.exp(-z)),
            lambda z: math.exp(-z) / (1 + math.exp(-z)) ** 2,
        ),
        (None, lambda z: z, lambda z: 1.0),
    ],
)
@pytest.mark.parametrize("x", [(1.0, 2.0, -3.0), (-1.0, 0.5, 0.25)])
def test_neuron_forward_and_gradients_by_hand(activation, f, df, x):
    neuron = nn.Neuron(3, activation=activation, seed=0)
    w, b = [0.5, -0.25, 0.75], 0.125
    set_parameters(neuron, [*w, b])
    xs = [Value(xi) for xi in x]
    z = b + w[0] * x[0] + w[1] * x[1] + w[2] * x[2]

    out = neuron(xs)
    out.backward()

    assert out.data == pytest.approx(f(z), abs=1e-15)
    assert [wi.grad for wi in neuron.w] == pytest.approx([df(z) * xi for xi in x], abs=1e-15)
    assert neuron.b.grad == pytest.approx(df(z), abs=1e-15)
    assert [xi.grad for xi in xs] == pytest.approx([df(z) * wi for wi in w], abs=1e-15)
    assert gradcheck(lambda *vs: neuron(vs), xs)


def test_neuron_is_one_dot_node_plus_its_activation():
    neuron = nn.Neuron(4, activation="tanh", seed=1)
    out = neuron([1.0, 2.0, 3.0, 4.0])
    assert out.op == "tanh"
    (act,) = out.parents
    assert act.op == "dot"
    assert set(act.parents) == set(neuron.parameters())
    assert nn.Neuron(4, activation=None, seed=1)([1.0, 2.0, 3.0, 4.0]).op == "dot"


def test_nonlin_false_is_linear_whatever_the_activation():
    neuron = nn.Neuron(2, nonlin=False, activation="tanh", seed=0)
    set_parameters(neuron, [1.0, 1.0, -5.0])
    out = neuron([1.0, 1.0])
    assert out.data == -3.0
    assert neuron.activation is None
    assert repr(neuron) == "Neuron(2, activation=None)"


# ----------------------------------------------------------------------------- Layer


def test_layer_outputs_each_neuron_and_one_neuron_gives_a_value():
    layer = nn.Layer(2, 3, activation=None, seed=0)
    set_parameters(layer, [1.0, 2.0, 0.5, -1.0, 0.0, 0.0, 3.0, -3.0, 1.0])
    # neuron j: w_j . (2, 1) + b_j
    assert [v.data for v in layer([2.0, 1.0])] == [4.5, -2.0, 4.0]
    single = nn.Layer(2, 1, seed=0)
    assert isinstance(single([1.0, 2.0]), Value)


def test_layer_passes_kwargs_to_every_neuron():
    layer = nn.Layer(3, 4, nonlin=False, activation="sigmoid", seed=0)
    assert [n.activation for n in layer.neurons] == [None] * 4
    layer = nn.Layer(3, 4, activation="sigmoid", seed=0)
    assert [n.activation for n in layer.neurons] == ["sigmoid"] * 4
    with pytest.raises(TypeError):
        nn.Layer(3, 4, bogus=1)


# ------------------------------------------------------------------------------- MLP


def test_mlp_forward_and_gradients_by_hand():
    model = small_mlp()
    out = model([2.0, 1.0])
    # h0 = relu(0.1 + 0.5*2 - 1*1) = 0.1, h1 = relu(-0.2 - 0.25*2 + 2*1) = 1.3
    # out = 0.3 + 1.5*0.1 - 0.5*1.3 = -0.2: the last layer is linear, so it stays negative
    assert out.data == pytest.approx(-0.2, abs=1e-15)
    out.backward()
    expected = [
        1.5 * 2.0, 1.5 * 1.0, 1.5,  # d out / d (hidden neuron 0): 1.5 * (x, 1)
        -0.5 * 2.0, -0.5 * 1.0, -0.5,  # d out / d (hidden neuron 1): -0.5 * (x, 1)
        0.1, 1.3, 1.0,  # d out / d (output neuron): (h0, h1, 1)
    ]  # fmt: skip
    assert [p.grad for p in model.parameters()] == pytest.approx(expected, abs=1e-15)


def test_mlp_relu_cuts_the_gradient_of_an_inactive_hidden_neuron():
    model = small_mlp()
    out = model([-2.0, 1.0])  # h0 = relu(0.1 - 1 - 1) = 0, h1 = relu(-0.2 + 0.5 + 2) = 2.3
    assert out.data == pytest.approx(0.3 - 0.5 * 2.3, abs=1e-15)
    out.backward()
    grads = [p.grad for p in model.parameters()]
    assert grads[:3] == [0.0, 0.0, 0.0]
    assert grads[3:] == pytest.approx([-0.5 * -2.0, -0.5 * 1.0, -0.5, 0.0, 2.3, 1.0], abs=1e-15)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", None])
def test_mlp_gradients_match_central_differences(activation):
    model = nn.MLP(3, [4, 3, 1], activation=activation, seed=7)
    x = [0.3, -0.8, 0.5]
    assert gradcheck(lambda *ps: model(x), model.parameters(), atol=1e-6)


def test_mlp_hidden_activation_and_linear_last_layer():
    model = nn.MLP(2, [3, 3, 2], activation="tanh", seed=0)
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", None]
    outs = model([0.5, -0.5])
    assert isinstance(outs, list)
    assert len(outs) == 2
    assert [o.op for o in outs] == ["dot", "dot"]
    assert {p.op for p in outs[0].parents} >= {"tanh"}


def test_mlp_with_a_hidden_layer_of_width_one():
    model = nn.MLP(2, [1, 1], activation=None, seed=0)
    set_parameters(model, [2.0, 3.0, 1.0, -4.0, 0.5])
    assert model([1.0, 1.0]).data == -4.0 * (2.0 + 3.0 + 1.0) + 0.5


def test_parameters_order_is_micrograds():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    expected = [
        p for layer in model.layers for neuron in layer.neurons for p in [*neuron.w, neuron.b]
    ]
    params = model.parameters()
    assert len(params) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    assert all(p is q for p, q in zip(params, expected, strict=True))


def test_parameters_is_a_fresh_list_each_call():
    model = nn.MLP(2, [3, 1], seed=0)
    model.parameters().clear()
    assert len(model.parameters()) == 13


def test_zero_grad():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert [p.grad for p in model.parameters()] == [0.0] * 13


def test_named_parameters_name_each_value_by_its_place_in_the_state_dict():
    model = nn.MLP(2, [3, 2], seed=0)
    named = model.named_parameters()
    assert [p for _, p in named] == model.parameters()
    assert [name for name, _ in named[:3]] == [
        "layers.0.weight[0, 0]",
        "layers.0.weight[0, 1]",
        "layers.0.bias[0]",
    ]
    state = model.state_dict()
    for name, p in named:
        key, index = re.fullmatch(r"(.+)\[(.+)\]", name).groups()
        assert state[key][tuple(int(i) for i in index.split(", "))] == p.data
    neuron = nn.Neuron(2, seed=0)
    assert [name for name, _ in neuron.named_parameters()] == ["weight[0]", "weight[1]", "bias"]


def test_repr():
    model = nn.MLP(2, [16, 16, 1])
    assert repr(model) == (
        "MLP(\n"
        "  (layers.0): Layer(2, 16, activation='relu')\n"
        "  (layers.1): Layer(16, 16, activation='relu')\n"
        "  (layers.2): Layer(16, 1, activation=None)\n"
        ")"
    )
    assert repr(nn.Layer(3, 2, activation="tanh")) == "Layer(3, 2, activation='tanh')"
    assert repr(nn.Neuron(3)) == "Neuron(3, activation='relu')"


# ---------------------------------------------------------------------- initialisation


def micrograd_style_draws(draw, nin, nouts):
    """Weights drawn as micrograd does (uniform(-1, 1), bias 0 without a draw)."""
    sizes = [nin, *nouts]
    return [
        value
        for fan_in, fan_out in itertools.pairwise(sizes)
        for _ in range(fan_out)
        for value in [*(draw(-1, 1) for _ in range(fan_in)), 0.0]
    ]


def test_int_seed_draws_from_a_fresh_generator_in_order():
    model = nn.MLP(3, [4, 2], seed=42)
    expected = micrograd_style_draws(random.Random(42).uniform, 3, [4, 2])
    assert [p.data for p in model.parameters()] == expected
    assert [p.data for p in nn.MLP(3, [4, 2], seed=42).parameters()] == expected


def test_random_instance_seed_is_used_and_advanced():
    generator = random.Random(3)
    first = nn.MLP(2, [2, 1], seed=generator)
    second = nn.Layer(2, 2, seed=generator)
    reference = random.Random(3)
    assert [p.data for p in first.parameters()] == micrograd_style_draws(
        reference.uniform, 2, [2, 1]
    )
    assert [p.data for p in second.parameters()] == micrograd_style_draws(reference.uniform, 2, [2])


def test_no_seed_draws_from_the_global_random_module():
    random.seed(1337)
    model = nn.MLP(2, [3, 1])
    after_model = random.random()
    random.seed(1337)
    expected = micrograd_style_draws(random.uniform, 2, [3, 1])
    assert [p.data for p in model.parameters()] == expected
    assert random.random() == after_model
    assert all(-1.0 <= p.data <= 1.0 for p in model.parameters())


def test_a_failed_constructor_draws_nothing():
    random.seed(5)
    expected = random.random()
    random.seed(5)
    with pytest.raises(ValueError):
        nn.MLP(2, [16, 0])
    with pytest.raises(ValueError):
        nn.MLP(2, [16, 1], activation="gelu")
    with pytest.raises(TypeError):
        nn.Layer(2, 16, bogus=True)
    assert random.random() == expected


# ------------------------------------------------------------------------------ inputs


@pytest.mark.parametrize(
    "x",
    [
        [0.5, -2.0],
        (0.5, -2.0),
        np.array([0.5, -2.0]),
        [np.float64(0.5), np.float32(-2.0)],
        [Value(0.5), Value(-2.0)],
        [Value(0.5), -2],
    ],
    ids=["list", "tuple", "ndarray", "numpy-scalars", "values", "mixed"],
)
def test_inputs_of_every_kind_give_the_same_output(x):
    model = small_mlp()
    # h0 = relu(0.1 + 0.25 + 2) = 2.35, h1 = relu(-0.2 - 0.125 - 4) = 0
    assert model(x).data == pytest.approx(0.3 + 1.5 * 2.35, abs=1e-15)


def test_integer_inputs():
    model = small_mlp()
    assert model(np.array([2, 1])).data == pytest.approx(-0.2, abs=1e-15)
    assert model([2, 1]).data == pytest.approx(-0.2, abs=1e-15)


@pytest.mark.parametrize(
    ("module", "x", "message"),
    [
        (nn.MLP(2, [3, 1], seed=0), [1.0, 2.0, 3.0], "MLP expects 2 inputs, got 3"),
        (nn.MLP(2, [3, 1], seed=0), [], "MLP expects 2 inputs, got 0"),
        (nn.Layer(3, 2, seed=0), np.zeros(2), "Layer expects 3 inputs, got 2"),
        (nn.Neuron(1, seed=0), [1.0, 2.0], "Neuron expects 1 inputs, got 2"),
        (nn.MLP(2, [3, 1], seed=0), np.zeros((1, 1, 2)), "expects a 1-D sequence"),
    ],
)
def test_wrong_width_raises_value_error(module, x, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        module(x)


@pytest.mark.parametrize(
    "x",
    [[1.0, "2"], [1.0, None], [True, 1.0], [1.0, [2.0]], "ab", 3.0, None, Value(1.0)],
)
def test_non_numbers_raise_type_error(x):
    with pytest.raises(TypeError, match="MLP expects"):
        nn.MLP(2, [3, 1], seed=0)(x)


# ------------------------------------------------------------------------ constructors


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: nn.Neuron(0), ValueError, r"Neuron\(nin\) expects a positive int, got 0"),
        (lambda: nn.Neuron(2.0), TypeError, r"Neuron\(nin\) expects a positive int"),
        (lambda: nn.Neuron(True), TypeError, r"Neuron\(nin\)"),
        (lambda: nn.Neuron(2, nonlin=1), TypeError, r"Neuron\(nonlin\) expects a bool"),
        (lambda: nn.Neuron(2, activation="gelu"), ValueError, r"'relu', 'tanh', 'sigmoid'"),
        (lambda: nn.Neuron(2, activation=len), TypeError, r"expects a str or None"),
        (lambda: nn.Neuron(2, seed="0"), TypeError, r"Neuron\(seed\) expects an int"),
        (lambda: nn.Neuron(2, seed=1.5), TypeError, r"Neuron\(seed\)"),
        (lambda: nn.Layer(2, -1), ValueError, r"Layer\(nout\) expects a positive int, got -1"),
        (lambda: nn.Layer("2", 1), TypeError, r"Layer\(nin\)"),
        (lambda: nn.MLP(0, [1]), ValueError, r"MLP\(nin\)"),
        (lambda: nn.MLP(2, []), ValueError, r"MLP\(nouts\) expects at least one"),
        (lambda: nn.MLP(2, 16), TypeError, r"MLP\(nouts\) expects a sequence"),
        (lambda: nn.MLP(2, "16"), TypeError, r"MLP\(nouts\)"),
        (lambda: nn.MLP(2, [16, 0]), ValueError, r"MLP\(nouts\[1\]\)"),
        (lambda: nn.MLP(2, [16, 1.0]), TypeError, r"MLP\(nouts\[1\]\)"),
        (lambda: nn.MLP(2, [1], activation="elu"), ValueError, r"MLP\(activation\)"),
        (lambda: nn.MLP(2, [1], seed=[1]), TypeError, r"MLP\(seed\)"),
    ],
)
def test_constructor_arguments_are_checked(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_numpy_integers_are_accepted_as_sizes_and_seeds():
    model = nn.MLP(np.int64(2), [np.int32(3), 1], seed=np.int64(4))
    assert [p.data for p in model.parameters()] == micrograd_style_draws(
        random.Random(4).uniform, 2, [3, 1]
    )


def test_exports():
    assert nn.losses.hinge_loss is nn.hinge_loss
    assert issubclass(nn.MLP, nn.Module)
    assert issubclass(nn.Layer, nn.Module)
    assert issubclass(nn.Neuron, nn.Module)


def test_the_package_docstring_example_runs():
    assert doctest.testmod(nn).failed == 0


# ------------------------------------------------------------------------- batches


@pytest.mark.parametrize("n_rows", [3, 40], ids=["small batch", "batch for numpy"])
@pytest.mark.parametrize("as_array", [True, False])
def test_a_batch_gives_the_per_sample_outputs_and_gradients_exactly(as_array, n_rows) -> None:
    """model(X) builds the same nodes as [model(x) for x in X]: same values, same
    gradients to the last bit, one output per row (PyTorch's batch dimension). With
    40 rows, the first two layers' values come from numpy (40 x 4 and 40 x 3 dot
    products), the last layer's from the scalar sum (40 x 1)."""
    rng = random.Random(n_rows)
    rows = [[rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0)] for _ in range(n_rows)]
    targets = [rng.uniform(-1.0, 1.0) for _ in rows]
    batch = np.array(rows) if as_array else rows
    per_sample, batched = nn.MLP(2, [4, 3, 1], seed=3), nn.MLP(2, [4, 3, 1], seed=3)

    singles = [per_sample(x) for x in rows]
    together = batched(batch)
    assert [s.data for s in together] == [s.data for s in singles]
    assert [(s.op, len(s.parents)) for s in together] == [(s.op, len(s.parents)) for s in singles]

    nn.mse_loss(singles, targets).backward()
    nn.mse_loss(together, targets).backward()
    assert [p.grad for p in batched.parameters()] == [p.grad for p in per_sample.parameters()]


def test_a_batch_through_a_layer_of_several_outputs_gives_a_list_per_row() -> None:
    layer = nn.Layer(2, 3, seed=1)
    out = layer([[1.0, 2.0], [3.0, 4.0]])
    assert [len(row) for row in out] == [3, 3]
    assert [[v.data for v in row] for row in out] == [
        [v.data for v in layer(x)] for x in ([1.0, 2.0], [3.0, 4.0])
    ]


def test_a_batch_row_of_the_wrong_width_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("MLP (row 1) expects 2 inputs, got 3")):
        nn.MLP(2, [3, 1], seed=0)([[1.0, 2.0], [1.0, 2.0, 3.0]])


def test_a_neuron_takes_a_batch_one_row_at_a_time() -> None:
    neuron = nn.Neuron(2, seed=5)
    assert [v.data for v in neuron([[1.0, -1.0], [0.5, 0.5]])] == [
        neuron([1.0, -1.0]).data,
        neuron([0.5, 0.5]).data,
    ]


@pytest.mark.parametrize("enabled", [True, False])
def test_a_batch_call_leaves_the_garbage_collector_as_it_found_it(enabled) -> None:
    import gc

    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        nn.MLP(2, [3, 1], seed=0)([[1.0, 2.0], [3.0, 4.0]])
        assert gc.isenabled() is enabled
        with pytest.raises(TypeError):
            nn.MLP(2, [3, 1], seed=0)([[1.0, 2.0], [3.0, "4"]])
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


# ------------------------------------------------------- models beyond a scalar engine


class BuildStartedError(Exception):
    """Raised by the first Value a constructor makes: building had started."""


def refuse_to_build(*args, **kwargs):
    raise BuildStartedError


SIZES = st.one_of(st.integers(1, 4000), st.integers(1, 10**12))


@pytest.mark.parametrize("kind", ["neuron", "layer", "mlp"])
@given(sizes=st.lists(SIZES, min_size=3, max_size=4))
def test_a_model_beyond_the_limit_is_refused_before_anything_is_built(kind, sizes):
    """Whatever the sizes, a model of more than MAX_PARAMETERS parameters is a
    ValueError naming the limit, raised before the first Value is made; any other
    model starts building."""
    nin, *nouts = sizes
    build, count = {
        "neuron": (lambda: nn.Neuron(nin), nin + 1),
        "layer": (lambda: nn.Layer(nin, nouts[0]), nouts[0] * (nin + 1)),
        "mlp": (
            lambda: nn.MLP(nin, nouts),
            sum(o * (i + 1) for i, o in itertools.pairwise([nin, *nouts])),
        ),
    }[kind]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nn.layers, "Value", refuse_to_build)
        if count > MAX_PARAMETERS:
            with pytest.raises(ValueError, match="more than the 10,000,000 a scalar engine"):
                build()
        else:
            with pytest.raises(BuildStartedError):
                build()


def test_the_issues_model_fails_at_once_and_the_limit_is_exact():
    with pytest.raises(ValueError, match=r"MLP\(2, \[1000000000\]\) would have 3,000,000,000"):
        nn.MLP(2, [10**9])
    with pytest.raises(ValueError, match="over 10\\*\\*18 parameters"):
        nn.Layer(10**100, 10**100)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nn.layers, "Value", refuse_to_build)
        with pytest.raises(BuildStartedError):
            nn.Neuron(MAX_PARAMETERS - 1)  # MAX_PARAMETERS parameters: allowed
        with pytest.raises(ValueError):
            nn.Neuron(MAX_PARAMETERS)
