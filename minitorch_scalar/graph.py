"""Draw a computation graph: every node with its op, value and gradient.

`draw_graph(root, path)` draws the graph that `root` was computed from with matplotlib
alone, inputs on the left and `root` on the right, and saves it as an image.
`to_dot(root)` returns the same graph as Graphviz DOT text, for those who have graphviz
(``dot -Tpng graph.dot -o graph.png``).

Each arrow goes from a parent to the node computed from it and carries the local
derivative d(node)/d(parent), the factor of the article's formula 6:

    grad(parent) <- grad(parent) + (d node / d parent) * grad(node)

A node that uses the same parent twice (``z * z``) is drawn with one arrow whose
derivative is the sum of both uses (formula 7): d(z*z)/dz = z + z.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .engine import Value, topological_order
from .real import is_integer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

Edge = tuple[Value, Value, float]  # (parent, node, d node / d parent)
Point = tuple[float, float]  # (column, row) in the drawing


def to_dot(root: Value) -> str:
    """The graph of `root` as Graphviz DOT text, laid out left to right.

    One box per node (label and op, value, gradient), one arrow per parent-node pair
    labelled with the local derivative d(node)/d(parent).
    """
    nodes, edges = _graph(root)
    names = {node: f"n{index}" for index, node in enumerate(nodes)}
    lines = [
        "digraph computation {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica];',
    ]
    for node in nodes:
        title, numbers = _node_text(node)
        lines.append(f'  {names[node]} [label="{_dot_escape(title)}\\n{numbers}"];')
    for parent, child, local in edges:
        lines.append(f'  {names[parent]} -> {names[child]} [label="{_format_number(local)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(
    root: Value, path: str | os.PathLike, title: str = "", max_nodes: int = 200
) -> Figure:
    """Draw the graph of `root` left to right, inputs first, and save it to `path`.

    A node's column is the length of the longest path from a leaf to it, so every
    arrow points right; within a column nodes are ordered by the mean row of their
    parents. Leaves are blue, `root` red, the others yellow. The format follows the
    extension of `path` (png, svg, pdf). Graphs above `max_nodes` nodes raise
    ValueError: they would not be readable (use `to_dot` and graphviz for those).
    Labels are plain text (a "$" is a dollar sign). Returns the Figure, already saved.
    """
    _check_draw_arguments(path, max_nodes)
    nodes, edges = _graph(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"draw_graph expects at most max_nodes={max_nodes} nodes, the graph has "
            f"{len(nodes)}: raise max_nodes, or draw it with to_dot and graphviz"
        )
    positions, routes = _layout(nodes, edges)
    points = [point for route in routes for point in route] + list(positions.values())
    columns = 1 + max(column for column, _ in points)
    rows = 1 + max(2 * abs(row) for _, row in points)
    figure, axes = _canvas(columns, rows)
    boxes = {node: _draw_node(axes, node, positions[node], root) for node in nodes}
    for (_, child, local), route in zip(edges, routes):
        _draw_edge(axes, route, boxes[child], local)
    caption = "arrow numbers: local derivative d(node)/d(parent)"
    axes.text(columns - 0.5, -rows / 2 - 0.3, caption, ha="right", fontsize=7, color="#555555")
    if title:
        axes.text(
            (columns - 1) / 2, rows / 2 + 0.35, title, ha="center", fontsize=10, parse_math=False
        )
    figure.savefig(path, dpi=100)
    return figure


def _check_draw_arguments(path: object, max_nodes: object) -> None:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"draw_graph(path) expects a str or os.PathLike, got {type(path).__name__}")
    if not is_integer(max_nodes):
        raise TypeError(f"draw_graph(max_nodes) expects an int, got {type(max_nodes).__name__}")
    if max_nodes < 1:
        raise ValueError(f"draw_graph(max_nodes) expects a positive int, got {max_nodes!r}")


def _canvas(columns: int, rows: float) -> tuple[Figure, Axes]:
    """A figure sized for `columns` x `rows` of boxes, with axes that fill it, unframed."""
    # Imported here: matplotlib takes longer to import than the rest of the package.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(0.4 + 1.8 * columns, 0.9 + 0.8 * rows))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_axis_off()
    axes.set_xlim(-0.55, columns - 0.45)
    axes.set_ylim(-rows / 2 - 0.35, rows / 2 + 0.55)
    return figure, axes


def _draw_node(axes: Axes, node: Value, position: Point, root: Value) -> Text:
    """The node's box: label and op, value and gradient; coloured by its role."""
    colour = "#f4c7c3" if node is root else "#cfe2f3" if not node.parents else "#fff2cc"
    name, numbers = _node_text(node)
    return axes.text(
        *position,
        f"{name}\n{numbers}",
        ha="center",
        va="center",
        fontsize=9,
        zorder=3,
        parse_math=False,  # a label's "$" is a dollar sign, not matplotlib's math mode
        bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "#555555"},
    )


def _draw_edge(axes: Axes, route: list[Point], child_box: Text, local: float) -> None:
    """The arrow along `route` into the child's box, labelled with the local derivative."""
    *line, (x0, y0), (x1, y1) = route  # the box of the first point hides the line's start
    axes.plot(*zip(*line, (x0, y0)), color="#555555", linewidth=1.0, zorder=1)
    axes.annotate(
        "",
        xy=(0.0, 0.5),
        xycoords=child_box,
        xytext=(x0, y0),
        textcoords="data",
        arrowprops={"arrowstyle": "->", "color": "#555555", "shrinkA": 0, "shrinkB": 5},
        zorder=1,
    )
    axes.text(
        (x0 + x1) / 2,
        (y0 + y1) / 2,
        _format_number(local),
        ha="center",
        va="center",
        fontsize=8,
        color="#1f4e79",
        zorder=2,
        bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none"},
    )


def _graph(root: Value) -> tuple[list[Value], list[Edge]]:
    """Every node `root` depends on, leaves included, each after all of its parents;
    and every (parent, node, d node / d parent) edge, one per pair.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected root to be a Value, got {type(root).__name__}")
    nodes = topological_order(root)
    edges: list[Edge] = []
    for node in nodes:
        locals_by_parent: dict[Value, float] = {}
        for parent, local in zip(node.parents, node.local_grads):
            locals_by_parent[parent] = locals_by_parent.get(parent, 0.0) + local
        edges.extend((parent, node, local) for parent, local in locals_by_parent.items())
    return nodes, edges


def _layout(nodes: list[Value], edges: list[Edge]) -> tuple[dict[Value, Point], list[list[Point]]]:
    """The (column, row) of each node, and the points each edge passes through.

    `nodes` come parents first. A node's column is 1 + the largest column of its
    parents (leaves: 0). An edge that skips columns gets a waypoint in each column it
    crosses, which takes a row there as a node would, so no line runs through a box.
    Column by column, items are ordered by the mean row they are fed from, and rows
    are centred on 0.
    """
    column: dict[Value, int] = {}
    for node in nodes:
        column[node] = 1 + max((column[parent] for parent in node.parents), default=-1)
    # An item is a node or a waypoint (edge index, column); `fed_by` lists its feeders.
    items_in: list[list[object]] = [[] for _ in range(1 + max(column.values()))]
    fed_by: dict[object, list[object]] = {node: [] for node in nodes}
    for node in nodes:
        items_in[column[node]].append(node)
    for index, (parent, child, _) in enumerate(edges):
        previous: object = parent
        for between in range(column[parent] + 1, column[child]):
            waypoint = (index, between)
            items_in[between].append(waypoint)
            fed_by[waypoint] = [previous]
            previous = waypoint
        fed_by[child].append(previous)
    position: dict[object, Point] = {}
    for current, items in enumerate(items_in):
        wanted = {}
        for item in items:
            rows = [position[feeder][1] for feeder in fed_by[item]]
            wanted[item] = sum(rows) / len(rows) if rows else 0.0
        items.sort(key=wanted.__getitem__, reverse=True)
        for index, item in enumerate(items):
            position[item] = (float(current), (len(items) - 1) / 2 - index)
    routes = []
    for index, (parent, child, _) in enumerate(edges):
        crossed = range(column[parent] + 1, column[child])
        routes.append([position[parent], *(position[(index, c)] for c in crossed), position[child]])
    return {node: position[node] for node in nodes}, routes


def _node_text(node: Value) -> tuple[str, str]:
    """The two lines of a node's box: its label and op, then its value and gradient
    (``grad None`` for a leaf whose gradient an optimizer's ``zero_grad()`` cleared)."""
    name = " | ".join(part for part in (node.label, node.op) if part) or "leaf"
    grad = "None" if node.grad is None else _format_number(node.grad)
    return name, f"val {_format_number(node.data)}  grad {grad}"


def _format_number(x: float) -> str:
    """`x` in at most four significant digits: -2, 0.5, 1.235e+05."""
    return f"{x:.4g}"


def _dot_escape(text: str) -> str:
    r"""`text` safe inside a DOT double-quoted string: \ and " escaped, newlines as \n."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
