"""A PyTorch-style model here and the same model in torch, weights copied through
state_dict: the same outputs and gradients (float64, to 1e-12), for every loss and
reduction. Skipped without torch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
import nn.functional as F
from minitorch_scalar import Value

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOLERANCE = {"rel": 1e-12, "abs": 1e-12}


class Net(nn.Module):
    """Linear, F.*, a scalar parameter of its own, a Sequential child."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.scale = Value(1.25)
        self.fc1 = nn.Linear(n_in, 6, seed=0)
        self.body = nn.Sequential(nn.Tanh(), nn.Linear(6, 5, seed=1), nn.Sigmoid())
        self.head = nn.Linear(5, n_out, bias=False, seed=2)

    def forward(self, x):
        hidden = self.body(F.relu(self.fc1(x)))
        out = F.linear([h * self.scale for h in hidden], self.head.weight)
        return out


class TorchNet(torch.nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(0.0))
        self.fc1 = torch.nn.Linear(n_in, 6)
        self.body = torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(6, 5), torch.nn.Sigmoid())
        self.head = torch.nn.Linear(5, n_out, bias=False)

    def forward(self, x):
        return self.head(self.body(TF.relu(self.fc1(x))) * self.scale)


def sequential_pair(n_in, n_out):
    ours = nn.Sequential(
        nn.Linear(n_in, 8, seed=3), nn.ReLU(), nn.Linear(8, 8, seed=4), nn.Tanh(),
        nn.Linear(8, n_out, seed=5),
    )  # fmt: skip
    theirs = torch.nn.Sequential(
        torch.nn.Linear(n_in, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.Tanh(),
        torch.nn.Linear(8, n_out),
    )  # fmt: skip
    return ours, theirs


def net_pair(n_in, n_out):
    return Net(n_in, n_out), TorchNet(n_in, n_out)


def copied(ours, theirs):
    """`theirs` (float64) with our weights, through state_dict, keys as they are."""
    theirs = theirs.double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    return theirs


def gradients(model):
    """Our gradients shaped as state_dict: name -> array."""
    return {
        g.name: np.array([v.grad for v in g.values]).reshape(g.shape)
        for g in model.parameter_groups()
    }


def targets_for(loss, rng, n, n_out):
    if loss == "cross_entropy":
        return rng.integers(0, n_out, size=n).tolist()
    if loss == "binary_cross_entropy_with_logits":
        return rng.uniform(0, 1, size=n).tolist()
    return rng.normal(size=n).tolist()


LOSSES = ["mse_loss", "binary_cross_entropy_with_logits", "cross_entropy"]
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("make", [sequential_pair, net_pair])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_outputs_and_gradients_match_torch(make, loss, reduction):
    rng = np.random.default_rng([LOSSES.index(loss), REDUCTIONS.index(reduction)])
    n_in, n, n_out = 3, 7, (4 if loss == "cross_entropy" else 1)
    ours, theirs = make(n_in, n_out)
    theirs = copied(ours, theirs)
    xs = rng.normal(size=(n, n_in))
    target = targets_for(loss, rng, n, n_out)

    out = ours(xs)
    expected = theirs(torch.from_numpy(xs))
    got = [[v.data for v in row] for row in out] if n_out > 1 else [[v.data] for v in out]
    assert np.asarray(got) == pytest.approx(expected.detach().numpy(), **TOLERANCE)

    value = getattr(F, loss)(out, target, reduction=reduction)
    torch_target = torch.tensor(
        target, dtype=torch.long if loss == "cross_entropy" else torch.float64
    )
    torch_input = expected if n_out > 1 else expected[:, 0]
    expected_value = getattr(TF, loss)(torch_input, torch_target, reduction=reduction)
    if reduction == "none":
        assert [v.data for v in value] == pytest.approx(expected_value.tolist(), **TOLERANCE)
        F.mse_loss(value, [0.0] * n, reduction="sum").backward()  # any function of them
        (expected_value**2).sum().backward()
    else:
        assert value.data == pytest.approx(expected_value.item(), **TOLERANCE)
        value.backward()
        expected_value.backward()
    ours_grads = gradients(ours)
    for name, p in theirs.named_parameters():
        assert ours_grads[name] == pytest.approx(p.grad.numpy(), **TOLERANCE), name


def test_the_loss_modules_are_the_functions_with_their_reduction():
    rng = np.random.default_rng(0)
    x = [Value(v) for v in rng.normal(size=5)]
    y = rng.uniform(0, 1, size=5).tolist()
    for module, function in [
        (nn.MSELoss, F.mse_loss),
        (nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits),
    ]:
        for reduction in ["mean", "sum"]:
            assert module(reduction=reduction)(x, y).data == function(x, y, reduction).data
    rows = [[Value(a), Value(b)] for a, b in rng.normal(size=(4, 2))]
    classes = [0, 1, 1, 0]
    assert nn.CrossEntropyLoss()(rows, classes).data == F.cross_entropy(rows, classes).data
    assert F.mse_loss is nn.mse_loss and F.cross_entropy is nn.cross_entropy
    assert F.binary_cross_entropy_with_logits is nn.binary_cross_entropy_with_logits


# ------------------------------------- registration follows torch's, operation by operation

NAMES = ["a", "b", "c"]
KINDS = ["module", "parameter", "none", "number", "delete"]


def apply(module, name, kind, make):
    """One operation on `module`; the kind of error it raised, or None."""
    try:
        if kind == "delete":
            delattr(module, name)
        else:
            setattr(module, name, make[kind]())
    except (TypeError, AttributeError) as error:
        return type(error)
    return None


@given(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(KINDS)), max_size=12))
def test_assignments_register_as_torchs_do(operations):
    ours, theirs = nn.Module(), torch.nn.Module()
    make_ours = {
        "module": lambda: nn.Linear(1, 1, seed=0),
        "parameter": lambda: Value(1.0),
        "none": lambda: None,
        "number": lambda: 3,
    }
    make_theirs = {
        "module": lambda: torch.nn.Linear(1, 1),
        "parameter": lambda: torch.nn.Parameter(torch.tensor(1.0)),
        "none": lambda: None,
        "number": lambda: 3,
    }
    for name, kind in operations:
        assert apply(ours, name, kind, make_ours) == apply(theirs, name, kind, make_theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
        assert len(ours.parameters()) == sum(p.numel() for p in theirs.parameters())
