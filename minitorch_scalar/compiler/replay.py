"""Replay: one signature's compiled program, run again on a new call's numbers.

Where the chapter ends. `CompiledProgram.of` runs the trace (tape.py), groups the tape
into forward steps (forward.py, layer_grid.py), plans the backward (backward.py; or,
with ``exact=False``, the fast program of fast.py), and checks itself once on the
traced numbers. `CompiledProgram.replay` then reads a call's numbers into the slots,
runs the forward steps, and makes the outputs, nodes of the engine's graph whose
backward runs the plan (output.py). `compile` (in ``__init__.py``) keeps one compiled
program per signature (arguments.py) and guards each (guards.py).

Next: output.py (the outputs as nodes), arguments.py (signatures) and guards.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import structure
from ..engine import Value
from ..grad_mode import is_grad_enabled
from ..graph_walk import cyclic_gc_paused
from ..real import is_real_number
from .arguments import Call, input_numbers, traced
from .backward import backward_plan, run_backward
from .describe import describe
from .fast import FastProgram, all_close
from .forward import as_index, forward_steps, run_forward
from .guards import ModelGuard
from .output import CompiledValue, Replayed, make_output, make_outputs
from .tape import CompileError, Tape, backward_order, build, new_slot, record


class CompiledProgram:
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
    ) -> CompiledProgram | None:
        """The trace of fn on `args`; None where some Value's data is a real number
        that is not a float (such a call runs eagerly: see `CompiledProgram.replay`)."""
        if not floats_only(data := [v.data for v in call.values]):
            _refuse_non_numbers(call.values, "the call's Value", None)
            return None
        copies = [Value(x) for x in data]  # fresh leaves: see arguments.py
        traced_args, inputs = traced(args, call.key, call, copies)
        version = structure.version()
        with cyclic_gc_paused():  # many small objects, no cycles: the collector would rescan
            with structure.watching() as used:
                result, made = record(fn, traced_args)
            outputs: list[Value] = []
            shape = output_structure(result, outputs)
            tape = build(outputs, inputs + copies, made)
            for out in outputs:
                if out not in tape.slot_of:  # a leaf returned as it is
                    new_slot(tape, out)
            if not floats_only([v.data for v in tape.leaves]):
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
        if not (floats_only(parameter_data) and floats_only(argument_data)):
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


def floats_only(data: list) -> bool:
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


def output_structure(result: Any, outputs: list[Value]) -> Any:
    """`result` with each Value replaced by its index in `outputs` (which it fills)."""
    if isinstance(result, Value):
        outputs.append(result)
        return len(outputs) - 1
    if isinstance(result, list | tuple):
        parts = [output_structure(part, outputs) for part in result]
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
