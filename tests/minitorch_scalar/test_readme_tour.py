"""The README's tour of the engine: its program prints what it says, and the code it
quotes from the engine is the engine's code (so the tour cannot drift from it)."""

import contextlib
import inspect
import io
import re
from pathlib import Path

from minitorch_scalar import engine

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_blocks() -> list[str]:
    """The ```python blocks of the README's section "A tour of the engine"."""
    text = README.read_text(encoding="utf-8")
    tour = text.split("## A tour of the engine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", tour, flags=re.DOTALL)


def test_the_tour_program_prints_the_numbers_in_its_comment() -> None:
    program = tour_blocks()[0]
    expected = program.strip().splitlines()[-1].split("#", 1)[1].split()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(program, {})
    assert out.getvalue().split() == expected == ["-50.0", "64.0", "25.0", "1.0", "-3.0"]


def test_the_op_the_tour_quotes_is_the_engines_own() -> None:
    quoted = tour_blocks()[1]
    method = quoted.split("def ", 1)[1].split("(", 1)[0]
    source = inspect.getsource(getattr(engine.Value, method))
    assert [line.strip() for line in quoted.strip().splitlines()] == [
        line.strip() for line in source.strip().splitlines()
    ]


def test_the_backward_loop_the_tour_quotes_is_the_engines_own() -> None:
    quoted = [line.strip() for line in tour_blocks()[2].strip().splitlines()]
    source = [line.strip() for line in inspect.getsource(engine.backpropagate).splitlines()]
    start = source.index(quoted[0])
    assert source[start : start + len(quoted)] == quoted
