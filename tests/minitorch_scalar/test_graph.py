"""draw_graph and to_dot: every node once, with its op, value and gradient; every edge."""

from __future__ import annotations

import re

import pytest

from minitorch_scalar import Value
from minitorch_scalar.graph import _graph, _layout, draw_graph, to_dot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def shared_leaf_graph() -> tuple[Value, Value, Value, Value]:
    """d = a * b + a at a = 2, b = -3, after backward.

    By hand: c = a*b = -6, d = c + a = -4; grad d = 1, grad c = 1,
    grad a = b * grad c + grad d = -3 + 1 = -2, grad b = a * grad c = 2.
    `a` is shared by two consumers (c and d).
    """
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    d.backward()
    return a, b, c, d


def parse_dot(text: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    """The node labels by DOT name, and the edges as (source label, target label, edge label)."""
    labels = dict(re.findall(r'^  (n\d+) \[label="(.*)"\];$', text, flags=re.MULTILINE))
    edges = re.findall(r'^  (n\d+) -> (n\d+) \[label="(.*)"\];$', text, flags=re.MULTILINE)
    first_word = {name: label.split(" ")[0].split("\\n")[0] for name, label in labels.items()}
    return labels, {(first_word[p], first_word[c], local) for p, c, local in edges}


def test_dot_has_each_node_once_with_op_value_grad():
    *_, d = shared_leaf_graph()
    labels, _ = parse_dot(to_dot(d))
    assert sorted(labels.values()) == [
        "a\\nval 2  grad -2",
        "b\\nval -3  grad 2",
        "c | *\\nval -6  grad 1",
        "d | +\\nval -4  grad 1",
    ]


def test_dot_has_every_edge_with_its_local_derivative():
    *_, d = shared_leaf_graph()
    text = to_dot(d)
    _, edges = parse_dot(text)
    # dc/da = b = -3, dc/db = a = 2, dd/dc = 1, dd/da = 1
    assert edges == {("a", "c", "-3"), ("b", "c", "2"), ("c", "d", "1"), ("a", "d", "1")}
    assert text.startswith("digraph") and "rankdir=LR" in text


def test_a_parent_used_twice_is_one_edge_with_the_summed_derivative():
    z = Value(-4.0, label="z")
    s = z * z
    s.label = "s"
    _, edges = parse_dot(to_dot(s))
    assert edges == {("z", "s", "-8")}  # d(z*z)/dz = z + z = 2z


def test_dot_escapes_quotes_and_backslashes_in_labels():
    x = Value(1.0, label='say "hi" \\ bye')
    text = to_dot(x)
    assert 'label="say \\"hi\\" \\\\ bye\\nval 1  grad 0"' in text


def test_dot_of_a_leaf_is_one_node_and_no_edge():
    labels, edges = parse_dot(to_dot(Value(3.5)))
    assert list(labels.values()) == ["leaf#0\\nval 3.5  grad 0"]  # as node_names names it
    assert edges == set()


def test_dot_walks_a_graph_deeper_than_the_recursion_limit():
    x = Value(1.0, label="x")
    y = x
    for _ in range(5000):
        y = y + 1
    text = to_dot(y)
    labels, _ = parse_dot(text)
    assert len(labels) == 5001
    assert text.count(" -> ") == 5000


def test_draw_graph_writes_a_png_with_each_node_drawn_once(tmp_path):
    *_, d = shared_leaf_graph()
    path = tmp_path / "graph.png"
    figure = draw_graph(d, path, title="d = a * b + a")
    assert path.read_bytes()[:8] == PNG_MAGIC
    boxes = [t.get_text() for t in figure.axes[0].texts if t.get_text().count("\n") == 1]
    assert sorted(boxes) == [
        "a\nval 2  grad -2",
        "b\nval -3  grad 2",
        "c | *\nval -6  grad 1",
        "d | +\nval -4  grad 1",
    ]
    assert "d = a * b + a" in [t.get_text() for t in figure.axes[0].texts]


def test_drawing_leaves_the_gradients_as_backward_left_them(tmp_path):
    a, b, c, d = shared_leaf_graph()
    draw_graph(d, tmp_path / "graph.png")
    to_dot(d)
    assert [v.grad for v in (a, b, c, d)] == [-2.0, 2.0, 1.0, 1.0]


def test_layout_puts_inputs_left_and_no_two_items_on_one_spot():
    x = Value(-2.0)
    z = 2 * x
    loss = (z + 5) - ((z * z).relu() + x + 3) + ((z * z).relu() + x + 3) * x
    nodes, edges = _graph(loss)
    positions, routes = _layout(nodes, edges)
    assert positions[x][0] == 0.0 and positions[loss][0] == max(c for c, _ in positions.values())
    for (parent, child, _), route in zip(edges, routes):
        assert route[0] == positions[parent] and route[-1] == positions[child]
        columns = [column for column, _ in route]
        assert columns == [columns[0] + step for step in range(len(route))]  # one column a step
    spots = list(positions.values()) + [point for route in routes for point in route[1:-1]]
    assert len(spots) == len(set(spots))


def test_draw_graph_refuses_graphs_above_max_nodes_and_writes_nothing(tmp_path):
    *_, d = shared_leaf_graph()
    path = tmp_path / "graph.png"
    with pytest.raises(ValueError, match="max_nodes=3 nodes, the graph has 4"):
        draw_graph(d, path, max_nodes=3)
    assert not path.exists()


def test_wrong_types_raise_type_error(tmp_path):
    with pytest.raises(TypeError, match="root to be a Value, got float"):
        to_dot(1.0)
    with pytest.raises(TypeError, match="root to be a Value, got int"):
        draw_graph(1, tmp_path / "graph.png")
    with pytest.raises(TypeError, match=r"path\) expects a str or os.PathLike, got int"):
        draw_graph(Value(1.0), 7)
