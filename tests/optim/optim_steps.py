"""Helpers shared by the optimizer tests: a tight comparison, a stepping loop, state."""

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


def params_of(opt):
    """Every parameter of `opt`, group by group, in order."""
    return [p for group in opt.param_groups for p in group["params"]]


def options_of(opt, group=0):
    """The options of ``opt.param_groups[group]``: the group without its params."""
    return {key: value for key, value in opt.param_groups[group].items() if key != "params"}


def states(opt, key):
    """``opt.state[p][key]`` for each parameter p, in order: e.g. every momentum buffer."""
    return [opt.state[p][key] for p in params_of(opt)]
