"""nn.diagnose: dead relus, saturation, gradient norms and update ratios, against numpy.

Each figure is computed a second way here: the layer's outputs with numpy from its
weights, the gradient norm from an ordinary backward, the SGD update ratio from its
closed form lr * std(grad) / std(w). And diagnose must leave no trace.
"""

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
import optim
from minitorch_scalar import Value

X = np.array([[0.5, -1.0], [1.0, 2.0], [-1.5, 0.25], [0.0, 1.0], [2.0, -0.5]])
Y = np.array([1, -1, 1, -1, 1])


def hinge(scores):
    return nn.hinge_loss(scores, Y)


def weights_of(layer):
    """(nout, nin) weights and (nout,) biases as arrays."""
    state = layer.state_dict()
    return state["weight"], state["bias"]


def numpy_forward(model, x):
    """Each layer's outputs, computed with numpy from the model's weights."""
    functions = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, None: lambda z: z}
    functions["sigmoid"] = lambda z: 1 / (1 + np.exp(-z))
    outs = []
    for layer in model.layers:
        w, b = weights_of(layer)
        z = x @ w.T + b
        x = np.column_stack([functions[n.activation](z[:, j]) for j, n in enumerate(layer.neurons)])
        outs.append(x)
    return outs


def with_dead_neurons():
    """MLP(2, [4, 1]) whose hidden neurons 1 and 3 never fire on X: a bias of -10."""
    model = nn.MLP(2, [4, 1], seed=3)
    for j in (1, 3):
        model.layers[0].neurons[j].b.data = -10.0
    return model


def test_dead_relus_are_named_and_get_no_gradient():
    model = with_dead_neurons()
    out = io.StringIO()
    report = nn.diagnose(model, X, hinge, show=False)
    report.print(out)
    first = report.layer("layers.0")
    assert first.dead == (1, 3)
    assert first.dead_fraction == 0.5
    assert np.all(first.outputs[:, [1, 3]] == 0.0)
    assert np.all(first.outputs[:, [0, 2]].max(axis=0) > 0)
    # what "dead" means: not one weight of those neurons gets a gradient
    assert np.all(first.weight_grads.reshape(4, 2)[[1, 3]] == 0.0)
    assert "layers.0 neurons 1 and 3 are dead on this batch" in out.getvalue()
    assert report[1].dead == () and report[1].dead_fraction is None  # linear output


def test_a_neuron_that_fires_on_one_row_is_not_dead():
    model = with_dead_neurons()
    neuron = model.layers[0].neurons[1]
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 10.0, 0.0, -15.0  # fires at x0 = 2
    report = nn.diagnose(model, X, show=False)
    assert report[0].dead == (3,)
    assert "neuron 3 is dead" in str(report)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["relu", "tanh", "sigmoid"]))
def test_outputs_dead_and_saturated_agree_with_numpy(seed, activation):
    model = nn.MLP(2, [6, 5, 1], activation=activation, seed=seed)
    for p in model.parameters():
        p.data *= 3.0  # large weights: some relus die, some tanhs saturate
    report = nn.diagnose(model, X, show=False)
    for layer, expected in zip(report, numpy_forward(model, X)):
        np.testing.assert_allclose(layer.outputs, expected, rtol=1e-12, atol=1e-12)
        relu = layer.activation == "relu"
        assert layer.dead == tuple(
            j for j in range(layer.units) if relu and not expected[:, j].any()
        )
        if layer.activation in ("tanh", "sigmoid"):
            t = expected if layer.activation == "tanh" else 2 * expected - 1
            assert layer.saturated == pytest.approx(np.mean(np.abs(t) > 0.97), abs=1e-12)
            always = tuple(j for j in range(layer.units) if np.all(np.abs(t[:, j]) > 0.97))
            assert layer.always_saturated == always
        else:
            assert layer.saturated is None


def test_a_saturated_tanh_layer_is_reported():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    neuron = model.layers[0].neurons[2]
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.0, 0.0, 5.0  # tanh(5) = 0.9999
    report = nn.diagnose(model, X, show=False)
    assert 2 in report[0].always_saturated
    assert "layers.0 neuron 2 is saturated on every row" in str(report)


def test_gradient_norms_are_those_of_an_ordinary_backward():
    model = nn.MLP(2, [4, 3, 1], seed=5)
    report = nn.diagnose(model, X, hinge, show=False)
    loss = hinge(model(X))
    model.zero_grad()
    loss.backward()
    assert report.loss == loss.data
    for layer, ours in zip(model.layers, report):
        assert ours.grad_norm == pytest.approx(
            math.sqrt(sum(p.grad**2 for p in layer.parameters())), rel=1e-12
        )
    # d(loss)/d(output) of the last layer, in closed form: -t/n where t * s < 1
    scores = report[-1].outputs[:, 0]
    expected = np.where(Y * scores < 1, -Y / len(Y), 0.0)
    np.testing.assert_array_equal(report[-1].output_grads[:, 0], expected)


def test_sgd_update_ratio_is_lr_times_grad_spread_over_weight_spread():
    model = nn.MLP(2, [4, 1], seed=2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    report = nn.diagnose(model, X, hinge, optimizer=opt, show=False)
    for layer, ours in zip(model.layers, report):
        w, _ = weights_of(layer)
        expected = 0.1 * np.std(ours.weight_grads) / np.std(w)
        assert ours.update_ratio == pytest.approx(expected, rel=1e-9)
    assert "rule of thumb" in str(report)


def test_diagnose_leaves_model_gradients_and_optimizer_as_they_were():
    model = nn.MLP(2, [4, 4, 1], seed=7)
    opt = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):  # give Adam some state
        loss = hinge(model(X))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.parameters()[0].grad = None  # as PyTorch's zero_grad would leave it
    before = ([p.data for p in model.parameters()], [p.grad for p in model.parameters()])
    state = opt.state_dict()
    nn.diagnose(model, X, hinge, optimizer=opt, show=False)
    assert [p.data for p in model.parameters()] == before[0]
    assert [p.grad for p in model.parameters()] == before[1]
    assert opt.state_dict() == state


def test_a_single_layer_and_a_list_of_rows():
    layer = nn.Layer(2, 3, seed=1)
    report = nn.diagnose(layer, X.tolist(), lambda outs: sum(o for row in outs for o in row))
    assert [r.name for r in report] == ["layer"]
    assert report[0].units == 3 and report[0].grad_norm > 0


def test_the_table_has_a_row_per_layer():
    report = nn.diagnose(nn.MLP(2, [4, 4, 1], seed=0), X, show=False)
    lines = str(report).splitlines()
    assert [line.split()[0] for line in lines[3:6]] == ["layers.0", "layers.1", "layers.2"]
    assert repr(report) == "<Diagnosis of 3 layers on 5 rows: 0 dead relu>"


def test_bad_arguments_are_named():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"diagnose\(optimizer\) needs loss="):
        nn.diagnose(model, X, optimizer=optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match=r"diagnose\(batch\) expects input rows"):
        nn.diagnose(model, [0.5, 1.0])
    with pytest.raises(TypeError, match=r"diagnose\(model\) expects an MLP"):
        nn.diagnose(object(), X)
    with pytest.raises(TypeError, match=r"diagnose\(loss\) must return a Value, got float"):
        nn.diagnose(model, X, lambda scores: 1.0)
    with pytest.raises(KeyError, match=r"layers\.9"):
        nn.diagnose(model, X, show=False).layer("layers.9")


def test_update_ratio_edge_cases():
    assert nn.diagnostics.update_ratio([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert nn.diagnostics.update_ratio([1.0, 1.0], [1.0, 2.0]) == math.inf
    # a shift of all weights together has no spread: Karpathy's measure does not see it
    assert nn.diagnostics.update_ratio([0.0, 2.0], [0.1, 2.1]) == pytest.approx(0.0, abs=1e-15)
    assert nn.diagnostics.update_ratio([0.0, 2.0], [0.0, 2.2]) == pytest.approx(0.1)


def test_values_as_inputs_are_taken():
    rows = [[Value(a), Value(b)] for a, b in X]
    report = nn.diagnose(nn.MLP(2, [3, 1], seed=0), rows, hinge, show=False)
    assert len(report) == 2
