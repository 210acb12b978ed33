"""Structure versions: how `compile` learns, cheaply, that a model may have changed shape.

A replayed trace is right only while the model is built as it was when traced: the same
Values in its lists, the same activations, the same layers. Checking all of that on every
call would cost a walk of the model; instead a library of models (the project's `nn`)
calls `changed()` whenever something that can change the graph changes (an attribute of
a module set, an item of one of its lists replaced). One global count goes up; a compiled
call compares it with the count its trace saw (one int compare) and only when it moved
looks at the model again (`compiler.guards`). A change of a parameter's *value*
(``p.data = ...``, an optimizer step) is not a change of structure and costs nothing.

While the compiler traces a function, `used(obj)` tells it of a model the function
called (see `watching`), so that it knows which models to look at again. The core knows
nothing of modules: `register` names the classes whose instances the compiler walks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

change_count = [0]
"""The number of structure changes, in ``change_count[0]``: one list, changed in place, that
the compiler's guards keep a reference to and read on every call (cheaper than a call of
`version`). Only `changed` writes it."""


def changed() -> None:
    """Say that some structure changed: every compiled call looks at its models again."""
    change_count[0] += 1


def version() -> int:
    """The number of structure changes so far (it only goes up)."""
    return change_count[0]


_kinds: list[type] = []


def register(kind: type) -> type:
    """Make instances of `kind` (and its subclasses) models whose structure is guarded:
    the compiler walks their attributes. Returns `kind` (usable as a decorator)."""
    if not isinstance(kind, type):
        raise TypeError(f"register expects a class, got {type(kind).__name__}")
    if kind not in _kinds:
        _kinds.append(kind)
    return kind


def is_model(obj: object) -> bool:
    """True for an instance of a registered class."""
    return isinstance(obj, tuple(_kinds))


class _Watch(threading.local):
    seen: list | None = None  # the models used in this thread's trace, while one runs


_watch = _Watch()


def used(model: object) -> None:
    """A model was called: the trace running in this thread (if any) notes it."""
    seen = _watch.seen
    if seen is not None:
        seen.append(model)


@contextmanager
def watching() -> Iterator[list]:
    """A block in which `used` models are noted in the list it gives (for a trace)."""
    saved, _watch.seen = _watch.seen, []
    try:
        yield _watch.seen
    finally:
        _watch.seen = saved


__all__ = ["changed", "is_model", "register", "used", "version", "watching"]
