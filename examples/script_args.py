"""Argument types shared by the example scripts.

Each type turns a command-line string into a checked value or raises
`argparse.ArgumentTypeError`, which argparse reports as a usage error (exit code 2,
no traceback).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


def positive_int(text: str) -> int:
    """An int >= 1."""
    return _int_at_least(text, 1)


def numpy_seed(text: str) -> int:
    """An int in [0, 2**32 - 2].

    numpy's RandomState takes seeds below 2**32, and a script may draw a second data
    set with seed + 1.
    """
    value = _int_at_least(text, 0)
    if value > 2**32 - 2:
        raise argparse.ArgumentTypeError(f"expected an integer <= {2**32 - 2}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0."""
    value = _finite_float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite float >= 0."""
    value = _finite_float(text)
    if value < 0.0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def momentum(text: str) -> float:
    """A float in [0, 1): SGD's momentum factor."""
    value = _finite_float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def make_out_dir(parser: argparse.ArgumentParser, out_dir: Path) -> Path:
    """`out_dir`, created if missing; a usage error (exit 2) if it cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"argument --out-dir: cannot create {str(out_dir)!r}: {error.strerror}")
    if not os.access(out_dir, os.W_OK):
        parser.error(f"argument --out-dir: cannot write into {str(out_dir)!r}")
    return out_dir


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value
