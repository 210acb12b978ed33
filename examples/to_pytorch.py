"""The road to PyTorch: the same network, the same numbers, then training goes on there.

Trains a small MLP on the two moons here for a few seconds (or loads weights saved by
train_moons.py or train_digits.py with --save-model), builds the same network as a
``torch.nn.Sequential`` of ``torch.nn.Linear`` and ``torch.nn.ReLU`` from
``model.state_dict()`` (float64: the same arithmetic), prints the largest difference
between the two models' outputs on held-out data, and trains on in PyTorch for a few
steps. Without torch installed it says how to install it and exits with status 0.

Below the imports: main, the moons model trained here, and the move to PyTorch. The
flags (and the reading of --load's file) are in to_pytorch_args.py.

Run:  python examples/to_pytorch.py [--load PATH] [--help]
"""

from __future__ import annotations

import interrupt_guard  # noqa: F401  # isort: skip  (first: Ctrl-C while importing ends quietly)
import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
from script_args import run_guarded
from script_data import digit_images, moons
from to_pytorch_args import parse_args

import nn
import optim

INSTALL_HINT = 'PyTorch is not installed. Install it with:  pip install -e ".[parity]"'
MOONS_HIDDEN = [16, 16]


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, get a model, move it to PyTorch, compare, train on there."""
    args = parse_args(argv)
    torch = import_torch()
    if torch is None:
        return
    model, (held_out, x, y) = loaded_model(args.model, args.load) if args.load else moons_model()
    twin = to_torch(torch, model)
    print(twin)
    difference = largest_difference(torch, model, twin, held_out)
    print(
        f"largest difference between the two models' outputs on {len(held_out)} held-out rows: "
        f"{difference:.3g}"
    )
    train_in_torch(torch, twin, x, y, args.torch_steps)


Data = tuple[np.ndarray, np.ndarray, np.ndarray]  # held-out inputs, training inputs, labels


def moons_model() -> tuple[nn.MLP, Data]:
    """A moons MLP trained here (60 full-batch Adam steps), and its data."""
    points, labels = moons(200, 0.1, seed=0)
    model = nn.MLP(2, [*MOONS_HIDDEN, 1], seed=0)
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    targets = (2 * labels[:100] - 1).tolist()
    for _ in range(60):
        loss = nn.hinge_loss(model(points[:100]), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"trained MLP(2, {[*MOONS_HIDDEN, 1]}) here: hinge loss {loss.data:.4f}")
    return model, (points[100:], points[:100], labels[:100])


def loaded_model(model: nn.MLP, path: Path) -> tuple[nn.MLP, Data]:
    """`model`, loaded from `path`, and data of its kind: digits for 64 inputs, else moons.

    Rows the saved model may have been trained on serve as training data in PyTorch;
    fresh moons (seed 12345), or the digits' last 300 images, as held-out rows.
    """
    print(f"loaded MLP({model.nin}, {model.nouts}) from {path}")
    if model.nin == 64:
        images, digits = digit_images()
        return model, (images[-300:], images[:-300], digits[:-300])
    points, labels = moons(200, 0.1, seed=12345)
    return model, (points[100:], points[:100], labels[:100])


def to_torch(torch: ModuleType, model: nn.MLP) -> object:
    """The same network in PyTorch: Linear (+ ReLU) layers, float64, our weights."""
    state = model.state_dict()
    layers = []
    for i in range(len(model.layers)):
        weight = torch.from_numpy(state[f"layers.{i}.weight"])
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(weight)
            linear.bias.copy_(torch.from_numpy(state[f"layers.{i}.bias"]))
        layers.append(linear)
        if i < len(model.layers) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def largest_difference(torch: ModuleType, model: nn.MLP, twin: object, x: np.ndarray) -> float:
    """max |ours - PyTorch's| over every output for the rows of `x`."""
    ours = np.array([[v.data for v in np.atleast_1d(out)] for out in model(x)])
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    return float(np.abs(ours.reshape(theirs.shape) - theirs).max())


def train_in_torch(
    torch: ModuleType, twin: object, x: np.ndarray, y: np.ndarray, steps: int
) -> None:
    """Train on in PyTorch, full batch (Adam, the loss that fits), printing each loss."""
    inputs = torch.from_numpy(x)
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.01)
    for step in range(1, steps + 1):
        out = twin(inputs)
        if out.shape[1] == 1:  # one score: the hinge loss, targets -1 or +1
            targets = torch.from_numpy(2.0 * y - 1.0).reshape(-1, 1)
            loss = torch.relu(1 - targets * out).mean()
        else:
            loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(f"PyTorch step {step}: loss {loss.item():.6f}")


def import_torch() -> ModuleType | None:
    """The torch module, or None (after printing how to install it) if it is missing."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        print(INSTALL_HINT)
        return None


if __name__ == "__main__":
    run_guarded(main)
