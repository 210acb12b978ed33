"""Each training script teaches first: within one screen after its imports a reader meets
the model, the optimizer and the training loop (the loop that calls backward); its flags
live in a helper module (*_args.py) and its pictures in the plots modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCREEN = 50  # lines after the last import: what a first screen shows
TRAINING_SCRIPTS = [
    "train_moons.py",
    "train_digits.py",
    "train_moons_torch_style.py",
    "to_pytorch.py",
]


def last_import_line(tree: ast.Module) -> int:
    """The last line of the module's last top-level import."""
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return max(n.end_lineno for n in imports)


def calls_method(node: ast.AST, name: str) -> bool:
    """True if `node` holds a call of a method `name`, as in ``loss.backward()``."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == name
        for n in ast.walk(node)
    )


def training_loop(tree: ast.Module) -> ast.For:
    """The first `for` (the outermost, then) whose body calls backward and an optimizer's
    zero_grad and step: the training loop."""
    loops = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.For)
        and all(calls_method(n, name) for name in ("backward", "zero_grad", "step"))
    ]
    assert loops, "no loop calls backward, zero_grad and step"
    return min(loops, key=lambda n: n.lineno)


def first_screen(tree: ast.Module) -> tuple[int, int]:
    """The lines (first, last) of the screen after the last import."""
    start = last_import_line(tree)
    return start + 1, start + SCREEN


def assigned_in(tree: ast.AST, name: str, lines: tuple[int, int]) -> bool:
    """True if `name` is assigned to in the lines `lines` (first and last included)."""
    return any(
        isinstance(n, ast.Name)
        and isinstance(n.ctx, ast.Store)
        and n.id == name
        and lines[0] <= n.lineno <= lines[1]
        for n in ast.walk(tree)
    )


def builds_a_model_in(tree: ast.Module, lines: tuple[int, int]) -> bool:
    """True if `nn.MLP(...)` or `nn.Sequential(...)` is called in the lines `lines`."""
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in ("MLP", "Sequential")
        and lines[0] <= n.lineno <= lines[1]
        for n in ast.walk(tree)
    )


def parse(script: str) -> ast.Module:
    return ast.parse((EXAMPLES / script).read_text(encoding="utf-8"))


@pytest.mark.parametrize("script", TRAINING_SCRIPTS)
def test_the_training_loop_starts_within_the_first_screen_after_the_imports(script):
    tree = parse(script)
    loop = training_loop(tree)
    distance = loop.lineno - last_import_line(tree)
    assert 0 < distance <= SCREEN, f"{script}: the loop is {distance} lines below the imports"


@pytest.mark.parametrize("script", TRAINING_SCRIPTS)
def test_the_model_and_the_optimizer_come_before_the_loop_on_that_screen(script):
    tree = parse(script)
    first, _ = first_screen(tree)
    before_the_loop = (first, training_loop(tree).lineno)
    assert builds_a_model_in(tree, before_the_loop), script
    assert assigned_in(tree, "optimizer", before_the_loop), script
    loop = training_loop(tree)
    assert assigned_in(loop, "loss", (loop.lineno, loop.end_lineno)), script


@pytest.mark.parametrize("script", TRAINING_SCRIPTS)
def test_the_flags_and_the_pictures_live_in_helper_modules(script):
    tree = parse(script)
    source = (EXAMPLES / script).read_text(encoding="utf-8")
    assert "ArgumentParser" not in source and "add_argument" not in source
    [home] = [
        n.module
        for n in tree.body
        if isinstance(n, ast.ImportFrom) and any(a.name == "parse_args" for a in n.names)
    ]
    assert home.endswith("_args") and (EXAMPLES / f"{home}.py").exists()
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name and name.startswith("matplotlib") for name in imported)


def test_the_check_sees_a_loop_pushed_below_the_first_screen():
    """The layout check is not vacuous: 60 lines of flags between the imports and the
    loop put it off the first screen."""
    script = "\n".join(
        [
            "import optim",
            *[f"FLAG_{i} = {i}" for i in range(60)],
            "def train(model, optimizer):",
            "    for step in range(3):",
            "        loss = model()",
            "        optimizer.zero_grad()",
            "        loss.backward()",
            "        optimizer.step()",
        ]
    )
    tree = ast.parse(script)
    assert training_loop(tree).lineno - last_import_line(tree) == 62 > SCREEN
