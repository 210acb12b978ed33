"""The playground's data sets: two classes of points in the plane, labels 0 or 1.

Every data set is drawn from ``numpy.random.RandomState(seed)`` (the same points for
the same settings) and lies inside the square [-PLANE, PLANE]^2 that the page draws,
up to its noise. `noise` is the standard deviation of the Gaussian jitter, in the
plane's units (scikit-learn's own `noise` for moons and circles).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.datasets import make_blobs, make_circles, make_moons

PLANE = 1.6  # the page draws the square [-PLANE, PLANE]^2

Maker = Callable[[int, float, np.random.RandomState], tuple[np.ndarray, np.ndarray]]


def moons(count: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's two moons, moved and shrunk to the middle of the plane."""
    xy, labels = make_moons(n_samples=count, noise=noise, random_state=rng)
    return (xy - [0.5, 0.25]) / 1.25, labels


def circles(count: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's circles: class 1 inside (radius 0.5), class 0 around it (radius 1)."""
    return make_circles(n_samples=count, noise=noise, factor=0.5, random_state=rng)


def blobs(count: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's blobs: two Gaussian clusters, spread 0.15 + noise, at (-0.6, -0.6)
    and (0.6, 0.6)."""
    return make_blobs(
        n_samples=count,
        centers=[[-0.6, -0.6], [0.6, 0.6]],
        cluster_std=0.15 + noise,
        random_state=rng,
    )


def spiral(count: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Two arms winding 1.25 turns out from the centre, one per class, half a turn apart."""
    labels = np.arange(count) % 2
    t = rng.uniform(0.05, 1.0, count)  # how far along its arm a point lies
    angle = 2.5 * np.pi * t + np.pi * labels
    radius = 1.3 * t
    xy = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return xy + noise * rng.standard_normal((count, 2)), labels


def xor(count: int, noise: float, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [-1.2, 1.2]^2, class 1 where x and y have the same sign; then
    jittered (so noise carries points across the axes)."""
    xy = rng.uniform(-1.2, 1.2, (count, 2))
    labels = (xy[:, 0] * xy[:, 1] > 0).astype(int)
    return xy + noise * rng.standard_normal((count, 2)), labels


DATASETS: dict[str, Maker] = {
    "moons": moons,
    "circles": circles,
    "blobs": blobs,
    "spiral": spiral,
    "xor": xor,
}


def make_points(name: str, count: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` points (count, 2) of the data set `name` and their labels 0/1 (count,),
    in a shuffled order (so any split of them is a fair sample)."""
    rng = np.random.RandomState(seed)
    xy, labels = DATASETS[name](count, noise, rng)
    order = rng.permutation(count)
    return np.asarray(xy, dtype=np.float64)[order], np.asarray(labels, dtype=np.int64)[order]
