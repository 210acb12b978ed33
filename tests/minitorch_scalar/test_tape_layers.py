"""The tape's regrouping of a layer's dot nodes (`compiler.tape.layer_records`).

The tracer hears every node one by one, and finds a layer on a batch again: each run
of consecutive dot nodes that share their input becomes one record, whose rows are
found once. A record replays its nodes from its rows and inputs, so a record that
does not hold exactly each node's operands would be a wrong answer with no error.
These tests hold, for random mixes of layers, single dots and other ops:

- the records and the nodes left as they are give back every node heard, in order;
- each record's node j was made of exactly its row j and the record's input (the very
  objects, by identity), a zero's sign and a nan included;
- a layer on a batch (two rows or more) is regrouped, input by input;
- the compiled function gives the eager values and gradients to the bit.
"""

import gc
import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorch_scalar as ms
from minitorch_scalar import Value
from minitorch_scalar.compiler.tape import (
    NO_BIAS,
    LayerInput,
    _values_compare_by_identity,
    layer_records,
)
from minitorch_scalar.grad_mode import listening


class PlainSubclass(Value):
    """A subclass of Value that keeps Value's == (identity): the quick comparison holds."""

    __slots__ = ()


@pytest.fixture
def equal_to_everyone():
    """A subclass of Value whose == says True to anything, for one test. While it exists
    the regrouping compares by `is`; it is collected after the test, so that every other
    test runs with the quick comparison (== on tuples) on."""
    made = {}

    class EqualToEveryone(Value):
        __slots__ = ()
        __hash__ = Value.__hash__

        def __eq__(self, other: object) -> bool:
            return True

    made["class"] = EqualToEveryone
    del EqualToEveryone
    yield made
    made.clear()
    gc.collect()
    assert _values_compare_by_identity(), "the class outlived its test"


def heard_while(fn) -> list[tuple]:
    heard: list[tuple] = []
    with listening(lambda node, operands: heard.append((node, operands))):
        fn()
    return heard


def flattened(made: list) -> list:
    """The nodes of `made`, each record's nodes in its place."""
    nodes = []
    for item in made:
        nodes.extend(item.nodes if type(item) is LayerInput else [item[0]])
    return nodes


def assert_records_hold_their_nodes(heard: list[tuple], made: list) -> None:
    assert [id(n) for n in flattened(made)] == [id(n) for n, _ in heard]
    operands_of = {id(node): operands for node, operands in heard}
    for item in made:
        if type(item) is not LayerInput:
            assert item[1] is operands_of[id(item[0])]
            continue
        assert len(item.nodes) == len(item.rows)
        for node, row in zip(item.nodes, item.rows):
            operands = operands_of[id(node)]
            assert node.op == "dot"
            made_of = (*row, *item.inputs)
            if len(operands) != len(made_of):  # a dot given no bias: the row starts NO_BIAS
                assert row[0] is NO_BIAS
                made_of = made_of[1:]
            assert len(operands) == len(made_of)
            assert all(a is b for a, b in zip(operands, made_of)), (operands, made_of)


def bits(x: float):
    return "nan" if math.isnan(x) else struct.pack("<d", x)


NUMBERS = st.sampled_from([0.0, -0.0, 1.5, -2.0, float("nan"), 3.0])


@st.composite
def layer_programs(draw):
    """A function of a few leaves that calls layers, single dots and other ops."""
    width = draw(st.integers(1, 3))
    kind = draw(st.sampled_from([Value, PlainSubclass]))
    leaf_data = draw(st.lists(st.floats(-2, 2), min_size=12, max_size=12))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        rows = draw(st.integers(1, 3))
        bias = draw(st.sampled_from(["value", "number", "none", "shared"]))
        layers.append((rows, bias, draw(NUMBERS)))
    calls = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(layers) - 1),  # which layer
                st.sampled_from(["batch", "per sample", "dot by dot", "sum alike"]),
                st.integers(1, 3),  # batch size
                st.sampled_from(["values", "numbers", "mixed", "same"]),
                st.booleans(),  # a relu after
            ),
            min_size=1,
            max_size=5,
        )
    )
    return width, kind, leaf_data, layers, calls, draw(NUMBERS)


def program_of(width, kind, leaf_data, layers, calls, number):
    """(leaves, fn): fn builds the program's graph and returns its one output."""
    leaves = [kind(x) for x in leaf_data]
    pool = iter(leaves * 8)
    made_layers = []
    for rows, bias, bias_number in layers:
        weights = [[next(pool) for _ in range(width)] for _ in range(rows)]
        shared = next(pool)
        biases = {
            "value": [next(pool) for _ in range(rows)],
            "number": [bias_number] * rows,
            "none": None,
            "shared": [shared] * rows,
        }[bias]
        made_layers.append((weights, biases))
    inputs_of = {
        "values": lambda s: [leaves[(s + i) % len(leaves)] for i in range(width)],
        "numbers": lambda s: [number if i % 2 else 0.5 + s for i in range(width)],
        "mixed": lambda s: [leaves[s % len(leaves)], *([number] * (width - 1))],
        "same": lambda s: [leaves[0]] * width,
    }

    def fn():
        outs = []
        for layer, how, batch, inputs_kind, relu in calls:
            weights, biases = made_layers[layer]
            xs = [inputs_of[inputs_kind](s) for s in range(batch)]
            if how == "batch":
                nodes = [n for row in ms.linear_batch(weights, xs, biases) for n in row]
            elif how == "per sample":
                nodes = [n for x in xs for n in ms.linear(weights, x, biases)]
            elif how == "dot by dot":
                bs = biases or [None] * len(weights)
                nodes = [ms.dot(w, x, b) for x in xs for w, b in zip(weights, bs)]
            else:  # a sum of the very operands a dot would have: not a dot
                nodes = [ms.sum([*w, *x], start=0.5) for x in xs for w in weights]
            outs += [n.relu() if relu else n for n in nodes]
        return ms.sum(outs)

    return leaves, fn


def test_the_test_session_compares_operands_the_quick_way() -> None:
    """No Value class of the tests turns the quick comparison off: the tests exercise
    the way every user's trace takes."""
    assert _values_compare_by_identity()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_programs())
def test_every_record_holds_exactly_its_nodes_operands(program) -> None:
    assert _values_compare_by_identity()  # (== on tuples, where no zero is among them)
    _, fn = program_of(*program)
    heard = heard_while(fn)
    assert_records_hold_their_nodes(heard, layer_records(heard))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(program=layer_programs())
def test_records_hold_their_nodes_whatever_a_values_equality_says(
    program, equal_to_everyone
) -> None:
    assert not _values_compare_by_identity()  # (`is`, item by item)
    width, _, *rest = program
    _, fn = program_of(width, equal_to_everyone["class"], *rest)
    heard = heard_while(fn)
    assert_records_hold_their_nodes(heard, layer_records(heard))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_programs())
def test_a_compiled_program_of_layers_gives_eager_bits(program) -> None:
    leaves, fn = program_of(*program)
    eager = fn()
    eager.backward()
    expected = [eager.data, *(leaf.grad for leaf in leaves)]
    for leaf in leaves:
        leaf.grad = 0.0
    compiled = ms.compile(fn)()
    compiled.backward()
    got = [compiled.data, *(leaf.grad for leaf in leaves)]
    assert list(map(bits, got)) == list(map(bits, expected))


def test_a_layer_on_a_batch_is_one_record_per_input() -> None:
    weights = [[Value(0.5), Value(-1.0)] for _ in range(3)]
    biases = [Value(0.1) for _ in range(3)]
    xs = [[Value(1.0), Value(2.0)] for _ in range(4)]
    heard = heard_while(lambda: ms.linear_batch(weights, xs, biases))
    made = layer_records(heard)
    assert [type(item) for item in made] == [LayerInput] * 4
    assert all(item.rows is made[0].rows for item in made)  # the rows found once
    assert [item.inputs for item in made] == [tuple(x) for x in xs]
    assert_records_hold_their_nodes(heard, made)


def test_rows_whose_bias_differs_by_the_sign_of_zero_are_two_layers() -> None:
    """0.0 == -0.0, but a bias of -0.0 and one of 0.0 are different constants."""
    weights = [[Value(1.0)], [Value(2.0)]]
    x, y = [Value(-0.0)], [Value(0.0)]

    def fn():
        first = ms.linear(weights, x, [-0.0, -0.0])
        second = ms.linear(weights, y, [0.0, 0.0])
        return first, second

    heard = heard_while(fn)
    made = layer_records(heard)
    assert_records_hold_their_nodes(heard, made)
    records = [item for item in made if type(item) is LayerInput]
    assert len(records) == 2 and records[0].rows is not records[1].rows
    assert [bits(row[0]) for row in records[0].rows] == [bits(-0.0)] * 2
    assert [bits(row[0]) for row in records[1].rows] == [bits(0.0)] * 2


def test_a_value_class_with_its_own_equality_is_compared_by_identity(equal_to_everyone):
    """Rows of other weights with the same first operand are not the same rows,
    whatever their == says."""
    kind, bias = equal_to_everyone["class"], Value(0.0)
    first = [[kind(1.0)], [kind(2.0)]]
    other = [[kind(3.0)], [kind(4.0)]]
    x, y = [Value(1.0)], [Value(2.0)]

    def fn():
        return ms.linear(first, x, [bias, bias]) + ms.linear(other, y, [bias, bias])

    heard = heard_while(fn)
    made = layer_records(heard)
    assert_records_hold_their_nodes(heard, made)
    records = [item for item in made if type(item) is LayerInput]
    assert len(records) == 2 and records[0].rows is not records[1].rows
