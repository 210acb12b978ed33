"""The data the example scripts train on: scikit-learn's two moons and its digits.

Both ship with scikit-learn (nothing is downloaded), and every draw is seeded: the same
arguments give the same points, on every machine.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.datasets import load_digits, make_moons

HELD_OUT_FRACTION = 0.2  # of the digits


def moons(samples: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`samples` points of the two moons (n, 2) and their labels 0 or 1 (n,).

    Drawn from ``RandomState(seed)``: the same points as micrograd's demo, which
    seeds numpy's global generator and calls make_moons without a random_state.
    """
    return make_moons(n_samples=samples, noise=noise, random_state=np.random.RandomState(seed))


class Split(NamedTuple):
    """Images (n, 64) scaled to [0, 1] and their digits (n,)."""

    images: np.ndarray
    labels: np.ndarray


def digit_images() -> Split:
    """All 1,797 of scikit-learn's 8x8 digits, their pixels (0..16) scaled to [0, 1]."""
    data = load_digits()
    return Split(data.data / 16.0, data.target)


def digits(seed: int) -> tuple[Split, Split]:
    """The training and held-out splits; HELD_OUT_FRACTION of the images, drawn by seed."""
    images, labels = digit_images()
    order = np.random.RandomState(seed).permutation(len(images))
    held_out = round(HELD_OUT_FRACTION * len(images))
    test, train = order[:held_out], order[held_out:]
    return Split(images[train], labels[train]), Split(images[test], labels[test])
