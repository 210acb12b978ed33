"""The figures of train_moons.py: the learned boundary, the training curves, the GIF.

Every function here draws numbers it is given: the scores over the plane come from
the model itself (train_moons.py evaluates it on `plane_grid` under no_grad()).

The figures are drawn on matplotlib `Figure` objects with the Agg canvas, never
through pyplot: no window, no display needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure

CLASS_COLOURS = ("#d7301f", "#2b8cbe")  # class 0, class 1
DPI = 100
MARGIN = 0.5  # the plane drawn reaches this far beyond the data
GIF_SCORE_LIMIT = 3.0  # GIF colours saturate at |score| = 3, so every frame has one scale
GIF_FPS = 8
GIF_HOLD_LAST = 12  # the last frame stays this many frames longer: the end is visible


class Points(NamedTuple):
    """Points of the plane (n, 2) and their classes, 0 or 1 (n,)."""

    xy: np.ndarray
    labels: np.ndarray


class Grid(NamedTuple):
    """A regular grid over the plane (meshgrid's two arrays) and the score at each node."""

    x: np.ndarray
    y: np.ndarray
    scores: np.ndarray


class Frame(NamedTuple):
    """One picture of the GIF: the scores over the grid after `step` steps of `total`."""

    step: int
    total: int
    loss: float
    scores: np.ndarray


class Curves(NamedTuple):
    """What the training-curves figure shows.

    `loss` and `accuracy` have one entry per step; `accuracy_label` says what the
    accuracy was measured on (the full training set or one minibatch). `heldout_steps`
    and `heldout_accuracy`: the held-out accuracy, measured after those steps.
    """

    loss: Sequence[float]
    accuracy: Sequence[float]
    accuracy_label: str
    heldout_steps: Sequence[int]
    heldout_accuracy: Sequence[float]


def plane_grid(points: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """A `resolution` x `resolution` meshgrid covering `points` (n, 2) with a margin."""
    low, high = points.min(axis=0) - MARGIN, points.max(axis=0) + MARGIN
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    return np.meshgrid(xs, ys)


def plot_decision_boundary(
    grid: Grid, train: Points, test: Points, test_scores: np.ndarray, title: str, path: Path
) -> None:
    """Draw the model's score over the plane as filled contours, with the data on top.

    The score's sign is the predicted class; its zero level, the decision boundary, is
    a black line. Training points are dots coloured by class, held-out points crosses;
    a held-out point whose score has the wrong sign (`test_scores`) is ringed in black.
    The legend sits below the axes, off the data.
    """
    figure, axes = _figure(figsize=(7.0, 6.2))
    bound = max(float(np.abs(grid.scores).max()), 1e-9)
    filled = axes.contourf(
        grid.x,
        grid.y,
        grid.scores,
        levels=20,
        cmap="RdBu",
        norm=TwoSlopeNorm(0.0, -bound, bound),
        alpha=0.75,
    )
    axes.contour(grid.x, grid.y, grid.scores, levels=[0.0], colors="black", linewidths=1.5)
    figure.colorbar(filled, ax=axes, label="score (predicts class 1 where > 0)")
    _scatter_points(axes, train, test)
    wrong = (test_scores > 0.0) != (test.labels == 1)
    axes.scatter(
        *test.xy[wrong].T,
        s=150,
        facecolors="none",
        edgecolors="black",
        linewidths=1.5,
        label=f"misclassified held-out ({int(wrong.sum())})",
    )
    axes.plot([], [], color="black", linewidth=1.5, label="decision boundary (score = 0)")
    _frame_axes(axes, grid, title)
    figure.legend(loc="outside lower center", ncols=3, fontsize=9)
    figure.savefig(path, dpi=DPI)


def plot_training_curves(curves: Curves, path: Path) -> None:
    """Draw the loss of every step, and the accuracies, one above the other."""
    figure, (loss_axes, accuracy_axes) = _figure(figsize=(7.0, 5.6), rows=2)
    steps = np.arange(1, len(curves.loss) + 1)
    loss_axes.plot(steps, curves.loss, color="#2b8cbe")
    loss_axes.set_ylabel("training loss (log scale)")
    loss_axes.set_yscale("log")
    loss_axes.set_title("training curves")
    accuracy_axes.plot(steps, curves.accuracy, color="#d7301f", label=curves.accuracy_label)
    accuracy_axes.plot(
        curves.heldout_steps,
        curves.heldout_accuracy,
        color="black",
        marker="o" if len(curves.heldout_steps) <= 30 else None,
        markersize=3,
        label="held-out accuracy (after each epoch)",
    )
    accuracy_axes.set_ylabel("accuracy")
    accuracy_axes.set_ylim(0.0, 1.05)
    accuracy_axes.set_xlabel("step (one update of the weights)")
    accuracy_axes.legend(loc="lower right", fontsize=9)
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=DPI)


def write_training_gif(frames: Sequence[Frame], grid_xy: tuple, train: Points, path: Path) -> None:
    """Write an animated GIF: the scores and the boundary of each frame, with the data.

    Colours saturate at |score| = GIF_SCORE_LIMIT so that frames compare; each title
    says the step and the loss. Written with matplotlib's PillowWriter. The layout is
    computed once: each frame replaces only the contours and the title.
    """
    figure, axes = _figure(figsize=(6.2, 5.0))
    limit = GIF_SCORE_LIMIT
    key = ScalarMappable(Normalize(-limit, limit), cmap="RdBu")
    figure.colorbar(key, ax=axes, alpha=0.75, label=f"score, clipped to +-{limit:g} (> 0: class 1)")
    _scatter_points(axes, train, None)
    _frame_axes(axes, Grid(*grid_xy, None), "step, loss")  # a title, to make room for it
    figure.canvas.draw()
    figure.set_layout_engine("none")  # keep the positions constrained layout found
    order = [*range(len(frames)), *[len(frames) - 1] * GIF_HOLD_LAST]
    drawn: list = []

    def draw(index: int) -> None:
        frame = frames[order[index]]
        for artist in drawn:
            artist.remove()
        drawn[:] = _draw_scores(axes, Grid(*grid_xy, np.clip(frame.scores, -limit, limit)))
        loss = "before training" if frame.step == 0 else f"loss {frame.loss:.4f}"
        axes.set_title(f"step {frame.step}/{frame.total}   {loss}")

    animation = FuncAnimation(figure, draw, frames=len(order))
    animation.save(path, writer=PillowWriter(fps=GIF_FPS), dpi=DPI)


def _draw_scores(axes: Axes, grid: Grid) -> list:
    """Filled contours of the (clipped) scores under the points, and the zero level."""
    levels = np.linspace(-GIF_SCORE_LIMIT, GIF_SCORE_LIMIT, 13)
    artists = [
        axes.contourf(grid.x, grid.y, grid.scores, levels=levels, cmap="RdBu", alpha=0.75, zorder=0)
    ]
    if grid.scores.min() < 0.0 < grid.scores.max():
        artists.append(
            axes.contour(grid.x, grid.y, grid.scores, levels=[0.0], colors="black", zorder=1)
        )
    return artists


def _scatter_points(axes: Axes, train: Points, test: Points | None) -> None:
    """Training points as dots and held-out points (if any) as crosses, by class."""
    for label in (0, 1):
        colour = CLASS_COLOURS[label]
        axes.scatter(
            *train.xy[train.labels == label].T,
            s=26,
            c=colour,
            edgecolors="black",
            linewidths=0.6,
            zorder=2,
            label=f"training, class {label}",
        )
        if test is not None:
            axes.scatter(
                *test.xy[test.labels == label].T,
                s=30,
                c=colour,
                marker="x",
                linewidths=1.4,
                zorder=2,
                label=f"held-out, class {label}",
            )


def _frame_axes(axes: Axes, grid: Grid, title: str) -> None:
    """Limits to the grid, axis labels x1 and x2, and the title."""
    axes.set_xlim(grid.x.min(), grid.x.max())
    axes.set_ylim(grid.y.min(), grid.y.max())
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_title(title)


def _figure(figsize: tuple[float, float], rows: int = 1) -> tuple[Figure, object]:
    """A Figure on an Agg canvas with `rows` axes stacked, and those axes."""
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, 1, sharex=rows > 1)
