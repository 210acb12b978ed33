"""The command line of train_moons.py: its flags, their bounds and --help, checked.

`parse_args` returns the flags as an `argparse.Namespace`; a bad value (or a pair of
values that do not go together) exits with code 2 and a usage line, before anything
is trained. The recipe's fixed numbers that --help states (the L2 weight, how far the
learning rate falls, the default learning rates) are here too, named, and
train_moons.py takes them from here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from moons_watch import BOUNDARY_FILE, CURVES_FILE, GIF_FRAMES
from script_args import (
    add_diagnose_flag,
    add_hidden_flag,
    add_out_dir_flag,
    add_save_model_flag,
    check_output_file,
    int_between,
    make_out_dir,
    momentum,
    nonnegative_float,
    numpy_seed,
    positive_float,
)

DESCRIPTION = "Train an MLP on scikit-learn's two moons and draw the boundary it learned."
L2_WEIGHT = 1e-4  # micrograd's: total loss = data loss + 1e-4 * sum of squared parameters
FINAL_LR_FRACTION = 0.1  # the learning rate falls linearly to 10% of --lr
DEFAULT_LR = {"sgd": 1.0, "adam": 0.05}
LOSS_NAMES = ("hinge", "bce")  # train_moons.LOSSES has one loss for each
MAX_POINTS = 10_000  # --samples, --test-samples, --batch-size
MAX_EPOCHS = 10_000


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: a bad value exits with code 2 and a usage line.

    --lr, when not given, is DEFAULT_LR of the --optimizer; --out-dir is created.
    """
    parser = argparse.ArgumentParser(description=DESCRIPTION)
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
    add_hidden_flag(group, [16, 16], "one neuron")
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
        choices=list(LOSS_NAMES),
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
    """--out-dir, --grid, --gif, --save-model, --diagnose."""
    add_out_dir_flag(group, f"{BOUNDARY_FILE} and {CURVES_FILE}")
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
    add_save_model_flag(group, "nn.MLP(2, [16, 16, 1])", "16 16")
    add_diagnose_flag(group, "moons")
