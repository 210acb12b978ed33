"""`compile(fn)`: trace a step once, replay it vectorised, with the engine's numbers.

    step = compile(loss_fn)    # or @compile, or compile(loss_fn, check=True)
    loss = step(X, y)          # the first call per signature traces; later calls replay
    loss.backward()            # every parameter's .grad, as eager backward gives it

A training step builds the same graph every call; only the numbers change. So the first
call runs `fn` on the engine (the trace, tape.py), keeps its graph as a flat tape, and
groups the tape into a few dozen vectorised steps (program.py). Later calls read the
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
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import structure
from ..engine import Value
from ..grad_mode import is_grad_enabled, is_tracing
from ..graph_walk import cyclic_gc_paused, graph_parents_first
from ..real import is_integer, is_real_number
from .arguments import Call, input_numbers, signature, traced
from .backward import backward_plan, run_backward
from .describe import describe
from .guards import ModelGuard
from .output import CompileCheckError, CompiledValue, Replayed, make_output, same
from .program import forward_steps, run_forward
from .tape import CompileError, Tape, backward_order, build, new_slot, record

CACHE_SIZE = 8
"""Traces kept per compiled function by default: torch.compile's cache_size_limit."""


class RetraceWarning(UserWarning):
    """A compiled function traced more often than its cache keeps traces."""


class Compiled:
    """A function compiled by `compile`: call it as the function itself."""

    def __init__(self, fn: Callable[..., Any], check: bool = False, cache_size: int = CACHE_SIZE):
        if not callable(fn):
            raise TypeError(f"compile expects a function, got {type(fn).__name__}")
        if not isinstance(check, bool):
            raise TypeError(f"compile(check) expects True or False, got {check!r}")
        if not is_integer(cache_size) or cache_size < 1:
            raise (ValueError if is_integer(cache_size) else TypeError)(
                f"compile(cache_size) expects a positive int, got {cache_size!r}"
            )
        self.fn, self.check, self.cache_size = fn, check, int(cache_size)
        self.traces: OrderedDict[tuple, Trace] = OrderedDict()  # least recently used first
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
            _check(self.fn, args, call, result)
        return result

    def _trace(self, args: tuple, call: Call) -> Trace | None:
        trace = Trace.of(self.fn, args, call)
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
            [f"compiled {getattr(self.fn, '__name__', 'function')}: {len(self.traces)} trace(s)"]
            + [trace.program() for trace in self.traces.values()]
        )


def compile(
    fn: Callable[..., Any] | None = None, *, check: bool = False, cache_size: int = CACHE_SIZE
) -> Any:
    """`fn` compiled (see the module): ``compile(fn)``, ``@compile``, ``@compile(check=True)``."""
    if fn is None:
        return lambda f: Compiled(f, check, cache_size)
    return Compiled(fn, check, cache_size)


class Trace:
    """One signature's tape, its forward steps, its backward plan (one output), and
    the guard on the models it went through."""

    guard: ModelGuard

    def __init__(self, tape: Tape, n_inputs: int, n_fed: int, outputs: list, shape: Any):
        self.node_count = tape.node_count  # the tape itself is not kept
        self.steps = forward_steps(tape)  # moves the nodes to new slots: read them after
        self.structure = _slots(shape, tape, outputs)
        self.template = np.array(tape.template, dtype=np.float64)
        self.inputs = slice(1, 1 + n_inputs)  # the input numbers' leaves
        self.fed = slice(self.inputs.stop, self.inputs.stop + n_fed)  # the Values' copies
        held = [(tape.slot_of[v], v) for v in tape.leaves[n_inputs + n_fed :]]
        self.held_slots = np.array([slot for slot, _ in held], dtype=np.intp)
        self.held_leaves = [leaf for _, leaf in held]
        self.held_ids = frozenset(map(id, self.held_leaves))
        self.first_node = len(tape.template) - tape.node_count
        self.plan = None
        self.parents: tuple = ()  # the leaves backward hands gradients to (None: an argument)
        self.arguments_at: list[tuple[int, int]] = []  # (place in parents, Value argument)
        if isinstance(self.structure, int):
            self._plan_backward(tape, dict(held))

    def _plan_backward(self, tape: Tape, held: dict[int, Value]) -> None:
        """The backward of the one output: its plan, and the leaves it hands gradients to."""
        fed = range(self.fed.start, self.fed.stop)
        slot = self.structure
        if slot < self.first_node:  # the function returned a leaf (or a constant)
            handed = [slot] if slot in held or slot in fed else []
        else:
            visit, leaves = backward_order(_node_at(tape, slot), tape)
            tape.slot_of.clear()  # (a dict of every node, not read past here: freed first)
            handed = [s for s in leaves if s in held or s in fed]
            self.plan = backward_plan(self.steps, len(tape.template), visit, handed)
        self.parents = tuple(held.get(s) for s in handed)
        self.arguments_at = [(k, s - fed.start) for k, s in enumerate(handed) if s in fed]

    @classmethod
    def of(cls, fn: Callable[..., Any], args: tuple, call: Call) -> Trace | None:
        """The trace of fn on `args`; None where some Value's data is a real number
        that is not a float (such a call runs eagerly: see `Trace.replay`)."""
        if not _floats_only(data := [v.data for v in call.values]):
            _refuse_non_numbers(call.values, "the call's Value", None)
            return None
        copies = [Value(x) for x in data]  # fresh leaves: see arguments.py
        traced_args, inputs = traced(args, call.key, call, copies)
        version = structure.version()
        with structure.watching() as used:
            result, made = record(fn, traced_args)
        outputs: list[Value] = []
        shape = _structure(result, outputs)
        with cyclic_gc_paused():  # many small objects, no cycles: the collector would rescan
            tape = build(outputs, inputs + copies, made)
            for out in outputs:
                if out not in tape.slot_of:  # a leaf returned as it is
                    new_slot(tape, out)
            if not _floats_only([v.data for v in tape.leaves]):
                return None
            trace = cls(tape, len(inputs), len(copies), outputs, shape)
            trace.verify()
        trace.guard = ModelGuard(fn, args, used, version)
        return trace

    def verify(self) -> None:
        """Replay the traced call and compare every node with the engine: an op the steps
        do not reproduce to the bit is an error now, not a wrong answer later."""
        values = self.template.copy()
        run_forward(self.steps, values)
        for step in self.steps:
            replayed, traced = values[step.out], self.template[step.out]
            same_bits = (replayed.view(np.int64) == traced.view(np.int64)) | (
                np.isnan(replayed) & np.isnan(traced)
            )
            if not same_bits.all():
                name = step.op_name(int(np.argmin(same_bits)))
                raise CompileError(f"compile: op {name!r} did not replay exactly")

    def replay(self, call: Call) -> Any:
        """The outputs for this call's arguments; None where a parameter's or a Value
        argument's data is a real number that is not a float (an int, a numpy float32:
        the engine computes with it as it is, the replay only in float64). Every
        parameter's data is checked before anything is computed."""
        held = [leaf.data for leaf in self.held_leaves]
        fed = [v.data for v in call.values]
        if not (_floats_only(held) and _floats_only(fed)):
            _refuse_non_numbers(self.held_leaves, "the trace's parameter", self.guard)
            _refuse_non_numbers(call.values, "the call's Value", None)
            return None
        values = np.empty(len(self.template))  # the steps write every node's slot
        values[: self.first_node] = self.template[: self.first_node]  # 0.0, leaves, constants
        values[self.inputs] = input_numbers(call.numbers)
        values[self.fed] = fed
        values[self.held_slots] = held
        run_forward(self.steps, values)
        return self._outputs(values, call)

    def _outputs(self, values: np.ndarray, call: Call) -> Any:
        if not is_grad_enabled():
            return _outputs(self.structure, values, None, False)
        if not isinstance(self.structure, int):
            return _outputs(self.structure, values, Replayed(values, (), None, False), True)
        parents, arguments = self.parents, call.values
        if self.arguments_at:
            parents = list(parents)
            for place, index in self.arguments_at:
                parents[place] = arguments[index]
            parents = tuple(parents)
        if self.plan is None:  # the function returned a leaf: the engine adds its seed
            return _outputs(self.structure, values, Replayed(values, parents, None, False), False)
        exact = all(map(_is_leaf, arguments)) and self.held_ids.isdisjoint(map(id, arguments))
        replayed = Replayed(values, parents, self.gradients, exact)
        return _outputs(self.structure, values, replayed, False)

    def gradients(self, values: np.ndarray, seed: float) -> np.ndarray:
        """d(output)/d(parent) * seed for each of `parents`, as eager backward adds them."""
        return run_backward(self.plan, values, self.structure, seed).take(self.plan.leaves)

    def program(self) -> str:
        """The vectorised program, as a learner reads it (see `describe`)."""
        return describe(self)


def _outputs(structure: Any, values: np.ndarray, replayed: Replayed | None, several: bool):
    if isinstance(structure, int):
        return make_output(float(values[structure]), replayed, several)
    parts = [_outputs(part, values, replayed, several) for part in structure]
    return tuple(parts) if isinstance(structure, tuple) else parts


def _is_leaf(value: Value) -> bool:
    if isinstance(value, CompiledValue):
        return value._replayed is None
    return not value._parents


_FLOATS = {float, np.float64}


def _floats_only(data: list) -> bool:
    """True if every item is a float (as the engine makes them); one pass over the types."""
    return set(map(type, data)) <= _FLOATS


def _refuse_non_numbers(leaves: list[Value], what: str, guard: ModelGuard | None) -> None:
    """A TypeError naming the first leaf whose data is not a real number (a bool neither)."""
    for index, leaf in enumerate(leaves):
        if not is_real_number(leaf.data):
            name = guard and guard.model_names(leaf)
            named = f" ({name})" if name else ""
            raise TypeError(
                f"compile: {what} {index}{named} expects .data to be a real number, got "
                f"{type(leaf.data).__name__}: {leaf.data!r}"
            )


def _structure(result: Any, outputs: list[Value]) -> Any:
    """`result` with each Value replaced by its index in `outputs` (which it fills)."""
    if isinstance(result, Value):
        outputs.append(result)
        return len(outputs) - 1
    if isinstance(result, list | tuple):
        parts = [_structure(part, outputs) for part in result]
        return tuple(parts) if isinstance(result, tuple) else parts
    raise TypeError(
        f"compile: the function must return a Value or (nested) lists or tuples of Values, "
        f"got {type(result).__name__}: {result!r}"
    )


def _slots(structure: Any, tape: Tape, outputs: list[Value]) -> Any:
    """The structure with output indices replaced by the outputs' slots."""
    if isinstance(structure, int):
        return tape.slot_of[outputs[structure]]
    parts = [_slots(part, tape, outputs) for part in structure]
    return tuple(parts) if isinstance(structure, tuple) else parts


def _node_at(tape: Tape, slot: int) -> Value:
    return next(v for v, s in tape.slot_of.items() if s == slot)


def _check(fn: Callable[..., Any], args: tuple, call: Call, result: Any) -> None:
    """With check=True: fn run eagerly (its inputs as fresh leaf Values, as in the trace)
    must give the replay's outputs, to the bit, and (checked when backward runs) the
    same gradients on every leaf eager backward reaches."""
    eager_args, inputs = traced(args, call.key, call, None)
    eager: list[Value] = []
    _structure(fn(*eager_args), eager)
    replayed: list[Value] = []
    _structure(result, replayed)
    for index, (e, r) in enumerate(zip(eager, replayed)):
        if not same(e.data, r.data):
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
        replay.check = (eager[0], list(leaves))


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
