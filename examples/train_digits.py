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

Below the imports: the model (main), the loss (make_step), the optimizer and the
training loop (train). The flags are in digits_args.py, the figures in
digits_plots.py, the data in script_data.py.

Run:  python examples/train_digits.py [--help]
"""

from __future__ import annotations

import interrupt_guard  # noqa: F401  # isort: skip  (first: Ctrl-C while importing ends quietly)
import gc
import time
from argparse import Namespace
from collections.abc import Callable, Sequence

import numpy as np
from diagnose_plots import NoRecorder, recorder_for
from digits_args import parse_args
from digits_plots import draw_run
from script_args import (
    check_finite_loss,
    check_finite_weights,
    engine_errors_as_divergence,
    run_guarded,
    save_model,
    write_figures,
)
from script_data import Split, digits

import minitorch_scalar as ms
import nn
import optim
from minitorch_scalar import Value, no_grad
from optim.lr_scheduler import CosineAnnealingLR

PIXELS, CLASSES = 64, 10
DIAGNOSE_ROWS = 100  # --diagnose looks at the first 100 training images


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the flags, train, print the summary line and draw the figures."""
    args = parse_args(argv)
    train_set, test = digits(args.seed)
    model = nn.MLP(PIXELS, [*args.hidden, CLASSES], seed=args.seed)  # an image -> 10 scores
    sizes = f"MLP({PIXELS}, {[*args.hidden, CLASSES]}), {len(model.parameters())} parameters"
    print(f"{len(train_set.images)} training images, {len(test.images)} held out; {sizes}")
    initial = model.state_dict()["layers.0.weight"]  # to show what training changed
    gc.freeze()  # the imports' objects are no garbage: keep the cyclic collector off them
    rows, labels = train_set.images[:DIAGNOSE_ROWS], train_set.labels[:DIAGNOSE_ROWS]
    recorder = recorder_for(args.diagnose, model, rows, lambda s: nn.cross_entropy(s, labels))
    start = time.perf_counter()
    history = train(args, model, train_set, test, recorder)
    finish(args, model, test, history, time.perf_counter() - start, recorder, initial)


def make_step(model: nn.MLP, eager: bool) -> Callable:
    """A step's loss, (images, labels) -> the mean cross-entropy of the model's scores;
    through ms.compile unless `eager` (a last, smaller batch is traced once more)."""

    def forward(images: np.ndarray, labels: np.ndarray) -> Value:
        return nn.cross_entropy(model(images), labels)

    return forward if eager else ms.compile(forward)


def train(
    args: Namespace, model: nn.MLP, train: Split, test: Split, recorder: NoRecorder | None = None
) -> dict:
    """Train `model` in place; return per epoch the mean loss and the held-out accuracy
    (and record in `recorder`). One line per epoch goes out. DivergenceError if the loss
    stops being finite."""
    forward = make_step(model, args.eager)  # (images, labels) -> the loss
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = -(-len(train.images) // args.batch_size)
    schedule = CosineAnnealingLR(optimizer, T_max=args.epochs * steps_per_epoch)
    predict = make_predictor(model)
    shuffler = np.random.RandomState(args.seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    recorder = recorder or NoRecorder()
    recorder.start(args.epochs * steps_per_epoch)
    step, start = 0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = shuffler.permutation(len(train.images))
        losses = []
        for first in range(0, len(order), args.batch_size):
            batch = order[first : first + args.batch_size]
            images, labels = train.images[batch], train.labels[batch]
            step += 1
            recorder.before_step()
            with engine_errors_as_divergence(step):  # an overflow or a nan: DivergenceError
                loss = forward(images, labels)
                check_finite_loss(loss, step, forward, images, labels)
                optimizer.zero_grad()
                loss.backward()
            optimizer.step()
            losses.append(loss.data)
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


def finish(
    args: Namespace,
    model: nn.MLP,
    test: Split,
    history: dict,
    seconds: float,
    recorder: NoRecorder,
    initial: np.ndarray,
) -> None:
    """After training (`seconds` long): check the weights, print the summary line, draw
    the figures, save the model. `initial`: the first layer's weights before training."""
    check_finite_weights(model, len(history["loss"]))
    engine = "eager" if args.eager else "compiled"
    print(
        f"final: loss={history['loss'][-1]:.4f} test_acc={history['accuracy'][-1]:.3f} "
        f"time={seconds:.1f}s ({engine})"
    )
    change = model.state_dict()["layers.0.weight"] - initial
    predictions = make_predictor(model)(test.images)
    write_figures(
        lambda: (
            draw_run(args.out_dir, history, test, predictions, change)
            + recorder.draw(args.out_dir, "digits")
        )
    )
    if args.save_model is not None:
        save_model(model, args.save_model)


if __name__ == "__main__":
    run_guarded(main)
