"""The command line of train_moons_torch_style.py: its flags, their bounds and --help.

`parse_args` returns the flags as an `argparse.Namespace`; a bad value exits with code 2
and a usage line, before anything is trained.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from script_args import check_output_file, int_between, numpy_seed, positive_float

DESCRIPTION = "Train a two-moons classifier written entirely as in PyTorch."


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: a bad value exits with code 2 and a usage line."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument(
        "--samples", type=int_between(2, 10_000), default=100, help="training points (default: 100)"
    )
    parser.add_argument(
        "--hidden", type=int_between(1, 256), default=16, help="hidden width (default: 16)"
    )
    parser.add_argument(
        "--epochs", type=int_between(1, 10_000), default=100, help="full-batch steps (default: 100)"
    )
    parser.add_argument(
        "--lr", type=positive_float, default=0.3, help="initial learning rate (default: 0.3)"
    )
    parser.add_argument(
        "--seed", type=numpy_seed, default=1337, help="seed of data and weights (default: 1337)"
    )
    parser.add_argument(
        "--save-model", type=Path, default=None, metavar="PATH", help="write the weights (.npz)"
    )
    args = parser.parse_args(argv)
    check_output_file(parser, "--save-model", args.save_model)
    return args
