"""`compile(fn)`: trace a step once, replay it vectorised, with the engine's numbers.

    step = compile(loss_fn)    # or @compile, or compile(loss_fn, check=True)
    loss = step(X, y)          # the first call per signature traces; later calls replay
    loss.backward()            # every parameter's .grad, as eager backward gives it

A training step builds the same graph every call; only the numbers change. So the first
call runs `fn` on the engine (the trace, tape.py), keeps its graph as a flat tape, and
groups the tape into a few dozen vectorised steps (forward.py). Later calls read the
parameters' current data, run the steps with numpy, and on `backward()` hand every
leaf the gradient eager backward would give it, to the bit. The output is a node of
the engine's graph like any other (output.py): it composes with further ops.

What retraces: a call whose signature differs (arguments.py: the shapes of the inputs,
the static arguments, which arguments are the same Value), and a call after a model the
trace went through changed structure (guards.py). At most `cache_size` traces are kept
per function (8, as torch's cache_size_limit), the least recently used dropped, with a
`RetraceWarning` the first time. What a trace cannot see is frozen as it went in the
traced call, as with ``torch.jit.trace``: Python control flow on `.data` (an `if`, a
constant computed from a value), and Values or globals a function reaches other than
through its arguments and its models. ``check=True`` runs `fn` eagerly beside every
replay and raises `CompileCheckError` at the first value or gradient that differs.

``compile(fn, exact=False)`` is the fast mode (fast.py): the same trace, replayed with
matrix products and numpy's ufuncs, within 1e-12 of eager (`fast.close`) instead of
to the bit; with ``check=True`` it compares within that tolerance.

The chapter's modules, in the order the data flows (each names the next): interpret.py
(the simplest replay: read it first) and rules.py (each op's rule); tape.py (trace);
forward.py and layer_grid.py (group, forward); backward.py and bundles.py; replay.py
(one signature's compiled program, run on a new call) and output.py; arguments.py and
guards.py (what retraces); fast.py (``exact=False``); describe.py (``print(step)``).
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..engine import Value
from ..grad_mode import is_tracing
from ..graph_walk import graph_parents_first
from ..real import is_integer
from .arguments import Call, signature, traced
from .fast import close
from .output import CompileCheckError, CompiledValue, same
from .replay import CompiledProgram, output_structure
from .tape import CompileError

CACHE_SIZE = 8
"""Traces kept per compiled function by default: torch.compile's cache_size_limit."""


class RetraceWarning(UserWarning):
    """A compiled function traced more often than its cache keeps traces."""


class Compiled:
    """A function compiled by `compile`: call it as the function itself."""

    def __init__(
        self,
        fn: Callable[..., Any],
        check: bool = False,
        cache_size: int = CACHE_SIZE,
        exact: bool = True,
    ):
        if not callable(fn):
            raise TypeError(f"compile expects a function, got {type(fn).__name__}")
        if not isinstance(check, bool):
            raise TypeError(f"compile(check) expects True or False, got {check!r}")
        if not isinstance(exact, bool):
            raise TypeError(f"compile(exact) expects True or False, got {exact!r}")
        if not is_integer(cache_size) or cache_size < 1:
            raise (ValueError if is_integer(cache_size) else TypeError)(
                f"compile(cache_size) expects a positive int, got {cache_size!r}"
            )
        self.fn, self.check, self.cache_size = fn, check, int(cache_size)
        self.exact = exact  # False: the fast mode (fast.py), fixed for this function
        # one compiled program per signature, the least recently used first
        self.traces: OrderedDict[tuple, CompiledProgram] = OrderedDict()
        self.trace_count = 0  # traces made, kept or not
        self.retrace_count = 0  # of them, made because a model changed structure
        self._warned = False
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any) -> Any:
        if is_tracing():  # inside a function being traced: trace this one's ops inline
            return self.fn(*args)
        call = signature(args)
        trace = self.traces.get(call.key)
        fresh = trace is None or not trace.guard.holds_now()
        if fresh:
            trace = self._trace(args, call)
        else:
            self.traces.move_to_end(call.key)
        result = None if trace is None else trace.replay(call)
        if result is None:  # data the replay cannot compute as eager does: run eagerly
            return self.fn(*args)
        if self.check and not fresh:
            _check(self.fn, args, call, result, same if self.exact else close)
        return result

    def _trace(self, args: tuple, call: Call) -> CompiledProgram | None:
        trace = CompiledProgram.of(self.fn, args, call, self.exact)
        if trace is None:
            return None
        self.trace_count += 1
        if call.key in self.traces:  # a model changed structure: this trace replaces its own
            self.retrace_count += 1
            if self.retrace_count > self.cache_size:
                self._warn_once([call.key])
        elif len(self.traces) >= self.cache_size:
            self._warn_once([*self.traces, call.key])
            self.traces.popitem(last=False)
        self.traces[call.key] = trace
        self.traces.move_to_end(call.key)
        return trace

    def _warn_once(self, keys: list[tuple]) -> None:
        if self._warned:
            return
        self._warned = True
        name = getattr(self.fn, "__name__", "function")
        warnings.warn(
            f"compile: {name} traced {self.trace_count} times, more than the "
            f"{self.cache_size} traces it keeps (compile(fn, cache_size=...)); the least "
            f"recently used are dropped. {_why(keys)}",
            RetraceWarning,
            stacklevel=3,
        )

    def __repr__(self) -> str:
        return "\n".join(
            [
                f"compiled {getattr(self.fn, '__name__', 'function')}"
                f"{'' if self.exact else ' (fast mode, exact=False)'}: {len(self.traces)} trace(s)"
            ]
            + [trace.program() for trace in self.traces.values()]
        )


def compile(
    fn: Callable[..., Any] | None = None,
    *,
    check: bool = False,
    cache_size: int = CACHE_SIZE,
    exact: bool = True,
) -> Any:
    """`fn` compiled (see the module): ``compile(fn)``, ``@compile``, ``@compile(check=True)``;
    ``exact=False``: the fast mode (fast.py), within 1e-12 of eager, not to the bit."""
    if fn is None:
        return lambda f: Compiled(f, check, cache_size, exact)
    return Compiled(fn, check, cache_size, exact)


def _check(
    fn: Callable[..., Any], args: tuple, call: Call, result: Any, agree: Callable = same
) -> None:
    """With check=True: fn run eagerly (its inputs as fresh leaf Values, as in the trace)
    must give the replay's outputs, to the bit (`agree`: `same`; the fast mode's `close`),
    and (checked when backward runs) the same gradients on every leaf eager backward
    reaches."""
    eager_args, inputs = traced(args, call.key, call, None)
    eager: list[Value] = []
    output_structure(fn(*eager_args), eager)
    replayed: list[Value] = []
    output_structure(result, replayed)
    for index, (e, r) in enumerate(zip(eager, replayed)):
        if not agree(e.data, r.data):
            raise CompileCheckError(
                f"compile(check=True): output {index} is {r.data!r} replayed but "
                f"{e.data!r} eagerly: the trace froze something that changed (an `if` on "
                "`.data`, a constant computed from it, a Value or a global the function "
                "reaches outside its arguments and models); compile this case separately"
            )
    replay = result._replayed if isinstance(result, CompiledValue) else None
    if replay is not None and eager[0]._parents and not result._several:
        own = set(inputs)  # the eager run's own input leaves: the replay has none
        reached = graph_parents_first(eager[0])[1]
        leaves = dict.fromkeys(leaf for leaf in reached if leaf not in own)
        leaves.update(dict.fromkeys(replay.parents))  # and those only the replay reaches
        replay.check = (eager[0], list(leaves), agree)


def _why(keys: list[tuple]) -> str:
    """Which arguments differ among the signatures `keys` (the reason for retracing)."""
    if len(set(keys)) == 1:
        return "Why: the structure of the models it uses keeps changing (docs/compiler.md)."
    if len({len(key) for key in keys}) > 1:
        return "Why: the number of its arguments keeps changing."
    reasons = []
    for position, kinds in enumerate(zip(*keys)):
        distinct = list(dict.fromkeys(kinds))
        if len(distinct) > 1:
            shown = ", ".join(_shown(kind) for kind in distinct[-3:])
            reasons.append(f"argument {position}'s {_what(distinct)} keeps changing ({shown})")
    return "Why: " + "; ".join(reasons) + "."


def _what(kinds: list[tuple]) -> str:
    if len({kind[0] for kind in kinds}) > 1:
        return "type"
    return "shape" if kinds[0][0] in ("array", "object array", "nested") else "value"


def _shown(kind: tuple) -> str:
    if kind[0] in ("array", "object array"):
        return f"{kind[0]} of shape {kind[1]}"
    if kind[0] == "static":
        return repr(kind[2])[:40]
    return kind[0]


__all__ = [
    "CACHE_SIZE",
    "CompileCheckError",
    "CompileError",
    "Compiled",
    "CompiledValue",
    "RetraceWarning",
    "compile",
]
