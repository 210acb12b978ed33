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

``compile(fn, exact=False)`` is the fast mode (fast.py): the same trace, replayed with
matrix products and numpy's ufuncs, within 1e-12 of eager (`fast.close`) instead of
to the bit; with ``check=True`` it compares within that tolerance.
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
from .fast import FastProgram, all_close, close
from .guards import ModelGuard
from .output import CompileCheckError, CompiledValue, Replayed, make_output, make_outputs, same
from .program import as_index, forward_steps, run_forward
from .tape import CompileError, Tape, backward_order, build, new_slot, record

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
            _check(self.fn, args, call, result, same if self.exact else close)
        return result

    def _trace(self, args: tuple, call: Call) -> Trace | None:
        trace = Trace.of(self.fn, args, call, self.exact)
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


class Trace:
    """One signature's tape, its forward steps, its backward plan (one output), and
    the guard on the models it went through.

    Its leaves are of three kinds, by where a replay reads their numbers:

    - *inputs*, slots `input_slots`: the numbers among the arguments (no gradient);
    - *Value arguments*, slots `value_argument_slots`: each distinct Value among the
      arguments, traced as a fresh leaf of its own (arguments.py); a replay reads the
      call's Values;
    - *parameters*, slots `parameter_slots`: every other leaf the function reached (a
      model's weights, a Value in a closure or made inside the function); a replay
      reads their current `.data`.

    The *grad leaves* are the leaves a backward gives a gradient: the parameters and
    Value arguments eager backward reaches, in the order it adds to them. The backward
    plan returns their gradients in that order (`BackwardPlan.grad_leaf_slots`);
    `grad_leaves` are the Values (None for a Value argument: the call's own Value, at
    `grad_leaf_arguments`), the output's parents.
    """

    guard: ModelGuard

    def __init__(
        self,
        tape: Tape,
        n_inputs: int,
        n_value_arguments: int,
        outputs: list,
        shape: Any,
        exact: bool = True,
    ):
        self.exact = exact  # False: replayed by `fast` (forward, and backward if planned)
        self.node_count = tape.node_count  # the tape itself is not kept
        self.steps = forward_steps(tape)  # moves the nodes to new slots: read them after
        self.structure = _slots(shape, tape, outputs)
        flat = not isinstance(self.structure, int) and all(
            isinstance(part, int) for part in self.structure
        )
        self.flat = np.array(self.structure, dtype=np.intp) if flat else None  # a list's slots
        self.template = np.array(tape.template, dtype=np.float64)
        self.input_slots = slice(1, 1 + n_inputs)
        self.value_argument_slots = slice(
            self.input_slots.stop, self.input_slots.stop + n_value_arguments
        )
        self.parameters = tape.leaves[n_inputs + n_value_arguments :]
        parameter_slots = np.array([tape.slot_of[p] for p in self.parameters], np.intp)
        # (a slice where the slots are consecutive: the parameters' data go in as a view)
        self.parameter_slots = as_index(parameter_slots) if self.parameters else parameter_slots
        self.parameter_ids = frozenset(map(id, self.parameters))
        self.first_node = len(tape.template) - tape.node_count
        self.plan = None
        self.grad_leaves: tuple = ()  # the output's parents (see above)
        self.grad_leaf_arguments: list[tuple[int, int]] = []  # (k, i): grad leaf k is argument i
        self.fast: FastProgram | None = None
        if isinstance(self.structure, int):
            self._plan_backward(tape)
        elif not exact:
            self.fast = FastProgram(self.steps, len(self.template), self.first_node, -1, [])

    def _plan_backward(self, tape: Tape) -> None:
        """The backward of the one output: its plan, and its grad leaves."""
        parameter_at = {tape.slot_of[p]: p for p in self.parameters}
        arguments = range(self.value_argument_slots.start, self.value_argument_slots.stop)
        slot = self.structure
        if slot < self.first_node:  # the function returned a leaf (or a constant)
            grad_leaf_slots = [slot] if slot in parameter_at or slot in arguments else []
            if not self.exact:
                self.fast = FastProgram(self.steps, len(self.template), self.first_node, -1, [])
        else:
            visit, reached = backward_order(_node_at(tape, slot), tape)
            tape.slot_of.clear()  # (a dict of every node, not read past here: freed first)
            grad_leaf_slots = [s for s in reached if s in parameter_at or s in arguments]
            if self.exact:
                self.plan = backward_plan(self.steps, len(tape.template), visit, grad_leaf_slots)
            else:  # the fast program, forward and backward
                size = len(self.template)
                self.plan = self.fast = FastProgram(
                    self.steps, size, self.first_node, slot, grad_leaf_slots
                )
        self.grad_leaves = tuple(parameter_at.get(s) for s in grad_leaf_slots)
        self.grad_leaf_arguments = [
            (k, s - arguments.start) for k, s in enumerate(grad_leaf_slots) if s in arguments
        ]

    @classmethod
    def of(
        cls, fn: Callable[..., Any], args: tuple, call: Call, exact: bool = True
    ) -> Trace | None:
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
            trace = cls(tape, len(inputs), len(copies), outputs, shape, exact)
            trace.verify()
        trace.guard = ModelGuard(fn, args, used, version)
        return trace

    def verify(self) -> None:
        """Replay the traced call and compare every node with the engine: an op the steps
        do not reproduce to the bit (in the fast mode: within its tolerance) is an error
        now, not a wrong answer later."""
        values = self.template.copy()
        self.forward(values)
        for step in self.steps:
            replayed, traced = values[step.out], self.template[step.out]
            agree = _same_bits(replayed, traced) if self.exact else all_close(replayed, traced)
            if not agree.all():
                name = step.op_name(int(np.argmin(agree)))
                how = "exactly" if self.exact else "within the fast mode's tolerance"
                raise CompileError(f"compile: op {name!r} did not replay {how}")

    def forward(self, values: np.ndarray) -> None:
        """Every node's slot in `values`: by the exact steps, or by the fast program."""
        if self.fast is None:
            run_forward(self.steps, values)
        else:
            self.fast.forward(values)

    def replay(self, call: Call) -> Any:
        """The outputs for this call's arguments; None where a parameter's or a Value
        argument's data is a real number that is not a float (an int, a numpy float32:
        the engine computes with it as it is, the replay only in float64). Every
        parameter's data is checked before anything is computed."""
        parameter_data = [leaf.data for leaf in self.parameters]
        argument_data = [v.data for v in call.values]
        if not (_floats_only(parameter_data) and _floats_only(argument_data)):
            _refuse_non_numbers(self.parameters, "the trace's parameter", self.guard)
            _refuse_non_numbers(call.values, "the call's Value", None)
            return None
        values = np.empty(len(self.template))  # the steps write every node's slot
        values[: self.first_node] = self.template[: self.first_node]  # 0.0, leaves, constants
        values[self.input_slots] = input_numbers(call.numbers)
        values[self.value_argument_slots] = argument_data
        values[self.parameter_slots] = np.fromiter(parameter_data, np.float64, len(parameter_data))
        self.forward(values)
        return self._outputs(values, call)

    def _outputs(self, values: np.ndarray, call: Call) -> Any:
        if not is_grad_enabled():
            return self._several(values, None)
        if not isinstance(self.structure, int):
            return self._several(values, Replayed(values, (), None, False))
        parents, arguments = self.grad_leaves, call.values
        if self.grad_leaf_arguments:
            parents = list(parents)
            for k, index in self.grad_leaf_arguments:
                parents[k] = arguments[index]
            parents = tuple(parents)
        if self.plan is None:  # the function returned a leaf: the engine adds its seed
            return _outputs(self.structure, values, Replayed(values, parents, None, False), False)
        exact = all(map(_is_leaf, arguments)) and self.parameter_ids.isdisjoint(map(id, arguments))
        replayed = Replayed(values, parents, self.gradients, exact)
        return _outputs(self.structure, values, replayed, False)

    def _several(self, values: np.ndarray, replayed: Replayed | None) -> Any:
        """The outputs of a function that returns several Values (or of any, under
        no_grad(), where `replayed` is None); a flat list or tuple of them in one loop."""
        several = replayed is not None
        if self.flat is None:
            return _outputs(self.structure, values, replayed, several)
        made = make_outputs(values.take(self.flat).tolist(), replayed, several)
        return made if isinstance(self.structure, list) else tuple(made)

    def gradients(self, values: np.ndarray, seed: float) -> np.ndarray:
        """d(output)/d(leaf) * seed for each grad leaf, as eager backward adds them (in
        the fast mode: within its tolerance)."""
        if self.fast is not None:
            return self.fast.gradients(values, seed)
        return run_backward(self.plan, values, self.structure, seed).take(self.plan.grad_leaf_slots)

    def program(self) -> str:
        """The vectorised program, as a learner reads it (see `describe`)."""
        return describe(self)


def _outputs(structure: Any, values: np.ndarray, replayed: Replayed | None, several: bool):
    if isinstance(structure, int):
        return make_output(float(values[structure]), replayed, several)
    if type(structure) is list and all(type(part) is int for part in structure):  # one read
        return [make_output(x, replayed, several) for x in values.take(structure).tolist()]
    parts = [_outputs(part, values, replayed, several) for part in structure]
    return tuple(parts) if isinstance(structure, tuple) else parts


def _same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise: the same float to the bit (any nan the same as any nan)."""
    return (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))


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


def _check(
    fn: Callable[..., Any], args: tuple, call: Call, result: Any, agree: Callable = same
) -> None:
    """With check=True: fn run eagerly (its inputs as fresh leaf Values, as in the trace)
    must give the replay's outputs, to the bit (`agree`: `same`; the fast mode's `close`),
    and (checked when backward runs) the same gradients on every leaf eager backward
    reaches."""
    eager_args, inputs = traced(args, call.key, call, None)
    eager: list[Value] = []
    _structure(fn(*eager_args), eager)
    replayed: list[Value] = []
    _structure(result, replayed)
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
