"""Modules as users write them (micrograd's style), and layers that compute with their
neurons: the neurons' fields are the single source of truth."""

import random

import numpy as np
import pytest

import nn
import optim
from minitorch_scalar import Value

# ------------------------------------------------------------- micrograd-style modules


class Line(nn.Module):
    """A module as micrograd's subclasses are written: parameters() and __call__ only."""

    def __init__(self):
        self.w = Value(0.5)
        self.b = Value(-1.0)

    def __call__(self, x):
        return self.w * x + self.b

    def parameters(self):
        return [self.w, self.b]


class TwoLayers(nn.Module):
    """micrograd's MLP written by hand over the project's layers."""

    def __init__(self):
        self.layers = [nn.Layer(2, 3, seed=0), nn.Layer(3, 1, seed=1, nonlin=False)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


def test_a_micrograd_style_module_trains_with_zero_grad_and_an_optimizer():
    model = Line()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        model.zero_grad()
        loss = nn.mse_loss([model(2.0)], [1.0])
        loss.backward()
        optimizer.step()
    assert model.w.data != 0.5 and model.b.data != -1.0
    model.zero_grad()
    assert [p.grad for p in model.parameters()] == [0.0, 0.0]


@pytest.mark.parametrize("make", [Line, TwoLayers])
def test_a_micrograd_style_module_has_a_vector_state_dict_that_saves_and_loads(make, tmp_path):
    model, other = make(), make()
    for p in other.parameters():
        p.data += 1.0
    n = len(model.parameters())
    assert {k: v.shape for k, v in model.state_dict().items()} == {"parameters": (n,)}
    assert [name for name, _ in model.named_parameters()] == [f"parameters[{i}]" for i in range(n)]
    other.save(tmp_path / "w.npz")
    model.load(tmp_path / "w.npz")
    assert [p.data for p in model.parameters()] == [p.data for p in other.parameters()]


def test_a_module_with_neither_forward_nor_call_says_what_to_define():
    class Empty(nn.Module):
        pass

    empty = Empty()
    assert empty.parameters() == []
    with pytest.raises(NotImplementedError, match=r"Empty defines neither forward\(x\) nor"):
        empty([1.0])


def test_a_module_that_defines_forward_is_called_with_checked_inputs():
    class Double(nn.Module):
        nin = 2

        def forward(self, x):
            return [2 * xi for xi in x]

    assert Double()([1, np.float32(2.0)]) == [2.0, 4.0]
    with pytest.raises(ValueError, match="Double expects 2 inputs, got 1"):
        Double()([1.0])


# ------------------------------------------------------- layers compute with neurons


def dot_and_act(layer, x):
    """Each neuron by itself, the reference a layer must equal."""
    return [neuron.forward(x) for neuron in layer.neurons]


def node_signature(v):
    """What a node is: op, value, parents (by identity) and local derivatives."""
    return (v.op, v.data, tuple(map(id, v.parents)), v.local_grads)


def assert_same_nodes(outs, reference):
    """The same activation nodes over the same dot nodes over the same parameters."""
    assert [(v.op, v.data, v.local_grads) for v in outs] == [
        (v.op, v.data, v.local_grads) for v in reference
    ]
    dots = [v if v.op == "dot" else v.parents[0] for v in outs]
    dots_reference = [v if v.op == "dot" else v.parents[0] for v in reference]
    assert [node_signature(v) for v in dots] == [node_signature(v) for v in dots_reference]


def test_changing_a_neurons_weight_changes_what_the_layer_computes():
    layer = nn.Layer(2, 3, seed=0, activation=None)
    x = [1.0, 2.0]
    before = [v.data for v in layer(x)]
    layer.neurons[0].w[1].data = 10.0
    after = [v.data for v in layer(x)]
    assert after[0] == layer.neurons[0].w[0].data + 20.0 + layer.neurons[0].b.data
    assert after[1:] == before[1:]


def test_replacing_a_neurons_weights_and_bias_changes_the_layer_and_its_parameters():
    model = nn.MLP(2, [3, 1], seed=0)
    neuron = model.layers[0].neurons[1]
    neuron.w = [Value(1.0), Value(-1.0)]
    neuron.b = Value(0.25)
    params = model.parameters()
    assert params[3:6] == [*neuron.w, neuron.b]
    assert model.state_dict()["layers.0.weight"][1].tolist() == [1.0, -1.0]
    out = model.layers[0]([[3.0, 1.0]])[0]
    assert out[1].data == 3.0 - 1.0 + 0.25
    assert out[1].parents[0].parents[0] is neuron.b  # the dot's first parent: the new bias


@pytest.mark.parametrize("n_rows", [1, 40])
def test_a_neurons_activation_is_what_the_layer_applies(n_rows):
    layer = nn.Layer(2, 3, seed=0)
    layer.neurons[1].activation = "tanh"
    layer.neurons[2].activation = None
    assert layer.activation == ("relu", "tanh", None)
    assert repr(layer) == "Layer(2, 3, activation=('relu', 'tanh', None))"
    rng = random.Random(n_rows)
    rows = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(n_rows)]
    for outs, x in zip(layer(rows), rows):
        outs = outs if isinstance(outs, list) else [outs]
        assert [v.op for v in outs] == ["relu", "tanh", "dot"]
        assert_same_nodes(outs, dot_and_act(layer, x))


def test_setting_a_layers_activation_sets_every_neurons():
    layer = nn.Layer(2, 2, seed=0)
    layer.activation = "sigmoid"
    assert [n.activation for n in layer.neurons] == ["sigmoid", "sigmoid"]
    assert layer.activation == "sigmoid"
    assert [v.op for v in layer([1.0, 1.0])] == ["sigmoid", "sigmoid"]


@pytest.mark.parametrize(
    ("name", "error"), [("gelu", ValueError), (len, TypeError), (False, TypeError)]
)
def test_an_unknown_activation_is_refused_when_set(name, error):
    neuron, layer = nn.Neuron(2, seed=0), nn.Layer(2, 2, seed=0)
    with pytest.raises(error, match=r"Neuron\.activation"):
        neuron.activation = name
    with pytest.raises(error, match=r"Layer\.activation"):
        layer.activation = name
    assert neuron.activation == layer.activation == "relu"


def test_activation_and_nonlin_are_one_field():
    neuron = nn.Neuron(2, seed=0)
    assert neuron.nonlin is True
    neuron.activation = None
    assert neuron.nonlin is False
    assert neuron([1.0, 1.0]).op == "dot"
    assert nn.Neuron(2, nonlin=False, activation="tanh").nonlin is False
    assert not hasattr(neuron, "_activate")


def test_sizes_are_read_from_the_neurons():
    model = nn.MLP(2, [3, 1], seed=0)
    assert (model.nin, model.nouts) == (2, [3, 1])
    model.layers[1].neurons.append(nn.Neuron(3, seed=1))
    assert model.nouts == [3, 2]
    assert [len(v) for v in [model([1.0, 2.0])]] == [2]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", None])
def test_the_sizes_and_activation_given_are_what_the_model_reports(activation) -> None:
    model = nn.MLP(3, [4, 5, 2], activation=activation, seed=0)
    assert model.nouts == [4, 5, 2] and model.nin == 3
    assert model.activation == activation
    assert [layer.activation for layer in model.layers] == [activation, activation, None]
    assert nn.Neuron(2, nonlin=False, seed=0).nonlin is False
    assert nn.Neuron(2, activation="tanh", seed=0).nonlin is True
    assert nn.Neuron(2, activation=None, seed=0).nonlin is False
