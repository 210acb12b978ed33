"""What `Module` registers, checked: parameter arrays, and the containers it cannot see.

A module registers a Module assigned to it as a child and a leaf Value (or, through
`register_parameter`, a rectangular nested list of leaf Values) as a parameter. Lists,
tuples and dicts are not registered, as in PyTorch; `unregistered_holder` finds one
that holds Modules or Values, so that a model whose layers sit in a list is an error,
not a model with no parameters.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from minitorch_scalar import Value

_PLAIN_TYPES = frozenset({float, int, str, bool, bytes, type(None)})
_VALUE, _NO_OP, _ROWS = {Value}, {""}, {list}
_op = attrgetter("op")  # "" for a Value made by Value(...), which has no parents
_SCAN_DEPTH = 3  # how deep unregistered_holder looks into nested containers


def parameter_array(value: object, where: str) -> tuple[tuple[int, ...], list[Value]]:
    """(shape, values in row-major order) of a parameter: a leaf Value (shape ()), or a
    list or tuple of them, or rows of them (nested lists of one shape).

    TypeError for anything else or a Value computed by an op (not a leaf); ValueError
    for ragged rows. Each names `where` and the index.
    """
    if isinstance(value, Value):
        _check_leaf(value, where)
        return (), [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            f"{where} expects a leaf Value, a list of them or rows of them, "
            f"got {type(value).__name__}: {value!r}"
        )
    if _is_row_of_leaves(value):  # the common cases, checked at C speed
        return (len(value),), list(value)
    if value and set(map(type, value)) == _ROWS and len(set(map(len, value))) == 1:
        flat = [v for row in value for v in row]
        if _is_row_of_leaves(flat):  # rows of leaves, one width: a weight matrix
            return (len(value), len(value[0])), flat
    parts = [parameter_array(item, f"{where}[{index}]") for index, item in enumerate(value)]
    shapes = {shape for shape, _ in parts}
    if len(shapes) > 1:
        raise ValueError(f"{where} expects rows of one shape, got shapes {sorted(shapes)}")
    inner = shapes.pop() if shapes else ()
    return (len(value), *inner), [v for _, values in parts for v in values]


def _is_row_of_leaves(row: list | tuple) -> bool:
    """True for a non-empty row of Values made by ``Value(...)`` (not subclasses)."""
    return bool(row) and set(map(type, row)) == _VALUE and set(map(_op, row)) == _NO_OP


def is_leaf(value: Value) -> bool:
    """True for a Value made by ``Value(...)`` (or `detach`): what can be a parameter.

    The result of an op is not, even one computed under no_grad() or replayed by a
    compiled function, which have no parents: assigning it to a module (a cached
    output) keeps it a plain attribute.
    """
    return not value.parents and not value.op


def _check_leaf(value: Value, where: str) -> None:
    if not is_leaf(value):
        raise TypeError(
            f"{where} expects a leaf Value (a parameter), got the result of op {value.op!r}"
            " (value.detach() is a leaf holding its number)"
        )


def holds_parameters(obj: object, module_type: type, depth: int = 0) -> bool:
    """True if `obj` is, or a list, tuple or dict (nested up to 3 deep) holds, an
    instance of `module_type` (`Module`) or a leaf Value."""
    if isinstance(obj, module_type):
        return True
    if isinstance(obj, Value):
        return is_leaf(obj)
    if depth >= _SCAN_DEPTH:
        return False
    if isinstance(obj, dict):
        obj = list(obj.values())
    if not isinstance(obj, (list, tuple)) or set(map(type, obj)) <= _PLAIN_TYPES:
        return False
    return any(holds_parameters(item, module_type, depth + 1) for item in obj)


def unregistered_holder(
    attributes: dict[str, Any], registered: set[int], module_type: type
) -> str | None:
    """The name of the first attribute that is a list, tuple or dict holding a Module or
    a leaf Value that is not itself registered (its id not in `registered`), or None."""
    for name, value in attributes.items():
        if isinstance(value, (list, tuple, dict)) and _holds_unregistered(
            value, registered, module_type
        ):
            return name
    return None


def _holds_unregistered(
    container: list | tuple | dict, registered: set[int], module_type: type
) -> bool:
    items = container.values() if isinstance(container, dict) else container
    return any(
        id(item) not in registered and holds_parameters(item, module_type, 1) for item in items
    )


def unregistered_message(owner: str, name: str, value: object) -> str:
    """Why the attribute `name` of `owner` is not seen, and what to write instead (a
    list a module keeps as its `TrackedList` is named a list, as the user wrote it)."""
    kind = next(k.__name__ for k in (list, tuple, dict, object) if isinstance(value, k))
    return (
        f"{owner}.{name} is a {kind} holding Modules or Values, and attributes of type "
        f"{kind} are not registered (as in PyTorch): parameters(), state_dict(), save() "
        f"and an optimizer would not see them. Hold modules in nn.ModuleList([...]) or "
        f"nn.Sequential(...); register Values with self.register_parameter({name!r}, "
        f"values); or define parameters() yourself, as micrograd's modules do"
    )


def indented(text: str) -> str:
    """`text` with every line after the first indented by two spaces (a child's repr)."""
    return text.replace("\n", "\n  ")
