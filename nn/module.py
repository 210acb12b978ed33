"""`Module`: parameters, gradients, calling, and weights in and out of a model.

Every model is a list of parameters (Values) that training updates in place, and a
set of named arrays that `state_dict()` shows them as. A module written as in PyTorch
gets both from what is assigned to it (its registry: children and parameters by
name); one written as micrograd's says them in `parameters()` (and may name its
arrays in `parameter_groups()`). Saving, loading, naming and the tree follow here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from minitorch_scalar import Value, cyclic_gc_paused, structure

from ._checks import is_batch, key_mismatch, number_list
from ._registry import (
    indented,
    is_leaf,
    parameter_array,
    unregistered_holder,
    unregistered_message,
)
from .tracked_list import structure_changed
from .weights_file import checked_path, read_arrays, write_atomically


class ParameterGroup(NamedTuple):
    """One named array of parameters, as PyTorch stores it.

    `values` holds the array's Values in row-major (C) order: for a weight of shape
    (out, in), the `in` weights of output 0, then those of output 1, and so on.
    """

    name: str
    shape: tuple[int, ...]
    values: list[Value]


class Module:
    """The base of every model: micrograd's `Module`, and PyTorch's `nn.Module`.

    PyTorch's style: call ``super().__init__()``, assign the parts as attributes, and
    define `forward`. A Module assigned to an attribute is a child, a leaf Value a
    parameter (a list of Values or rows of them with `register_parameter`), each in
    assignment order, as in PyTorch; then `parameters()`, `named_parameters()`,
    `state_dict()`, `save`/`load`, `children()`/`modules()`, `train()`/`eval()` and
    ``print(model)`` cover the whole tree, with PyTorch's dotted names
    (``"hidden.weight"``). Lists, tuples and dicts are not registered, as in PyTorch:
    hold modules in `nn.ModuleList` or `nn.Sequential`. A list holding Modules or Values
    that the module cannot reach is a TypeError from `parameters()` that says so,
    never a model that silently has fewer parameters.

    micrograd's style: define `parameters()` and `__call__` (or `forward`). Such a
    module keeps its own parameters() and gets `zero_grad()` and a `state_dict()` of
    one entry, ``"parameters"``: the vector of its parameters in the order of
    `parameters()` (PyTorch's ``parameters_to_vector``), which `save` and `load`
    round-trip.

    `__call__` checks its input and runs `forward`: `forward(x)` gets ONE sample, a
    list of floats and Values (`nin`, when set, is the width checked); a batch (a 2-D
    array or a list of rows) runs `forward_batch`, which maps `forward` over the rows
    unless a module builds the batch faster (`nn.Linear`, `nn.Sequential` and the
    micrograd layers do). `parameter_groups()` gives the named arrays of
    `state_dict()` (PyTorch's layout). Parameters are Value objects that training and
    `load_state_dict` change in place (their `.data`), never replace.
    """

    nin: int | None = None
    """How many inputs `__call__` takes; None leaves the width unchecked."""

    training: bool = True
    """PyTorch's flag, set by `train()` and `eval()` over the whole tree."""

    def __init__(self) -> None:
        """Start the module's registry (assigning its first attribute would, too)."""
        _registry(self)

    # ------------------------------------------------------------- registration

    def __setattr__(self, name: str, value: Any) -> None:
        """Register `value` (see `_register`) and set it; `compile` counts the set as a
        change of the model's structure (a list is kept as a `TrackedList`, whose
        changes count too)."""
        self._register(name, value)
        object.__setattr__(self, name, structure_changed(value))

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        structure.changed()
        parameters, children = _registry(self)
        parameters.pop(name, None)
        children.pop(name, None)

    def _register(self, name: str, value: Any) -> None:
        """Record what `value` is under `name`, before it is set: a Module is a child, a
        leaf Value a parameter; None keeps a registered name (PyTorch's ``bias=None``).

        A registered parameter takes a leaf Value, a (nested) list of them or None (a
        Module there too is a TypeError: delete the parameter first); a registered
        child a Module, a leaf Value or None. Anything else there is a TypeError, as
        in PyTorch; any other attribute is plain and not registered.
        """
        parameters, children = _registry(self)
        if isinstance(value, Module) and name not in parameters:
            children[name] = None
        elif isinstance(value, Value) and is_leaf(value):
            children.pop(name, None)
            parameters[name] = None
        elif value is None:
            return
        elif name in parameters:
            parameter_array(value, f"{type(self).__name__}.{name}")
        elif name in children:
            raise TypeError(
                f"{type(self).__name__}.{name} is a child module: it takes a Module or "
                f"None, got {type(value).__name__}"
            )

    def register_parameter(self, name: str, param: Value | list | None) -> None:
        """Register `param` as the parameter `name`: a leaf Value, a list of them, rows
        of them (a matrix: ``[[w_11, w_12], [w_21, w_22]]``, shape (2, 2) in
        `state_dict()`), or None (no parameter, as PyTorch's ``bias=None``).

        TypeError for another type or a Value computed by an op, ValueError for ragged
        rows or a name that is not a Python identifier.
        """
        _check_name(name, "register_parameter(name)")
        if param is not None:
            parameter_array(param, f"register_parameter({name!r})")
        parameters, children = _registry(self)
        children.pop(name, None)
        parameters[name] = None
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as the child `name` (PyTorch's): ``self.name = module``
        for names that are not identifiers, such as ``"0"``."""
        if not isinstance(name, str):
            raise TypeError(f"add_module(name) expects a str, got {type(name).__name__}")
        if not name or "." in name:
            raise ValueError(f"add_module(name) expects a non-empty str without '.', got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module({name!r}) expects a Module or None, got {type(module).__name__}"
            )
        _registry(self)[1][name] = None
        setattr(self, name, module)

    # ----------------------------------------------------------------- the tree

    def named_children(self) -> list[tuple[str, Module]]:
        """(name, module) for each registered child, in assignment order (each once)."""
        seen: set[int] = set()
        pairs = []
        for name, child in self._child_items():
            if id(child) not in seen:
                seen.add(id(child))
                pairs.append((name, child))
        return pairs

    def _child_items(self) -> list[tuple[str, Module]]:
        """(name, module) for each registered name that holds a module, a module held
        under two names listed twice (a container runs it twice)."""
        pairs = [(name, getattr(self, name)) for name in _registry(self)[1]]
        return [(name, child) for name, child in pairs if child is not None]

    def children(self) -> list[Module]:
        """The registered children, in assignment order."""
        return [child for _, child in self.named_children()]

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """(dotted name, module) for this module (name `prefix`, ``""`` by default) and
        every module under it, parents first, each once."""
        found: dict[int, tuple[str, Module]] = {}
        self._walk(prefix, found)
        return list(found.values())

    def _walk(self, name: str, found: dict[int, tuple[str, Module]]) -> None:
        if id(self) in found:
            return
        found[id(self)] = (name, self)
        for child_name, child in self.named_children():
            child._walk(f"{name}.{child_name}" if name else child_name, found)

    def modules(self) -> list[Module]:
        """This module and every module under it, parents first, each once."""
        return [module for _, module in self.named_modules()]

    def train(self, mode: bool = True) -> Module:
        """Set `training` to `mode` on this module and every module under it; returns self.

        A module already in `mode` is left alone: setting an attribute counts as a change
        of structure for `compile`, and ``model.train()`` before every step must not make
        each compiled call look at the model again.
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects True or False, got {type(mode).__name__}")
        for module in self.modules():
            if module.training is not mode:
                module.training = mode
        return self

    def eval(self) -> Module:
        """``train(False)``: the mode for evaluation; returns self."""
        return self.train(False)

    def extra_repr(self) -> str:
        """What `repr` shows inside the parentheses (PyTorch's hook): nothing here."""
        return ""

    def __repr__(self) -> str:
        """PyTorch's tree: the class, its `extra_repr`, then one line per child,
        ``(name): repr(child)``, indented by two spaces under its parent."""
        extra = self.extra_repr()
        children = [f"({name}): {indented(repr(child))}" for name, child in self._child_items()]
        if not children:
            return f"{type(self).__name__}({extra})"
        lines = ([extra] if extra else []) + children
        return f"{type(self).__name__}(" + "".join(f"\n  {line}" for line in lines) + "\n)"

    # --------------------------------------------------------------- parameters

    def parameters(self) -> list[Value]:
        """Every parameter: this module's own, in assignment order, then each child's
        `parameters()`, each Value once (a shared one where it is first met).

        TypeError if a list, tuple or dict attribute holds Modules or Values that are
        not registered (see the class docstring).
        """
        values = [value for group in self._own_groups() for value in group.values]
        for _, child in self.named_children():
            values.extend(child.parameters())
        return list(dict.fromkeys(values))

    def _own_groups(self) -> list[ParameterGroup]:
        """This module's registered parameters as named arrays, after checking that no
        container attribute hides any."""
        parameters, children = _registry(self)
        groups = []
        for name in parameters:
            value = getattr(self, name)
            if value is not None:
                shape, values = parameter_array(value, f"{type(self).__name__}.{name}")
                groups.append(ParameterGroup(name, shape, values))
        containers = {
            k: v
            for k, v in vars(self).items()
            if isinstance(v, (list, tuple, dict))
            and k not in parameters
            and k not in children
            and k not in _REGISTRY
        }
        if containers:  # rare: then see whether one holds what is not registered
            registered = {id(v) for group in groups for v in group.values}
            registered.update(id(getattr(self, name)) for name in children)
            holder = unregistered_holder(containers, registered, Module)
            if holder is not None:
                raise TypeError(
                    unregistered_message(type(self).__name__, holder, containers[holder])
                )
        return groups

    def forward(self, x: list) -> Value | list[Value]:
        """The output for `x`, a list of Values or Python floats (checked by `__call__`)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither forward(x) nor __call__(x): "
            "define one of them to compute the output"
        )

    def parameter_groups(self) -> list[ParameterGroup]:
        """The parameters as named arrays, the entries of `state_dict()`.

        PyTorch's: this module's own parameters by their names, then each child's
        groups, named ``"{child}.{name}"``. A module that defines its own
        `parameters()` (micrograd's style) gets one group instead, ``"parameters"`` of
        shape (n,): `parameters()` as a vector. Neuron, Layer and MLP name their arrays
        (``weight``, ``bias``) themselves.
        """
        if type(self).parameters is not Module.parameters:
            values = self.parameters()
            return [ParameterGroup("parameters", (len(values),), values)]
        groups = self._own_groups()
        for name, child in self._child_items():  # a shared child under each name, as PyTorch
            groups += [
                group._replace(name=f"{name}.{group.name}") for group in child.parameter_groups()
            ]
        return groups

    def forward_batch(self, xs: list[list]) -> list[Value | list[Value]]:
        """[forward(x) for x in xs]; a subclass may build the batch faster."""
        return [self.forward(x) for x in xs]

    def __call__(self, x: Any) -> Value | list:
        """Check `x` once, then run `forward`; a single output comes back as a Value.

        `x`: a sequence of `nin` real numbers (numpy scalars too) or Values, or a 1-D
        numpy array. Or a batch, as in PyTorch: a sequence of such rows or a 2-D numpy
        array, which gives one output per row (a list). ValueError for the wrong width
        ("MLP expects 2 inputs, got 3") or an int beyond a float's range, TypeError
        for anything that is not a number or a Value.
        """
        structure.used(self)  # a trace running now guards this model's structure
        name, nin = type(self).__name__, self.nin  # nin once: a property may walk the model
        if is_batch(x):
            rows = [_checked(row, f"{name} (row {i})", nin) for i, row in enumerate(x)]
            with cyclic_gc_paused():  # a batch's graph is large and holds no cycle
                outs = self.forward_batch(rows)
            return [_single_or_list(out) for out in outs]
        return _single_or_list(self.forward(_checked(x, name, nin)))

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Set the gradient of every parameter to 0.0 (to None with ``set_to_none=True``).

        0.0 by default, where PyTorch's default is None: micrograd's loops call
        ``model.zero_grad()`` and then read every ``p.grad`` as a number, and a
        parameter that the next backward does not reach would hold None. An
        optimizer's `zero_grad` follows PyTorch (optimizers skip a None gradient).
        """
        if not isinstance(set_to_none, bool):
            raise TypeError(
                f"zero_grad(set_to_none) expects True or False, got {type(set_to_none).__name__}"
            )
        grad = None if set_to_none else 0.0
        for p in self.parameters():
            p.grad = grad

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for each parameter, in the order of `parameters()`.

        A name is the parameter's place in `state_dict()`: ``"layers.0.weight[3, 1]"``
        is ``state_dict()["layers.0.weight"][3, 1]``; a 0-d entry is named as it is.
        """
        names: dict[Value, str] = {}
        for group in self.parameter_groups():
            for index, value in zip(np.ndindex(group.shape), group.values):
                if value in names:
                    continue  # a shared parameter: named where it is first met
                names[value] = (
                    f"{group.name}[{', '.join(map(str, index))}]" if index else group.name
                )
        return [(names[p], p) for p in self.parameters()]

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of the weights: name -> float64 array, shaped as PyTorch's nn.Linear."""
        return {
            group.name: np.array([v.data for v in group.values], dtype=np.float64).reshape(
                group.shape
            )
            for group in self.parameter_groups()
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set every parameter from `state`, a mapping like the one `state_dict()` returns.

        Everything is checked before anything changes: ValueError for missing or
        unexpected keys or the wrong shape; TypeError for an entry that is not an array
        of real numbers. Each names the key; on any of them the model is left as it
        was. nan and inf load as they are, as in PyTorch (a checkpoint saved after a
        divergence must be readable). Arrays may be numpy arrays, nested lists, or
        anything else `numpy.asarray` takes.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"load_state_dict expects a mapping of name -> array, got {type(state).__name__}"
            )
        groups = self.parameter_groups()
        mismatch = key_mismatch([group.name for group in groups], list(state))
        if mismatch is not None:
            raise ValueError(mismatch)
        arrays = [_checked_array(state[group.name], group) for group in groups]
        for group, array in zip(groups, arrays):
            for value, number in zip(group.values, array.ravel().tolist()):
                value.data = number

    def save(self, path: str | os.PathLike) -> None:
        """Write `state_dict()` to `path` (exactly that name) as numpy's .npz archive.

        Atomic: the archive is written to a new file beside `path`, flushed to disk,
        then renamed over it; if anything fails the old file is as it was and no new
        file remains. Through a symlink, the file it points to is replaced and the
        link kept. TypeError unless `path` is a str or an os.PathLike. The file
        loads back with `load`, or with ``numpy.load(path)`` anywhere.
        """
        path = checked_path(path, "save(path)")
        write_atomically(path, self.state_dict())

    def load(self, path: str | os.PathLike) -> None:
        """Set the weights from an .npz archive written by `save`.

        The archive's names, sizes, dtypes and shapes are checked against this model
        before any number is read, and no pickle is ever loaded: the file can hold
        numbers, never code, and a crafted one cannot make it allocate more than the
        model's size. A missing or unopenable file raises OSError; a path that is not
        a regular file (a FIFO, a device), a file that is not an .npz archive of
        numbers, or one whose arrays do not fit this model, raises ValueError. Both
        name the path and the reason, and leave the model as it was.
        """
        path = checked_path(path, "load(path)")
        shapes = {group.name: group.shape for group in self.parameter_groups()}
        state = read_arrays(path, shapes)
        try:
            self.load_state_dict(state)
        except (TypeError, ValueError) as error:
            raise ValueError(f"load: {path!r} does not fit this model: {error.args[0]}") from error


def _checked(x: Any, where: str, nin: int | None) -> list:
    """`x` as a list of floats or Values, `nin` of them unless `nin` is None (see
    `Module.__call__`)."""
    x = number_list(x, where)
    if nin is not None and len(x) != nin:
        raise ValueError(f"{where} expects {nin} inputs, got {len(x)}")
    return x


_REGISTRY = ("_parameter_names", "_child_names")  # the attributes `_registry` keeps


def _registry(module: Module) -> tuple[dict[str, None], dict[str, None]]:
    """The names `module` registered: (parameters, children), each a dict used as an
    ordered set. Made on first use, so a subclass need not call ``Module.__init__``."""
    attributes = module.__dict__
    try:
        return attributes["_parameter_names"], attributes["_child_names"]
    except KeyError:
        attributes["_parameter_names"], attributes["_child_names"] = {}, {}
        return attributes["_parameter_names"], attributes["_child_names"]


def _check_name(name: object, where: str) -> None:
    """TypeError unless `name` is a str, ValueError unless it is a Python identifier."""
    if not isinstance(name, str):
        raise TypeError(f"{where} expects a str, got {type(name).__name__}")
    if not name.isidentifier():
        raise ValueError(f"{where} expects a Python identifier, got {name!r}")


def _checked_array(entry: Any, group: ParameterGroup) -> np.ndarray:
    """`entry` as a float64 array of `group`'s shape (nan and inf kept), or an error
    naming it."""
    name = f"state_dict[{group.name!r}]"
    try:
        array = np.asarray(entry)
    except ValueError as error:  # a ragged nested list
        raise ValueError(f"{name} is not a rectangular array: {error}") from error
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} expects real numbers, got dtype {array.dtype}")
    if array.shape != group.shape:
        raise ValueError(f"{name} expects shape {group.shape}, got {array.shape}")
    return array.astype(np.float64)


def _single_or_list(out: Value | list[Value]) -> Value | list[Value]:
    """A one-output list as its Value (micrograd's convention), else as it is."""
    return out[0] if type(out) is list and len(out) == 1 else out


structure.register(Module)  # `compile` walks a Module's attributes to guard its structure
