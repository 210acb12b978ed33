"""Helpers shared by the optimizer tests: a tight comparison and a stepping loop."""

import pytest


def approx(x):
    """Equal to ~1e-12 relative: the update rules are computed in the same float64."""
    return pytest.approx(x, rel=1e-12, abs=1e-15)


def run(opt, param, grads):
    """Step once per gradient in `grads`; the parameter's data after each step."""
    trajectory = []
    for g in grads:
        param.grad = g
        opt.step()
        trajectory.append(param.data)
    return trajectory
