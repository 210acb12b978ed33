"""`compile(fn)`: trace a step once, replay it vectorised, with the engine's numbers.

    step = compile(loss_fn)    # or @compile, or compile(loss_fn, check=True)
    loss = step(X, y)          # the first call per signature traces; later calls replay
    loss.backward()            # every parameter's .grad, as eager backward gives it

A training step builds the same graph every call; only the numbers change. So the first
call runs `fn` on the engine (the trace, tape.py), keeps its graph as a flat tape, and
groups the tape into a few dozen vectorised steps (program.py). Later calls read the
parameters' current data, run the steps with numpy, and on `backward()` hand every
leaf the gradient eager backward would give it, to the bit.

What a trace cannot see: Python control flow on `.data` (an `if`, a constant computed
from a value) is frozen as it went in the traced call, as with ``torch.jit.trace``.
``check=True`` runs `fn` eagerly beside every replay and raises `CompileCheckError`
at the first value or gradient that differs.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Value, cyclic_gc_paused
from ..grad_mode import is_grad_enabled
from ..real import as_float
from .arguments import input_numbers, is_input, signature, traced
from .backward import backward_plan, run_backward
from .program import forward_steps, run_forward
from .tape import CompileError, Tape, backward_order, build, record


class CompileCheckError(AssertionError):
    """Raised with ``check=True`` when a replay differs from the eager engine."""


class Compiled:
    """A function compiled by `compile`: call it as the function itself."""

    def __init__(self, fn: Callable[..., Any], check: bool = False) -> None:
        if not callable(fn):
            raise TypeError(f"compile expects a function, got {type(fn).__name__}")
        if not isinstance(check, bool):
            raise TypeError(f"compile(check) expects True or False, got {check!r}")
        self.fn, self.check = fn, check
        self.traces: dict[tuple, Trace] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any) -> Any:
        kinds = signature(args)
        trace = self.traces.get(kinds)
        if trace is None:
            result, trace = Trace.of(self.fn, args, kinds)
            self.traces[kinds] = trace
            return result
        result = trace.replay(args)
        if self.check:
            _check(self.fn, traced(args, kinds)[0], result, trace.leaves(args))
        return result

    def __repr__(self) -> str:
        return "\n".join(
            [f"compiled {getattr(self.fn, '__name__', 'function')}: {len(self.traces)} trace(s)"]
            + [trace.program() for trace in self.traces.values()]
        )


def compile(fn: Callable[..., Any] | None = None, *, check: bool = False) -> Any:
    """`fn` compiled (see the module): ``compile(fn)``, ``@compile``, ``@compile(check=True)``."""
    if fn is None:
        return lambda f: Compiled(f, check)
    return Compiled(fn, check)


class Trace:
    """One signature's tape, its forward steps, and its backward plan (one output)."""

    def __init__(self, tape: Tape, kinds: tuple, args: tuple, outputs: list[Value], shape: Any):
        self.kinds, self.node_count = kinds, tape.node_count  # the tape itself is not kept
        self.steps = forward_steps(tape)  # moves the nodes to new slots: read them after
        self.structure = structure = _slots(shape, tape, outputs)
        self.template = np.array(tape.template, dtype=np.float64)
        n_inputs = sum(1 for k in kinds if is_input(k))
        self.inputs = slice(1, 1 + len(input_numbers(args, kinds))) if n_inputs else slice(1, 1)
        self.value_args = [
            (i, tape.slot_of[a])
            for i, a in enumerate(args)
            if isinstance(a, Value) and a in tape.slot_of
        ]
        skip = {slot for _, slot in self.value_args} | set(range(1, self.inputs.stop))
        self.held = [(tape.slot_of[v], v) for v in tape.leaves if tape.slot_of[v] not in skip]
        self.plan = None
        self.first_node = first_node = len(tape.template) - tape.node_count
        if isinstance(structure, int) and structure >= first_node:
            visit, leaves = backward_order(_node_at(tape, structure), tape)
            tape.slot_of.clear()  # (a dict of every node, not read past here: freed first)
            handed_back = {slot for slot, _ in self.held} | {slot for _, slot in self.value_args}
            handed = [s for s in leaves if s in handed_back]
            self.plan = backward_plan(self.steps, len(tape.template), visit, handed)
        self.held_slots = np.array([slot for slot, _ in self.held], dtype=np.intp)
        self.held_leaves = [leaf for _, leaf in self.held]
        by_slot = dict(self.held)  # the leaves backward hands gradients to, in its order
        self.plan_leaves = [] if self.plan is None else [by_slot.get(s) for s in self.plan.leaves]

    @classmethod
    def of(cls, fn: Callable[..., Any], args: tuple, kinds: tuple) -> tuple[Any, Trace]:
        """fn's eager result on `args`, and the trace made from that call."""
        traced_args, inputs = traced(args, kinds)
        result, made = record(fn, traced_args)
        outputs: list[Value] = []
        structure = _structure(result, outputs)
        with cyclic_gc_paused():  # many small objects, no cycles: the collector would rescan
            tape = build(outputs, inputs, made)
            trace = cls(tape, kinds, args, outputs, structure)
            trace.verify()
        return result, trace

    def verify(self) -> None:
        """Replay the traced call and compare every node with the engine: an op the steps
        do not reproduce to the bit is an error now, not a wrong answer later."""
        values = self.template.copy()
        run_forward(self.steps, values)
        for step in self.steps:
            replayed, traced = values[step.out], self.template[step.out]
            same = (replayed.view(np.int64) == traced.view(np.int64)) | (
                np.isnan(replayed) & np.isnan(traced)
            )
            if not same.all():
                name = step.op_name(int(np.argmin(same)))
                raise CompileError(f"compile: op {name!r} did not replay exactly")

    def replay(self, args: tuple) -> Any:
        """The outputs for new arguments: forward, and a root that can run backward."""
        values = np.empty(len(self.template))  # the steps write every node's slot
        values[: self.first_node] = self.template[: self.first_node]  # 0.0, leaves, constants
        values[self.inputs] = input_numbers(args, self.kinds)
        for index, slot in self.value_args:
            values[slot] = args[index].data
        values[self.held_slots] = [leaf.data for leaf in self.held_leaves]
        run_forward(self.steps, values)
        backward = None
        if self.plan is not None and is_grad_enabled():
            backward = functools.partial(self.backward, values, args)
        return _outputs(self.structure, values, backward)

    def backward(self, values: np.ndarray, args: tuple, seed: float) -> None:
        """Eager backward's gradients, handed to the leaves (held gradients added)."""
        grads = run_backward(self.plan, values, self.structure, seed).take(self.plan.leaves)
        leaves = self.plan_leaves
        if self.value_args:  # this call's Value arguments, in their places
            by_slot = {slot: args[i] for i, slot in self.value_args}
            leaves = [by_slot.get(slot, leaf) for slot, leaf in zip(self.plan.leaves, leaves)]
        for leaf, grad in zip(leaves, grads.tolist()):
            before = leaf.grad
            leaf.grad = grad if before is None else grad + before

    def leaves(self, args: tuple) -> list[Value]:
        """The leaves that backward gives gradients to: parameters and Value arguments."""
        return [leaf for _, leaf in self.held] + [args[i] for i, _ in self.value_args]

    def program(self) -> str:
        """The vectorised program, as a learner reads it (see `describe`)."""
        from .describe import describe

        return describe(self)


class CompiledValue(Value):
    """An output of a replay: its data, and (for one output) a backward that replays."""

    __slots__ = ("_replay_backward",)

    def backward(self, grad: float = 1.0) -> None:
        """As `Value.backward`, by the compiled program."""
        seed = as_float(grad, "backward(grad)")
        if self._replay_backward is None:
            raise ValueError(
                "backward: this compiled output has no backward: it was computed under "
                "no_grad(), or the compiled function returned several Values "
                "(backward works on a function that returns one Value)"
            )
        self._replay_backward(seed)
        self.grad = seed


def _outputs(structure: Any, values: np.ndarray, backward: Callable | None) -> Any:
    if isinstance(structure, int):
        out = CompiledValue(float(values[structure]))
        out.op = "compiled"
        out._replay_backward = backward
        return out
    parts = [_outputs(part, values, None) for part in structure]
    return tuple(parts) if isinstance(structure, tuple) else parts


def _structure(result: Any, outputs: list[Value]) -> Any:
    """`result` with each Value replaced by its index in `outputs` (which it fills)."""
    if isinstance(result, Value):
        outputs.append(result)
        return len(outputs) - 1
    if isinstance(result, list | tuple):
        parts = [_structure(part, outputs) for part in result]
        return tuple(parts) if isinstance(result, tuple) else parts
    raise CompileError(
        f"compile: the function must return a Value or (nested) lists or tuples of Values, "
        f"got {type(result).__name__}"
    )


def _slots(structure: Any, tape: Tape, outputs: list[Value]) -> Any:
    """The structure with output indices replaced by the outputs' slots."""
    if isinstance(structure, int):
        return tape.slot_of[outputs[structure]]
    parts = [_slots(part, tape, outputs) for part in structure]
    return tuple(parts) if isinstance(structure, tuple) else parts


def _node_at(tape: Tape, slot: int) -> Value:
    return next(v for v, s in tape.slot_of.items() if s == slot)


def _bits(x: float) -> bytes | str:
    return "nan" if math.isnan(x) else struct.pack("<d", x)


def _check(fn: Callable[..., Any], args: tuple, result: Any, leaves: list[Value]) -> None:
    """With check=True: fn run eagerly (on `args`, its inputs as fresh leaf Values, as
    in the trace) must give the replay's outputs, to the bit, and (checked when
    backward runs) the same gradients."""
    eager: list[Value] = []
    _structure(fn(*args), eager)
    replayed: list[Value] = []
    _structure(result, replayed)
    for index, (e, r) in enumerate(zip(eager, replayed)):
        if _bits(e.data) != _bits(r.data):
            raise CompileCheckError(
                f"compile(check=True): output {index} is {r.data!r} replayed but "
                f"{e.data!r} eagerly: the trace froze something that changed (an `if` on "
                "`.data`, or a constant computed from it); compile this case separately"
            )
    if isinstance(result, CompiledValue) and result._replay_backward is not None:
        replay = result._replay_backward
        result._replay_backward = functools.partial(_checked_backward, replay, eager[0], leaves)


def _checked_backward(replay: Callable, eager_root: Value, leaves: list[Value], seed: float):
    """The replay's backward, compared leaf by leaf with eager backward's gradients."""
    held = [leaf.grad for leaf in leaves]
    eager_root.backward(seed)
    expected = [leaf.grad for leaf in leaves]
    for leaf, before in zip(leaves, held):
        leaf.grad = before
    replay(seed)
    for index, (leaf, want) in enumerate(zip(leaves, expected)):
        if _bits(leaf.grad) != _bits(want):
            name = f" ({leaf.label})" if leaf.label else ""
            raise CompileCheckError(
                f"compile(check=True): the gradient of leaf {index}{name} is {leaf.grad!r} "
                f"replayed but {want!r} eagerly"
            )


__all__ = ["CompileCheckError", "CompileError", "Compiled", "CompiledValue", "compile"]
