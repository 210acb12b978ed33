"""The library's modules import each other the way a reader can follow.

Read from the source with `ast`, never by importing it, so that every import counts: those
at the top of a module and those inside functions.

- No import cycles among the modules of minitorch_scalar/, nn/ and optim/. An import under
  ``if TYPE_CHECKING:`` does not count: it names a type for the annotations and never runs.
- No module reaches another module's private names: no ``from .tape import _slot``, no
  ``tape._slot`` after ``from . import tape``. A private module (``nn/_checks.py``) is
  private to its package: only the modules of that package import it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("minitorch_scalar", "nn", "optim")


@dataclass(frozen=True)
class Import:
    """One name a module takes from another module of the library."""

    importer: str  # the dotted name of the module that imports
    target: str  # the dotted name of the module imported from
    name: str | None  # the name taken from it, None when the module itself is bound
    line: int
    type_checking: bool  # under ``if TYPE_CHECKING:``: for annotations only, never run

    def __str__(self) -> str:
        taken = f"{self.target}.{self.name}" if self.name else self.target
        return f"{self.importer}:{self.line} takes {taken}"


def library_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the library, by dotted name (a package by its own name)."""
    modules = {}
    for package in LIBRARY:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def is_private(name: str) -> bool:
    """``_name`` is private; ``__name__`` and ``__init__`` are Python's, not private."""
    return name.startswith("_") and not name.endswith("__")


def package_of(module: str, modules: dict[str, Path]) -> str:
    """The package a module's relative imports start from (a package is its own)."""
    if modules[module].name == "__init__.py":
        return module
    return module.rpartition(".")[0]


def is_type_checking(test: ast.expr) -> bool:
    """Is this ``if`` test ``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``?"""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def import_statements(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement of a module, anywhere in it, and whether it is for types only."""

    def walk(node: ast.AST, type_checking: bool) -> Iterator[tuple[ast.AST, bool]]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_checking
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.body:
                yield from walk(child, True)
            for child in node.orelse:
                yield from walk(child, type_checking)
            return
        for child in ast.iter_child_nodes(node):
            yield from walk(child, type_checking)

    yield from walk(tree, False)


def imported_from(statement: ast.ImportFrom, module: str, modules: dict[str, Path]) -> str:
    """The dotted name a ``from ... import`` statement of a module takes its names from."""
    if not statement.level:
        return statement.module or ""
    package = package_of(module, modules).split(".")
    start = ".".join(package[: len(package) - statement.level + 1])
    return f"{start}.{statement.module}" if statement.module else start


def imports_of(module: str, modules: dict[str, Path]) -> Iterator[Import]:
    """The names a module takes from the library's modules."""
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    for statement, type_checking in import_statements(tree):
        line = statement.lineno
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.name in modules:
                    yield Import(module, alias.name, None, line, type_checking)
            continue
        base = imported_from(statement, module, modules)
        if base not in modules:
            continue
        for alias in statement.names:
            submodule = f"{base}.{alias.name}"
            if submodule in modules:
                yield Import(module, submodule, None, line, type_checking)
            else:
                yield Import(module, base, alias.name, line, type_checking)


def module_names(module: str, modules: dict[str, Path]) -> dict[str, str]:
    """The local names a module binds to library modules (``from . import tape`` binds tape)."""
    bound = {}
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    for statement, _ in import_statements(tree):
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.name in modules and alias.asname:
                    bound[alias.asname] = alias.name
                elif alias.name in modules:
                    top = alias.name.split(".")[0]
                    bound[top] = top
            continue
        base = imported_from(statement, module, modules)
        for alias in statement.names:
            if f"{base}.{alias.name}" in modules:
                bound[alias.asname or alias.name] = f"{base}.{alias.name}"
    return bound


def attribute_reaches(module: str, modules: dict[str, Path]) -> Iterator[Import]:
    """Every ``module.name`` a module reads through a library module it has bound."""
    bound = module_names(module, modules)
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain = [node.attr]
        value = node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name) or value.id not in bound:
            continue
        target = bound[value.id]
        for name in reversed(chain):
            if f"{target}.{name}" not in modules:
                yield Import(module, target, name, node.lineno, False)
                break
            target = f"{target}.{name}"


def private_reaches(modules: dict[str, Path]) -> list[str]:
    """Every import or attribute that reaches a private name of another module."""
    found = []
    for module in modules:
        package = package_of(module, modules)
        for reach in [*imports_of(module, modules), *attribute_reaches(module, modules)]:
            if reach.name is not None and is_private(reach.name):
                found.append(str(reach))
            parts = reach.target.split(".")
            for depth, part in enumerate(parts):
                owner = ".".join(parts[:depth])
                inside = package == owner or package.startswith(owner + ".")
                if is_private(part) and not inside:
                    found.append(f"{reach} (the module {part} is private to {owner})")
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """For each module, the library modules it imports when it runs (types-only left out)."""
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for module in modules:
        for found in imports_of(module, modules):
            if not found.type_checking and found.target != module:
                graph[module].add(found.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                lowest[module] = min(lowest[module], lowest[target])
            elif target in on_stack:
                lowest[module] = min(lowest[module], index[target])
        if lowest[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


MODULES = library_modules()


def test_the_scan_sees_the_whole_library():
    # A scan that found nothing would pass every check below.
    assert {"minitorch_scalar.engine", "minitorch_scalar.compiler", "nn.module"} <= set(MODULES)
    graph = import_graph(MODULES)
    assert "minitorch_scalar.engine" in graph["minitorch_scalar.compiler.tape"]
    assert "minitorch_scalar" in graph["nn.module"]
    assert "minitorch_scalar.compiler.arguments" in graph["minitorch_scalar.compiler"]


def test_no_import_cycles():
    assert cycles(import_graph(MODULES)) == []


def test_no_module_reaches_another_modules_private_names():
    assert private_reaches(MODULES) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b", "c"}, "b": {"c"}, "c": set(), "d": {"e"}, "e": {"d"}}, [["d", "e"]]),
    ],
)
def test_cycles_finds_exactly_the_cycles(graph, expected):
    assert sorted(cycles(graph)) == expected


def write_package(root: Path, files: dict[str, str]) -> dict[str, Path]:
    """A small library ``minitorch_scalar`` under root, made of the given files."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in LIBRARY[1:]:
        (root / package).mkdir(exist_ok=True)
    return library_modules(root)


def test_the_checks_fail_on_a_cycle_and_on_private_reaches(tmp_path):
    modules = write_package(
        tmp_path,
        {
            "minitorch_scalar/__init__.py": "from .a import f\n",
            "minitorch_scalar/a.py": "from .b import _g\n\ndef f():\n    return _g()\n",
            "minitorch_scalar/b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from .a import f\n\n"
                "def _g():\n    from . import c\n    return c._h()\n"
            ),
            "minitorch_scalar/c.py": "def _h():\n    from .a import f\n    return f\n",
            "minitorch_scalar/sub/__init__.py": "from .._private import x\n",
            "minitorch_scalar/_private.py": "x = 1\n",
            "nn/uses.py": "import minitorch_scalar._private as p\n",
        },
    )
    assert cycles(import_graph(modules)) == [
        ["minitorch_scalar.a", "minitorch_scalar.b", "minitorch_scalar.c"]
    ]
    assert private_reaches(modules) == [
        "minitorch_scalar.a:1 takes minitorch_scalar.b._g",
        "minitorch_scalar.b:7 takes minitorch_scalar.c._h",
        "nn.uses:1 takes minitorch_scalar._private "
        "(the module _private is private to minitorch_scalar)",
    ]
