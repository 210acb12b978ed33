"""Every loss against its formula written out, its gradient's closed form, and gradcheck."""

import math

import numpy as np
import pytest

import nn
from minitorch_scalar import Value, gradcheck


def values(numbers):
    return [Value(x) for x in numbers]


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# ------------------------------------------------------------------------------ hinge


def test_hinge_loss_formula_and_gradient():
    scores, targets = [2.0, 0.5, -0.3, -3.0], [1, 1, 1, -1]
    s = values(scores)
    loss = nn.hinge_loss(s, targets)
    # margins 1 - t*s: -1 (inactive), 0.5, 1.3, -2 (inactive); mean over 4 samples
    assert loss.data == pytest.approx((0.0 + 0.5 + 1.3 + 0.0) / 4, abs=1e-15)
    loss.backward()
    # d/ds_i = -t_i / n where the margin is positive, else 0
    assert [v.grad for v in s] == [0.0, -0.25, -0.25, 0.0]
    assert gradcheck(lambda *vs: nn.hinge_loss(vs, targets), s)


def test_hinge_loss_on_the_hinge_has_zero_gradient():
    s = values([1.0, -1.0])
    loss = nn.hinge_loss(s, [1.0, -1.0])
    loss.backward()
    assert loss.data == 0.0
    assert [v.grad for v in s] == [0.0, 0.0]


def test_hinge_loss_targets_must_be_plus_or_minus_one():
    with pytest.raises(ValueError, match=r"-1 or \+1, got 0.0 at index 1"):
        nn.hinge_loss(values([1.0, 2.0]), [1, 0])
    with pytest.raises(ValueError, match=r"-1 or \+1, got 0.5 at index 0"):
        nn.hinge_loss(values([1.0]), [Value(0.5)])
    with pytest.raises(TypeError, match=r"hinge_loss\(targets\) expects real numbers or Values"):
        nn.hinge_loss(values([1.0]), ["1"])
    assert nn.hinge_loss(values([0.0]), np.array([-1])).data == 1.0


def test_hinge_loss_is_relu_of_one_minus_target_times_score():
    s = values([0.2, 0.4])
    loss = nn.hinge_loss(s, [1, -1])
    (total,) = loss.parents  # the mean: one sum node, divided by n
    relus = total.parents
    assert [r.op for r in relus] == ["relu", "relu"]
    margins = [r.parents[0] for r in relus]  # 1 - t*s
    assert [(m.op, m.data) for m in margins] == [("-", 1 - 0.2), ("-", 1 + 0.4)]
    products = [m.parents[0] for m in margins]  # t*s
    assert [(p.op, p.parents) for p in products] == [("*", (s[0],)), ("*", (s[1],))]


# -------------------------------------------------------------------------------- mse


def test_mse_loss_formula_and_gradients():
    predictions, targets = [1.5, -0.5, 2.0], [1.0, 0.5, 2.0]
    p = values(predictions)
    loss = nn.mse_loss(p, targets)
    assert loss.data == pytest.approx((0.5**2 + 1.0**2 + 0.0) / 3, abs=1e-15)
    loss.backward()
    assert [v.grad for v in p] == pytest.approx([2 * 0.5 / 3, 2 * -1.0 / 3, 0.0], abs=1e-15)
    assert gradcheck(lambda *vs: nn.mse_loss(vs, targets), p)


def test_mse_loss_with_value_targets_differentiates_both():
    p, t = values([3.0, 1.0]), values([1.0, 2.0])
    nn.mse_loss(p, t).backward()
    assert [v.grad for v in p] == pytest.approx([2 * 2.0 / 2, 2 * -1.0 / 2])
    assert [v.grad for v in t] == pytest.approx([-2 * 2.0 / 2, -2 * -1.0 / 2])
    assert gradcheck(lambda a, b, c, d: nn.mse_loss([a, b], [c, d]), p + t)


# -------------------------------------------------------------------------------- bce


@pytest.mark.parametrize(
    ("logits", "targets"),
    [([0.3, -1.2, 2.5, 0.0], [1.0, 0.0, 0.25, 0.5]), ([-4.0, 7.0], [1.0, 1.0])],
)
def test_bce_with_logits_formula_and_gradient(logits, targets):
    x = values(logits)
    loss = nn.binary_cross_entropy_with_logits(x, targets)
    expected = sum(
        -(t * math.log(sigmoid(z)) + (1 - t) * math.log(1 - sigmoid(z)))
        for z, t in zip(logits, targets)
    ) / len(logits)
    assert loss.data == pytest.approx(expected, rel=1e-13)
    loss.backward()
    n = len(logits)
    assert [v.grad for v in x] == pytest.approx(
        [(sigmoid(z) - t) / n for z, t in zip(logits, targets)], abs=1e-15
    )
    assert gradcheck(lambda *vs: nn.binary_cross_entropy_with_logits(vs, targets), x)


def test_bce_with_logits_gradient_at_zero_is_one_half_minus_the_target():
    for t in (0.0, 0.3, 1.0):
        x = Value(0.0)
        loss = nn.binary_cross_entropy_with_logits([x], [t])
        loss.backward()
        assert loss.data == pytest.approx(math.log(2.0), abs=1e-15)
        assert x.grad == pytest.approx(0.5 - t, abs=1e-15)


def test_bce_with_logits_is_finite_for_huge_logits():
    x = values([1000.0, -1000.0, 1000.0, -1000.0])
    loss = nn.binary_cross_entropy_with_logits(x, [1.0, 0.0, 0.0, 1.0])
    # right and sure: 0; wrong and sure: |x| = 1000
    assert loss.data == (0.0 + 0.0 + 1000.0 + 1000.0) / 4
    loss.backward()
    assert [v.grad for v in x] == [0.0, 0.0, 0.25, -0.25]


def test_bce_targets_must_be_in_unit_interval():
    with pytest.raises(ValueError, match=r"targets in \[0, 1\], got 1.5 at index 0"):
        nn.binary_cross_entropy_with_logits(values([0.0]), [1.5])
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]"):
        nn.binary_cross_entropy_with_logits(values([0.0]), [math.nan])


# ---------------------------------------------------------------------- cross entropy


def test_cross_entropy_formula_and_gradient():
    rows, labels = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]], [1, 0]
    z = [values(row) for row in rows]
    loss = nn.cross_entropy(z, labels)

    def softmax(row):
        exps = [math.exp(v) for v in row]
        return [e / sum(exps) for e in exps]

    expected = -sum(math.log(softmax(row)[y]) for row, y in zip(rows, labels)) / 2
    assert loss.data == pytest.approx(expected, rel=1e-14)
    loss.backward()
    for row, y, row_values in zip(rows, labels, z):
        grads = [(p - (j == y)) / 2 for j, p in enumerate(softmax(row))]
        assert [v.grad for v in row_values] == pytest.approx(grads, abs=1e-15)
    flat = [v for row in z for v in row]
    assert gradcheck(lambda *vs: nn.cross_entropy([vs[:3], vs[3:]], labels), flat)


def test_cross_entropy_is_stable_for_huge_logits():
    z = values([1000.0, -1000.0, 999.0])
    loss = nn.cross_entropy([z], [2])
    # -log softmax_2 = log(e^1000 + e^-1000 + e^999) - 999 = log(e + e^-1999 + 1)
    assert loss.data == pytest.approx(math.log(1 + math.e), rel=1e-14)
    loss.backward()
    p = math.e / (1 + math.e)  # softmax: (p, 0, 1 - p); gradient: softmax - one_hot(2)
    assert [v.grad for v in z] == pytest.approx([p, 0.0, (1 - p) - 1], abs=1e-15)


def test_cross_entropy_accepts_arrays():
    loss = nn.cross_entropy(np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([0, 1]))
    assert loss.data == pytest.approx(math.log(2.0), abs=1e-15)


@pytest.mark.parametrize("index", [3, -1])
def test_cross_entropy_rejects_a_class_index_out_of_range(index):
    with pytest.raises(IndexError, match=rf"class index {index} at index 0 is out of range 0..2"):
        nn.cross_entropy([values([1.0, 2.0, 3.0])], [index])


def test_cross_entropy_checks_its_arguments():
    with pytest.raises(TypeError, match="expects int class indices, got float"):
        nn.cross_entropy([values([1.0, 2.0])], [1.0])
    with pytest.raises(ValueError, match="rows of 2 scores"):
        nn.cross_entropy([values([1.0, 2.0]), values([1.0])], [0, 0])
    with pytest.raises(ValueError, match="at least one class"):
        nn.cross_entropy([[]], [0])
    with pytest.raises(ValueError, match="2-D array"):
        nn.cross_entropy(np.zeros(3), [0, 0, 0])
    with pytest.raises(TypeError, match="sequence of rows"):
        nn.cross_entropy(3.0, [0])


# ---------------------------------------------------------------------------- l2


def test_l2_penalty_is_the_sum_of_squares_as_one_node():
    ps = values([0.5, -2.0, 3.0])
    penalty = nn.l2_penalty(ps)
    assert penalty.data == 0.25 + 4.0 + 9.0
    assert set(penalty.parents) == set(ps)
    penalty.backward()
    assert [p.grad for p in ps] == [1.0, -4.0, 6.0]
    assert gradcheck(lambda *vs: nn.l2_penalty(vs), ps)


def test_l2_penalty_of_a_model():
    model = nn.MLP(2, [3, 1], seed=0)
    expected = sum(p.data**2 for p in model.parameters())
    assert nn.l2_penalty(model.parameters()).data == pytest.approx(expected, rel=1e-15)
    assert nn.l2_penalty([]).data == 0.0


# ------------------------------------------------------------------- shared checks

MEAN_LOSSES = [
    (nn.hinge_loss, [1, -1]),
    (nn.mse_loss, [0.5, 0.5]),
    (nn.binary_cross_entropy_with_logits, [0.0, 1.0]),
    (nn.cross_entropy, [0, 1]),
]


def predictions_for(loss, n):
    return [values([0.1, 0.2]) for _ in range(n)] if loss is nn.cross_entropy else values([0.1] * n)


@pytest.mark.parametrize(("loss", "targets"), MEAN_LOSSES)
def test_length_mismatch_and_empty_input_raise_value_error(loss, targets):
    with pytest.raises(ValueError, match=r"got 3 \w+ and 2 \w+"):
        loss(predictions_for(loss, 3), targets)
    with pytest.raises(ValueError, match="at least one sample"):
        loss([], [])


@pytest.mark.parametrize(("loss", "targets"), MEAN_LOSSES)
def test_non_numbers_raise_type_error(loss, targets):
    with pytest.raises(TypeError):
        loss(predictions_for(loss, 2), ["a", "b"])
    with pytest.raises(TypeError):
        loss(predictions_for(loss, 2), 1.0)
    bad = [["x", 0.2], [0.1, 0.2]] if loss is nn.cross_entropy else ["x", 0.2]
    with pytest.raises(TypeError, match=r"got str at index 0"):
        loss(bad, targets)
    with pytest.raises(TypeError, match="l2_penalty"):
        nn.l2_penalty([Value(1.0), "w"])


@pytest.mark.parametrize(("loss", "targets"), MEAN_LOSSES)
def test_plain_number_predictions_are_constants(loss, targets):
    predictions = predictions_for(loss, 2)
    as_numbers = (
        [[v.data for v in row] for row in predictions]
        if loss is nn.cross_entropy
        else [v.data for v in predictions]
    )
    assert loss(as_numbers, targets).data == loss(predictions, targets).data
