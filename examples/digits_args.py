"""The command line of train_digits.py: its flags, their bounds and --help, checked.

`parse_args` returns the flags as an `argparse.Namespace`; a bad value exits with code 2
and a usage line, before anything is trained.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from script_args import check_output_file, int_between, make_out_dir, numpy_seed, positive_float

DESCRIPTION = "Train an MLP on scikit-learn's handwritten digits and draw what it learned."
MAX_WIDTH = 256
MAX_EPOCHS = 1_000
MAX_BATCH = 1_437  # all the training images


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: a bad value exits with code 2 and a usage line.

    --out-dir is created.
    """
    parser = argparse.ArgumentParser(description=DESCRIPTION)
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
        type=int_between(1, MAX_BATCH),
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
