"""Train an MLP on scikit-learn's two moons and draw the boundary it learned.

The defaults are micrograd's classic demo, so the results compare one to one: 100
points with noise 0.1, MLP(2, [16, 16, 1]), hinge loss + 1e-4 * L2 penalty,
full-batch SGD for 100 steps with the learning rate falling linearly from 1.0 to
0.1, seed 1337. It reaches 100% training accuracy. A held-out set of the same
distribution (drawn with seed + 1) says how well the boundary generalises.

Writes moons_decision_boundary.png and moons_training_curves.png into --out-dir.

Run:  python examples/train_moons.py [--help]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from moons_plots import plot_decision_boundary, plot_training_curves
from script_args import (
    make_out_dir,
    momentum,
    nonnegative_float,
    numpy_seed,
    positive_float,
    positive_int,
)
from sklearn.datasets import make_moons

import nn
import optim
from minitorch_scalar import Value, no_grad

L2_WEIGHT = 1e-4  # micrograd's: total loss = data loss + 1e-4 * sum of squared parameters
FINAL_LR_FRACTION = 0.1  # the learning rate falls linearly to 10% of --lr
DEFAULT_LR = {"sgd": 1.0, "adam": 0.05}
BOUNDARY_FILE = "moons_decision_boundary.png"
CURVES_FILE = "moons_training_curves.png"

# Each loss takes the scores and the labels (0 or 1) in the form it expects.
LOSSES: dict[str, Callable[[list[Value], np.ndarray], Value]] = {
    "hinge": lambda scores, labels: nn.hinge_loss(scores, (2 * labels - 1).tolist()),
    "bce": lambda scores, labels: nn.binary_cross_entropy_with_logits(scores, labels.tolist()),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: a bad value exits with code 2 and a usage line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--samples", type=positive_int, default=100, help="training points (default: %(default)s)"
    )
    data.add_argument(
        "--noise",
        type=nonnegative_float,
        default=0.1,
        help="make_moons' noise (default: %(default)s)",
    )
    data.add_argument(
        "--test-samples",
        type=positive_int,
        default=200,
        help="held-out points, drawn with seed + 1 (default: %(default)s)",
    )
    model = parser.add_argument_group("model and training")
    model.add_argument(
        "--hidden",
        type=positive_int,
        nargs="+",
        default=[16, 16],
        metavar="WIDTH",
        help="hidden layer widths; the output layer has one neuron (default: 16 16)",
    )
    model.add_argument(
        "--epochs",
        type=positive_int,
        default=100,
        help="passes over the training set (default: %(default)s)",
    )
    model.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help=f"initial learning rate, falling linearly to {FINAL_LR_FRACTION:g}x by the last "
        f"step (default: {DEFAULT_LR['sgd']:g} for sgd, {DEFAULT_LR['adam']:g} for adam)",
    )
    model.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="points per step, drawn in a new order each epoch (default: all, full batch)",
    )
    model.add_argument(
        "--optimizer",
        choices=["sgd", "adam"],
        default="sgd",
        help="update rule (default: %(default)s)",
    )
    model.add_argument(
        "--momentum",
        type=momentum,
        default=0.0,
        help="SGD's momentum, in [0, 1) (default: %(default)s)",
    )
    model.add_argument(
        "--loss",
        choices=list(LOSSES),
        default="hinge",
        help="hinge: mean relu(1 - t*score), t = +-1; bce: binary cross-entropy of the score "
        f"as a logit; either plus {L2_WEIGHT:g} * the sum of squared parameters "
        "(default: %(default)s)",
    )
    model.add_argument(
        "--seed",
        type=numpy_seed,
        default=1337,
        help="seed of the data, the weights and the batches (default: %(default)s)",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--out-dir",
        type=Path,
        default=Path("."),
        help=f"folder for {BOUNDARY_FILE} and {CURVES_FILE}, created if missing "
        "(default: the current folder)",
    )
    output.add_argument(
        "--save-model",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the trained weights here (numpy .npz; load with MLP.load)",
    )
    args = parser.parse_args(argv)
    if args.momentum and args.optimizer != "sgd":
        parser.error("argument --momentum: applies to --optimizer sgd only")
    if args.batch_size is not None and args.batch_size > args.samples:
        parser.error(
            f"argument --batch-size: at most --samples ({args.samples}), got {args.batch_size}"
        )
    if args.save_model is not None and not args.save_model.parent.is_dir():
        parser.error(f"argument --save-model: no folder {str(args.save_model.parent)!r}")
    if args.save_model is not None and args.save_model.is_dir():
        parser.error(f"argument --save-model: {str(args.save_model)!r} is a folder")
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    args.out_dir = make_out_dir(parser, args.out_dir)
    return args


def moons(samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`samples` points of the two moons (n, 2) and their labels 0 or 1 (n,).

    Drawn from ``RandomState(seed)``: the same points as micrograd's demo, which
    seeds numpy's global generator and calls make_moons without a random_state.
    """
    return make_moons(n_samples=samples, noise=noise, random_state=np.random.RandomState(seed))


def objective(
    model: nn.MLP, loss_name: str, points: np.ndarray, labels: np.ndarray
) -> tuple[Value, float]:
    """The training loss (data loss + L2 penalty) on `points`, and the accuracy there.

    A score > 0 predicts class 1.
    """
    scores = model(points.tolist())  # a batch: one score per row, as in PyTorch
    loss = LOSSES[loss_name](scores, labels) + L2_WEIGHT * nn.l2_penalty(model.parameters())
    return loss, accuracy(scores, labels)


def accuracy(scores: Sequence[Value], labels: np.ndarray) -> float:
    """The fraction of points whose score has the sign of its class (> 0 for class 1)."""
    predictions = np.array([score.data > 0.0 for score in scores])
    return float(np.mean(predictions == (labels == 1)))


def train(
    args: argparse.Namespace, model: nn.MLP, points: np.ndarray, labels: np.ndarray
) -> dict[str, list[float]]:
    """Train `model` in place; return the loss and accuracy of every step.

    At step k of K the learning rate is lr * (1 - (1 - FINAL_LR_FRACTION) * k / K). A
    progress line goes out about every tenth of the run.
    """
    if args.optimizer == "sgd":
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    else:
        optimizer = optim.Adam(model.parameters(), lr=args.lr)
    batch_size = args.batch_size or len(points)
    batches_per_epoch = -(-len(points) // batch_size)
    total_steps = args.epochs * batches_per_epoch
    report_every = max(1, total_steps // 10)
    shuffler = np.random.RandomState(args.seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    start = time.perf_counter()
    step = 0
    for _ in range(args.epochs):
        order = shuffler.permutation(len(points)) if args.batch_size else np.arange(len(points))
        for first in range(0, len(points), batch_size):
            batch = order[first : first + batch_size]
            loss, batch_accuracy = objective(model, args.loss, points[batch], labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.lr = args.lr * (1.0 - (1.0 - FINAL_LR_FRACTION) * step / total_steps)
            optimizer.step()
            history["loss"].append(loss.data)
            history["accuracy"].append(batch_accuracy)
            step += 1
            if step % report_every == 0 or step == total_steps:
                print(
                    f"step {step:4d}/{total_steps}  loss {loss.data:.4f}  "
                    f"accuracy {batch_accuracy:.3f}  elapsed {time.perf_counter() - start:.1f}s"
                )
    return history


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, train, print the summary line and draw the figures."""
    args = parse_args(argv)
    train_points, train_labels = moons(args.samples, args.noise, args.seed)
    test_points, test_labels = moons(args.test_samples, args.noise, args.seed + 1)
    model = nn.MLP(2, [*args.hidden, 1], seed=args.seed)

    # The imports (numpy, scikit-learn, matplotlib) leave ~100k objects that Python's
    # cyclic collector would scan again every few steps while graphs are built. None
    # of them is garbage, and our graphs hold no cycles: move them out of its way.
    gc.freeze()
    start = time.perf_counter()
    history = train(args, model, train_points, train_labels)
    seconds = time.perf_counter() - start

    with no_grad():
        loss, train_accuracy = objective(model, args.loss, train_points, train_labels)
        test_accuracy = accuracy(model(test_points.tolist()), test_labels)
    print(
        f"final: loss={loss.data:.4f} train_acc={train_accuracy:.3f} "
        f"test_acc={test_accuracy:.3f} time={seconds:.1f}s"
    )

    state = model.state_dict()
    title = f"two moons: train accuracy {train_accuracy:.3f}, held-out {test_accuracy:.3f}"
    plot_decision_boundary(
        state,
        (train_points, train_labels),
        (test_points, test_labels),
        title,
        args.out_dir / BOUNDARY_FILE,
    )
    plot_training_curves(history["loss"], history["accuracy"], args.out_dir / CURVES_FILE)
    print(f"wrote {args.out_dir / BOUNDARY_FILE} and {args.out_dir / CURVES_FILE}")
    if args.save_model is not None:
        model.save(args.save_model)
        print(f"wrote {args.save_model}")


if __name__ == "__main__":
    main()
