"""PyTorch's containers: `Sequential` (modules run in turn) and `ModuleList` (a list of
modules that registers them).

Both register their modules as children named by position, ``"0"``, ``"1"``, ...,
so `state_dict()` names them as PyTorch does: ``"0.weight"``, ``"2.bias"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from minitorch_scalar import Value

from .module import Module


class _Modules(Module):
    """What both containers share: their children as a sequence, by position."""

    def __len__(self) -> int:
        return len(self._child_items())

    def __iter__(self) -> Iterator[Module]:
        return iter([module for _, module in self._child_items()])

    def _index(self, index: object) -> int:
        """`index` (an int, negative counting from the end) as a position, or an error."""
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(
                f"{type(self).__name__} indices must be ints or slices, got {type(index).__name__}"
            )
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__} index {index} is out of range for {n}")
        return index % n

    def append(self, module: Module) -> _Modules:
        """Add `module` at the end; returns self (as PyTorch's)."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put `module` before position `index` (list.insert's rule); names renumbered."""
        if not isinstance(module, Module):
            raise TypeError(f"insert expects a Module, got {type(module).__name__}")
        modules = list(self)
        modules.insert(index, module)
        self._renumber(modules)

    def __delitem__(self, index: int) -> None:
        """Remove the module at `index`; the names after it are renumbered, as PyTorch's."""
        modules = list(self)
        del modules[self._index(index)]
        self._renumber(modules)

    def _renumber(self, modules: list[Module]) -> None:
        """Hold exactly `modules`, named "0", "1", ... in order."""
        for name, _ in self._child_items():
            delattr(self, name)
        for module in modules:
            self.append(module)


class Sequential(_Modules):
    """PyTorch's ``nn.Sequential``: the output of each module is the input of the next.

    ``Sequential(m0, m1, ...)`` names the modules "0", "1", ...; ``Sequential(
    OrderedDict(name=module, ...))`` by the names given. Indexing, ``len`` and
    iteration are by position; a slice is a Sequential of the same modules, names
    kept; `append`, `insert` and ``del`` as PyTorch's (the last two renumber). A
    Sequential of `Linear` and `ReLU` computes what micrograd's `MLP` of the same
    sizes computes, node for node, and its `state_dict()` holds the same arrays in
    the same order (names ``"0.weight"`` where the MLP has ``"layers.0.weight"``).

    A batch runs one module at a time over all its rows (`forward_batch`), as `MLP`
    does; the width each module takes (its `nin`) is checked on the way.
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, module)
            return
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential expects Modules, got {type(module).__name__} at index {index}"
                )
            self.add_module(str(index), module)

    def __getitem__(self, index: int | slice) -> Any:
        pairs = self._child_items()
        if isinstance(index, slice):
            return Sequential(dict(pairs[index]))
        return pairs[self._index(index)][1]

    @property
    def nin(self) -> int | None:
        """The width of the first module's input (None if it does not say)."""
        return self[0].nin if len(self) else None

    def forward(self, x: list) -> Any:
        """The last module's output for one checked sample `x`."""
        return self.forward_batch([x])[0]

    def forward_batch(self, xs: list[list]) -> list:
        """Each module in turn on all the rows: a module's rows out are the next one's in."""
        for position, (name, module) in enumerate(self._child_items()):
            if position:
                xs = _as_rows(xs)
                _check_width(module, name, xs)
            xs = _batch_of(module, xs)
        return xs


class ModuleList(_Modules):
    """PyTorch's ``nn.ModuleList``: a list of modules, registered, so that their
    parameters are the owner's. Not callable: iterate over it in `forward`.

    Indexing (a slice is a new ModuleList), ``len``, iteration, `append`, `extend`,
    `insert`, item assignment and ``del``, as a list.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index: int | slice) -> Any:
        modules = list(self)
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(self._index(index)), module)

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of `modules`; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, _Modules):
            raise TypeError("ModuleList.extend expects an iterable of Modules, got a Module")
        for module in modules:
            self.append(module)
        return self


def _as_rows(outputs: list) -> list[list]:
    """Each output of a batch as a row of the next module's input: a Value as [it]."""
    if all(type(out) is list for out in outputs):
        return outputs
    return [[out] if isinstance(out, Value) else list(out) for out in outputs]


def _check_width(module: Module, name: str, rows: list[list]) -> None:
    """ValueError unless the rows are as wide as `module` takes (when it says)."""
    if module.nin is not None and rows and len(rows[0]) != module.nin:
        raise ValueError(
            f"Sequential: module {name} ({type(module).__name__}) expects {module.nin} "
            f"inputs, got {len(rows[0])} from the module before it"
        )


def _batch_of(module: Module, rows: list) -> list:
    """`module` on every row: its `forward_batch`, or calls for a module written as
    micrograd's (with `__call__` and no `forward`)."""
    if type(module).forward is Module.forward and type(module).__call__ is not Module.__call__:
        return [module(row) for row in rows]
    return module.forward_batch(rows)
