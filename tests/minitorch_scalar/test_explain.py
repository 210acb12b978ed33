"""explain_backward, node_names and first_nonfinite: backward's own steps, told.

explain_backward must leave exactly backward's gradients (bit for bit, on random graphs,
seeded with 0, -0.0 and nan too, with leaves holding gradients from before), list its
steps in backward's order with ``after == before + local * arriving``, and give the
article's and micrograd's lecture's worked numbers.
"""

from __future__ import annotations

import math
import random
import struct

import pytest
from scalar_article import article_program
from scalar_random_programs import MINITORCH, random_program, run

import minitorch_scalar as ms
from minitorch_scalar import Value, explain_backward, first_nonfinite, node_names


def bits(x: float | None) -> bytes | None:
    """`x` as its 8 bytes: tells -0.0 from 0.0 and one nan from another."""
    return None if x is None else struct.pack("<d", x)


def labelled_article_graph() -> dict[str, Value]:
    """The article's program at x = -2, each node labelled as the article names it."""
    x = Value(-2.0, label="x")
    nodes = {"x": x, **article_program(x)}
    for name, node in nodes.items():
        node.label = name
    return nodes


# ------------------------------------------------------------ the worked examples


def test_the_articles_steps_build_its_gradients_term_by_term():
    nodes = labelled_article_graph()
    steps = explain_backward(nodes["loss"])
    sums = {
        name: [(s.before, s.after) for s in steps if s.parent is nodes[name]]
        for name in ("x", "z", "y2")
    }
    # The article: grad(x) = 0 + 17 * 1 = 17, then 17 + 1 * (-3) = 14, then 14 + 2 * 25 = 64.
    assert sums["x"] == [(0.0, 17.0), (17.0, 14.0), (14.0, 64.0)]
    # grad(z) = 0 + (-8) * (-3) = 24 (here one step per use of z in z * z), then 24 + 1 = 25.
    assert sums["z"] == [(0.0, 12.0), (12.0, 24.0), (24.0, 25.0)]
    # The article's one step d(loss)/d(y2) = -1 + x = -3 is two: -2 from y2 * x, -1 from y1 - y2.
    assert sums["y2"] == [(0.0, -2.0), (-2.0, -3.0)]
    assert [nodes[n].grad for n in ("x", "z", "y1", "y2", "loss")] == [64.0, 25.0, 1.0, -3.0, 1.0]


def test_the_articles_walkthrough_reads_as_the_article_writes_it():
    nodes = labelled_article_graph()
    text = str(explain_backward(nodes["loss"]))
    assert text.splitlines()[0] == "backward sets loss.grad = 1, then:"
    assert "    x.grad += 17 * 1 = 17  ->  x(-2, 17)" in text.splitlines()
    assert "    z.grad += (-4) * (-3) = 12  ->  z(-4, 12)" in text.splitlines()
    assert "    x.grad += 2 * 25 = 50  ->  x(-2, 64)" in text.splitlines()
    assert "  s(16, -3) sends its gradient to its parents:" in text.splitlines()


def test_micrograds_lecture_manual_backprop():
    # The lecture's L = (a*b + c) * f at a=2, b=-3, c=10, f=-2, done by hand there:
    # dL/dd = f = -2, dL/df = d = 4, dL/dc = dL/de = -2, dL/da = -2 * b = 6, dL/db = -2 * a = -4.
    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    loss = d * f
    loss.label = "L"
    steps = explain_backward(loss)
    assert [(s.node_name, s.parent_name, s.local, s.arriving, s.after) for s in steps] == [
        ("L", "d", -2.0, 1.0, -2.0),
        ("L", "f", 4.0, 1.0, 4.0),
        ("d", "e", 1.0, -2.0, -2.0),
        ("d", "c", 1.0, -2.0, -2.0),
        ("e", "a", -3.0, -2.0, 6.0),
        ("e", "b", 2.0, -2.0, -4.0),
    ]
    assert [v.grad for v in (a, b, c, f, e, d, loss)] == [6.0, -4.0, -2.0, 4.0, -2.0, -2.0, 1.0]
    assert str(steps[4]) == "a.grad += (-3) * (-2) = 6  ->  a(2, 6)"


# ------------------------------------------------------------ the same as backward


def backward_order(root: Value) -> list[tuple[Value, Value, float]]:
    """(node, parent, local) for every edge, in the order backward's loop takes them:
    the interior nodes in reverse topological order, each node's parents in order.
    """
    return [
        (node, parent, local)
        for node in reversed(ms.topological_order(root))
        for parent, local in zip(node.parents, node.local_grads)
    ]


SEEDS = [1.0, 3.0, -0.5, 0.0, -0.0, math.nan]


@pytest.mark.parametrize("program_seed", range(40))
def test_random_graphs_same_gradients_as_backward_and_its_order(program_seed):
    rng = random.Random(program_seed)
    inputs = [rng.uniform(-2, 2) for _ in range(rng.randint(1, 5))]
    program = random_program(rng, inputs, steps=rng.randint(1, 25))
    seed = SEEDS[program_seed % len(SEEDS)]
    held = [rng.choice([0.0, None, rng.uniform(-1, 1)]) for _ in inputs]
    graphs = [run(program, inputs, MINITORCH) for _ in range(2)]
    for nodes in graphs:  # leaves hold gradients from before: both add to them alike
        for leaf, before in zip(nodes, held):
            leaf.grad = before
    plain, explained = graphs
    plain[-1].backward(seed)
    steps = explain_backward(explained[-1], seed)

    assert [bits(n.grad) for n in explained] == [bits(n.grad) for n in plain]
    expected = backward_order(explained[-1])
    assert [(s.node, s.parent, bits(s.local)) for s in steps] == [
        (node, parent, bits(local)) for node, parent, local in expected
    ]
    for step in steps:
        assert bits(step.after) == bits(step.before + step.local * step.arriving)
        assert bits(step.arriving) == bits(step.node.grad)  # final when it is sent
    assert steps.total == len(steps)
    for leaf, (before, this_call) in steps.held.items():  # added after the loop, in that order
        assert bits(this_call + before) == bits(leaf.grad)
    assert set(steps.held) == {leaf for leaf, b in zip(explained, held) if b}


def test_a_dead_relu_passes_zeros_that_are_steps_too():
    # backward skips a node whose gradient is 0 (adding 0.0 changes nothing); the steps
    # show those edges all the same, and the gradients stay backward's.
    w = Value(0.5, label="w")
    h = (w * -3.0).relu()  # dead: relu'(-1.5) = 0
    out = h * 2.0 + 1.0
    steps = explain_backward(out)
    into_w = [s for s in steps if s.parent is w]
    assert len(into_w) == 1
    assert (into_w[0].arriving, into_w[0].after) == (0.0, 0.0)
    assert len(steps) == len(backward_order(out))


def test_a_leaf_root_has_no_steps_and_takes_the_seed():
    x = Value(2.0)
    steps = explain_backward(x, 3.0)
    assert len(steps) == 0 and x.grad == 3.0
    assert str(steps) == "backward sets leaf#0.grad = 3, then:"


def test_a_root_computed_under_no_grad_is_backwards_error():
    with ms.no_grad():
        y = Value(1.0) * 2
    with pytest.raises(ValueError, match="no_grad"):
        explain_backward(y)


# ------------------------------------------------------------ into, max_steps


def test_into_keeps_the_steps_into_chosen_nodes_and_backward_runs_in_full():
    nodes = labelled_article_graph()
    everything = list(explain_backward(labelled_article_graph()["loss"]))
    chosen = explain_backward(nodes["loss"], into=[nodes["x"], nodes["y2"]])
    assert [(s.parent_name, s.after) for s in chosen] == [
        (s.parent_name, s.after) for s in everything if s.parent_name in ("x", "y2")
    ]
    assert nodes["z"].grad == 25.0


def test_a_leaf_that_held_a_gradient_is_shown_adding_it_after_the_loop():
    w = Value(0.5, label="w")
    w.grad = 2.0  # from an earlier backward, without zero_grad()
    y = w * 3.0 + w
    steps = explain_backward(y)
    assert steps.held == {w: (2.0, 4.0)} and w.grad == 6.0
    assert str(steps).splitlines()[-1] == "    w.grad = 4 + 2 = 6"
    assert "-0" not in str(explain_backward(Value(0.5) * -2.0, grad=0.0))  # -0.0 reads as 0


def test_max_steps_keeps_the_first_steps_and_backward_runs_in_full():
    nodes = labelled_article_graph()
    everything = list(explain_backward(labelled_article_graph()["loss"]))
    steps = explain_backward(nodes["loss"], max_steps=3)
    assert [(s.parent_name, s.after) for s in steps] == [
        (s.parent_name, s.after) for s in everything[:3]
    ]
    assert len(explain_backward(labelled_article_graph()["loss"], max_steps=0)) == 0
    assert nodes["x"].grad == 64.0
    assert steps.total == 14 and str(steps).endswith("(11 more steps not shown)")
    combined = explain_backward(labelled_article_graph()["loss"], into=[], max_steps=5)
    assert len(combined) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_steps": -1}, ValueError, "max_steps"),
        ({"max_steps": 2.5}, TypeError, "max_steps"),
        ({"into": Value(1.0)}, TypeError, "into"),
        ({"into": [1.0]}, TypeError, "into"),
        ({"grad": "1"}, TypeError, "grad"),
        ({"names": 5}, TypeError, "names"),
        ({"names": [("w", 1.0)]}, TypeError, "names"),
    ],
)
def test_bad_arguments_are_refused_before_backward_runs(kwargs, error, message):
    x = Value(2.0)
    y = x * x
    with pytest.raises(error, match=message):
        explain_backward(y, **kwargs)
    assert x.grad == 0.0


def test_a_compiled_steps_output_has_no_steps_to_show():
    w = Value(0.5)
    step = ms.compile(lambda x: w * x + 1.0)
    step(2.0)  # the first call traces, and gives the eager graph
    loss = step(2.0)  # later calls replay: no graph
    with pytest.raises(ValueError, match="CompiledValue with its own"):
        explain_backward(loss)
    assert w.grad == 0.0


def test_a_root_that_is_not_a_value_is_a_type_error():
    with pytest.raises(TypeError, match=r"explain_backward\(root\) expects a Value, got float"):
        explain_backward(1.0)


# ------------------------------------------------------------------------ names


def test_unnamed_nodes_are_named_by_op_and_place_in_forward_order():
    x = Value(1.0)
    y = (x * 2).relu() + x
    names = node_names(y)
    order = ms.topological_order(y)
    assert list(names) == order
    assert [names[n] for n in order] == ["leaf#0", "*#1", "relu#2", "+#3"]


def test_a_model_names_its_parameters_and_labels_win():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [2, 1], seed=0)
    loss = model([1.0, -1.0]) * 1.0
    params = dict(model.named_parameters())
    params["layers.0.bias[1]"].label = "my bias"
    names = node_names(loss, model)
    for name, value in params.items():
        assert names[value] == (value.label or name)
    steps = explain_backward(loss, names=model, into=model.parameters())
    assert {s.parent_name for s in steps} == {v.label or n for n, v in params.items()}
    assert "layers.1.weight[0, 1].grad += " in str(steps)


@pytest.mark.parametrize("form", ["pairs", "value_to_name", "name_to_value"])
def test_names_come_as_pairs_or_a_mapping(form):
    w, b = Value(0.5), Value(-1.0)
    y = w * 3.0 + b
    given = {"pairs": [("w", w), ("b", b)], "value_to_name": {w: "w", b: "b"}}
    given["name_to_value"] = {"w": w, "b": b}
    names = node_names(y, given[form])
    assert (names[w], names[b]) == ("w", "b")
    assert 'label="w\\nval 0.5  grad 0"' in ms.to_dot(y, given[form])  # the same names


# ------------------------------------------------------------------ first_nonfinite


def test_a_finite_graph_has_no_nonfinite_node():
    nodes = labelled_article_graph()
    nodes["loss"].backward()
    assert first_nonfinite(nodes["loss"]) is None


def test_an_overflow_is_found_where_it_happens_not_where_it_spreads():
    x = Value(800.0)
    e = x.exp()  # inf
    y = (e - e) * 2.0 + x  # inf - inf = nan downstream
    found = first_nonfinite(y)
    assert (found.node, found.op, found.operands, found.where) == (e, "exp", (800.0,), "value")
    assert found.index == ms.topological_order(y).index(e)
    assert str(found) == "value inf at exp#1 (operands: 800.0)"


def test_a_labelled_node_and_a_nan_leaf():
    a = Value(math.nan, label="a")
    y = a * 2.0
    assert str(first_nonfinite(y)) == "value nan at a (leaf, node 0)"
    b = Value(1e200)
    c = b * b
    c.label = "c"
    assert str(first_nonfinite(c + 1.0)) == "value inf at c (*, node 1; operands: 1e+200, 1e+200)"


def test_a_nonfinite_gradient_is_traced_to_the_step_that_made_it():
    w = Value(0.0, label="w")
    root = (w**0.5) * 3.0 + w  # d(w^0.5)/dw = inf at 0
    root.backward()
    found = first_nonfinite(root)
    assert (found.node, found.where, found.name) == (w, "grad", "w")
    assert "d(**#1)/d(w) * grad(**#1) = inf * 3.0" in str(found)


def test_a_gradient_that_overflows_in_a_product_and_a_nan_seed():
    x = Value(2.0)
    y = x * 1e300  # finite, with a local derivative of 1e300
    y.backward(1e10)  # 1e300 * 1e10 overflows
    found = first_nonfinite(y)
    assert (found.node, found.where) == (x, "grad")
    assert "1e+300 * 10000000000.0" in found.cause
    z = Value(1.0) * 2.0
    z.backward(math.nan)
    assert first_nonfinite(z).cause == "the seed"
