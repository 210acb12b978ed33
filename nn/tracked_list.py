"""`TrackedList`: a module's list that tells the compiler when it changes.

A compiled step replays the graph its trace built; it must trace again when the model
it went through is built differently (a weight list with another Value in it, a layer
appended, two neurons swapped). A module's attributes are set through
`Module.__setattr__`, which calls `structure_changed`; a list stored on a module is
kept as a `TrackedList`, whose every in-place change does the same. Both tell the
core's structure count (`minitorch_scalar.structure`), which a compiled call compares
with its trace's in one int compare. A `TrackedList` is a `list` in every other way.
"""

from __future__ import annotations

from typing import Any, SupportsIndex

from minitorch_scalar import structure


def structure_changed(value: Any) -> Any:
    """Count a change of a module's structure; `value` as the module stores it (a list,
    nested lists too, as `TrackedList`s: a copy, as PyTorch's ModuleList makes its own)."""
    structure.changed()
    return _tracked(value)


def _tracked(value: Any) -> Any:
    if type(value) is list:
        return TrackedList(value)
    return value


class TrackedList(list):
    """A list whose in-place changes count as changes of structure (see the module)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__(map(_tracked, items))

    def __setitem__(self, index: SupportsIndex | slice, value: Any) -> None:
        structure.changed()
        tracked = map(_tracked, value) if isinstance(index, slice) else _tracked(value)
        super().__setitem__(index, tracked)

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        structure.changed()
        super().__delitem__(index)

    def __iadd__(self, items: Any) -> TrackedList:  # type: ignore[override]
        structure.changed()
        return super().__iadd__(map(_tracked, items))

    def __imul__(self, n: SupportsIndex) -> TrackedList:  # type: ignore[override]
        structure.changed()
        return super().__imul__(n)

    def append(self, item: Any) -> None:
        structure.changed()
        super().append(_tracked(item))

    def extend(self, items: Any) -> None:
        structure.changed()
        super().extend(map(_tracked, items))

    def insert(self, index: SupportsIndex, item: Any) -> None:
        structure.changed()
        super().insert(index, _tracked(item))

    def pop(self, index: SupportsIndex = -1) -> Any:
        structure.changed()
        return super().pop(index)

    def remove(self, item: Any) -> None:
        structure.changed()
        super().remove(item)

    def clear(self) -> None:
        structure.changed()
        super().clear()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        structure.changed()
        super().sort(*args, **kwargs)

    def reverse(self) -> None:
        structure.changed()
        super().reverse()

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return (TrackedList, (list(self),))
