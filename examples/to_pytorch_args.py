"""The command line of to_pytorch.py: its flags and --help, checked, and the --load file.

`parse_args` returns the flags as an `argparse.Namespace`, with the model of --load (if
any) already read into ``args.model``; a bad value, a missing file or a file that is not
an MLP's weights exits with code 2 and a usage line.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from script_args import int_between

import nn
from nn.weights_file import read_shapes

DESCRIPTION = (
    "The road to PyTorch: the same network, the same numbers, then training goes on there."
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, checked: a bad value exits with code 2 and a usage line."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument(
        "--load",
        type=Path,
        default=None,
        metavar="PATH",
        help="weights saved by train_moons.py or train_digits.py (--save-model); the "
        "layer sizes are read from the file (default: train a moons model here)",
    )
    parser.add_argument(
        "--torch-steps",
        type=int_between(1, 1000),
        default=5,
        help="training steps to take in PyTorch, 1 to 1000 (default: 5)",
    )
    args = parser.parse_args(argv)
    args.model = None
    if args.load is not None:
        if not args.load.exists():
            parser.error(f"argument --load: no file {str(args.load)!r}")
        try:
            args.model = model_from_file(args.load)
        except (OSError, ValueError) as error:
            parser.error(f"argument --load: {error}")
    return args


def model_from_file(path: Path) -> nn.MLP:
    """The MLP saved at `path`: its sizes read from the file's headers, then its weights
    loaded by `load`, which checks the whole file. ValueError if the file is not an
    MLP's weights (damaged, crafted, or another model's), naming the path."""
    shapes = read_shapes(str(path))
    weights = [shapes.get(f"layers.{i}.weight") for i in range(len(shapes) // 2)]
    if not weights or any(w is None or len(w) != 2 for w in weights):
        raise ValueError(
            f"{str(path)!r} holds no MLP's weights: expected layers.0.weight, "
            f"layers.0.bias, layers.1.weight, ..., got {sorted(shapes)}"
        )
    model = nn.MLP(weights[0][1], [out for out, _ in weights])
    model.load(path)
    return model
