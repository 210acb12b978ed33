"""`compile(fn)`: trace a step once, replay it vectorised. (Being written: for now it
calls `fn` eagerly, with the final API, so that callers can be written against it.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def compile(fn: Callable[..., Any] | None = None, *, check: bool = False) -> Any:
    """`fn`, to be traced once and replayed; ``@compile`` and ``compile(fn, check=True)``."""
    if fn is None:
        return lambda f: compile(f, check=check)
    return fn
