"""Train an MLP on scikit-learn's handwritten digits and draw what it learned.

load_digits: 1,797 images of 8x8 pixels (values 0..16, scaled to [0, 1]), ten
classes, shipped with scikit-learn (no download). 20% of them, drawn with --seed,
are held out. The model is MLP(64, [32, 10]) with relu, trained on softmax
cross-entropy by Adam in minibatches of 100, its learning rate following a cosine
from --lr down to 0 (optim.lr_scheduler.CosineAnnealingLR). Training runs through
minitorch_scalar.compile by default; --eager runs the same steps on the eager
engine, with the same numbers.

Writes digits_training_curves.png, digits_confusion.png, digits_mistakes.png and
digits_first_layer.png into --out-dir.

Run:  python examples/train_digits.py [--help]
"""

from __future__ import annotations

import interrupt_guard  # noqa: F401  # isort: skip  (first: Ctrl-C while importing ends quietly)
import argparse
import gc
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from diagnose_plots import NoRecorder, recorder_for
from digits_plots import plot_confusion, plot_curves, plot_first_layer, plot_mistakes
from script_args import (
    DivergenceError,
    check_finite_loss,
    check_output_file,
    engine_errors_as_divergence,
    int_between,
    make_out_dir,
    numpy_seed,
    positive_float,
    run_guarded,
    save_model,
    writing,
)
from sklearn.datasets import load_digits

import minitorch_scalar as ms
import nn
import optim
from minitorch_scalar import Value, no_grad
from optim.lr_scheduler import CosineAnnealingLR

HELD_OUT_FRACTION = 0.2
PIXELS, CLASSES = 64, 10
MAX_WIDTH = 256
MAX_EPOCHS = 1_000
DIAGNOSE_ROWS = 100  # --diagnose looks at the first 100 training images
FILES = {
    "curves": "digits_training_curves.png",
    "confusion": "digits_confusion.png",
    "mistakes": "digits_mistakes.png",
    "first_layer": "digits_first_layer.png",
}


class Split(NamedTuple):
    """Images (n, 64) scaled to [0, 1] and their digits (n,)."""

    images: np.ndarray
    labels: np.ndarray


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: a bad value exits with code 2 and a usage line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--hidden",
        type=int_between(1, MAX_WIDTH),
        nargs="+",
        default=[32],
        metavar="WIDTH",
        help="hidden layer widths, each 1 to 256; the output layer has 10 (default: 32)",
    )
    parser.add_argument(
        "--epochs",
        type=int_between(1, MAX_EPOCHS),
        default=20,
        help="passes over the training images, 1 to 1000 (default: 20)",
    )
    parser.add_argument(
        "--batch-size",
        type=int_between(1, 1437),
        default=100,
        help="images per step, 1 to 1437 (all training images) (default: 100)",
    )
    parser.add_argument(
        "--lr",
        type=positive_float,
        default=0.05,
        help="Adam's initial learning rate, falling to 0 along a cosine (default: 0.05)",
    )
    parser.add_argument(
        "--seed",
        type=numpy_seed,
        default=0,
        help="seed of the split, the weights and the batches (default: 0)",
    )
    parser.add_argument(
        "--eager",
        action="store_true",
        help="train on the eager engine instead of minitorch_scalar.compile (same numbers)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path("."),
        help="folder for the four digits_*.png figures, created if missing "
        "(default: the current folder)",
    )
    parser.add_argument(
        "--save-model",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the trained weights here (numpy .npz); to load them, build the same "
        "model and call its load: model = nn.MLP(64, [32, 10]); model.load(PATH) for "
        "the default --hidden 32 (the run prints the line for its own sizes)",
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also draw each layer's outputs, gradients and update ratio over training "
        "(digits_histograms.png, digits_over_training.png)",
    )
    args = parser.parse_args(argv)
    args.out_dir = make_out_dir(parser, args.out_dir)
    check_output_file(parser, "--save-model", args.save_model)
    return args


def digits(seed: int) -> tuple[Split, Split]:
    """The training and held-out splits; HELD_OUT_FRACTION of the images, drawn by seed."""
    data = load_digits()
    images, labels = data.data / 16.0, data.target
    order = np.random.RandomState(seed).permutation(len(images))
    held_out = round(HELD_OUT_FRACTION * len(images))
    test, train = order[:held_out], order[held_out:]
    return Split(images[train], labels[train]), Split(images[test], labels[test])


def make_step(model: nn.MLP, eager: bool) -> Callable:
    """The forward pass of a step, (images, labels) -> the mean cross-entropy.

    Through ``minitorch_scalar.compile`` unless `eager`: traced on the first call,
    replayed for each later batch (a last, smaller batch is traced once more).
    """

    def forward(images: np.ndarray, labels: np.ndarray) -> Value:
        return nn.cross_entropy(model(images), labels)

    return forward if eager else ms.compile(forward)


def make_predictor(model: nn.MLP) -> Callable[[np.ndarray], np.ndarray]:
    """images (n, 64) -> the predicted digits (n,): the largest of the 10 scores.

    Evaluated under no_grad() through ``minitorch_scalar.compile``.
    """
    forward = ms.compile(model)

    def predict(images: np.ndarray) -> np.ndarray:
        with no_grad():
            rows = forward(images)
        return np.array([[score.data for score in row] for row in rows]).argmax(axis=1)

    return predict


def train(
    args: argparse.Namespace,
    model: nn.MLP,
    train_set: Split,
    test: Split,
    recorder: NoRecorder | None = None,
) -> dict:
    """Train `model` in place; return per epoch the mean loss and the held-out accuracy
    (and record in `recorder`).

    One line per epoch goes out. DivergenceError if the loss stops being finite.
    """
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = -(-len(train_set.images) // args.batch_size)
    schedule = CosineAnnealingLR(optimizer, T_max=args.epochs * steps_per_epoch)
    forward = make_step(model, args.eager)
    predict = make_predictor(model)
    shuffler = np.random.RandomState(args.seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    recorder = recorder or NoRecorder()
    recorder.start(args.epochs * steps_per_epoch)
    step, start = 0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = shuffler.permutation(len(train_set.images))
        losses = []
        for first in range(0, len(order), args.batch_size):
            batch = order[first : first + args.batch_size]
            step += 1
            recorder.before_step()
            losses.append(_train_step(forward, optimizer, train_set, batch, step))
            recorder.after_step(step)
            schedule.step()
        history["loss"].append(float(np.mean(losses)))
        history["accuracy"].append(float(np.mean(predict(test.images) == test.labels)))
        print(
            f"epoch {epoch:3d}/{args.epochs}  loss {history['loss'][-1]:.4f}  "
            f"held-out accuracy {history['accuracy'][-1]:.3f}  "
            f"elapsed {time.perf_counter() - start:.1f}s",
            flush=True,
        )
    return history


def _train_step(
    forward: Callable, optimizer: optim.Optimizer, data: Split, batch: np.ndarray, step: int
) -> float:
    """One step on the images `batch` indexes: forward, check, backward, update."""
    with engine_errors_as_divergence(step):
        loss = forward(data.images[batch], data.labels[batch])
        check_finite_loss(loss, step, forward, data.images[batch], data.labels[batch])
        optimizer.zero_grad()
        loss.backward()
    optimizer.step()
    return loss.data


def draw(
    args: argparse.Namespace, model: nn.MLP, history: dict, test: Split, initial: np.ndarray
) -> list[Path]:
    """Write the four figures into --out-dir; return their paths.

    `initial`: the first layer's weights before training, to show what training changed.
    """
    paths = {name: args.out_dir / file for name, file in FILES.items()}
    predictions = make_predictor(model)(test.images)
    plot_curves(history["loss"], history["accuracy"], paths["curves"])
    plot_confusion(test.labels, predictions, paths["confusion"])
    plot_mistakes(test.images, test.labels, predictions, paths["mistakes"])
    plot_first_layer(model.state_dict()["layers.0.weight"] - initial, paths["first_layer"])
    return list(paths.values())


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, train, print the summary line and draw the figures."""
    args = parse_args(argv)
    train_set, test = digits(args.seed)
    model = nn.MLP(PIXELS, [*args.hidden, CLASSES], seed=args.seed)
    print(
        f"{len(train_set.images)} training images, {len(test.images)} held out; "
        f"MLP({PIXELS}, {[*args.hidden, CLASSES]}), {len(model.parameters())} parameters"
    )
    initial = model.state_dict()["layers.0.weight"]
    gc.freeze()  # the imports' objects are no garbage: keep the cyclic collector off them
    rows, labels = train_set.images[:DIAGNOSE_ROWS], train_set.labels[:DIAGNOSE_ROWS]
    recorder = recorder_for(args.diagnose, model, rows, lambda s: nn.cross_entropy(s, labels))
    start = time.perf_counter()
    history = train(args, model, train_set, test, recorder)
    seconds = time.perf_counter() - start
    if not np.isfinite([p.data for p in model.parameters()]).all():
        raise DivergenceError(len(history["loss"]), "the weights became nan or inf")
    engine = "eager" if args.eager else "compiled"
    print(
        f"final: loss={history['loss'][-1]:.4f} test_acc={history['accuracy'][-1]:.3f} "
        f"time={seconds:.1f}s ({engine})"
    )
    with writing("the figures"):
        paths = draw(args, model, history, test, initial) + recorder.draw(args.out_dir, "digits")
    print("wrote " + ", ".join(map(str, paths)))
    if args.save_model is not None:
        save_model(model, args.save_model)


if __name__ == "__main__":
    run_guarded(main)
