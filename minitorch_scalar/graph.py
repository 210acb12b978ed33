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

import functools
import io
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from .engine import Value
from .explain import node_names
from .graph_walk import topological_order
from .real import is_integer

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.text import Annotation, Text

Edge = tuple[Value, Value, float]  # (parent, node, d node / d parent)
Point = tuple[float, float]  # (column, row) in the drawing


def to_dot(root: Value, names: object = None) -> str:
    """The graph of `root` as Graphviz DOT text, laid out left to right.

    One box per node (label and op, value, gradient), one arrow per parent-node pair
    labelled with the local derivative d(node)/d(parent). Nodes are named as
    `node_names(root, names)` names them.
    """
    nodes, edges = _graph(root)
    named = node_names(root, names)
    ids = {node: f"n{index}" for index, node in enumerate(nodes)}
    lines = [
        "digraph computation {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica];',
    ]
    for node in nodes:
        lines.append(f'  {ids[node]} [label="{_dot_escape(node_text(node, named[node]))}"];')
    for parent, child, local in edges:
        lines.append(f'  {ids[parent]} -> {ids[child]} [label="{format_number(local)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(
    root: Value,
    path: str | os.PathLike | None = None,
    title: str = "",
    max_nodes: int = 200,
    names: object = None,
) -> Figure:
    """Draw the graph of `root` left to right, inputs first; save it to `path` if given.

    A node's column is the length of the longest path from a leaf to it, so every
    arrow points right; within a column nodes are ordered by the mean row of their
    parents. Leaves are blue, `root` red, the others yellow. Nodes are named as
    `node_names(root, names)` names them (`names`: a model, (name, Value) pairs, or a
    mapping Value -> name). Columns are spaced so that the arrows' labels lie between
    the boxes, never on one. The format follows the extension of `path` (png, svg,
    pdf). Graphs above `max_nodes` nodes raise ValueError: they would not be readable
    (use `to_dot` and graphviz for those). Labels are plain text (a "$" is a dollar
    sign). Returns the Figure, which a notebook shows as a picture.
    """
    picture = draw_picture(root, title, max_nodes, names, path)
    if path is not None:
        picture.figure.savefig(path, dpi=100)
    return picture.figure


CAPTION = "arrow numbers: local derivative d(node)/d(parent)"


class EdgeArtists(NamedTuple):
    """What draws one arrow of a picture: its line, its head, its label and their number."""

    line: Line2D
    head: Annotation
    label: Text
    local: float  # d child / d parent, summed over the child's uses of the parent


class Picture(NamedTuple):
    """A drawn graph, for those who change it afterwards (`draw_backward` animates it)."""

    figure: Figure
    boxes: dict[Value, Text]  # each node's box
    edges: dict[tuple[Value, Value], EdgeArtists]  # by (parent, child)
    names: dict[Value, str]
    title: Text
    caption: Text


def draw_picture(
    root: Value,
    title: str = "",
    max_nodes: int = 200,
    names: object = None,
    path: object = None,
    *,
    label_texts: Iterable[str] = (),
    box_texts: Iterable[str] = (),
    title_texts: Iterable[str] = (),
    caption: str = CAPTION,
) -> Picture:
    """`draw_graph`'s picture, unsaved, with its parts; `path` is only checked.

    The columns are spaced for the widest box and the widest arrow label, of those
    drawn and of `box_texts` and `label_texts` (texts they will show later); the
    figure is wide and tall enough for the title and caption, and for `title_texts`.
    """
    nodes, edges = check_drawable(root, path, max_nodes)
    named = node_names(root, names)
    positions, routes = _layout(nodes, edges)
    points = [point for route in routes for point in route] + list(positions.values())
    columns = 1 + max(column for column, _ in points)
    rows = 1 + max(2 * abs(row) for _, row in points)
    title_texts = [title, *title_texts]
    lines = max(text.count("\n") + 1 if text else 0 for text in title_texts)
    figure, axes = _canvas(columns, rows, lines)
    boxes = {node: _draw_node(axes, node, named[node], positions[node], root) for node in nodes}
    drawn = {
        (parent, child): _draw_edge(axes, route, boxes[child], local)
        for (parent, child, local), route in zip(edges, routes)
    }
    bottom = axes.get_ylim()[0]
    under = axes.text(-0.45, bottom + 0.1, caption, fontsize=7, color="#555555", va="bottom")
    heading = axes.text(
        (columns - 1) / 2, rows / 2 + 0.3, title, ha="center", va="bottom", fontsize=10
    )
    heading.set_parse_math(False)  # a "$" is a dollar sign, not matplotlib's math mode
    widths = _Widths(figure)
    spacing = max(
        COLUMN_INCHES,
        widths.widest(list(boxes.values()), box_texts)
        + widths.widest([edge.label for edge in drawn.values()], label_texts)
        + 2 * LABEL_MARGIN_INCHES,
        (widths.widest([heading], title_texts) + 0.2) / columns,
        (widths.widest([under], ()) + 0.2) / columns,
    )
    figure.set_size_inches(spacing * columns, figure.get_size_inches()[1])
    return Picture(figure, boxes, drawn, named, heading, under)


def check_drawable(root: Value, path: object, max_nodes: object) -> tuple[list[Value], list[Edge]]:
    """The nodes and edges of `root`'s graph, or the error that says why it is not drawn."""
    _check_draw_arguments(path, max_nodes)
    nodes, edges = _graph(root)
    if len(nodes) > max_nodes:
        raise ValueError(
            f"draw_graph expects at most max_nodes={max_nodes} nodes, the graph has "
            f"{len(nodes)}: raise max_nodes, or draw it with to_dot and graphviz"
        )
    return nodes, edges


def _check_draw_arguments(path: object, max_nodes: object) -> None:
    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(f"draw_graph(path) expects a str or os.PathLike, got {type(path).__name__}")
    if not is_integer(max_nodes):
        raise TypeError(f"draw_graph(max_nodes) expects an int, got {type(max_nodes).__name__}")
    if max_nodes < 1:
        raise ValueError(f"draw_graph(max_nodes) expects a positive int, got {max_nodes!r}")


def _canvas(columns: int, rows: float, title_lines: int) -> tuple[Figure, Axes]:
    """A figure for `columns` x `rows` of boxes under `title_lines` lines of title,
    with axes that fill it, unframed. One unit of the axes is one column across and
    one row down: `draw_picture` sets the width to fit the boxes and labels.
    """
    # Imported here: matplotlib takes longer to import than the rest of the package.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    bottom, top = -rows / 2 - 0.45, rows / 2 + 0.3 + 0.25 * title_lines
    figure = _inline_figure_class()(figsize=(COLUMN_INCHES * columns, ROW_INCHES * (top - bottom)))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_axis_off()
    axes.set_xlim(-0.5, columns - 0.5)
    axes.set_ylim(bottom, top)
    return figure, axes


class _Widths:
    """Widths of texts as drawn, in inches, box included. Text sizes are in points:
    the figure's size does not change them.
    """

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.renderer = figure.canvas.get_renderer()

    def of(self, text: Text) -> float:
        patch = text.get_bbox_patch()
        pad = 0.0 if patch is None else 2 * patch.get_boxstyle().pad * text.get_fontsize() / 72
        return text.get_window_extent(self.renderer).width / self.figure.dpi + pad

    def widest(self, drawn: list[Text], more: Iterable[str]) -> float:
        """The widest of `drawn`, and of the texts `more` drawn as the first of them."""
        if not drawn:
            return 0.0
        widest = max(self.of(text) for text in drawn)
        probe, shown = drawn[0], drawn[0].get_text()
        for text in more:
            probe.set_text(text)
            widest = max(widest, self.of(probe))
        probe.set_text(shown)
        return widest


COLUMN_INCHES = 1.8  # the least distance between two columns' centres
ROW_INCHES = 0.8  # the distance between two rows' centres
LABEL_MARGIN_INCHES = 0.12  # the least room between an arrow's label and a box


@functools.cache
def _inline_figure_class() -> type:
    """matplotlib's Figure, which a notebook shows as a PNG (no %matplotlib needed)."""
    from matplotlib.figure import Figure

    class GraphFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=100)
            return buffer.getvalue()

    return GraphFigure


def _draw_node(axes: Axes, node: Value, name: str, position: Point, root: Value) -> Text:
    """The node's box: name and op, value and gradient; coloured by its role."""
    colour = "#f4c7c3" if node is root else "#cfe2f3" if not node.parents else "#fff2cc"
    return axes.text(
        *position,
        node_text(node, name),
        ha="center",
        va="center",
        fontsize=9,
        zorder=3,
        parse_math=False,  # a label's "$" is a dollar sign, not matplotlib's math mode
        bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "#555555"},
    )


def _draw_edge(axes: Axes, route: list[Point], child_box: Text, local: float) -> EdgeArtists:
    """The arrow along `route` into the child's box, labelled with the local derivative."""
    *line, (x0, y0), (x1, y1) = route  # the box of the first point hides the line's start
    (drawn,) = axes.plot(*zip(*line, (x0, y0)), color=EDGE_COLOUR, linewidth=1.0, zorder=1)
    head = axes.annotate(
        "",
        xy=(0.0, 0.5),
        xycoords=child_box,
        xytext=(x0, y0),
        textcoords="data",
        arrowprops={"arrowstyle": "->", "color": EDGE_COLOUR, "shrinkA": 0, "shrinkB": 5},
        zorder=1,
    )
    label = axes.text(
        (x0 + x1) / 2,
        (y0 + y1) / 2,
        format_number(local),
        ha="center",
        va="center",
        fontsize=8,
        color="#1f4e79",
        zorder=2,
        parse_math=False,
        bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none"},
    )
    return EdgeArtists(drawn, head, label, local)


EDGE_COLOUR = "#555555"


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
    items_in, fed_by = _items_by_column(nodes, edges, column)
    position = _positions(items_in, fed_by)
    routes = []
    for index, (parent, child, _) in enumerate(edges):
        crossed = range(column[parent] + 1, column[child])
        routes.append([position[parent], *(position[(index, c)] for c in crossed), position[child]])
    return {node: position[node] for node in nodes}, routes


def _items_by_column(
    nodes: list[Value], edges: list[Edge], column: dict[Value, int]
) -> tuple[list[list[object]], dict[object, list[object]]]:
    """The items of each column, and what feeds each item. An item is a node, or a
    waypoint ``(edge index, column)`` of an edge that crosses that column; a node is
    fed by its parents (or the last waypoints of their edges), a waypoint by the item
    before it on its edge."""
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
    return items_in, fed_by


def _positions(
    items_in: list[list[object]], fed_by: dict[object, list[object]]
) -> dict[object, Point]:
    """The (column, row) of each item. Column by column, the items are sorted by the
    mean row of what feeds them (0 for none), highest first, and their rows centred
    on 0. Sorts each column's list of items in place."""
    position: dict[object, Point] = {}
    for current, items in enumerate(items_in):
        wanted = {}
        for item in items:
            rows = [position[feeder][1] for feeder in fed_by[item]]
            wanted[item] = sum(rows) / len(rows) if rows else 0.0
        items.sort(key=wanted.__getitem__, reverse=True)
        for index, item in enumerate(items):
            position[item] = (float(current), (len(items) - 1) / 2 - index)
    return position


def node_text(node: Value, name: str, grad: float | None = None) -> str:
    """The two lines of a node's box: its name (and op), then its value and gradient
    (`grad`, or the node's own when None).
    """
    title = name if not node.op or name.startswith(f"{node.op}#") else f"{name} | {node.op}"
    shown = node.grad if grad is None else grad
    shown_text = "None" if shown is None else format_number(shown)  # zero_grad() may clear it
    return f"{title}\nval {format_number(node.data)}  grad {shown_text}"


def format_number(x: float) -> str:
    """`x` in at most four significant digits: -2, 0.5, 1.235e+05; -0.0 as 0. The one
    format of a number in every picture and text of a graph (graph.py, animate.py)."""
    return f"{x + 0.0:.4g}"  # adding +0.0 turns -0.0 into 0.0 and changes nothing else


def _dot_escape(text: str) -> str:
    r"""`text` safe inside a DOT double-quoted string: \ and " escaped, newlines as \n."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
