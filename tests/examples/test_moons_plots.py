"""examples/moons_plots.py: the numpy forward pass equals the Value forward pass."""

from __future__ import annotations

import numpy as np
import pytest
from moons_plots import mlp_scores

import nn


def test_mlp_scores_by_hand():
    # h = relu(x0 - x1 + 0.5); out = 2 h - 1
    state = {
        "layers.0.weight": np.array([[1.0, -1.0]]),
        "layers.0.bias": np.array([0.5]),
        "layers.1.weight": np.array([[2.0]]),
        "layers.1.bias": np.array([-1.0]),
    }
    points = np.array([[1.0, 3.0], [2.0, 0.0]])
    # (1, 3): relu(-1.5) = 0 -> -1;  (2, 0): relu(2.5) = 2.5 -> 4
    np.testing.assert_allclose(mlp_scores(state, points), [[-1.0], [4.0]])


@pytest.mark.parametrize("nouts", [[16, 16, 1], [5, 3], [1]])
def test_mlp_scores_equal_the_value_forward(nouts):
    model = nn.MLP(2, nouts, seed=3)
    points = np.random.default_rng(0).uniform(-2.0, 2.0, size=(50, 2))
    expected = []
    for row in points:
        out = model(row)
        expected.append([v.data for v in out] if isinstance(out, list) else [out.data])
    np.testing.assert_allclose(
        mlp_scores(model.state_dict(), points), expected, rtol=1e-12, atol=1e-12
    )
