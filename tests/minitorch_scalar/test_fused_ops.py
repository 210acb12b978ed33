"""sum() and dot(): one node each, numbers folded, gradients, and every mix of inputs."""

import math
import random
import struct
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch_scalar as ms
from minitorch_scalar import Value, gradcheck


def interior_nodes(root: Value) -> list[Value]:
    """Every node with an op that `root` depends on (an explicit stack, no recursion)."""
    found, stack, seen = [], [root], {root}
    while stack:
        node = stack.pop()
        if node.op:
            found.append(node)
        for parent in node.parents:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return found


def edge_counts(node: Value) -> Counter:
    """How many edges go from `node` to each parent (by identity)."""
    return Counter(map(id, node.parents))


# ---------------------------------------------------------------------------- sum


def test_sum_of_values_is_one_node_with_every_term_as_parent() -> None:
    terms = [Value(float(i)) for i in range(1, 11)]
    s = ms.sum(terms)
    assert s.data == 55.0
    assert (s.op, len(interior_nodes(s))) == ("sum", 1)
    assert edge_counts(s) == Counter(map(id, terms))
    assert s.local_grads == (1.0,) * 10
    s.backward()
    assert [t.grad for t in terms] == [1.0] * 10


def test_sum_folds_numbers_into_the_value_and_keeps_only_values_as_parents() -> None:
    a, b = Value(1.5), Value(-4.0)
    s = ms.sum([a, 2, np.float64(0.25), b, np.int64(3)], start=10)
    assert s.data == 1.5 + 2 + 0.25 - 4.0 + 3 + 10
    assert edge_counts(s) == Counter(map(id, [a, b]))


def test_sum_with_a_value_start() -> None:
    start, a = Value(100.0), Value(1.0)
    s = ms.sum([a, 2.0], start=start)
    assert s.data == 103.0
    assert edge_counts(s) == Counter(map(id, [start, a]))
    s.backward()
    assert (start.grad, a.grad) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("values", "start", "expected"),
    [([], 0.0, 0.0), ([], 2.5, 2.5), ([1, 2.5], 0.0, 3.5), (np.array([0.5, 1.0, 2.0]), 1, 4.5)],
    ids=["empty", "empty with start", "numbers", "numpy array"],
)
def test_sum_of_constants_only_is_a_leaf_holding_the_constant(values, start, expected) -> None:
    s = ms.sum(values, start=start)
    assert (s.data, s.op, s.parents) == (expected, "", ())


def test_sum_of_a_numpy_array_plus_a_value() -> None:
    a = Value(1.0)
    s = ms.sum(np.array([0.5, 1.5]), start=a)
    assert (s.data, s.parents) == (3.0, (a,))


def test_sum_accumulates_the_gradient_of_a_repeated_value() -> None:
    a, b = Value(2.0), Value(3.0)
    s = ms.sum([a, b, a, a])
    s.backward()
    assert (s.data, a.grad, b.grad) == (9.0, 3.0, 1.0)


def test_sum_adds_left_to_right_as_micrograd_on_every_python() -> None:
    """1e16 + 1 + 1 rounds each 1 away; 1 + 1 + 1e16 keeps both (Python >= 3.12's
    sum() would keep them in either order: it compensates roundings)."""
    big, one = Value(1e16), Value(1.0)
    assert ms.sum([big, one, one]).data == (big + one + one).data == 1e16
    assert ms.sum([one, one, big]).data == (one + one + big).data == 1e16 + 2.0


def test_sum_takes_any_iterable_once() -> None:
    a, b = Value(2.0), Value(3.0)
    assert ms.sum(v * v for v in (a, b)).data == 13.0


def test_sum_gradient_passes_gradcheck() -> None:
    xs = [Value(v) for v in (0.5, -1.0, 2.0)]
    assert gradcheck(lambda a, b, c: ms.sum([a * b, b * c, 3.0, c.tanh()], start=a), xs)


# ---------------------------------------------------------------------------- dot

W, X, BIAS = [1.5, -2.0, 0.5], [4.0, 0.25, -3.0], 0.75
DOT = BIAS + 1.5 * 4.0 + -2.0 * 0.25 + 0.5 * -3.0  # = 4.75, written out
assert DOT == 4.75


def _as_kind(numbers: list[float], kind: str) -> list:
    """The same numbers as Values, floats, ints, a numpy array, or a Value/number mix."""
    if kind == "Values":
        return [Value(n) for n in numbers]
    if kind == "floats":
        return list(numbers)
    if kind == "numpy":
        return np.array(numbers)
    if kind == "numpy scalars":
        return [np.float64(n) for n in numbers]
    return [Value(n) if i % 2 == 0 else n for i, n in enumerate(numbers)]  # "mixed"


def _bias_as_kind(kind: str):
    return {"None": None, "float": BIAS, "numpy": np.float64(BIAS), "Value": Value(BIAS)}[kind]


KINDS = ["Values", "floats", "numpy", "numpy scalars", "mixed"]


def _dot_mix_params() -> list:
    params = []
    for weights_kind in KINDS:
        for inputs_kind in KINDS:
            for bias_kind in ("None", "float", "numpy", "Value"):
                ids = f"w={weights_kind}, x={inputs_kind}, bias={bias_kind}"
                params.append(pytest.param(weights_kind, inputs_kind, bias_kind, id=ids))
    return params


@pytest.mark.parametrize(("weights_kind", "inputs_kind", "bias_kind"), _dot_mix_params())
def test_dot_value_gradients_and_parents_for_every_mix(weights_kind, inputs_kind, bias_kind):
    """d = bias + sum w_i x_i;  dd/dw_i = x_i, dd/dx_i = w_i, dd/dbias = 1."""
    weights, inputs = _as_kind(W, weights_kind), _as_kind(X, inputs_kind)
    bias = _bias_as_kind(bias_kind)
    d = ms.dot(weights, inputs, bias)
    assert d.data == (DOT if bias_kind != "None" else DOT - BIAS)

    nodes = [v for v in (*weights, *inputs, bias) if type(v) is Value]
    assert edge_counts(d) == Counter(map(id, nodes))  # numbers are never parents
    assert d.op == ("dot" if nodes else "")
    d.backward()
    for w, x, w_num, x_num in zip(weights, inputs, W, X):
        if type(w) is Value:
            assert w.grad == x_num
        if type(x) is Value:
            assert x.grad == w_num
    if type(bias) is Value:
        assert bias.grad == 1.0


@pytest.mark.parametrize("n", [1, 7, 64])
def test_a_dot_of_n_pairs_is_one_node_with_the_pairs_and_bias_as_parents(n: int) -> None:
    weights = [Value(0.1 * i) for i in range(n)]
    inputs = [Value(1.0 - 0.2 * i) for i in range(n)]
    bias = Value(0.5)
    d = ms.dot(weights, inputs, bias).relu()
    assert [node.op for node in interior_nodes(d)] == ["relu", "dot"]
    node = d.parents[0]
    assert edge_counts(node) == Counter(map(id, [*weights, *inputs, bias]))
    local = {(id(p), g) for p, g in zip(node.parents, node.local_grads)}
    expected = {(id(w), x.data) for w, x in zip(weights, inputs)}
    expected |= {(id(x), w.data) for w, x in zip(weights, inputs)} | {(id(bias), 1.0)}
    assert local == expected


def test_dot_with_values_on_both_sides_gives_w_to_x_and_x_to_w() -> None:
    w = [Value(2.0), Value(-1.0)]
    x = [Value(0.5), Value(3.0)]
    ms.dot(w, x).backward()
    assert [v.grad for v in w] == [0.5, 3.0]
    assert [v.grad for v in x] == [2.0, -1.0]


def test_dot_accumulates_the_gradient_of_a_repeated_value() -> None:
    w1, w2, x = Value(2.0), Value(5.0), Value(3.0)
    d = ms.dot([w1, w2], [x, x])
    d.backward()
    assert (d.data, x.grad, w1.grad, w2.grad) == (21.0, 7.0, 3.0, 3.0)
    y = Value(3.0)
    square = ms.dot([y], [y])  # y * y as a dot
    square.backward()
    assert (square.data, y.grad) == (9.0, 6.0)


def test_dot_of_int_inputs_on_the_fast_path() -> None:
    w = [Value(0.5), Value(2.0)]
    d = ms.dot(w, [3, -1])
    d.backward()
    assert (d.data, w[0].grad, w[1].grad) == (-0.5, 3.0, -1.0)
    assert all(type(g) is float for g in d.local_grads)


@pytest.mark.parametrize("bias", [None, 2.5, Value(2.5)], ids=["None", "number", "Value"])
def test_dot_of_empty_sequences_is_the_bias(bias) -> None:
    d = ms.dot([], [], bias)
    assert d.data == (0.0 if bias is None else 2.5)
    assert d.parents == (() if type(bias) is not Value else (bias,))


@pytest.mark.parametrize("inputs_kind", ["Values", "floats", "mixed"])
def test_a_dot_lists_its_bias_then_its_weights_then_its_inputs(inputs_kind) -> None:
    w = [Value(2.0), Value(-3.0)]
    x = _as_kind([0.5, 4.0], inputs_kind)
    b = Value(0.25)
    d = ms.dot(w, x, b)
    input_nodes = [v for v in x if type(v) is Value]
    assert d.parents == (b, *w, *input_nodes)
    x_data = [float(v) for v in x]
    w_data_of_inputs = [wi.data for wi, xi in zip(w, x) if type(xi) is Value]
    assert d.local_grads == (1.0, *x_data, *w_data_of_inputs)


@pytest.mark.parametrize("weights_kind", ["Values", "mixed"])
def test_dot_length_mismatch_is_a_value_error_and_builds_nothing(weights_kind) -> None:
    weights = _as_kind([1.0, 2.0], weights_kind)
    with pytest.raises(ValueError, match="2 weights and 3 inputs"):
        ms.dot(weights, [1.0, 2.0, 3.0])
    assert all(v.grad == 0.0 for v in weights if type(v) is Value)


def test_dot_gradient_passes_gradcheck() -> None:
    values = [Value(v) for v in (0.5, -1.5, 2.0, 0.25, -0.75)]

    def neuron(w0: Value, w1: Value, x0: Value, x1: Value, b: Value) -> Value:
        return ms.dot([w0, w1, 0.5], [x0, x1, w0], bias=b).tanh()

    assert gradcheck(neuron, values)


def test_fused_ops_equal_the_chained_ops() -> None:
    w = [Value(v) for v in (0.3, -1.2, 2.2)]
    x = [Value(v) for v in (1.1, 0.4, -0.6)]
    fused = ms.dot(w, x, bias=w[0]) + ms.sum(x)
    fused.backward()
    fused_grads = [v.grad for v in (*w, *x)]
    for v in (*w, *x):
        v.grad = 0.0
    chained = w[0] + w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + (x[0] + x[1] + x[2])
    chained.backward()
    assert fused.data == pytest.approx(chained.data, rel=1e-15)
    assert fused_grads == pytest.approx([v.grad for v in (*w, *x)], rel=1e-15)


# ------------------------------------------------------------------------- linear


@pytest.mark.parametrize("inputs_kind", ["Values", "floats", "mixed"])
@pytest.mark.parametrize("bias_kind", ["None", "float", "Value"])
def test_linear_builds_exactly_the_nodes_of_one_dot_per_row(inputs_kind, bias_kind) -> None:
    rows = [[Value(0.5 * r - 0.25 * c) for c in range(3)] for r in range(4)]
    inputs = _as_kind([1.5, -2.0, 0.25], inputs_kind)
    biases = [_bias_as_kind(bias_kind) for _ in rows]
    layer = ms.linear(rows, inputs, biases)
    singles = [ms.dot(row, inputs, bias) for row, bias in zip(rows, biases)]
    for node, single, row, bias in zip(layer, singles, rows, biases):
        expected = sum(w.data * float(x) for w, x in zip(row, inputs))
        expected += 0.0 if bias is None else float(bias)
        assert node.data == pytest.approx(expected, rel=1e-15)
        assert (node.op, node.data) == (single.op, single.data)
        assert node.parents == single.parents
        assert node.local_grads == single.local_grads


def test_linear_gradients_pass_gradcheck_with_shared_inputs() -> None:
    def two_neurons(w00, w01, w10, w11, b0, b1, x0, x1):
        h = ms.linear([[w00, w01], [w10, w11]], [x0, x1], [b0, b1])
        return (h[0].tanh() * h[1].sigmoid()) + x0 * h[1]

    values = [0.3, -0.7, 1.1, 0.2, 0.05, -0.4, 0.9, -1.3]
    assert gradcheck(two_neurons, [Value(v) for v in values])


def test_linear_rejects_a_row_of_the_wrong_width_naming_the_row() -> None:
    rows = [[Value(1.0), Value(2.0)], [Value(3.0)]]
    with pytest.raises(ValueError, match=r"rows of 2 weights.*got 1 in row 1"):
        ms.linear(rows, [1.0, 2.0])


def test_linear_rejects_a_bias_count_that_is_not_one_per_row() -> None:
    rows = [[Value(1.0)], [Value(2.0)]]
    with pytest.raises(ValueError, match=r"one bias per row.*got 1 biases for 2 rows"):
        ms.linear(rows, [1.0], [Value(0.0)])


def test_linear_rejects_a_bias_that_is_not_a_number() -> None:
    with pytest.raises(TypeError, match=r"dot expects Values or real numbers, got str at bias"):
        ms.linear([[Value(1.0)]], [2.0], ["0"])


def test_linear_batch_is_linear_on_each_input() -> None:
    rows = [[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.25)]]
    biases = [Value(0.1), None]
    inputs = [[1.0, 2.0], [Value(-0.5), Value(3.0)], [0, 4]]
    batch = ms.linear_batch(rows, inputs, biases)
    for nodes, x in zip(batch, inputs):
        singles = ms.linear(rows, x, biases)
        assert [(n.data, n.parents, n.local_grads) for n in nodes] == [
            (n.data, n.parents, n.local_grads) for n in singles
        ]


def test_linear_batch_names_the_row_that_does_not_fit_an_input() -> None:
    rows = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
    with pytest.raises(ValueError, match=r"rows of 3 weights.*got 2 in row 0"):
        ms.linear_batch(rows, [[1.0, 2.0], [1.0, 2.0, 3.0]])


def test_linear_batch_of_no_inputs_is_empty() -> None:
    assert ms.linear_batch([[Value(1.0)]], []) == []


# ------------------------------------------- the fast path against the reference `dot`


def _bits(x: float) -> bytes | str:
    """The float's eight bytes, to compare values bit for bit; "nan" for any nan, whose
    payload C leaves to the compiler (it may swap the operands of a product)."""
    return "nan" if math.isnan(x) else struct.pack("<d", x)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_batch_has_the_bits_of_the_reference_dot_for_each_row_and_input(data) -> None:
    """`linear_batch`, the fast path, gives every node the bits, parents and local
    derivatives of `dot` on its row and input alone, inf, nan and subnormals included,
    for inputs of Values, of numbers, or a mix."""
    n_rows = data.draw(st.integers(1, 6), "rows")
    width = data.draw(st.integers(1, 5), "width")
    n_inputs = data.draw(st.integers(1, 12), "inputs")
    numbers = st.floats(width=64)  # any double: inf, nan, subnormals, huge
    rows = [[Value(data.draw(numbers)) for _ in range(width)] for _ in range(n_rows)]
    biases = [data.draw(st.sampled_from([None, Value(data.draw(numbers))])) for _ in rows]
    kind = data.draw(st.sampled_from(["values", "numbers", "mixed"]), "inputs")
    inputs = [
        [
            Value(x) if kind == "values" or (kind == "mixed" and i % 2) else x
            for i, x in enumerate(data.draw(st.lists(numbers, min_size=width, max_size=width)))
        ]
        for _ in range(n_inputs)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch = ms.linear_batch(rows, inputs, biases)
    for nodes, x in zip(batch, inputs):
        singles = [ms.dot(row, x, bias) for row, bias in zip(rows, biases)]
        assert [_bits(node.data) for node in nodes] == [_bits(single.data) for single in singles]
        assert [node.parents for node in nodes] == [single.parents for single in singles]
        assert [list(map(_bits, node.local_grads)) for node in nodes] == [
            list(map(_bits, single.local_grads)) for single in singles
        ]


def test_a_large_batch_sums_each_dot_left_to_right_from_its_bias() -> None:
    """1e16 + 1 + 1 is 1e16 added left to right (each 1 is lost to rounding), while
    1 + 1 + 1e16 is 1e16 + 2: the order is the scalar sum's, bias first."""
    rows = [[Value(1.0), Value(1.0)], [Value(1.0), Value(1e16)]]
    biases = [Value(1e16), Value(1.0)]
    inputs = [[1.0, 1.0]] * 20
    for nodes in ms.linear_batch(rows, inputs, biases):
        assert [node.data for node in nodes] == [1e16, 1e16 + 2.0]


@pytest.mark.parametrize("n_inputs", [1, 40])  # 2 rows x 40 inputs: a numpy-sized batch
def test_a_row_mixing_values_and_numbers_builds_the_reference_dots(n_inputs: int) -> None:
    rows = [[Value(0.5), 2.0, Value(-1.0)], [Value(1.5), Value(2.5), Value(3.5)]]
    biases = [Value(0.25), 1.0]
    inputs = [[Value(float(s)), 1.0, 3.0] for s in range(n_inputs)]
    batch = ms.linear_batch(rows, inputs, biases)
    for nodes, x in zip(batch, inputs):
        reference = [ms.dot(row, x, bias) for row, bias in zip(rows, biases)]
        assert [(n.data, n.parents, n.local_grads) for n in nodes] == [
            (r.data, r.parents, r.local_grads) for r in reference
        ]


@pytest.mark.parametrize("inputs_are_values", [True, False])
def test_a_batch_summed_by_numpy_has_the_bits_of_the_reference_dot(inputs_are_values) -> None:
    """16 rows x 10 inputs is past VECTORISED_FROM: the values come from numpy's sums."""
    from minitorch_scalar.fast_linear import VECTORISED_FROM

    rng = random.Random(5)
    rows = [
        [Value(rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8)) for _ in range(7)]
        for _ in range(16)
    ]
    biases = [Value(rng.uniform(-1e8, 1e8)) for _ in rows]
    inputs = [
        [Value(rng.gauss(0, 1e4)) if inputs_are_values else rng.gauss(0, 1e4) for _ in range(7)]
        for _ in range(10)
    ]
    assert len(rows) * len(inputs) >= VECTORISED_FROM
    for nodes, x in zip(ms.linear_batch(rows, inputs, biases), inputs):
        reference = [ms.dot(row, x, bias) for row, bias in zip(rows, biases)]
        assert [_bits(n.data) for n in nodes] == [_bits(r.data) for r in reference]
        assert [n.parents for n in nodes] == [r.parents for r in reference]
