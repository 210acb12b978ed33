"""The article's worked example, step by step: forward, then backward node by node.

The article builds, at x = -2,

    z = 2 * x;  y1 = z + 5;  s = z * z;  y2 = relu(s) + x + 3;  loss = y1 - y2 + y2 * x

and finds x: (-2, 64), z: (-4, 25), y1: (1, 1), y2: (17, -3), loss: (-50, 1) as
(value, grad) pairs. This script builds the same graph with minitorch_scalar, prints
each node's (value, grad) in the order backward visits it and every update of
formula 6 on the way (from `explain_backward`, which runs backward's own loop), runs
the article's problems 1 and 2 and its example of a seeded backward, draws the graph
as seed_graph.png in --out-dir, and backward step by step as seed_backward.gif (and,
with --html, as seed_backward.html, a player that works offline).

Run:  python examples/seed_walkthrough.py [--out-dir DIR] [--html]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from script_args import make_out_dir

from minitorch_scalar import BackwardSteps, Value, draw_backward, draw_graph, explain_backward

GRAPH_FILE = "seed_graph.png"
ANIMATION_FILE = "seed_backward.gif"
PLAYER_FILE = "seed_backward.html"
ANIMATION_TITLE = "backward of loss = y1 - y2 + y2 * x at x = -2, as (value, grad) pairs"


def build_article_graph(x_value: float = -2.0) -> dict[str, Value]:
    """The article's nodes, each labelled with its name, by name.

    Python evaluates ``relu(s) + x + 3`` and ``y1 - y2 + y2 * x`` one operator at a
    time, so the graph also holds the nodes relu(s), relu(s)+x, y1-y2 and y2*x.
    """
    x = Value(x_value, label="x")
    z = _named(2 * x, "z")
    y1 = _named(z + 5, "y1")
    s = _named(z * z, "s")
    relu_s = _named(s.relu(), "relu(s)")
    y2 = _named(_named(relu_s + x, "relu(s)+x") + 3, "y2")
    loss = _named(_named(y1 - y2, "y1-y2") + _named(y2 * x, "y2*x"), "loss")
    return {"x": x, "z": z, "y1": y1, "y2": y2, "loss": loss}


def walk_through_backward(root: Value) -> BackwardSteps:
    """Run ``root.backward()`` and print what it does, node by node; return its steps.

    `explain_backward` runs backward's own loop and hands back each step of formula 6:
    the node whose gradient flows, the parent receiving it, the local derivative, the
    gradient arriving, and the parent's gradient before and after. Backward visits each
    node after every node that uses it; leaves have no parents, nothing to push.
    """
    steps = explain_backward(root)
    print(f"backward sets grad({steps.root_name}) = 1, then visits the nodes in this order:")
    visiting = None
    for step in steps:
        node, parent = step.node_name, step.parent_name
        if step.node is not visiting:
            if visiting is not None:
                _note_parents_used_twice(visiting)
            visiting = step.node
            print(f"  visit {node}: ({_num(step.node.data)}, {_num(step.arriving)})")
        print(
            f"    grad({parent}) <- grad({parent}) + d({node})/d({parent}) * grad({node}) = "
            f"{_num(step.before)} + {_factor(step.local)} * {_factor(step.arriving)} = "
            f"{_num(step.after)}"
        )
    if visiting is not None:
        _note_parents_used_twice(visiting)
    return steps


def _note_parents_used_twice(node: Value) -> None:
    if len(set(node.parents)) < len(node.parents):
        print("    (a parent used twice gets one update per use: formula 7 adds them)")


def article_problems() -> None:
    """The article's problems 1 and 2, and its backward seeded with grad_y = 3."""
    print("Problem 1: y = z, with z = 1 and grad_y = 1")
    z = Value(1.0, label="z")
    y = z  # y is the node z itself: backward on a leaf adds the seed to its grad
    y.backward()
    print(f"  y = {_num(y.data)}, grad_z = {_num(z.grad)}")

    print("Problem 2: y = 2 * z, z = x^2, with x = 2 and grad_y = 1")
    x = Value(2.0, label="x")
    z = x**2
    y = 2 * z
    y.backward()
    print(f"  z = {_num(z.data)}, y = {_num(y.data)}, ", end="")
    print(f"grad_z = {_num(z.grad)}, grad_x = {_num(x.grad)}")

    print("A seeded backward: y_1 = 2 * x_0 - x_1 at x = (1, 2), with grad_y = 3")
    x_0, x_1 = Value(1.0, label="x_0"), Value(2.0, label="x_1")
    y_1 = 2 * x_0 - x_1
    y_1.backward(3)
    print(
        f"  y_1.backward(3): x_0.grad = 0 + 2 * 3 = {_num(x_0.grad)}, x_1.grad = {_num(x_1.grad)}"
    )
    x_0.grad = 2.0
    y_1.backward(3)
    print(f"  leaves accumulate: had x_0.grad been 2, formula 6 gives 2 + 2 * 3 = {_num(x_0.grad)}")


def main(argv: list[str] | None = None) -> None:
    """Parse the flags, print the walk-through and draw the graph."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path("."),
        help=f"folder for {GRAPH_FILE} and {ANIMATION_FILE}, created if missing "
        "(default: the current folder)",
    )
    parser.add_argument(
        "--html",
        action="store_true",
        help=f"also write {PLAYER_FILE}: the animation in a player (play, pause, step "
        "back and forth) that a browser opens offline",
    )
    args = parser.parse_args(argv)
    out_dir = make_out_dir(parser, args.out_dir)

    nodes = build_article_graph()
    print("The article's example at x = -2:")
    print("  z = 2 * x;  y1 = z + 5;  s = z * z;  y2 = relu(s) + x + 3;  loss = y1 - y2 + y2 * x")
    print()
    print("Step 1, forward. Each node as (value, grad): no gradient yet.")
    print("  " + "  ".join(_pair(node) for node in nodes.values()))
    print()
    print("Step 2, backward, with formula 6:  grad(x) <- grad(x) + (dy/dx) * grad(y)")
    walk_through_backward(nodes["loss"])
    print()
    print("Result, as in the article and PyTorch:")
    print("  " + "  ".join(_pair(node) for node in nodes.values()))
    print()
    article_problems()
    print()
    path = out_dir / GRAPH_FILE
    draw_graph(
        nodes["loss"], path, title="loss = y1 - y2 + y2 * x at x = -2: (value, grad) of each node"
    )
    print(f"wrote {path}")
    path = out_dir / ANIMATION_FILE
    animation = draw_backward(build_article_graph()["loss"], path, title=ANIMATION_TITLE)
    print(f"wrote {path}: backward, one frame per step of formula 6")
    if args.html:
        animation.save(out_dir / PLAYER_FILE)
        print(f"wrote {out_dir / PLAYER_FILE}: the same, in a player; open it in a browser")


def _named(node: Value, label: str) -> Value:
    """`node`, labelled `label`."""
    node.label = label
    return node


def _pair(node: Value) -> str:
    """The article's notation for a node: name: (value, grad)."""
    return f"{node.label}: ({_num(node.data)}, {_num(node.grad)})"


def _num(x: float) -> str:
    return f"{x:g}"


def _factor(x: float) -> str:
    """`x` printed as a factor of a product: negative numbers in parentheses."""
    return f"({_num(x)})" if x < 0 else _num(x)


if __name__ == "__main__":
    main()
