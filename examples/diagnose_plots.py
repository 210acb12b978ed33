"""--diagnose for the training scripts: what each layer did during training, as pictures.

`Recorder` watches a run: at every step the update-to-data ratio of each layer (how far
the optimizer moved its weights, for their spread), and at `SNAPSHOTS` moments an
`nn.diagnose` of the model on a fixed batch (outputs, their gradients, dead relus,
saturation, gradient norms). `Recorder.draw` writes two pictures:

- ``<prefix>_histograms.png``: each hidden layer's outputs (top row) and the gradients
  of the loss with respect to them (bottom row), at four moments of training;
- ``<prefix>_over_training.png``: per layer, over the whole run, the update-to-data
  ratio (with the ~1e-3 rule of thumb of Karpathy's makemore lectures), the fraction
  of dead relus (or saturated tanh/sigmoid outputs), and the gradient norm.

`NoRecorder` does nothing, so a script calls the same two methods with or without the
flag. Drawn on matplotlib `Figure` objects with the Agg canvas, never through pyplot.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import nn

DPI = 100
SNAPSHOTS = 21  # nn.diagnose runs at this many evenly spaced steps, the first and last too
BINS = 40
COLOURS = ("#2b8cbe", "#d7301f", "#31a354", "#756bb1", "#e6550d", "#636363")


class NoRecorder:
    """What a script holds without --diagnose: every method does nothing."""

    def start(self, total: int) -> None:
        """Nothing to record."""

    def before_step(self) -> None:
        """Nothing to record."""

    def after_step(self, step: int) -> None:
        """Nothing to record."""

    def draw(self, out_dir: Path, prefix: str) -> list[Path]:
        """No pictures."""
        return []


class Recorder(NoRecorder):
    """Records, during training, what `draw` shows (see the module docstring).

    Args:
        model: the MLP being trained.
        batch: the fixed input rows `nn.diagnose` runs on at the snapshot steps.
        loss: the loss of the model's outputs on `batch` (a function, as `nn.diagnose`
            takes it): the gradients drawn are this loss's.

    Training calls `start` once, then `before_step` and `after_step` around each
    optimizer step.
    """

    def __init__(self, model: nn.MLP, batch: Any, loss: Callable[[Any], Any]) -> None:
        self.model, self.batch, self.loss = model, batch, loss
        # each layer's weights, found once: training changes their data, never the Values
        self.weights = [
            nn.diagnostics.layer_weights(layer) for _, layer in nn.diagnostics.named_layers(model)
        ]
        self.snapshot_steps: list[int] = []
        self.ratios: list[list[float]] = []  # per step, per layer
        self.snapshots: list[tuple[int, nn.Diagnosis]] = []
        self._before: list[list[float]] = []

    def start(self, total: int) -> None:
        """Plan the snapshots over `total` steps, and take the first, before training."""
        self.snapshot_steps = sorted(set(np.linspace(0, total, SNAPSHOTS).round().astype(int)))
        self.after_step(0)

    def before_step(self) -> None:
        """Note each layer's weights before the optimizer moves them."""
        self._before = [[w.data for w in weights] for weights in self.weights]

    def after_step(self, step: int) -> None:
        """Each layer's update ratio for this step; a diagnosis at the snapshot steps."""
        if step > 0:
            after = [[w.data for w in weights] for weights in self.weights]
            self.ratios.append(
                [nn.diagnostics.update_ratio(b, a) for b, a in zip(self._before, after)]
            )
        if step in self.snapshot_steps:
            self.snapshots.append(
                (step, nn.diagnose(self.model, self.batch, self.loss, show=False))
            )

    def draw(self, out_dir: Path, prefix: str) -> list[Path]:
        """Write the two pictures into `out_dir`; return their paths."""
        paths = [out_dir / f"{prefix}_histograms.png", out_dir / f"{prefix}_over_training.png"]
        plot_histograms(self.snapshots, prefix, paths[0])
        plot_over_training(np.array(self.ratios), self.snapshots, prefix, paths[1])
        return paths


def recorder_for(
    enabled: bool, model: nn.MLP, batch: Any, loss: Callable[[Any], Any]
) -> NoRecorder:
    """A `Recorder` (see its arguments) if `enabled` (the --diagnose flag), else a `NoRecorder`."""
    return Recorder(model, batch, loss) if enabled else NoRecorder()


def plot_histograms(snapshots: list[tuple[int, nn.Diagnosis]], title: str, path: Path) -> None:
    """Hidden layers' outputs and their gradients at the start, early on, halfway, the end."""
    last = len(snapshots) - 1
    picks = sorted({0, min(1, last), last // 2, last})  # the start, early on, halfway, the end
    chosen = [snapshots[i] for i in picks]
    figure = _figure((3.4 * len(chosen), 6.4))
    grid = figure.subplots(2, len(chosen), squeeze=False)
    for column, (step, diagnosis) in enumerate(chosen):
        hidden = diagnosis.layers[:-1] or diagnosis.layers
        _histogram(grid[0, column], [(r, r.outputs) for r in hidden], _output_label)
        grads = [(r, r.output_grads) for r in hidden]
        _histogram(grid[1, column], grads, lambda r, _: f"{r.name}")
        grid[0, column].set_title(f"step {step}")
    grid[0, 0].set_ylabel("layer outputs\n(count, log scale)")
    grid[1, 0].set_ylabel("d loss / d output\n(count, log scale)")
    figure.suptitle(
        f"{title}: each hidden layer's outputs and their gradients on a fixed batch of "
        f"{snapshots[0][1].rows} rows"
    )
    figure.savefig(path, dpi=DPI)


def _histogram(axes: Axes, layers: list, label: Callable) -> None:
    """A step histogram per layer of its numbers, on shared bins, log counts."""
    every = np.concatenate([numbers.ravel() for _, numbers in layers])
    if not every.any():
        axes.text(0.5, 0.5, "all exactly 0", transform=axes.transAxes, ha="center")
        axes.set_xticks([])
        axes.set_yticks([])
        return
    low, high = float(every.min()), float(every.max())
    bins = np.linspace(low, high if high > low else low + 1.0, BINS + 1)
    for index, (report, numbers) in enumerate(layers):
        axes.hist(
            numbers.ravel(), bins=bins, histtype="step", linewidth=1.4,
            color=COLOURS[index % len(COLOURS)], label=label(report, numbers),
        )  # fmt: skip
    axes.set_yscale("log")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="upper right")


def _output_label(report: nn.LayerReport, outputs: np.ndarray) -> str:
    """The layer, its activation, and what is wrong with it: dead or saturated units."""
    label = f"{report.name} ({report.activation})"
    if report.relu_units:
        label += f": {np.mean(outputs == 0):.0%} zeros, {len(report.dead)}/{report.relu_units} dead"
    elif report.saturated is not None:
        label += f": {report.saturated:.0%} saturated"
    return label


def plot_over_training(
    ratios: np.ndarray, snapshots: list[tuple[int, nn.Diagnosis]], title: str, path: Path
) -> None:
    """Per layer over the run: update ratio, dead or saturated fraction, gradient norm."""
    figure = _figure((8.0, 9.0))
    ratio_axes, health_axes, norm_axes = figure.subplots(3, 1, sharex=True)
    steps = np.arange(1, len(ratios) + 1)
    names = [r.name for r in snapshots[0][1].layers]
    for j, name in enumerate(names):
        colour = COLOURS[j % len(COLOURS)]
        with np.errstate(divide="ignore"):
            ratio_axes.plot(steps, np.log10(ratios[:, j]), color=colour, linewidth=1, label=name)
        _plot_health(health_axes, snapshots, j, colour)
        norms = [d.layers[j].grad_norm for _, d in snapshots]
        norm_axes.plot([s for s, _ in snapshots], norms, marker="o", markersize=3, color=colour)
    ratio_axes.axhline(-3, color="black", linestyle="--", linewidth=1)
    ratio_axes.annotate(
        "~1e-3: a rule of thumb (makemore)", (steps[0], -3), textcoords="offset points",
        xytext=(2, -11), ha="left", fontsize=8,
    )  # fmt: skip
    ratio_axes.set_ylabel("log10 update / data\n(std of a step's change\n/ std of the weights)")
    ratio_axes.set_title(f"{title}: every layer, over training")
    ratio_axes.legend(fontsize=8)
    health_axes.set_ylabel("dead relus (solid)\nsaturated tanh/sigmoid\noutputs (dashed)")
    health_axes.set_ylim(-0.03, 1.03)
    norm_axes.set_yscale("symlog", linthresh=1e-6)  # 0 (no gradient at all) at the bottom
    norm_axes.set_ylim(bottom=0.0)
    norm_axes.set_ylabel("gradient norm\nof the layer's parameters")
    norm_axes.set_xlabel("step")
    for axes in (ratio_axes, health_axes, norm_axes):
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=DPI)


def _plot_health(
    axes: Axes, snapshots: list[tuple[int, nn.Diagnosis]], j: int, colour: str
) -> None:
    """Layer j's dead relu fraction (solid) or saturated fraction (dashed) at the snapshots."""
    steps = [s for s, _ in snapshots]
    first = snapshots[0][1].layers[j]
    if first.relu_units:
        axes.plot(steps, [d.layers[j].dead_fraction for _, d in snapshots], color=colour,
                  marker="o", markersize=3)  # fmt: skip
    elif first.saturated is not None:
        axes.plot(steps, [d.layers[j].saturated for _, d in snapshots], color=colour,
                  linestyle="--", marker="o", markersize=3)  # fmt: skip


def _figure(size: tuple[float, float]) -> Figure:
    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure
