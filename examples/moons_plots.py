"""The figures of train_moons.py: the learned boundary, the training curves, the GIF.

Every function here draws numbers it is given: the scores over the plane come from
the model itself (moons_watch.py evaluates it on `plane_grid` under no_grad()).

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
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

CLASS_COLOURS = ("#d7301f", "#2b8cbe")  # class 0, class 1
DPI = 100
MARGIN = 0.5  # the plane drawn reaches this far beyond the data
SCORE_BANDS = 20  # the score's colour scale: this many bands from -bound to +bound
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


def score_bound(scores: np.ndarray) -> float:
    """The colour scale's bound: the largest |score| of the still (never 0).

    The GIF takes the still's bound, so that a score has one colour in both; a frame's
    score beyond it (early in training, far from the data) takes the end colour.
    """
    return max(float(np.abs(scores).max()), 1e-9)


def score_levels(bound: float) -> np.ndarray:
    """The edges of the colour bands: about SCORE_BANDS, at round numbers, symmetric
    about 0, from at most -bound to at least +bound."""
    return MaxNLocator(SCORE_BANDS, symmetric=True).tick_values(-bound, bound)


def pick_frames(frames: Sequence[Frame], count: int, bound: float) -> list[Frame]:
    """At most `count` of `frames` (in order, the first and the last among them), spaced
    by how much the picture changes rather than by steps.

    The change between two frames is the mean, over the grid, of |change of the score|
    (clipped to +-`bound`, as the colours are); the frames kept are those nearest to
    equal shares of the total change. Where the boundary moves fast, consecutive frames
    are close in steps; once it settles, a few frames cover the rest of the run.
    """
    if len(frames) <= count:
        return list(frames)
    clipped = np.clip([frame.scores for frame in frames], -bound, bound)
    changes = np.abs(np.diff(clipped, axis=0)).reshape(len(frames) - 1, -1).mean(axis=1)
    travelled = np.concatenate([[0.0], np.cumsum(changes)])
    targets = np.linspace(0.0, travelled[-1], count)[:-1]  # the last frame closes the GIF
    kept = {int(np.abs(travelled - target).argmin()) for target in targets}
    return [frames[i] for i in sorted({*kept, len(frames) - 1})]


def _filled_scores(axes: Axes, grid: Grid, bound: float, zorder: int = 0) -> object:
    """The scores as filled contours on the one colour scale, `score_levels(bound)`
    (red: class 0, blue: class 1); a score beyond it takes the end colour."""
    levels = score_levels(bound)
    scores = np.clip(grid.scores, levels[0], levels[-1])
    return axes.contourf(
        grid.x, grid.y, scores, levels=levels, cmap="RdBu", alpha=0.75, zorder=zorder
    )


def plot_decision_boundary(
    grid: Grid,
    train: Points,
    test: Points,
    test_scores: np.ndarray,
    title: str,
    path: Path,
    bound: float | None = None,
) -> None:
    """Draw the model's score over the plane as filled contours, with the data on top.

    The score's sign is the predicted class; its zero level, the decision boundary, is
    a black line. Training points are dots coloured by class, held-out points crosses;
    a held-out point whose score has the wrong sign (`test_scores`) is ringed in black.
    The legend sits below the axes, off the data. The colours run from -`bound` to
    +`bound` (default: the largest |score| of the grid; see `score_bound`).
    """
    figure, axes = _figure(figsize=(7.0, 6.2))
    bound = score_bound(grid.scores) if bound is None else bound
    filled = _filled_scores(axes, grid, bound)
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


def write_training_gif(
    frames: Sequence[Frame], grid_xy: tuple, train: Points, path: Path, bound: float
) -> None:
    """Write an animated GIF: the scores and the boundary of each frame, with the data.

    Every frame has the colour scale of the still, -`bound` to +`bound` (see
    `score_bound`), so that frames compare with each other and with it; each title says
    the step and the loss. Written with matplotlib's PillowWriter. The layout is
    computed once: each frame replaces only the contours and the title.
    """
    figure, axes = _figure(figsize=(6.2, 5.0))
    drawn: list = [_filled_scores(axes, Grid(*grid_xy, frames[0].scores), bound)]
    # the still's bar: the same bands and colours (a score beyond them: the end colour)
    figure.colorbar(drawn[0], ax=axes, label="score (> 0: class 1), the still's scale")
    _scatter_points(axes, train, None)
    _frame_axes(axes, Grid(*grid_xy, None), "step, loss")  # a title, to make room for it
    figure.canvas.draw()
    figure.set_layout_engine("none")  # keep the positions constrained layout found
    order = [*range(len(frames)), *[len(frames) - 1] * GIF_HOLD_LAST]

    def draw(index: int) -> None:
        frame = frames[order[index]]
        for artist in drawn:
            artist.remove()
        drawn[:] = _draw_scores(axes, Grid(*grid_xy, frame.scores), bound)
        loss = "before training" if frame.step == 0 else f"loss {frame.loss:.4f}"
        axes.set_title(f"step {frame.step}/{frame.total}   {loss}")

    animation = FuncAnimation(figure, draw, frames=len(order))
    animation.save(path, writer=PillowWriter(fps=GIF_FPS), dpi=DPI)


def _draw_scores(axes: Axes, grid: Grid, bound: float) -> list:
    """Filled contours of the scores under the points, and the zero level."""
    artists = [_filled_scores(axes, grid, bound)]
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
