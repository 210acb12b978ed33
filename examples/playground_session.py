"""One run of the playground: the data, the model, its compiled step, what the page sees.

A `Session` trains an `nn.MLP` (two inputs, the hidden layers asked for, one output
score: class 1 where it is > 0) with `optim.SGD` or `optim.Adam`, on minibatches of
a fixed size through one `minitorch_scalar.compile`d step (traced when the session
is made, replayed by every `train` call after). After each `train` call it measures
the loss and accuracy on the training and test sets, through compiled evaluations
run under no_grad.

The page's pictures of the network (`maps`: every neuron's output over a grid of the
plane) are computed with numpy from the weights in `state_dict()`: on the engine they
would take a scalar node per neuron per grid point, thousands of grid points, several
times a second. The test suite checks them against the engine's own outputs.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from playground_data import PLANE, make_points
from playground_settings import Settings
from script_args import DivergenceError, check_finite_loss, engine_errors_as_divergence

import minitorch_scalar as ms
import nn
import optim
from minitorch_scalar import Value, no_grad

GRID = 32  # each neuron's map is the plane seen on a GRID x GRID grid
BOUNDARY_GRID = 64  # the output's big picture, on a finer grid
MAX_HISTORY = 400  # curve points kept; past this, every other one is dropped

LOSS_FUNCTIONS: dict[str, Callable[[list[Value], np.ndarray], Value]] = {
    "bce": nn.binary_cross_entropy_with_logits,
    "hinge": nn.hinge_loss,
    "mse": nn.mse_loss,
}


def targets_for(loss: str, labels: np.ndarray) -> np.ndarray:
    """What a loss compares the score with: the label 0/1 for bce, -1/+1 otherwise."""
    return labels.astype(np.float64) if loss == "bce" else 2.0 * labels - 1.0


NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "linear": lambda x: x,
}


class Session:
    """The model being trained and everything the page is shown of it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        xy, labels = make_points(settings.dataset, settings.points, settings.noise, settings.seed)
        n = settings.train_count
        self.train_xy, self.train_labels = xy[:n], labels[:n]
        self.test_xy, self.test_labels = xy[n:], labels[n:]
        self.train_targets = targets_for(settings.loss, self.train_labels)
        self.test_targets = targets_for(settings.loss, self.test_labels)
        activation = None if settings.activation == "linear" else settings.activation
        self.model = nn.MLP(2, [*settings.hidden, 1], activation=activation, seed=settings.seed)
        self.optimizer = make_optimizer(settings, self.model)
        self.step_fn = ms.compile(self._loss_of)
        self.evaluate = ms.compile(self._loss_and_scores)
        self.batches = np.random.RandomState(settings.seed)
        self.order: list[int] = []
        self.steps = 0
        self.diverged: str | None = None
        self.history: list[dict[str, float | int | None]] = []
        self._trace()
        self._record()

    def _loss_of(self, points: np.ndarray, targets: np.ndarray) -> Value:
        return LOSS_FUNCTIONS[self.settings.loss](self.model(points), targets)

    def _loss_and_scores(self, points: np.ndarray, targets: np.ndarray) -> tuple:
        scores = self.model(points)
        return LOSS_FUNCTIONS[self.settings.loss](scores, targets), scores

    def _trace(self) -> None:
        """Trace the step and the evaluations now, so that no `train` call waits on it."""
        batch = np.arange(self.settings.batch_size)
        self.step_fn(self.train_xy[batch], self.train_targets[batch])
        with no_grad():
            self.evaluate(self.train_xy, self.train_targets)
            self.evaluate(self.test_xy, self.test_targets)

    def next_batch(self) -> np.ndarray:
        """The indices of the next minibatch: a new shuffle of the training set each
        epoch, cut into batches of batch_size (a short remainder is left out)."""
        size = self.settings.batch_size
        if len(self.order) < size:
            self.order = self.batches.permutation(len(self.train_xy)).tolist()
        batch, self.order = self.order[:size], self.order[size:]
        return np.array(batch)

    def train(self, steps: int) -> None:
        """Run `steps` optimizer steps (none once diverged), then measure the model."""
        for _ in range(steps):
            if self.diverged is not None:
                break
            self._step()
        self._record()

    def _step(self) -> None:
        """One step: forward, backward, update. A loss that is not finite, or an engine
        error on nan or inf (as the scripts tell them, script_args.py), stops the run,
        with the reason in `diverged`; any other error is a bug, and goes up."""
        batch = self.next_batch()
        step = self.steps + 1
        try:
            with engine_errors_as_divergence(step):
                inputs = (self.train_xy[batch], self.train_targets[batch])
                loss = self.step_fn(*inputs)
                check_finite_loss(loss, step, self.step_fn, *inputs)
                self.optimizer.zero_grad()
                loss.backward()
        except DivergenceError as error:
            what = str(error).split("; ")[0]  # the scripts' advice names a flag: not here
            self.diverged = f"{what}: press Reset, and try a smaller learning rate"
            return
        self.optimizer.step()
        self.steps = step

    def _record(self) -> None:
        """Append the losses and accuracies now to the history (kept to MAX_HISTORY)."""
        entry: dict[str, float | int | None] = {"step": self.steps}
        for name, xy, labels, targets in (
            ("train", self.train_xy, self.train_labels, self.train_targets),
            ("test", self.test_xy, self.test_labels, self.test_targets),
        ):
            loss, accuracy = self._measure(xy, labels, targets)
            entry[f"{name}_loss"], entry[f"{name}_accuracy"] = loss, accuracy
        self.history.append(entry)
        if len(self.history) > MAX_HISTORY:
            self.history = self.history[::2] + ([entry] if len(self.history) % 2 == 0 else [])

    def _measure(
        self, xy: np.ndarray, labels: np.ndarray, targets: np.ndarray
    ) -> tuple[float | None, float | None]:
        """The loss and the accuracy on one set (None where they are not numbers)."""
        try:
            with no_grad():
                loss, scores = self.evaluate(xy, targets)
        except (OverflowError, ValueError):
            return None, None
        predicted = np.array([s.data for s in scores]) > 0.0
        return finite_or_none(loss.data), float(np.mean(predicted == (labels == 1)))

    def snapshot(self, with_points: bool = False) -> dict[str, Any]:
        """What the page draws, as JSON: the step, the curves, the network's weights and
        each neuron's map; with `with_points`, the data and the settings too."""
        state = self.model.state_dict()
        layers = [
            {
                "weights": finite_lists(state[f"layers.{i}.weight"]),
                "biases": finite_lists(state[f"layers.{i}.bias"]),
            }
            for i in range(len(self.settings.hidden) + 1)
        ]
        out: dict[str, Any] = {
            "step": self.steps,
            "epoch": self.steps * self.settings.batch_size / len(self.train_xy),
            "diverged": self.diverged,
            "history": self.history,
            "layers": layers,
            "maps": {
                "grid": GRID,
                "plane": PLANE,
                "layers": encoded_maps(self.maps(GRID)),
                "boundary_grid": BOUNDARY_GRID,
                "boundary": encoded_maps(self.maps(BOUNDARY_GRID)[-1:])[0][0],
            },
        }
        if with_points:
            out["settings"] = self.settings.as_json()
            out["points"] = {
                "train": points_json(self.train_xy, self.train_labels),
                "test": points_json(self.test_xy, self.test_labels),
            }
        return out

    def maps(self, grid: int) -> list[np.ndarray]:
        """Per layer, every neuron's output over a grid x grid grid of the plane: an array
        (neurons, grid, grid) whose row 0 is the bottom. The last layer's one map is the
        score."""
        state = self.model.state_dict()
        return layer_outputs(state, self.settings.activation, grid_points(grid), grid)


def make_optimizer(settings: Settings, model: nn.MLP) -> optim.Optimizer:
    """SGD or Adam over the model's parameters, at the learning rate asked for."""
    if settings.optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=settings.learning_rate)
    return optim.Adam(model.parameters(), lr=settings.learning_rate)


def grid_points(grid: int) -> np.ndarray:
    """The centres of the grid x grid cells of the plane's square, row by row from the
    bottom left: (grid^2, 2). A picture's pixel (col, row) shows the model there."""
    axis = -PLANE + (np.arange(grid) + 0.5) * (2 * PLANE / grid)
    x, y = np.meshgrid(axis, axis)
    return np.column_stack([x.ravel(), y.ravel()])


def layer_outputs(
    state: dict[str, np.ndarray], activation: str, points: np.ndarray, grid: int
) -> list[np.ndarray]:
    """Each layer's outputs at the grid^2 `points` (see `grid_points`), from the weights
    of `state_dict()`: h = act(h W^T + b), the last layer linear, as in `nn.MLP`. One
    array (neurons, grid, grid) per layer."""
    act, out, h = NUMPY_ACTIVATIONS[activation], [], points
    count = len([key for key in state if key.endswith(".weight")])
    with np.errstate(all="ignore"):  # a diverged model's maps are nan, shown blank
        for i in range(count):
            # einsum, not @: BLAS threads cost more than a (n, 8) x (8, 8) product
            h = np.einsum("nj,kj->nk", h, state[f"layers.{i}.weight"]) + state[f"layers.{i}.bias"]
            if i < count - 1:
                h = act(h)
            out.append(h.T.reshape(-1, grid, grid))
    return out


def encoded_maps(maps: list[np.ndarray]) -> list[list[str]]:
    """Each map as base64 bytes: the output clipped to [-1, 1], times 127, as int8 (nan
    as 0). The page colours it without parsing 1000 numbers per neuron."""
    encoded = []
    for layer in maps:
        scaled = np.rint(127 * np.clip(np.nan_to_num(layer, nan=0.0), -1.0, 1.0)).astype(np.int8)
        encoded.append([base64.b64encode(m.tobytes()).decode("ascii") for m in scaled])
    return encoded


def finite_or_none(x: float) -> float | None:
    """x, or None if it is nan or infinite (JSON has no such numbers)."""
    return float(x) if math.isfinite(x) else None


def finite_lists(array: np.ndarray) -> Any:
    """A numpy array as nested lists, nan and inf as None."""
    if array.ndim == 0:
        return finite_or_none(float(array))
    return [finite_lists(row) for row in array]


def points_json(xy: np.ndarray, labels: np.ndarray) -> list[list[float]]:
    """Points as [x, y, label] triples, rounded to 4 decimals."""
    return [[round(float(x), 4), round(float(y), 4), int(c)] for (x, y), c in zip(xy, labels)]
