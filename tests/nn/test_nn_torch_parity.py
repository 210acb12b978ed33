"""Parity with PyTorch in float64: the losses, and an MLP copied into nn.Linear layers."""

import itertools
import random

import numpy as np
import pytest

import nn
from minitorch_scalar import Value

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOLERANCE = {"rel": 1e-12, "abs": 1e-12}


def tensor(data):
    return torch.tensor(data, dtype=torch.float64, requires_grad=True)


def check_loss(ours, theirs, predictions, targets):
    """Our loss on Values and torch's on a tensor: same value, same gradients."""
    if np.ndim(predictions) == 2:
        shaped = [[Value(x) for x in row] for row in predictions]
        vs = [v for row in shaped for v in row]
    else:
        shaped = vs = [Value(x) for x in predictions]
    loss = ours(shaped, targets)
    loss.backward()
    t = tensor(predictions)
    expected = theirs(t)
    expected.backward()
    assert loss.data == pytest.approx(expected.item(), **TOLERANCE)
    assert [v.grad for v in vs] == pytest.approx(t.grad.ravel().tolist(), **TOLERANCE)


def random_numbers(rng, n, scale=3.0):
    return [rng.uniform(-scale, scale) for _ in range(n)]


@pytest.mark.parametrize("seed", range(3))
def test_hinge_loss_matches_relu_of_the_margin(seed):
    rng = random.Random(seed)
    scores = random_numbers(rng, 20)
    targets = [rng.choice([-1, 1]) for _ in scores]
    t = torch.tensor(targets, dtype=torch.float64)
    check_loss(nn.hinge_loss, lambda s: F.relu(1 - t * s).mean(), scores, targets)


@pytest.mark.parametrize("seed", range(3))
def test_mse_loss(seed):
    rng = random.Random(seed)
    predictions, targets = random_numbers(rng, 20), random_numbers(rng, 20)
    t = torch.tensor(targets, dtype=torch.float64)
    check_loss(nn.mse_loss, lambda p: F.mse_loss(p, t), predictions, targets)


@pytest.mark.parametrize("scale", [3.0, 40.0, 1000.0])
def test_binary_cross_entropy_with_logits(scale):
    rng = random.Random(int(scale))
    logits = [*random_numbers(rng, 20, scale), 0.0, scale, -scale]
    targets = [rng.random() for _ in range(20)] + [0.25, 0.0, 0.0]
    t = torch.tensor(targets, dtype=torch.float64)
    check_loss(
        nn.binary_cross_entropy_with_logits,
        lambda x: F.binary_cross_entropy_with_logits(x, t),
        logits,
        targets,
    )


@pytest.mark.parametrize("scale", [3.0, 1000.0])
def test_cross_entropy(scale):
    rng = random.Random(int(scale))
    rows = [random_numbers(rng, 3, scale) for _ in range(10)]
    labels = [rng.randrange(3) for _ in rows]
    t = torch.tensor(labels)
    check_loss(nn.cross_entropy, lambda z: F.cross_entropy(z, t), rows, labels)


def test_l2_penalty():
    ps = random_numbers(random.Random(0), 30)
    check_loss(lambda vs, _: nn.l2_penalty(vs), lambda p: (p**2).sum(), ps, None)


# ---------------------------------------------------------------------------- models


class TorchMLP(torch.nn.Module):
    """The same network in PyTorch: nn.Linear layers in a ModuleList named `layers`."""

    def __init__(self, sizes, activation):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b, dtype=torch.float64) for a, b in itertools.pairwise(sizes)
        )
        self.activation = activation

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


def grad_state(model):
    """Our gradients, shaped as the state_dict."""
    return {
        group.name: np.array([v.grad for v in group.values]).reshape(group.shape)
        for group in model.parameter_groups()
    }


@pytest.mark.parametrize(
    ("activation", "torch_activation"),
    [("relu", torch.relu), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid)],
)
def test_mlp_copied_into_torch_linear_layers_gives_the_same_outputs_and_gradients(
    activation, torch_activation
):
    ours = nn.MLP(2, [16, 16, 1], activation=activation, seed=0)
    theirs = TorchMLP([2, 16, 16, 1], torch_activation)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})

    rng = np.random.default_rng(0)
    xs = rng.normal(size=(25, 2))
    ys = rng.choice([-1.0, 1.0], size=25)

    scores = [ours(x) for x in xs]
    loss = nn.hinge_loss(scores, ys) + 1e-3 * nn.l2_penalty(ours.parameters())
    loss.backward()

    torch_scores = theirs(torch.from_numpy(xs)).squeeze(1)
    torch_loss = F.relu(1 - torch.from_numpy(ys) * torch_scores).mean() + 1e-3 * sum(
        (p**2).sum() for p in theirs.parameters()
    )
    torch_loss.backward()

    assert [s.data for s in scores] == pytest.approx(torch_scores.tolist(), **TOLERANCE)
    assert loss.data == pytest.approx(torch_loss.item(), **TOLERANCE)
    grads = grad_state(ours)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_weights_come_back_from_torch():
    theirs = TorchMLP([3, 4, 2], torch.tanh)
    ours = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = [0.5, -1.5, 2.0]
    expected = theirs(torch.tensor(x, dtype=torch.float64)).tolist()
    assert [v.data for v in ours(x)] == pytest.approx(expected, **TOLERANCE)
