"""Guards on the models: a trace replays only while they are built as when it was made.

A trace assumed the models `fn` went through: which Values are in their lists, which
activation each neuron applies, which layers there are. `ModelGuard` remembers them
as a *fingerprint*, made at trace time by walking the models:

- the models called while `fn` ran (`Module.__call__` tells the tracer, see
  `minitorch_scalar.structure.used`),
- the models among the arguments (a static argument),
- the models `fn` names: in its closure, in the globals its code reads, or bound to it
  (`fn.__self__`, a `functools.partial`'s arguments), and which object each name held
  (a name rebound to another model is seen on the next call: one read per name).

The walk visits each model's attributes in order: a Value counts by identity (not its
data), a number or a str by value, a list, tuple or dict by its items, a nested model by
its own attributes, and anything else by identity.

Checking this on every call would cost a walk of the model; instead the core keeps one
count of structure changes (`minitorch_scalar.structure`), which `nn` bumps whenever a
module's attribute is set or one of its lists changes. A call compares the count with
the one its guard saw (`holds_now`: one int compare, and one read per name above); only
when the count moved does the guard walk the models again, and the trace is replayed
only if nothing differs.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from .. import structure
from ..engine import Value
from .arguments import IdentityKey

COUNT = structure.change_count  # read in place by every call


class ModelGuard:
    """What a trace assumed of the models (see the module), and the check of it."""

    def __init__(self, fn: Callable, args: tuple, used: list, version: int) -> None:
        self.version = version  # the structure count this guard was last checked at
        fixed, self.names = _named(fn)  # names: (read the name now, the object it held)
        models = [*used, *filter(_has_model, args), *fixed, *(obj for _, obj in self.names)]
        self.roots = list({id(m): m for m in models}.values())
        self.fingerprint = fingerprint(self.roots)

    def holds_now(self) -> bool:
        """True if the models are as traced: the names `fn` reads still hold the same
        objects (a read each), and no structure changed (one int compare) or, if some
        did, the models' fingerprint is the same."""
        for read, obj in self.names:
            if read() is not obj:
                return False
        return self.version == COUNT[0] or self._still_holds()

    def _still_holds(self) -> bool:
        now = COUNT[0]
        if fingerprint(self.roots) != self.fingerprint:
            return False
        self.version = now
        return True

    def model_names(self, leaf: Value) -> str | None:
        """The name a model gives `leaf` (its `named_parameters()`), if any does."""
        for root in self.roots:
            named = getattr(root, "named_parameters", None)
            if structure.is_model(root) and callable(named):
                for name, value in named():
                    if value is leaf:
                        return f"{type(root).__name__} {name!r}"
        return None


def fingerprint(roots: list) -> tuple:
    """The structure of `roots` as one tuple (see the module): equal tuples, same models."""
    out: list = []
    seen: dict[int, int] = {}
    for root in roots:
        _walk(root, out, seen)
    return tuple(out)


_BY_VALUE = (int, str, bool, type(None))


def _walk(obj: Any, out: list, seen: dict[int, int]) -> None:
    kind = type(obj)
    if kind is Value or isinstance(obj, Value):
        out.append(obj)  # compared by identity: a Value has no __eq__
    elif kind in _BY_VALUE:
        out.append((kind, obj))
    elif kind is float:
        out.append((kind, obj.hex()))  # nan as text, equal to itself
    elif isinstance(obj, list | tuple | dict):
        _walk_container(obj, out, seen)
    elif structure.is_model(obj):
        _walk_model(obj, out, seen)
    else:
        out.append(IdentityKey(obj))


def _walk_container(obj: list | tuple | dict, out: list, seen: dict[int, int]) -> None:
    """A list or tuple: its type, its length, each item walked. A dict: its length, then
    each key (a str by value, any other by identity) and its value walked."""
    if isinstance(obj, dict):
        out.append((dict, len(obj)))
        for key, value in obj.items():
            out.append(IdentityKey(key) if not isinstance(key, str) else key)
            _walk(value, out, seen)
        return
    out.append((type(obj), len(obj)))
    for item in obj:
        _walk(item, out, seen)


def _walk_model(obj: object, out: list, seen: dict[int, int]) -> None:
    """A model: by identity, its attributes walked, the first time it is met; after
    that, only its number among the models met (one model may be met twice)."""
    if id(obj) in seen:
        out.append(("model met before", seen[id(obj)]))
        return
    seen[id(obj)] = len(seen)
    out.append(IdentityKey(obj))
    _walk(vars(obj), out, seen)


def _named(fn: Any) -> tuple[list, list[tuple[Callable[[], Any], Any]]]:
    """The models `fn` is bound to (a partial's arguments, `self`, `fn` itself), and
    (a reader of the name now, the object it holds) for each model its closure or the
    globals its code reads name."""
    fixed: list = []
    if isinstance(fn, functools.partial):
        fixed += [a for a in (*fn.args, *fn.keywords.values()) if _has_model(a)]
        fn = fn.func
    fixed += [obj for obj in (fn, getattr(fn, "__self__", None)) if _has_model(obj)]
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        return fixed, []
    names: list[tuple[Callable[[], Any], Any]] = []
    for cell in fn.__closure__ or ():
        try:
            held = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _has_model(held):
            names.append((functools.partial(getattr, cell, "cell_contents"), held))
    namespace = fn.__globals__
    for name in _global_names(code):
        held = namespace.get(name)
        if _has_model(held):
            names.append((functools.partial(namespace.get, name), held))
    return fixed, names


def _has_model(obj: Any) -> bool:
    """A model, or a list, tuple or dict holding one (a closure over `models = [...]`)."""
    if structure.is_model(obj):
        return True
    if isinstance(obj, list | tuple):
        return any(map(structure.is_model, obj))
    if isinstance(obj, dict):
        return any(map(structure.is_model, obj.values()))
    return False


def _global_names(code: types.CodeType) -> set[str]:
    """The names `code` (and the functions defined in it) may read as globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names
