"""The compiled program in words: what a learner sees with ``print(step)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .backward import BlockWrite, Send

if TYPE_CHECKING:
    from . import Trace


def describe(trace: Trace) -> str:
    """Each forward step (op, how many scalar nodes, operand array shape), then each
    backward level (the sums of gradients, and the local derivatives times gradients)."""
    nodes = trace.node_count
    lines = [f"  trace of {nodes} scalar nodes -> {len(trace.steps)} forward steps"]
    for step in trace.steps:
        rows, arity = step.operands.shape
        line = f"    forward  {step.rule.name:>8} x {rows:<6} operands {rows}x{arity}"
        if step.grid is not None:
            line += f"  (a layer: {len(step.grid.inputs)} inputs x {len(step.grid.rows)} rows)"
        lines.append(line)
    if trace.plan is None:
        lines.append("    (no backward: the function does not return one Value)")
        return "\n".join(lines)
    count = sum(len(s) + len(c) for s, c in trace.plan.levels) + len(trace.plan.leaf_sums)
    lines.append(f"  backward in {len(trace.plan.levels)} depths, deepest first: {count} steps")
    for summations, steps in trace.plan.levels:
        for s in summations:
            lines.append(f"    sum the grads of {s.nodes} nodes, {s.count} terms each")
        for send in steps:
            lines.append(_send_line(send))
    for s in trace.plan.leaf_sums:
        lines.append(f"    sum the grads of {s.nodes} leaves, {s.count} terms each")
    return "\n".join(lines)


def _send_line(send: Send) -> str:
    """One step's terms for its parents: the op, its operand array, and how they are written."""
    step = send.step
    rows, arity = step.operands.shape
    to = "whole rows of a block" if isinstance(send.to, BlockWrite) else "scattered"
    what = "to parents" if send.what == "operands" else f"to its {send.what}"
    return f"    d{step.rule.name:<8} x grad, {what:<14} {rows}x{arity}, {to}"
