"""`Module`: parameters, gradients, calling, and weights in and out of a model.

Every model is a list of parameters (Values) that training updates in place, and a
set of named arrays that `state_dict()` shows them as. A subclass says both once,
in `parameters()` and `parameter_groups()`; saving, loading and naming follow here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from minitorch_scalar import Value, cyclic_gc_paused, structure

from ._checks import is_batch, key_mismatch, number_list
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
    """The base of `Neuron`, `Layer`, `MLP`, and of models written as micrograd's are.

    A subclass written as micrograd's defines `parameters()` and `__call__`; it gets
    `zero_grad()`, and a `state_dict()` of one entry, ``"parameters"``: the vector of
    its parameters in the order of `parameters()` (PyTorch's
    ``parameters_to_vector``), which `save` and `load` round-trip.

    The project's modules define `parameters()`, `forward(x)` for one checked input
    row, `nin` (the width `__call__` checks), and `parameter_groups()` (the named
    arrays of `state_dict()`, PyTorch's layout); `forward_batch` may build a batch
    faster. Parameters are Value objects that training and `load_state_dict` change
    in place (their `.data`), never replace.
    """

    nin: int | None = None
    """How many inputs `__call__` takes; None leaves the width unchecked."""

    def __setattr__(self, name: str, value: Any) -> None:
        """Set an attribute; `compile` counts it as a change of the model's structure
        (a list is kept as a `TrackedList`, whose changes count too)."""
        object.__setattr__(self, name, structure_changed(value))

    def parameters(self) -> list[Value]:
        """Every trainable Value, in a fixed order; none here, as micrograd's Module."""
        return []

    def forward(self, x: list) -> Value | list[Value]:
        """The output for `x`, a list of Values or Python floats (checked by `__call__`)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither forward(x) nor __call__(x): "
            "define one of them to compute the output"
        )

    def parameter_groups(self) -> list[ParameterGroup]:
        """The parameters as named arrays, the entries of `state_dict()`.

        Here one group, ``"parameters"`` of shape (n,): `parameters()` as a vector. A
        module that names its arrays (``weight``, ``bias``) overrides this.
        """
        values = self.parameters()
        return [ParameterGroup("parameters", (len(values),), values)]

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
        name = type(self).__name__
        if is_batch(x):
            rows = [self._checked(row, f"{name} (row {i})") for i, row in enumerate(x)]
            with cyclic_gc_paused():  # a batch's graph is large and holds no cycle
                outs = self.forward_batch(rows)
            return [_single_or_list(out) for out in outs]
        return _single_or_list(self.forward(self._checked(x, name)))

    def _checked(self, x: Any, where: str) -> list:
        """`x` as a list of `nin` floats or Values (see `__call__`)."""
        x = number_list(x, where)
        if self.nin is not None and len(x) != self.nin:
            raise ValueError(f"{where} expects {self.nin} inputs, got {len(x)}")
        return x

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, Value) for each parameter, in the order of `parameters()`.

        A name is the parameter's place in `state_dict()`: ``"layers.0.weight[3, 1]"``
        is ``state_dict()["layers.0.weight"][3, 1]``; a 0-d entry is named as it is.
        """
        names: dict[Value, str] = {}
        for group in self.parameter_groups():
            for index, value in zip(np.ndindex(group.shape), group.values):
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
