"""Grad mode: whether ops record a graph, per thread, as in PyTorch; and the one hook
through which a tracer hears of the nodes made.

`no_grad()` turns recording off inside its block (ops then give leaves); the mode is
a property of the thread that enters the block, so two threads never see each
other's mode.

**The hook.** `listening(listener)` installs a listener for a block: while it is open,
the engine's node constructor (`engine.make_node`, the one place every op's node is
made) calls ``listener(node, operands)`` for each node it records in this thread,
`operands` being the op's arguments as called (Values and numbers). The compiler
traces a function this way (`compiler.tape.record`); no op knows of it.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

Listener = Callable[[Any, tuple], None]
"""Heard with ``(node, operands)`` for every node recorded while it is installed."""


class Mode(NamedTuple):
    """What ops do in a thread: record a graph or not (`no_grad()`), and the listener
    installed by `listening`, if any, which hears of every node recorded."""

    recording: bool = True
    listener: Listener | None = None


class _ThreadMode(threading.local):
    """This thread's `Mode`, in one attribute (the engine reads it in one look-up, and
    only while some block is open)."""

    now: Mode = Mode()


mode = _ThreadMode()

# A fast path for the engine, which asks for every node it makes: while no thread is
# inside `no_grad()` or `listening()`, every thread records, no listener is installed,
# and `mode` need not be read.
open_blocks = [0]  # how many `no_grad()` and `listening()` blocks are open, in all threads
_counting = threading.Lock()


def entering(now: Mode) -> Mode:
    """This thread's mode set to `now` for a block; returns what it was (for `leaving`)."""
    with _counting:
        open_blocks[0] += 1
    previous, mode.now = mode.now, now
    return previous


def leaving(previous: Mode) -> None:
    """End a block opened by `entering`: this thread's mode back as it was."""
    mode.now = previous
    with _counting:
        open_blocks[0] -= 1


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Within the block, record (grad enabled) and call ``listener(node, operands)`` for
    every node made in this thread: the engine's one hook for a tracer. On leaving, the
    thread's mode and listener are back as they were."""
    if not callable(listener):
        raise TypeError(f"listening expects a callable, got {type(listener).__name__}")
    previous = entering(Mode(True, listener))
    try:
        yield
    finally:
        leaving(previous)


def is_grad_enabled() -> bool:
    """True unless this thread is inside `no_grad()`."""
    return mode.now.recording


def is_tracing() -> bool:
    """True while a listener hears this thread's nodes (the compiler traces), grad enabled."""
    recording, listener = mode.now
    return recording and listener is not None


def refuse_while_tracing(what: str) -> None:
    """A ValueError if the compiler is tracing a function in this thread: `what` (a
    backward, an optimizer step) would run once, at trace time, and never in a replay."""
    if open_blocks[0] and is_tracing():
        raise ValueError(
            f"compile: {what} inside the function being compiled: a replay only reruns "
            "the ops that build the graph. Compile the forward (the loss), then call "
            "loss.backward() and the optimizer's step() on its result, outside"
        )


class no_grad:  # noqa: N801 - named as torch.no_grad
    """Record no graph: ops inside give leaves. A context manager and a decorator.

    Use it for inference (evaluation, plotting): nothing is kept for backward, so it
    is faster and frees each intermediate at once. The mode is per thread, as
    PyTorch's. As with PyTorch's, ``@no_grad`` and ``@no_grad()`` both decorate, a
    decorated function enters a fresh block on every call, and a decorated generator
    runs each of its steps without grad (the caller's mode is back between steps).
    """

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        if func is None:
            return super().__new__(cls)
        if not callable(func):
            raise TypeError(f"no_grad expects a function to decorate, got {type(func).__name__}")
        return super().__new__(cls)(func)  # bare @no_grad: decorate at once

    def __enter__(self) -> no_grad:
        self._previous = entering(mode.now._replace(recording=False))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        leaving(self._previous)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """`func` run inside a fresh `no_grad()` on every call (or every generator step)."""
        if inspect.isgeneratorfunction(func):
            return _generator_without_grad(func)

        @functools.wraps(func)
        def without_grad(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return func(*args, **kwargs)

        return without_grad


def _generator_without_grad(func: Callable[..., Generator]) -> Callable[..., Generator]:
    """A generator function whose every step (next, send, throw, close) runs without grad."""

    @functools.wraps(func)
    def steps_without_grad(*args: Any, **kwargs: Any) -> Generator:
        generator = func(*args, **kwargs)  # runs none of func's code yet
        resume, argument = generator.send, None
        while True:
            try:
                with no_grad():
                    produced = resume(argument)
            except StopIteration as stop:
                return stop.value
            try:
                argument = yield produced  # the caller runs here, in its own mode
                resume = generator.send
            except GeneratorExit:
                with no_grad():
                    generator.close()
                raise
            except BaseException as error:  # thrown in by the caller: pass it on
                resume, argument = generator.throw, error

    return steps_without_grad
