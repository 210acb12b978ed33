"""The figures of train_moons.py, and the numpy forward pass that makes them fast.

A decision boundary needs the model's score at tens of thousands of grid points:
through Values that would take longer than the training. `mlp_scores` computes the
same numbers with numpy, from the weights in `model.state_dict()`.

The figures are drawn on matplotlib `Figure` objects with the Agg canvas, never
through pyplot: no window, no display needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

CLASS_COLOURS = ("#d7301f", "#2b8cbe")  # class 0, class 1


def mlp_scores(state_dict: Mapping[str, np.ndarray], points: np.ndarray) -> np.ndarray:
    """The outputs of an MLP with ReLU hidden layers and a linear last layer.

    For each layer i, with W_i = state_dict["layers.{i}.weight"] (out, in) and b_i =
    state_dict["layers.{i}.bias"] (out,), row by row of `points` (n, in):

        h_0 = x;  h_{i+1} = relu(W_i h_i + b_i);  the last layer has no relu.

    Returns an (n, out) array, the same numbers as calling the model on each row.
    """
    activations = np.asarray(points, dtype=np.float64)
    layer_count = sum(1 for key in state_dict if key.endswith(".weight"))
    for i in range(layer_count):
        weight, bias = state_dict[f"layers.{i}.weight"], state_dict[f"layers.{i}.bias"]
        activations = activations @ weight.T + bias
        if i < layer_count - 1:
            activations = np.maximum(activations, 0.0)
    return activations


def plot_decision_boundary(
    state_dict: Mapping[str, np.ndarray],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    title: str,
    path: Path,
    resolution: int = 300,
) -> None:
    """Draw the model's score over the plane as filled contours, with the data on top.

    `train` and `test` are (points (n, 2), labels 0 or 1). The score's sign is the
    predicted class; its zero level, the decision boundary, is drawn as a black line.
    Training points are filled dots coloured by class; held-out points are crosses.
    """
    points = np.concatenate([train[0], test[0]])
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    scores = mlp_scores(state_dict, np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    scores = scores[:, 0].reshape(grid_x.shape)
    bound = max(float(np.abs(scores).max()), 1e-9)

    figure, axes = _figure(figsize=(6.0, 4.8))
    filled = axes.contourf(
        grid_x,
        grid_y,
        scores,
        levels=20,
        cmap="RdBu",
        norm=TwoSlopeNorm(0.0, -bound, bound),
        alpha=0.75,
    )
    axes.contour(grid_x, grid_y, scores, levels=[0.0], colors="black", linewidths=1.5)
    figure.colorbar(filled, ax=axes, label="score (class 1 where > 0)")
    for label in (0, 1):
        colour = CLASS_COLOURS[label]
        x, y = train[0][train[1] == label], test[0][test[1] == label]
        axes.scatter(
            *x.T, s=22, c=colour, edgecolors="black", linewidths=0.5, label=f"train {label}"
        )
        axes.scatter(*y.T, s=22, c=colour, marker="x", linewidths=1.2, label=f"held-out {label}")
    axes.set_xlim(low[0], high[0])
    axes.set_ylim(low[1], high[1])
    axes.set_title(title)
    axes.legend(loc="lower left", fontsize=7, ncols=2, framealpha=0.8)
    figure.savefig(path, dpi=80)


def plot_training_curves(losses: Sequence[float], accuracies: Sequence[float], path: Path) -> None:
    """Draw the loss and the training accuracy of every step, one above the other."""
    figure, (loss_axes, accuracy_axes) = _figure(figsize=(6.0, 4.8), rows=2)
    steps = np.arange(1, len(losses) + 1)
    loss_axes.plot(steps, losses, color="#2b8cbe")
    loss_axes.set_ylabel("loss")
    loss_axes.set_yscale("log")
    loss_axes.set_title("training curves")
    accuracy_axes.plot(steps, accuracies, color="#d7301f")
    accuracy_axes.set_ylabel("training accuracy")
    accuracy_axes.set_ylim(0.0, 1.05)
    accuracy_axes.set_xlabel("step")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=80)


def _figure(figsize: tuple[float, float], rows: int = 1) -> tuple[Figure, object]:
    """A Figure on an Agg canvas with `rows` axes stacked, and those axes."""
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, 1, sharex=rows > 1)
