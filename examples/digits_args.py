"""The command line of train_digits.py: its flags, their bounds and --help, checked.

`parse_args` returns the flags as an `argparse.Namespace`; a bad value exits with code 2
and a usage line, before anything is trained.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from script_args import (
    add_diagnose_flag,
    add_hidden_flag,
    add_out_dir_flag,
    add_save_model_flag,
    check_output_file,
    int_between,
    make_out_dir,
    numpy_seed,
    positive_float,
)

DESCRIPTION = "Train an MLP on scikit-learn's handwritten digits and draw what it learned."
MAX_EPOCHS = 1_000
MAX_BATCH = 1_437  # all the training images


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: a bad value exits with code 2 and a usage line.

    --out-dir is created.
    """
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    add_hidden_flag(parser, [32], "10")
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
    add_out_dir_flag(parser, "the four digits_*.png figures")
    add_save_model_flag(parser, "nn.MLP(64, [32, 10])", "32")
    add_diagnose_flag(parser, "digits")
    args = parser.parse_args(argv)
    args.out_dir = make_out_dir(parser, args.out_dir)
    check_output_file(parser, "--save-model", args.save_model)
    return args
