"""Train an MLP on scikit-learn's two moons and draw the boundary it learned.

The defaults are micrograd's classic demo, so the results compare one to one: 100
points with noise 0.1, MLP(2, [16, 16, 1]), hinge loss + 1e-4 * L2 penalty,
full-batch SGD for 100 steps with the learning rate falling linearly from 1.0 to
0.1 (optim.lr_scheduler.LinearLR), seed 1337. It reaches 100% training accuracy. A
held-out set of the same distribution (drawn with seed + 1) says how well the
boundary generalises; it is measured after every epoch, under no_grad().

Writes moons_decision_boundary.png and moons_training_curves.png into --out-dir, and
with --gif an animation of the boundary over training.

Below the imports: the model (main), the loss (make_step), the optimizer and the
training loop (train). The flags are in moons_args.py, what is measured during
training and the figures in moons_watch.py and moons_plots.py, the data in
script_data.py.

Run:  python examples/train_moons.py [--help]
"""

from __future__ import annotations

import interrupt_guard  # noqa: F401  # isort: skip  (first: Ctrl-C while importing ends quietly)
import gc
import time
from argparse import Namespace
from collections.abc import Callable, Sequence

import numpy as np
from diagnose_plots import NoRecorder, recorder_for
from moons_args import FINAL_LR_FRACTION, L2_WEIGHT, parse_args
from moons_plots import Points
from moons_watch import History, Watcher, accuracy, draw, make_scorer
from script_args import (
    check_finite_loss,
    check_finite_weights,
    engine_errors_as_divergence,
    run_guarded,
    save_model,
    write_figures,
)
from script_data import moons

import minitorch_scalar as ms
import nn
import optim
from minitorch_scalar import Value, no_grad
from optim.lr_scheduler import LinearLR


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, train, print the summary line and draw the figures."""
    args = parse_args(argv)
    train_set = Points(*moons(args.samples, args.noise, args.seed))
    test_set = Points(*moons(args.test_samples, args.noise, args.seed + 1))  # held out
    model = nn.MLP(2, [*args.hidden, 1], seed=args.seed)  # a point (x1, x2) -> its score
    gc.freeze()  # the imports' objects are no garbage: keep the cyclic collector off them
    targets = TARGETS[args.loss](train_set.labels)
    data_loss = LOSSES[args.loss]
    recorder = recorder_for(args.diagnose, model, train_set.xy, lambda s: data_loss(s, targets))
    history = train(args, model, train_set, test_set, recorder)
    finish(args, model, (train_set, test_set), history, recorder)


def make_step(model: nn.MLP, loss_name: str, compiled: bool) -> Callable:
    """A step's loss, (points, targets) -> Value: LOSSES[loss_name] (below) of the scores +
    L2_WEIGHT * the sum of squared parameters; through ms.compile if `compiled`."""

    def forward(points: np.ndarray, targets: np.ndarray) -> Value:
        scores = model(points)  # a batch: one score per row, as in PyTorch
        data_loss = LOSSES[loss_name](scores, targets)
        return data_loss + L2_WEIGHT * nn.l2_penalty(model.parameters())

    return ms.compile(forward) if compiled else forward


def train(
    args: Namespace, model: nn.MLP, train: Points, test: Points, recorder: NoRecorder | None = None
) -> History:
    """Train `model` in place; return what was recorded (and record in `recorder`). At
    step k of K (from 0) the learning rate is lr * (1 - (1 - FINAL_LR_FRACTION) k / K).
    DivergenceError if the loss stops being finite."""
    forward = make_step(model, args.loss, args.compile)  # (points, targets) -> the loss
    targets = TARGETS[args.loss](train.labels)
    optimizer = make_optimizer(args, model)  # SGD or Adam, below
    epochs = epoch_orders(args, len(train.xy))  # for each epoch, its batches' indices
    total = len(epochs) * len(epochs[0])
    scheduler = LinearLR(
        optimizer, start_factor=1.0, end_factor=FINAL_LR_FRACTION, total_iters=total
    )
    watcher = Watcher(args, model, (train, test), total)  # accuracies, GIF frames, progress
    recorder = recorder or NoRecorder()
    recorder.start(total)
    step = 0
    for batches in epochs:
        for batch in batches:
            step += 1
            points, labels = train.xy[batch], train.labels[batch]
            watcher.before_step(points, labels)
            recorder.before_step()
            with engine_errors_as_divergence(step):  # an overflow or a nan: DivergenceError
                loss = forward(points, targets[batch])
                check_finite_loss(loss, step, forward, points, targets[batch])
                optimizer.zero_grad()
                loss.backward()
            optimizer.step()
            recorder.after_step(step)
            scheduler.step()
            watcher.after_step(step, loss.data)
        watcher.after_epoch(step)
    return watcher.history


# Each loss takes the scores and the targets that `TARGETS` makes of the labels (0 or 1).
LOSSES: dict[str, Callable[[list[Value], np.ndarray], Value]] = {
    "hinge": nn.hinge_loss,
    "bce": nn.binary_cross_entropy_with_logits,
}
TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "hinge": lambda labels: 2 * labels - 1,  # -1 or +1
    "bce": lambda labels: labels,  # 0 or 1
}


def make_optimizer(args: Namespace, model: nn.MLP) -> optim.Optimizer:
    """SGD (with --momentum) or Adam over the model's parameters, at --lr."""
    if args.optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    return optim.Adam(model.parameters(), lr=args.lr)


def epoch_orders(args: Namespace, count: int) -> list[list[np.ndarray]]:
    """For each epoch, the index arrays of its batches: full batch, or shuffled by seed."""
    batch_size = args.batch_size or count
    shuffler = np.random.RandomState(args.seed)
    orders = []
    for _ in range(args.epochs):
        order = shuffler.permutation(count) if args.batch_size else np.arange(count)
        orders.append([order[i : i + batch_size] for i in range(0, count, batch_size)])
    return orders


def finish(
    args: Namespace,
    model: nn.MLP,
    data: tuple[Points, Points],
    history: History,
    recorder: NoRecorder,
) -> None:
    """After training: check the weights, print the summary line (with --compile, a
    step's time on both engines too), draw the figures, save the model."""
    train_set = data[0]
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
        f"test_acc={test_accuracy:.3f} time={history.seconds:.1f}s ({engine})"
    )
    if args.compile:
        print(compare_engines(model, args.loss, train_set))
    title = f"two moons: training accuracy {train_accuracy:.3f}, held-out {test_accuracy:.3f}"
    write_figures(
        lambda: draw(args, model, data, title, history) + recorder.draw(args.out_dir, "moons")
    )
    if args.save_model is not None:
        save_model(model, args.save_model)


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


if __name__ == "__main__":
    run_guarded(main)
