"""A diverged run's one-line error says where the first nan or inf was made."""

from __future__ import annotations

import numpy as np
import pytest
from script_args import DivergenceError, check_finite_loss

import minitorch_scalar as ms
import nn
from minitorch_scalar import Value


def overflowing(a: Value) -> Value:
    """(a * 10) - (a * 10): inf - inf = nan once a * 10 overflows."""
    return a * 10.0 - a * 10.0


def test_an_eager_loss_names_the_op_and_its_operand():
    loss = overflowing(Value(1e308))
    with pytest.raises(DivergenceError) as caught:
        check_finite_loss(loss, 3, overflowing, Value(1e308))
    assert str(caught.value) == (
        "loss became nan at step 3 (the first inf came from '*', node 1, of 1e+308); "
        "try a smaller --lr"
    )


def test_a_finite_loss_passes():
    check_finite_loss(overflowing(Value(2.0)), 1, overflowing, Value(2.0))


def test_a_compiled_loss_is_searched_on_the_eager_engine():
    """A replayed loss has no graph: the function is run again eagerly to find the op."""
    model = nn.MLP(2, [3, 1], seed=0)
    points, t = np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([1.0, -1.0])
    step = ms.compile(lambda xs, t: nn.hinge_loss(model(xs), t))
    step(points, t)  # the trace, finite
    for p in model.parameters():
        p.data = 1e200  # every dot of the first layer overflows: 1e200 * 2 * ... summed
    loss = step(points * 1e200, t)
    assert not np.isfinite(loss.data)
    assert ms.first_nonfinite(loss).op == "compiled"  # nothing to see in the replay
    with pytest.raises(DivergenceError, match=r"the first inf came from 'dot', node \d+, of 3 "):
        check_finite_loss(loss, 7, step, points * 1e200, t)


def test_a_diverging_moons_run_says_which_op(run_script):
    result = run_script("train_moons.py", "--lr", "1e150", "--epochs", "3", "--grid", "10")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "train_moons.py: loss became nan at step 2 (the first nan came from 'dot',"
    )
