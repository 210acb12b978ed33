"""examples/notebooks/checks.py: each check says RIGHT, WRONG (with the numbers) or not yet."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import minitorch_scalar as ms
import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "notebooks"))
import checks


def sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def softplus_with(derivative):
    @ms.custom_op("softplus")
    def softplus(a):
        return math.log1p(math.exp(a)), (derivative(a),)

    return softplus


def test_a_right_derivative_is_right_at_every_input_eager_and_compiled():
    verdict = checks.check_local_derivative(
        softplus_with(sigmoid), sigmoid, "1 / (1 + e^-a)", compiled=True
    )
    assert verdict.right is True
    assert len(verdict.lines) == len(checks.INPUTS)
    assert str(verdict).startswith("RIGHT")


def test_a_wrong_derivative_names_input_expected_actual_and_central_difference():
    verdict = checks.check_local_derivative(
        softplus_with(lambda a: sigmoid(-a)), sigmoid, "1 / (1 + e^-a)"
    )
    assert verdict.right is False
    assert verdict.lines[0] == (
        "at a = -2: expected 0.119203 (1 / (1 + e^-a)), your rule gives 0.880797, "
        "the central difference gives 0.119203  <- wrong"
    )
    assert not verdict.lines[2].endswith("<- wrong")  # at a = 0 both are 0.5


def test_an_unanswered_rule_is_not_yet_an_error():
    verdict = checks.check_local_derivative(softplus_with(lambda a: None), sigmoid, "")
    assert verdict.right is None
    assert "your rule does not give a number yet" in verdict.lines[0]


def test_the_central_difference_measures_the_slope():
    assert checks.central_difference(math.sin, 0.3) == pytest.approx(math.cos(0.3), rel=1e-8)


def graph(a, b):
    return a * a * b


def test_predicted_gradients():
    at = {"a": 3.0, "b": -2.0}
    right = checks.check_gradients({"a": -12.0, "b": 9.0}, graph, at)
    assert right.right is True
    wrong = checks.check_gradients({"a": -6.0, "b": 9.0}, graph, at)
    assert wrong.right is False
    assert wrong.lines[0] == (
        "d out / d a at a = 3: you predicted -6, backward gives -12, "
        "the central difference -12  <- wrong"
    )
    assert checks.check_gradients({"a": None, "b": 1.0}, graph, at).right is None


def model_with_dead_neurons():
    model = nn.MLP(2, [4, 1], seed=3)
    for j in (1, 3):
        model.layers[0].neurons[j].b.data = -10.0
    return model


BATCH = np.array([[0.5, -1.0], [1.0, 2.0], [-1.5, 0.25]])


def test_dead_neurons_named_right_and_wrong():
    model = model_with_dead_neurons()
    assert checks.check_dead_neurons({"layers.0": [3, 1]}, model, BATCH).right is True
    wrong = checks.check_dead_neurons({"layers.0": [1, 2]}, model, BATCH)
    assert wrong.right is False
    fired = int(sum(row[2].data > 0 for row in model.layers[0](BATCH)))
    assert wrong.lines == (
        "layers.0: you named neurons 1, 2; dead: neurons 1, 3; missing neurons 3; "
        f"neuron 2 is alive (its relu is > 0 on {fired} of 3 rows)",
    )
    assert checks.check_dead_neurons(None, model, BATCH).right is None


def test_dot_count():
    model, batch = nn.MLP(2, [8, 1], seed=0), np.zeros((30, 2))
    assert checks.check_dot_count(270, model, batch).right is True
    wrong = checks.check_dot_count(240, model, batch)
    assert wrong.right is False
    assert wrong.lines == (
        "you predicted 240; the graph has 270 dot nodes: 240 in layers.0 (30 rows x 8 "
        "neurons) and 30 in layers.1 (30 rows x 1 neuron)",
    )
