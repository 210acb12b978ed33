"""Train an MLP on scikit-learn's two moons and draw the boundary it learned.

The defaults are micrograd's classic demo, so the results compare one to one: 100
points with noise 0.1, MLP(2, [16, 16, 1]), hinge loss + 1e-4 * L2 penalty,
full-batch SGD for 100 steps with the learning rate falling linearly from 1.0 to
0.1 (optim.lr_scheduler.LinearLR), seed 1337. It reaches 100% training accuracy. A
held-out set of the same distribution (drawn with seed + 1) says how well the
boundary generalises; it is measured after every epoch, under no_grad().

Writes moons_decision_boundary.png and moons_training_curves.png into --out-dir, and
with --gif an animation of the boundary over training.

Run:  python examples/train_moons.py [--help]
"""

from __future__ import annotations

import interrupt_guard  # noqa: F401  # isort: skip  (first: Ctrl-C while importing ends quietly)
import argparse
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from diagnose_plots import NoRecorder, recorder_for
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
from script_args import (
    DivergenceError,
    check_finite_loss,
    check_output_file,
    engine_errors_as_divergence,
    int_between,
    make_out_dir,
    momentum,
    nonnegative_float,
    numpy_seed,
    positive_float,
    run_guarded,
    save_model,
    writing,
)
from sklearn.datasets import make_moons

import minitorch_scalar as ms
import nn
import optim
from minitorch_scalar import Value, no_grad
from optim.lr_scheduler import LinearLR

L2_WEIGHT = 1e-4  # micrograd's: total loss = data loss + 1e-4 * sum of squared parameters
FINAL_LR_FRACTION = 0.1  # the learning rate falls linearly to 10% of --lr
DEFAULT_LR = {"sgd": 1.0, "adam": 0.05}
BOUNDARY_FILE = "moons_decision_boundary.png"
CURVES_FILE = "moons_training_curves.png"
MAX_POINTS = 10_000  # --samples, --test-samples, --batch-size
MAX_WIDTH = 256  # each hidden layer
MAX_EPOCHS = 10_000
GIF_FRAMES = 40  # pictures of the boundary in the GIF (fewer if there are fewer steps)
GIF_CANDIDATES = 120  # steps pictured during training, of which GIF_FRAMES are kept
GIF_GRID = 100  # the GIF's grid: 100 x 100 scores per frame
CHUNK = 2_500  # the grid is scored this many points at a time: one trace, many replays

# Each loss takes the scores and the targets that `TARGETS` makes of the labels (0 or 1).
LOSSES: dict[str, Callable[[list[Value], np.ndarray], Value]] = {
    "hinge": nn.hinge_loss,
    "bce": nn.binary_cross_entropy_with_logits,
}
TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "hinge": lambda labels: 2 * labels - 1,  # -1 or +1
    "bce": lambda labels: labels,  # 0 or 1
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: a bad value exits with code 2 and a usage line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _add_data_flags(parser.add_argument_group("data"))
    _add_training_flags(parser.add_argument_group("model and training"))
    _add_output_flags(parser.add_argument_group("output"))
    args = parser.parse_args(argv)
    if args.momentum and args.optimizer != "sgd":
        parser.error("argument --momentum: applies to --optimizer sgd only")
    if args.batch_size is not None and args.batch_size > args.samples:
        parser.error(
            f"argument --batch-size: at most --samples ({args.samples}), got {args.batch_size}"
        )
    args.out_dir = make_out_dir(parser, args.out_dir)  # first: --gif may name a file in it
    check_output_file(parser, "--save-model", args.save_model)
    check_output_file(parser, "--gif", args.gif)
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    return args


def _add_data_flags(group: argparse._ArgumentGroup) -> None:
    """--samples, --noise, --test-samples."""
    points = int_between(1, MAX_POINTS)
    group.add_argument(
        "--samples", type=points, default=100, help="training points, 1 to 10000 (default: 100)"
    )
    group.add_argument(
        "--noise", type=nonnegative_float, default=0.1, help="make_moons' noise (default: 0.1)"
    )
    group.add_argument(
        "--test-samples",
        type=points,
        default=200,
        help="held-out points, drawn with seed + 1, 1 to 10000 (default: 200)",
    )


def _add_training_flags(group: argparse._ArgumentGroup) -> None:
    """The model, the loss, the optimizer and its schedule, the seed."""
    group.add_argument(
        "--hidden",
        type=int_between(1, MAX_WIDTH),
        nargs="+",
        default=[16, 16],
        metavar="WIDTH",
        help="hidden layer widths, each 1 to 256; the output layer has one neuron (default: 16 16)",
    )
    group.add_argument(
        "--epochs",
        type=int_between(1, MAX_EPOCHS),
        default=100,
        help="passes over the training set, 1 to 10000 (default: 100)",
    )
    group.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help=f"initial learning rate, falling linearly to {FINAL_LR_FRACTION:g}x by the last "
        f"step (default: {DEFAULT_LR['sgd']:g} for sgd, {DEFAULT_LR['adam']:g} for adam)",
    )
    group.add_argument(
        "--batch-size",
        type=int_between(1, MAX_POINTS),
        default=None,
        help="points per step, drawn in a new order each epoch, at most --samples "
        "(default: all, full batch)",
    )
    group.add_argument(
        "--optimizer", choices=["sgd", "adam"], default="sgd", help="update rule (default: sgd)"
    )
    group.add_argument(
        "--momentum", type=momentum, default=0.0, help="SGD's momentum, in [0, 1) (default: 0)"
    )
    group.add_argument(
        "--loss",
        choices=list(LOSSES),
        default="hinge",
        help="hinge: mean relu(1 - t*score), t = +-1; bce: binary cross-entropy of the score "
        f"as a logit; either plus {L2_WEIGHT:g} * the sum of squared parameters "
        "(default: hinge)",
    )
    group.add_argument(
        "--seed",
        type=numpy_seed,
        default=1337,
        help="seed of the data, the weights and the batches (default: 1337)",
    )
    group.add_argument(
        "--compile",
        action="store_true",
        help="train with minitorch_scalar.compile: the step is traced once and replayed "
        "(same numbers as the eager engine, faster)",
    )


def _add_output_flags(group: argparse._ArgumentGroup) -> None:
    """--out-dir, --grid, --gif, --save-model."""
    group.add_argument(
        "--out-dir",
        type=Path,
        default=Path("."),
        help=f"folder for {BOUNDARY_FILE} and {CURVES_FILE}, created if missing "
        "(default: the current folder)",
    )
    group.add_argument(
        "--grid",
        type=int_between(10, 1000),
        default=300,
        metavar="N",
        help="the boundary picture scores the model on an N x N grid, 10 to 1000 "
        "(default: 300); the GIF's frames on at most 100 x 100",
    )
    group.add_argument(
        "--gif",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"also write an animated GIF of the boundary during training ({GIF_FRAMES} "
        "frames, closer together where the boundary moves faster)",
    )
    group.add_argument(
        "--save-model",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the trained weights here (numpy .npz); to load them, build the same "
        "model and call its load: model = nn.MLP(2, [16, 16, 1]); model.load(PATH) for "
        "the default --hidden 16 16 (the run prints the line for its own sizes)",
    )
    group.add_argument(
        "--diagnose",
        action="store_true",
        help="also draw each layer's outputs, gradients and update ratio over training "
        "(moons_histograms.png, moons_over_training.png)",
    )


def moons(samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`samples` points of the two moons (n, 2) and their labels 0 or 1 (n,).

    Drawn from ``RandomState(seed)``: the same points as micrograd's demo, which
    seeds numpy's global generator and calls make_moons without a random_state.
    """
    return make_moons(n_samples=samples, noise=noise, random_state=np.random.RandomState(seed))


def accuracy(scores: Sequence[Value] | np.ndarray, labels: np.ndarray) -> float:
    """The fraction of points whose score has the sign of its class (> 0 for class 1)."""
    predictions = np.array([score > 0.0 for score in _numbers(scores)])
    return float(np.mean(predictions == (labels == 1)))


def _numbers(scores: Sequence[Value] | np.ndarray) -> np.ndarray:
    """Scores as a float array, whether Values or numbers."""
    return np.array([s.data if isinstance(s, Value) else s for s in scores], dtype=np.float64)


def make_step(model: nn.MLP, loss_name: str, compiled: bool) -> Callable:
    """The training step's forward pass: (points, targets) -> the loss, one Value.

    The loss is the data loss + L2_WEIGHT * the sum of squared parameters. With
    `compiled`, it goes through ``minitorch_scalar.compile``: traced on its first call,
    replayed on later batches. Points and targets are numpy arrays, the compiler's inputs.
    """

    def forward(points: np.ndarray, targets: np.ndarray) -> Value:
        scores = model(points)  # a batch: one score per row, as in PyTorch
        data_loss = LOSSES[loss_name](scores, targets)
        return data_loss + L2_WEIGHT * nn.l2_penalty(model.parameters())

    return ms.compile(forward) if compiled else forward


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


class Watcher:
    """Measures the model during training: held-out accuracy, and the GIF's frames."""

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

    def before_step(self, points: np.ndarray, labels: np.ndarray) -> None:
        """Record the accuracy on the step's batch, with the weights the step starts from."""
        start = time.perf_counter()
        self.history.accuracy.append(accuracy(self.batch_scores(points), labels))
        self.history.watch_seconds += time.perf_counter() - start

    def after_step(self, step: int, loss: float) -> None:
        """Record a GIF frame if `step` (0: before training) is one of the frames' steps."""
        if step in self.frame_steps:
            start = time.perf_counter()
            points = np.column_stack([self.grid_xy[0].ravel(), self.grid_xy[1].ravel()])
            scores = self.grid_scores(points).reshape(self.grid_xy[0].shape)
            self.history.frames.append(Frame(step, self.total, loss, scores))
            self.history.watch_seconds += time.perf_counter() - start

    def after_epoch(self, step: int) -> None:
        """Record the held-out accuracy after `step` steps."""
        start = time.perf_counter()
        scores = self.heldout_scores(self.test.xy)
        self.history.heldout_steps.append(step)
        self.history.heldout_accuracy.append(accuracy(scores, self.test.labels))
        self.history.watch_seconds += time.perf_counter() - start


def gif_grid(args: argparse.Namespace, data: tuple[Points, Points]) -> tuple:
    """The GIF's grid (meshgrid's two arrays): at most GIF_GRID x GIF_GRID, over all points."""
    return plane_grid(np.concatenate([data[0].xy, data[1].xy]), min(GIF_GRID, args.grid))


def make_optimizer(args: argparse.Namespace, model: nn.MLP) -> optim.Optimizer:
    """SGD (with --momentum) or Adam over the model's parameters, at --lr."""
    if args.optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    return optim.Adam(model.parameters(), lr=args.lr)


def epoch_orders(args: argparse.Namespace, count: int) -> list[list[np.ndarray]]:
    """For each epoch, the index arrays of its batches: full batch, or shuffled by seed."""
    batch_size = args.batch_size or count
    shuffler = np.random.RandomState(args.seed)
    orders = []
    for _ in range(args.epochs):
        order = shuffler.permutation(count) if args.batch_size else np.arange(count)
        orders.append([order[i : i + batch_size] for i in range(0, count, batch_size)])
    return orders


def train(
    args: argparse.Namespace,
    model: nn.MLP,
    train: Points,
    test: Points,
    recorder: NoRecorder | None = None,
) -> History:
    """Train `model` in place; return what was recorded on the way (and in `recorder`).

    At step k of K (from 0) the learning rate is lr * (1 - (1 - FINAL_LR_FRACTION) k / K):
    LinearLR from factor 1 to FINAL_LR_FRACTION over K steps. A progress line goes out
    about every tenth of the run. DivergenceError if the loss stops being finite.
    """
    optimizer = make_optimizer(args, model)
    epochs = epoch_orders(args, len(train.xy))
    total = len(epochs) * len(epochs[0])
    scheduler = LinearLR(
        optimizer, start_factor=1.0, end_factor=FINAL_LR_FRACTION, total_iters=total
    )
    forward = make_step(model, args.loss, args.compile)
    targets = TARGETS[args.loss](train.labels)
    watcher = Watcher(args, model, (train, test), total)
    start = time.perf_counter()  # before the first frame, whose time is subtracted
    watcher.after_step(0, float("nan"))
    recorder = recorder or NoRecorder()
    recorder.start(total)
    step = 0
    for batches in epochs:
        for batch in batches:
            step += 1
            watcher.before_step(train.xy[batch], train.labels[batch])
            recorder.before_step()
            loss = _train_step(forward, optimizer, train.xy[batch], targets[batch], step)
            recorder.after_step(step)
            scheduler.step()
            watcher.history.loss.append(loss)
            watcher.after_step(step, loss)
            seconds = time.perf_counter() - start - watcher.history.watch_seconds
            _report(watcher.history, step, total, seconds)
        watcher.after_epoch(step)
    return watcher.history


def _train_step(
    forward: Callable,
    optimizer: optim.Optimizer,
    points: np.ndarray,
    targets: np.ndarray,
    step: int,
) -> float:
    """One step: forward, check the loss, backward, update. Returns the loss.

    An engine error on nan or inf (see `engine_errors_as_divergence`) means the run
    diverged too.
    """
    with engine_errors_as_divergence(step):
        loss = forward(points, targets)
        check_finite_loss(loss, step, forward, points, targets)
        optimizer.zero_grad()
        loss.backward()
    optimizer.step()
    return loss.data


def _report(history: History, step: int, total: int, seconds: float) -> None:
    """Print a progress line about every tenth of the run, and after the last step."""
    if step % max(1, total // 10) == 0 or step == total:
        print(
            f"step {step:4d}/{total}  loss {history.loss[-1]:.4f}  "
            f"accuracy {history.accuracy[-1]:.3f}  elapsed {seconds:.1f}s",
            flush=True,
        )


def check_finite_weights(model: nn.MLP, step: int) -> None:
    """DivergenceError if the last update left a weight that is not a finite number."""
    if not np.isfinite([p.data for p in model.parameters()]).all():
        raise DivergenceError(step, "the weights became nan or inf")


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


def compare_engines(model: nn.MLP, loss_name: str, data: Points, rounds: int = 5) -> str:
    """One step's forward and backward on the whole training set, timed on both engines
    in turns (the median of `rounds`): the line --compile prints beside its own time.
    The model's gradients are zeroed after; its weights do not change."""
    targets = TARGETS[loss_name](data.labels)
    engines = {
        "compiled": make_step(model, loss_name, True),
        "eager": make_step(model, loss_name, False),
    }
    engines["compiled"](data.xy, targets)  # the trace, not timed
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, forward in engines.items():
            start = time.perf_counter()
            forward(data.xy if name == "compiled" else data.xy.tolist(), targets).backward()
            times[name].append(time.perf_counter() - start)
    model.zero_grad()
    compiled, eager = (float(np.median(times[name])) for name in engines)
    return (
        f"a step's forward and backward on {len(data.xy)} points: compiled "
        f"{compiled * 1e3:.2f} ms, eager {eager * 1e3:.2f} ms ({eager / compiled:.0f}x)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, train, print the summary line and draw the figures."""
    args = parse_args(argv)
    train_set = Points(*moons(args.samples, args.noise, args.seed))
    test_set = Points(*moons(args.test_samples, args.noise, args.seed + 1))
    model = nn.MLP(2, [*args.hidden, 1], seed=args.seed)

    # The imports (numpy, scikit-learn, matplotlib) leave ~100k objects that Python's
    # cyclic collector would scan again every few steps while graphs are built. None
    # of them is garbage, and our graphs hold no cycles: move them out of its way.
    gc.freeze()
    targets = TARGETS[args.loss](train_set.labels)
    data_loss = LOSSES[args.loss]
    recorder = recorder_for(args.diagnose, model, train_set.xy, lambda s: data_loss(s, targets))
    start = time.perf_counter()
    history = train(args, model, train_set, test_set, recorder)
    seconds = time.perf_counter() - start - history.watch_seconds
    check_finite_weights(model, len(history.loss))

    with no_grad():
        loss = make_step(model, args.loss, compiled=False)(
            train_set.xy, TARGETS[args.loss](train_set.labels)
        )
    train_accuracy = accuracy(make_scorer(model, len(train_set.xy))(train_set.xy), train_set.labels)
    test_accuracy = history.heldout_accuracy[-1]
    engine = "compiled" if args.compile else "eager"
    print(
        f"final: loss={loss.data:.4f} train_acc={train_accuracy:.3f} "
        f"test_acc={test_accuracy:.3f} time={seconds:.1f}s ({engine})"
    )
    if args.compile:
        print(compare_engines(model, args.loss, train_set))
    title = f"two moons: training accuracy {train_accuracy:.3f}, held-out {test_accuracy:.3f}"
    with writing("the figures"):
        paths = draw(args, model, (train_set, test_set), title, history)
        paths += recorder.draw(args.out_dir, "moons")
    print("wrote " + ", ".join(map(str, paths)))
    if args.save_model is not None:
        save_model(model, args.save_model)


if __name__ == "__main__":
    run_guarded(main)
