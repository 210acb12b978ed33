"""Walking a graph: every node a root depends on, each after all of its parents.

`backward` walks the graph in reverse of this order (formula 6 along each edge), the
compiler walks it to lay out its tape, and `draw_graph` and `explain_backward` to
list the nodes. A node is anything with a ``_parents`` tuple (a `Value`): this module
needs nothing else of the engine, which imports it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Value


def graph_parents_first(root: Value) -> tuple[list[Value], list[Value]]:
    """The nodes `root` depends on: (interior nodes, each after all its parents; leaves).

    An iterative depth-first walk with an explicit stack, so the depth of the graph
    never meets Python's recursion limit. The stack holds the path from `root` down
    to the node being expanded, each with the iterator over its parents still to see.
    """
    interior: list[Value] = []
    leaves: list[Value] = []
    seen = {root}
    stack: list[tuple[Value, Iterator[Value]]] = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent in seen:
                continue
            seen.add(parent)
            if not parent._parents:
                leaves.append(parent)
            elif seen.issuperset(parent._parents):
                # Each seen node is placed already or on the stack; one on the stack
                # uses `parent`, so it cannot be a parent of it too (no cycles). So all
                # of `parent`'s parents are placed: place it without going down.
                interior.append(parent)
            else:
                stack.append((parent, iter(parent._parents)))
                break
        else:  # every parent of `node` is placed
            stack.pop()
            interior.append(node)
    return interior, leaves


def topological_order(root: Value) -> list[Value]:
    """Every node `root` depends on, each after all of its parents, `root` last.

    The leaves come first, then the interior nodes; `backward()` visits this list in
    reverse. Changes nothing in the graph. TypeError for anything but a Value.
    """
    if type(getattr(root, "_parents", None)) is not tuple:
        raise TypeError(f"topological_order expects a Value, got {type(root).__name__}")
    if not root._parents:
        return [root]
    interior, leaves = graph_parents_first(root)
    return leaves + interior


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a graph is built or walked.

    Building or walking a graph allocates many small objects and never a reference
    cycle, yet every allocation counts toward the collector's next run, which then
    scans the live graph again and again for nothing. Reference counting still frees
    everything; the collector resumes afterwards, as it was.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
