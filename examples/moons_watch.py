"""What train_moons.py measures of its model while it trains, and the figures of a run.

`Watcher` follows the training loop: before each step the accuracy on the step's batch,
after it the loss, a frame of the GIF at the frames' steps and a progress line about
every tenth of the run, after each epoch the held-out accuracy; all of it lands in a
`History`. `draw` turns a trained model and its History into the pictures (drawn by
moons_plots.py, which only draws the numbers it is given).

Every measurement runs under no_grad() through ``minitorch_scalar.compile`` (see
`make_scorer`), and the time it takes is kept apart: the progress lines and the summary
report the time spent training only.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from moons_plots import (
    Curves,
    Frame,
    Grid,
    Points,
    pick_frames,
    plane_grid,
    plot_decision_boundary,
    plot_training_curves,
    score_bound,
    write_training_gif,
)

import minitorch_scalar as ms
import nn
from minitorch_scalar import Value, no_grad

BOUNDARY_FILE = "moons_decision_boundary.png"
CURVES_FILE = "moons_training_curves.png"
GIF_FRAMES = 40  # pictures of the boundary in the GIF (fewer if there are fewer steps)
GIF_CANDIDATES = 120  # steps pictured during training, of which GIF_FRAMES are kept
GIF_GRID = 100  # the GIF's grid: 100 x 100 scores per frame
CHUNK = 2_500  # the grid is scored this many points at a time: one trace, many replays


def accuracy(scores: Sequence[Value] | np.ndarray, labels: np.ndarray) -> float:
    """The fraction of points whose score has the sign of its class (> 0 for class 1)."""
    predictions = np.array([score > 0.0 for score in _numbers(scores)])
    return float(np.mean(predictions == (labels == 1)))


def _numbers(scores: Sequence[Value] | np.ndarray) -> np.ndarray:
    """Scores as a float array, whether Values or numbers."""
    return np.array([s.data if isinstance(s, Value) else s for s in scores], dtype=np.float64)


def make_scorer(model: nn.MLP, chunk: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function: points (n, 2) -> the model's score at each, an (n,) array.

    It evaluates the model itself under no_grad(), through ``minitorch_scalar.compile``,
    `chunk` points at a time (the last chunk padded with copies of its last point), so
    the compiler traces one chunk and replays it for every other and every later call.
    """
    forward = ms.compile(model)

    def scores(points: np.ndarray) -> np.ndarray:
        padding = -len(points) % chunk
        padded = np.concatenate([points, np.repeat(points[-1:], padding, axis=0)])
        out: list[float] = []
        with no_grad():
            for first in range(0, len(padded), chunk):
                out.extend(score.data for score in forward(padded[first : first + chunk]))
        return np.array(out[: len(points)])

    return scores


@dataclass
class History:
    """What training recorded: per step, per epoch, and the GIF's frames."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    heldout_steps: list[int] = field(default_factory=list)
    heldout_accuracy: list[float] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    watch_seconds: float = 0.0  # time spent measuring, not training
    seconds: float = 0.0  # time spent training, up to the latest step


class Watcher:
    """Measures the model during training: accuracies, the GIF's frames, progress lines.

    Made just before the first step: its clock starts then, and it pictures the model
    before training (step 0) if there is a GIF. The time it spends measuring is kept in
    `History.watch_seconds` and left out of `History.seconds`.
    """

    def __init__(
        self, args: argparse.Namespace, model: nn.MLP, data: tuple[Points, Points], total: int
    ) -> None:
        self.test = data[1]
        self.total = total
        self.heldout_scores = make_scorer(model, len(self.test.xy))
        self.batch_scores = make_scorer(model, args.batch_size or len(data[0].xy))
        self.frame_steps: set[int] = set()
        if args.gif is not None:
            candidates = np.linspace(0, total, GIF_CANDIDATES).round().astype(int)
            self.frame_steps = set(candidates.tolist())
            self.grid_xy = gif_grid(args, data)
            self.grid_scores = make_scorer(model, min(CHUNK, self.grid_xy[0].size))
        self.history = History()
        self.start = time.perf_counter()  # before the first frame, whose time is subtracted
        self._picture(0, float("nan"))

    def before_step(self, points: np.ndarray, labels: np.ndarray) -> None:
        """Record the accuracy on the step's batch, with the weights the step starts from."""
        start = time.perf_counter()
        self.history.accuracy.append(accuracy(self.batch_scores(points), labels))
        self.history.watch_seconds += time.perf_counter() - start

    def after_step(self, step: int, loss: float) -> None:
        """Record the loss of step `step` (from 1) and, at the frames' steps, a GIF frame;
        print a progress line about every tenth of the run, and after the last step."""
        self.history.loss.append(loss)
        self._picture(step, loss)
        self.history.seconds = time.perf_counter() - self.start - self.history.watch_seconds
        if step % max(1, self.total // 10) == 0 or step == self.total:
            print(
                f"step {step:4d}/{self.total}  loss {loss:.4f}  "
                f"accuracy {self.history.accuracy[-1]:.3f}  elapsed {self.history.seconds:.1f}s",
                flush=True,
            )

    def after_epoch(self, step: int) -> None:
        """Record the held-out accuracy after `step` steps."""
        start = time.perf_counter()
        scores = self.heldout_scores(self.test.xy)
        self.history.heldout_steps.append(step)
        self.history.heldout_accuracy.append(accuracy(scores, self.test.labels))
        self.history.watch_seconds += time.perf_counter() - start

    def _picture(self, step: int, loss: float) -> None:
        """Record a GIF frame if `step` (0: before training) is one of the frames' steps."""
        if step in self.frame_steps:
            start = time.perf_counter()
            points = np.column_stack([self.grid_xy[0].ravel(), self.grid_xy[1].ravel()])
            scores = self.grid_scores(points).reshape(self.grid_xy[0].shape)
            self.history.frames.append(Frame(step, self.total, loss, scores))
            self.history.watch_seconds += time.perf_counter() - start


def gif_grid(args: argparse.Namespace, data: tuple[Points, Points]) -> tuple:
    """The GIF's grid (meshgrid's two arrays): at most GIF_GRID x GIF_GRID, over all points."""
    return plane_grid(np.concatenate([data[0].xy, data[1].xy]), min(GIF_GRID, args.grid))


def accuracy_label(args: argparse.Namespace) -> str:
    """What the per-step training accuracy was measured on, honestly."""
    if args.batch_size is None or args.batch_size == args.samples:
        return "training accuracy (whole training set, before each step)"
    return f"training accuracy (the step's minibatch of {args.batch_size})"


def draw(
    args: argparse.Namespace,
    model: nn.MLP,
    data: tuple[Points, Points],
    title: str,
    history: History,
) -> list[Path]:
    """Write the boundary, the curves and (with --gif) the GIF; return their paths."""
    train, test = data
    grid_x, grid_y = plane_grid(np.concatenate([train.xy, test.xy]), args.grid)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    scores = make_scorer(model, min(CHUNK, len(points)))(points).reshape(grid_x.shape)
    test_scores = make_scorer(model, len(test.xy))(test.xy)
    paths = [args.out_dir / BOUNDARY_FILE, args.out_dir / CURVES_FILE]
    bound = score_bound(scores)  # the still's, and the GIF's: one colour scale
    grid = Grid(grid_x, grid_y, scores)
    plot_decision_boundary(grid, train, test, test_scores, title, paths[0], bound)
    curves = Curves(
        history.loss,
        history.accuracy,
        accuracy_label(args),
        history.heldout_steps,
        history.heldout_accuracy,
    )
    plot_training_curves(curves, paths[1])
    if args.gif is not None:
        frames = pick_frames(history.frames, GIF_FRAMES, bound)
        write_training_gif(frames, gif_grid(args, data), train, args.gif, bound)
        paths.append(args.gif)
    return paths
