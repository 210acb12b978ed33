"""Contracts of the reference engine that are easy to break without noticing: micrograd's
view of a node, custom ops, max and select, subclasses, and the small promises of the
API (argument checks, orders, the collector pause)."""

import gc
import math
import operator

import pytest

import minitorch_scalar as ms
from minitorch_scalar import GradcheckError, Value, custom_op

# ------------------------------------------------------------- micrograd's view


def test_prev_and_op_are_micrograds_view_of_parents_and_op() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    assert c._prev == {a, b} and c._op == "*"
    d = c * c  # the same parent twice: a set of one, as micrograd's
    assert d._prev == {c} and d.parents == (c, c)
    assert a._prev == set() and a._op == ""


def test_the_micrograd_view_is_read_only() -> None:
    c = Value(2.0) * 3
    with pytest.raises(AttributeError):
        c._prev = set()
    with pytest.raises(AttributeError):
        c._op = "+"


def test_backward_by_hand_node_by_node_gives_what_backward_gives() -> None:
    """The lecture's manual backprop: set the root's grad to 1, then call _backward()
    on each node from the root down (reverse topological order)."""

    def article_program():
        x = Value(-2.0)
        z = 2 * x
        y1 = z + 5
        y2 = (z * z).relu() + x + 3
        return x, z, y1, y2, y1 - y2 + y2 * x

    *by_hand, loss = article_program()
    loss.grad = 1.0
    for node in reversed(ms.topological_order(loss)):
        node._backward()
    *automatic, loss2 = article_program()
    loss2.backward()
    assert [v.grad for v in by_hand] == [v.grad for v in automatic] == [64.0, 25.0, 1.0, -3.0]


def test_backward_of_a_single_node_pushes_its_grad_along_each_local_derivative() -> None:
    a, b = Value(3.0), Value(4.0)
    c = a * b
    c.grad = 2.0
    c._backward()
    assert (a.grad, b.grad) == (8.0, 6.0)  # d(ab)/da * 2 = b * 2


def test_micrograds_graph_helper_runs_unchanged() -> None:
    """micrograd's trace_graph notebook walks `_prev` recursively and reads `_op`."""

    def trace(root):
        nodes, edges = set(), set()

        def build(v):
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)

        build(root)
        return nodes, edges

    x = Value(1.0)
    y = (x * 2 + 1).relu()
    nodes, edges = trace(y)
    assert len(nodes) == 4 and len(edges) == 3
    assert sorted(n._op for n in nodes) == ["", "*", "+", "relu"]


# --------------------------------------------------------------- custom ops


@custom_op("softplus")
def softplus(a: float) -> tuple[float, tuple[float]]:
    """softplus(a) = ln(1 + e^a);  d/da = 1 / (1 + e^-a)."""
    return math.log1p(math.exp(a)), (1.0 / (1.0 + math.exp(-a)),)


@custom_op("hypot")
def hypot(a: float, b: float) -> tuple[float, tuple[float, float]]:
    """sqrt(a^2 + b^2);  d/da = a / h, d/db = b / h."""
    h = math.hypot(a, b)
    return h, (a / h, b / h)


def test_a_custom_op_is_a_node_with_its_rule_value_and_derivatives() -> None:
    x = Value(0.5)
    y = softplus(x)
    assert (y.op, y.parents) == ("softplus", (x,))
    assert y.data == math.log1p(math.exp(0.5))
    assert y.local_grads == (1.0 / (1.0 + math.exp(-0.5)),)
    assert softplus.__doc__.startswith("softplus(a)")  # the rule's docstring is the op's


@pytest.mark.parametrize("point", [-3.0, -0.2, 0.0, 1.7])
def test_custom_ops_pass_gradcheck(point: float) -> None:
    a, b = Value(point), Value(2.0)
    assert ms.gradcheck(lambda a, b: softplus(a * b) + hypot(a, b) * a, [a, b])


def test_a_custom_op_takes_numbers_as_constants() -> None:
    x = Value(3.0)
    h = hypot(x, 4.0)
    assert (h.data, h.parents, h.local_grads) == (5.0, (x,), (0.6,))
    assert hypot(3.0, 4.0).parents == ()  # no Value: a constant leaf


def test_a_custom_op_whose_rule_lies_about_its_shape_says_so() -> None:
    @custom_op("bad")
    def bad(a: float) -> tuple[float, tuple[float, ...]]:
        return a, (1.0, 2.0)

    with pytest.raises(ValueError, match="2 derivatives for 1 operands"):
        bad(Value(1.0))
    with pytest.raises(TypeError, match="expects a str"):
        custom_op(3)


# -------------------------------------------------------------- max and select


def test_max_gives_its_gradient_to_the_first_largest_only() -> None:
    a, b, c = Value(1.0), Value(3.0), Value(3.0)
    m = ms.max([a, b, c])
    assert (m.data, m.parents, m.local_grads) == (3.0, (a, b, c), (0.0, 1.0, 0.0))
    (m * 2).backward()
    assert (a.grad, b.grad, c.grad) == (0.0, 2.0, 0.0)


def test_max_of_nothing_or_of_numbers_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ms.max([])
    with pytest.raises(TypeError, match="expects Values"):
        ms.max([Value(1.0), 2.0])


def test_select_picks_and_only_the_picked_gets_a_gradient() -> None:
    values = [Value(5.0), Value(-2.0), Value(7.0)]
    s = ms.select(values, 1)
    assert (s.data, s.parents, s.local_grads) == (-2.0, tuple(values), (0.0, 1.0, 0.0))
    (s * 3.0).backward()
    assert [v.grad for v in values] == [0.0, 3.0, 0.0]


def test_a_value_index_of_select_is_a_parent_of_derivative_zero() -> None:
    """d select / d index is 0 wherever it exists (a step function, flat between the
    integers): the index is a parent, as a relu's input below 0, and gets 0."""
    values, index = [Value(5.0), Value(-2.0), Value(7.0)], Value(1.0)
    s = ms.select(values, index)
    assert (s.data, s.parents) == (-2.0, (*values, index))
    assert s.local_grads == (0.0, 1.0, 0.0, 0.0)
    (s * 3.0).backward()
    assert [v.grad for v in values] == [0.0, 3.0, 0.0] and index.grad == 0.0


def test_every_ops_parents_are_the_values_among_its_operands_in_order() -> None:
    """The class of bug: an op naming parents other than the Values it was called with
    (a constant as a parent, a Value left out, the order changed). Every op, heard
    through the engine's one hook, with constants on either side."""
    from minitorch_scalar.engine import values_among
    from minitorch_scalar.grad_mode import listening

    x, y, label = Value(1.5), Value(2.0), Value(1.0)
    heard: list = []
    square = ms.custom_op("square_it")(lambda a: (a * a, (2 * a,)))
    with listening(lambda node, operands: heard.append((node, operands))):
        for a, b in [(x, y), (x, 3.0), (3.0, x)]:
            for op in (operator.add, operator.sub, operator.mul, operator.truediv, operator.pow):
                op(a, b)
        (-x, x.relu(), x.tanh(), x.exp(), x.log(), x.sigmoid(), square(x), square(2.0 + x))
        ms.sum([x, 2.0, y], start=1.0), ms.sum([x, y], start=x), ms.dot([x, 2.0], [3.0, y])
        ms.dot([x, y], [y, x], bias=x), ms.max([x, y]), ms.select([x, y], 1)
        ms.select([x, y], label)
    assert len(heard) > 30
    for node, operands in heard:
        parents = values_among(operands)
        assert node.parents == parents, (node.op, operands)
        assert len(node.local_grads) == len(parents), node.op


@pytest.mark.parametrize(
    ("index", "error"),
    [
        (3, IndexError),
        (-1, IndexError),
        (1.5, TypeError),
        (Value(0.5), TypeError),
        (True, TypeError),
    ],
)
def test_select_rejects_an_index_that_is_not_a_valid_integer(index, error) -> None:
    with pytest.raises(error):
        ms.select([Value(1.0), Value(2.0), Value(3.0)], index)


# ------------------------------------------------------------------- subclasses


class Named(Value):
    """A user's subclass, as a tutorial might write one."""

    __slots__ = ()


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**b,
        lambda a, b: ms.dot([a], [b], a),
        lambda a, b: ms.sum([a, b]),
    ],
)
def test_values_and_subclasses_mix_in_every_op(op) -> None:
    a, b = Value(1.5), Named(2.0)
    for left, right in ((a, b), (b, a)):
        out = op(left, right)
        assert set(out.parents) <= {a, b} and out.parents
        out.backward()


def test_a_value_has_no_instance_dict() -> None:
    with pytest.raises(AttributeError):
        Value(1.0).__dict__  # noqa: B018 - __slots__: small nodes, and no typo'd attributes
    with pytest.raises(AttributeError):
        Value(1.0).gard = 2.0


# ------------------------------------------------------ small promises of the API


def test_sum_with_a_value_start_puts_it_first_in_parents_and_in_the_additions() -> None:
    start, a = Value(1e16), Value(1.0)
    s = ms.sum([a, 1.0], start=start)
    assert s.parents == (start, a)
    assert s.data == 1e16  # (1e16 + 1) + 1, each 1 lost: start came first
    assert ms.sum([a, 1.0, start]).data == 1e16 + 2.0


def test_dot_and_sum_take_generators() -> None:
    w = [Value(1.0), Value(2.0)]
    assert ms.dot((v for v in w), (x for x in [3.0, 4.0])).data == 11.0
    assert ms.sum(v for v in w).data == 3.0
    with pytest.raises(TypeError, match="expects a sequence"):
        ms.dot(3, [1.0])


def test_topological_order_of_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expects a Value, got float"):
        ms.topological_order(1.0)


def test_cyclic_gc_paused_disables_the_collector_inside_and_restores_it() -> None:
    assert gc.isenabled()
    with ms.cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with ms.cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # restored as it was: off
    finally:
        gc.enable()


def test_backward_seeds_a_leaf_whose_grad_is_none_as_pytorch_does() -> None:
    w = Value(2.0)
    w.grad = None
    (w * 3.0).backward()
    assert w.grad == 3.0


# ---------------------------------------------------------------- gradcheck's promises


def test_gradcheck_of_no_inputs_checks_nothing_and_says_so() -> None:
    with pytest.raises(ValueError, match="at least one input"):
        ms.gradcheck(lambda: Value(1.0), [])


@pytest.mark.parametrize("bad", [{"atol": math.nan}, {"rtol": math.nan}, {"eps": math.nan}])
def test_gradcheck_refuses_nan_tolerances(bad) -> None:
    with pytest.raises(ValueError):
        ms.gradcheck(lambda x: x * x, [Value(1.0)], **bad)


def test_gradcheck_defaults_and_boundaries() -> None:
    """atol=1e-5, rtol=1e-4 by default; agreement is |a - n| <= atol + rtol |n|."""
    x = Value(1.0)
    off_by = 1e-5 + 1e-4 * 2.0  # d(x^2)/dx = 2 at 1: just inside the default bound
    assert ms.gradcheck(lambda v: v * v + (v * (off_by * 0.9)).detach(), [x])
    fn = ms.custom_op("skewed")(lambda a: (a * a, (2 * a + 2e-5,)))
    with pytest.raises(GradcheckError):
        ms.gradcheck(fn, [x], rtol=0.0)  # 2e-5 > atol alone
    assert ms.gradcheck(fn, [x], atol=2e-5 + 1e-12, rtol=0.0)  # the <= boundary holds
    assert ms.gradcheck(fn, iter([x]))  # any iterable of inputs


# ---------------------------------------------------------------- draw_graph's promises


@pytest.mark.parametrize(
    ("max_nodes", "error"), [(-1, ValueError), (0, ValueError), (2.5, TypeError)]
)
def test_draw_graph_rejects_a_max_nodes_that_is_not_a_positive_int(tmp_path, max_nodes, error):
    with pytest.raises(error, match="max_nodes"):
        ms.draw_graph(Value(1.0) * 2, tmp_path / "g.png", max_nodes=max_nodes)


def test_draw_graph_draws_labels_with_dollar_signs_as_text(tmp_path) -> None:
    a = Value(5.0, label="price in $")
    b = a * 2
    b.label = "$unbalanced"
    ms.draw_graph(b, tmp_path / "g.png", title="cost: $5")
    assert (tmp_path / "g.png").stat().st_size > 0
