"""The figures of train_digits.py: curves, confusion matrix, mistakes, first-layer weights.

`draw_run` writes all four from the numbers of a run (the model's predictions are
made by the script). Drawn on matplotlib `Figure` objects with the Agg canvas, never
through pyplot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
CLASSES = 10
MAX_MISTAKES = 24  # the mistakes figure shows at most this many digits
MAX_NEURONS = 32  # the weights figure shows at most this many first-layer neurons
FILES = {
    "curves": "digits_training_curves.png",
    "confusion": "digits_confusion.png",
    "mistakes": "digits_mistakes.png",
    "first_layer": "digits_first_layer.png",
}


def draw_run(
    out_dir: Path,
    history: dict[str, list[float]],
    test: tuple[np.ndarray, np.ndarray],
    predictions: np.ndarray,
    change: np.ndarray,
) -> list[Path]:
    """Write the four figures of a run into `out_dir` (named by FILES); return their paths.

    `history`: per epoch the mean loss and the held-out accuracy; `test`: the held-out
    images (n, 64) and their digits, `predictions` the trained model's for them; `change`:
    the first layer's weights after training minus before.
    """
    paths = {name: out_dir / file for name, file in FILES.items()}
    images, labels = test
    plot_curves(history["loss"], history["accuracy"], paths["curves"])
    plot_confusion(labels, predictions, paths["confusion"])
    plot_mistakes(images, labels, predictions, paths["mistakes"])
    plot_first_layer(change, paths["first_layer"])
    return list(paths.values())


def plot_curves(losses: Sequence[float], accuracies: Sequence[float], path: Path) -> None:
    """Mean training loss and held-out accuracy, one point per epoch."""
    figure = _figure((7.0, 5.0))
    loss_axes, accuracy_axes = figure.subplots(2, 1, sharex=True)
    epochs = np.arange(1, len(losses) + 1)
    loss_axes.plot(epochs, losses, marker="o", markersize=3, color="#2b8cbe")
    loss_axes.set_yscale("log")
    loss_axes.set_ylabel("training loss\n(mean over the epoch)")
    loss_axes.set_title("digits: training curves")
    accuracy_axes.plot(epochs, accuracies, marker="o", markersize=3, color="black")
    accuracy_axes.set_ylabel("held-out accuracy")
    accuracy_axes.set_xlabel("epoch")
    accuracy_axes.set_ylim(min(0.8, min(accuracies)) - 0.02, 1.0)
    accuracy_axes.annotate(
        f"{accuracies[-1]:.3f}", (epochs[-1], accuracies[-1]), textcoords="offset points",
        xytext=(-10, -14), ha="right",
    )  # fmt: skip
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
    figure.savefig(path, dpi=DPI)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """counts[i, j]: how many images of digit i were predicted as j."""
    counts = np.zeros((CLASSES, CLASSES), dtype=int)
    np.add.at(counts, (labels, predictions), 1)
    return counts


def plot_confusion(labels: np.ndarray, predictions: np.ndarray, path: Path) -> None:
    """The held-out confusion matrix, every count written in its cell."""
    counts = confusion_matrix(labels, predictions)
    figure = _figure((6.0, 5.4))
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes, label="held-out images")
    for (i, j), count in np.ndenumerate(counts):
        if count:
            colour = "white" if count > counts.max() / 2 else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=9)
    axes.set_xticks(range(CLASSES))
    axes.set_yticks(range(CLASSES))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    right = int(np.trace(counts))
    axes.set_title(f"held-out confusion matrix: {right} of {len(labels)} right (diagonal)")
    figure.savefig(path, dpi=DPI)


def plot_mistakes(
    images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, path: Path
) -> None:
    """The misclassified held-out digits (at most MAX_MISTAKES), titled true -> predicted."""
    wrong = np.flatnonzero(predictions != labels)[:MAX_MISTAKES]
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    figure = _figure((columns * 1.1, rows * 1.35 + 0.5))
    total = int(np.sum(predictions != labels))
    figure.suptitle(f"misclassified held-out digits: {len(wrong)} of {total}, true -> predicted")
    for k, axes in enumerate(np.atleast_1d(figure.subplots(rows, columns)).ravel()):
        axes.set_axis_off()
        if k < len(wrong):
            i = wrong[k]
            axes.imshow(images[i].reshape(8, 8), cmap="gray_r", vmin=0.0, vmax=1.0)
            axes.set_title(f"{labels[i]} -> {predictions[i]}", fontsize=10, color="#d7301f")
    figure.savefig(path, dpi=DPI)


def plot_first_layer(change: np.ndarray, path: Path) -> None:
    """What training did to each first-layer neuron's 64 weights, as an 8x8 image.

    `change` is trained - initial weights, (neurons, 64): the initial weights are
    uniform noise that would hide the pattern. Red: the weight grew (ink there now
    raises the neuron's input), blue: it shrank. All images share one symmetric scale,
    +-the largest change shown, drawn as a colour bar: a pale neuron changed little.
    Pixels that are blank in every image never change.
    """
    first_layer_figure(change).savefig(path, dpi=DPI)


def first_layer_figure(change: np.ndarray) -> Figure:
    """The figure of `plot_first_layer`, not yet written."""
    shown = change[:MAX_NEURONS]
    columns = 8
    rows = -(-len(shown) // columns)
    figure = _figure((columns * 1.1 + 1.0, rows * 1.15 + 0.7))
    figure.suptitle(
        "first layer: trained - initial weights of each neuron, as 8x8 images (red +, blue -)"
    )
    bound = max(float(np.abs(shown).max()), 1e-12)
    all_axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for k, axes in enumerate(all_axes):
        axes.set_axis_off()
        if k < len(shown):
            image = axes.imshow(shown[k].reshape(8, 8), cmap="RdBu_r", vmin=-bound, vmax=bound)
            axes.set_title(f"neuron {k}", fontsize=8)
    figure.colorbar(image, ax=all_axes.tolist(), shrink=0.8, label="trained - initial weight")
    return figure


def _figure(figsize: tuple[float, float]) -> Figure:
    """A Figure on an Agg canvas, laid out by constrained layout."""
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure
