"""The compiled program in words: what a learner sees with ``print(step)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .backward import BackwardPlan, Level, Send, WholeRows
from .forward import Run, Step

if TYPE_CHECKING:
    from .replay import CompiledProgram


def describe(trace: CompiledProgram) -> str:
    """Each forward step (op, how many scalar nodes, operand array shape), then each
    backward level (the sums of gradients, and the local derivatives times gradients)."""
    nodes = trace.node_count
    lines = [f"  trace of {nodes} scalar nodes -> {len(trace.steps)} forward steps"]
    if trace.fast is not None:  # the fast mode: matrix products and ufuncs (fast.py)
        return "\n".join(lines + trace.fast.describe())
    lines += [_forward_line(step) for step in trace.steps]
    if trace.plan is None:
        lines.append("    (no backward: the function does not return one Value)")
    else:
        lines += _backward_lines(trace.plan)
    return "\n".join(lines)


def _forward_line(step: Step | Run) -> str:
    """One forward step: its op, how many nodes, its operand array; or a run's nodes."""
    if type(step) is Run:
        return f"    forward  {len(step.rules)} nodes one by one (a run of small steps)"
    rows, arity = step.shape
    line = f"    forward  {step.rule.name:>8} x {rows:<6} operands {rows}x{arity}"
    if step.grid is not None:
        line += f"  (a layer: {len(step.grid.inputs)} inputs x {len(step.grid.rows)} rows)"
    return line


def _backward_lines(plan: BackwardPlan) -> list[str]:
    """The backward plan: how many steps, then each level's sums and sends, deepest
    first (a run's nodes one by one), then the grad leaves' sums."""
    levels = [level for level in plan.levels if type(level) is Level]
    count = sum(len(level.blocks) + len(level.sends) for level in levels)
    count += len(plan.levels) - len(levels) + len(plan.leaf_blocks)
    runs = len(plan.levels) - len(levels)
    where = f"{len(levels)} depths" + (f" and {runs} run(s)" if runs else "")
    lines = [f"  backward in {where}, deepest first: {count} steps"]
    for level in plan.levels:
        if type(level) is not Level:
            lines.append(f"    {len(level.run.rules)} nodes one by one, the last first (the run)")
            continue
        for block in level.blocks:
            lines.append(f"    sum the grads of {block.width} nodes, {block.count} terms each")
        for send in level.sends:
            lines.append(_send_line(send))
    for block in plan.leaf_blocks:
        lines.append(f"    sum the grads of {block.width} leaves, {block.count} terms each")
    return lines


def _send_line(send: Send) -> str:
    """One step's terms for its parents: the op, its operand array, and how they are written."""
    step = send.step
    rows, arity = step.shape
    to = "whole rows of a block" if isinstance(send.to, WholeRows) else "scattered"
    what = "to parents" if send.what == "operands" else f"to its {send.what}"
    return f"    d{step.rule.name:<8} x grad, {what:<14} {rows}x{arity}, {to}"
