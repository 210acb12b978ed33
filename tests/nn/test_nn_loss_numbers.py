"""Losses and models on hard numbers: nan, huge logits, huge ints; and targets handed in
as Values (as a traced step hands them in) giving the very same bits."""

import math
import random

import pytest

import nn
from minitorch_scalar import Value, topological_order

NAN = math.nan

# ------------------------------------------------------------------------------- nan

NAN_CASES = [
    ("hinge", lambda s: nn.hinge_loss(s, [1, -1])),
    ("mse", lambda s: nn.mse_loss(s, [0.5, 0.5])),
    ("bce", lambda s: nn.binary_cross_entropy_with_logits(s, [0.0, 1.0])),
    ("cross_entropy", lambda s: nn.cross_entropy([s, [0.0, 1.0]], [0, 1])),
    ("cross_entropy other class", lambda s: nn.cross_entropy([s], [1])),
]


@pytest.mark.parametrize("where", [0, 1])
@pytest.mark.parametrize(("name", "loss"), NAN_CASES, ids=[c[0] for c in NAN_CASES])
def test_a_nan_prediction_gives_a_nan_loss(name, loss, where):
    scores = [Value(0.3), Value(-0.2)]
    scores[where] = Value(NAN)
    result = loss(scores)
    assert math.isnan(result.data)
    result.backward()  # no error on the way back


def test_a_diverged_model_reports_a_nan_loss_through_the_batch_path():
    model = nn.MLP(2, [4, 4, 1], seed=0)
    model.layers[0].neurons[0].w[0].data = NAN
    xs = [[1.0, 2.0]] * 70  # large enough for the numpy sums of the batch path
    for scores in (model(xs), [model(x) for x in xs]):
        loss = nn.hinge_loss(scores, [1] * len(xs))
        assert math.isnan(loss.data)


@pytest.mark.parametrize(
    ("row", "label"),
    [([NAN, 0.0], 0), ([0.0, NAN], 0), ([math.inf, 0.0], 0), ([-math.inf, 0.0], 1)],
)
def test_cross_entropy_at_nan_and_inf_matches_torch(row, label):
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.cross_entropy(
        torch.tensor([row], dtype=torch.float64), torch.tensor([label])
    ).item()
    got = nn.cross_entropy([row], [label]).data
    assert got == expected or (math.isnan(got) and math.isnan(expected))


# -------------------------------------------------------------- cross entropy digits


def test_cross_entropy_keeps_the_value_at_large_logits():
    assert nn.cross_entropy([[1e16, 1e16]], [0]).data == pytest.approx(math.log(2.0), rel=1e-15)
    assert nn.cross_entropy([[1e300, 1e300, -1e300]], [1]).data == pytest.approx(math.log(2.0))
    assert nn.cross_entropy([[1e300, -1e300]], [1]).data == 2e300


def test_cross_entropy_max_and_target_are_graph_nodes():
    row = [Value(1.0), Value(3.0), Value(2.0)]
    loss = nn.cross_entropy([row], [2])
    ops = [node.op for node in topological_order(loss)]
    assert ops.count("max") == 1 and ops.count("select") == 1


def magnitude_grid():
    rng = random.Random(0)
    rows = []
    for exponent in range(0, 301, 20):
        scale = 10.0**exponent
        for _ in range(4):
            rows.append([rng.uniform(-1, 1) * scale for _ in range(3)])
        rows.append([scale, scale, -scale])
        rows.append([scale, scale * (1 + 1e-15), scale])
    return rows


@pytest.mark.parametrize("row", magnitude_grid())
def test_cross_entropy_matches_torch_at_every_magnitude(row):
    torch = pytest.importorskip("torch")
    for label in range(3):
        z = [Value(v) for v in row]
        loss = nn.cross_entropy([z], [label])
        loss.backward()
        t = torch.tensor([row], dtype=torch.float64, requires_grad=True)
        expected = torch.nn.functional.cross_entropy(t, torch.tensor([label]))
        expected.backward()
        assert loss.data == pytest.approx(expected.item(), rel=1e-12, abs=0.0)
        assert [v.grad for v in z] == pytest.approx(t.grad[0].tolist(), rel=1e-12, abs=1e-15)


def test_cross_entropy_matches_torch_on_random_magnitudes():
    torch = pytest.importorskip("torch")
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.lists(finite, min_size=1, max_size=5), st.data())
    def check(row, data):
        label = data.draw(st.integers(0, len(row) - 1))
        expected = torch.nn.functional.cross_entropy(
            torch.tensor([row], dtype=torch.float64), torch.tensor([label])
        ).item()
        assert nn.cross_entropy([row], [label]).data == pytest.approx(expected, rel=1e-12, abs=0.0)

    check()


# ------------------------------------------------------------------------ huge ints

HUGE = 10**400


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: nn.MLP(2, [3, 1], seed=0)([HUGE, 1]), r"MLP \(index 0\)"),
        (lambda: nn.MLP(2, [3, 1], seed=0)([[1, 1], [1, HUGE]]), r"MLP \(row 1\) \(index 1\)"),
        (lambda: nn.Neuron(2, seed=0)([1, -HUGE]), r"Neuron \(index 1\)"),
        (lambda: nn.mse_loss([Value(1.0)], [HUGE]), r"mse_loss\(target\) \(index 0\)"),
        (lambda: nn.mse_loss([HUGE], [1.0]), r"mse_loss\(input\) \(index 0\)"),
        (lambda: nn.hinge_loss([Value(1.0)], [HUGE]), r"hinge_loss\(targets\)"),
        (
            lambda: nn.binary_cross_entropy_with_logits([Value(1.0)], [HUGE]),
            r"binary_cross_entropy_with_logits\(target\)",
        ),
        (lambda: nn.cross_entropy([[HUGE, 1]], [0]), r"cross_entropy\(input\[0\]\)"),
        (lambda: nn.l2_penalty([HUGE]), r"l2_penalty\(parameters\)"),
    ],
)
def test_an_int_too_big_for_a_float_is_a_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name + r".*float's range"):
        call()


def test_a_huge_class_index_is_out_of_range():
    with pytest.raises(IndexError, match="out of range"):
        nn.cross_entropy([[1.0, 2.0]], [HUGE])


# ------------------------------------------------------------ Value targets, same bits

TARGET_CASES = [
    ("hinge", nn.hinge_loss, [0.7, -2.5, 1.0, 0.1], [1, -1, 1, -1]),
    ("mse", nn.mse_loss, [0.7, -2.5, 1.0], [0.3, 1e-3, -7.25]),
    ("bce", nn.binary_cross_entropy_with_logits, [0.7, -2.5, 0.0, 40.0], [0.0, 1.0, 0.3, 0.9]),
]


@pytest.mark.parametrize(
    ("name", "loss", "xs", "ts"), TARGET_CASES, ids=[c[0] for c in TARGET_CASES]
)
def test_value_targets_give_the_same_bits_as_number_targets(name, loss, xs, ts):
    as_numbers, as_values = [Value(x) for x in xs], [Value(x) for x in xs]
    a = loss(as_numbers, ts)
    b = loss(as_values, [Value(t) for t in ts])
    a.backward()
    b.backward()
    assert a.data == b.data
    assert [v.grad for v in as_numbers] == [v.grad for v in as_values]


def test_value_class_indices_give_the_same_bits_as_ints():
    rows = [[0.5, -1.0, 2.0], [3.0, 3.0, -4.0]]
    za, zb = [[Value(v) for v in r] for r in rows], [[Value(v) for v in r] for r in rows]
    a = nn.cross_entropy(za, [2, 1])
    b = nn.cross_entropy(zb, [Value(2.0), Value(1)])
    a.backward()
    b.backward()
    assert a.data == b.data
    assert [v.grad for r in za for v in r] == [v.grad for r in zb for v in r]


@pytest.mark.parametrize(
    ("loss", "bad", "error"),
    [
        (nn.hinge_loss, Value(0.5), r"-1 or \+1"),
        (nn.binary_cross_entropy_with_logits, Value(1.5), r"in \[0, 1\]"),
        (nn.binary_cross_entropy_with_logits, Value(NAN), r"in \[0, 1\]"),
    ],
)
def test_value_targets_are_checked_on_their_data(loss, bad, error):
    with pytest.raises(ValueError, match=error):
        loss([Value(0.0)], [bad])


def test_a_value_class_index_must_hold_an_integer_in_range():
    with pytest.raises(TypeError, match="must hold an integer"):
        nn.cross_entropy([[1.0, 2.0]], [Value(0.5)])
    with pytest.raises(IndexError, match="out of range"):
        nn.cross_entropy([[1.0, 2.0]], [Value(2.0)])


# ------------------------------------------------- no loss freezes data into constants


def folded_constants(root):
    """The constants a graph folded into its nodes (what a trace would freeze): for a
    node with one parent and a constant, that constant."""
    constants = []
    for node in topological_order(root):
        if len(node.parents) != 1 or node.op not in ("+", "-", "*", "/"):
            continue
        (a,), (d,) = [p.data for p in node.parents], node.local_grads
        if node.op == "*":
            constants.append(d)
        elif node.op == "/":
            constants.append(1.0 / d)
        elif node.op == "+":
            constants.append(node.data - a)
        else:
            constants.append(a - node.data if d == 1.0 else node.data + a)
    return constants


LOSSES_OF_INPUTS = [
    ("hinge", lambda x, t: nn.hinge_loss(x, [t[0], t[0]])),
    ("mse", lambda x, t: nn.mse_loss(x, t)),
    ("bce", lambda x, t: nn.binary_cross_entropy_with_logits(x, [t[1], t[1]])),
    ("cross_entropy", lambda x, t: nn.cross_entropy([x, t], [Value(0), Value(1)])),
]


@pytest.mark.parametrize(("name", "loss"), LOSSES_OF_INPUTS, ids=[c[0] for c in LOSSES_OF_INPUTS])
def test_no_loss_folds_its_inputs_data_into_a_constant(name, loss):
    """Two calls on different data, every number handed in as a Value, fold the same
    constants: what a trace freezes does not depend on the data."""
    first = loss([Value(0.25), Value(-3.0)], [Value(1.0), Value(0.0)])
    second = loss([Value(7.5), Value(0.125)], [Value(-1.0), Value(1.0)])
    assert folded_constants(first) == pytest.approx(folded_constants(second), rel=1e-12)
