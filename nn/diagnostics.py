"""`diagnose`: what each layer of a model does on a batch, and what goes wrong.

The checks Andrej Karpathy makes by hand in his makemore lectures, on any model whose
``layers`` each hold ``neurons`` (an `MLP`), or on one `Layer`:

- **dead relus**: a relu neuron whose output is 0 for every row of the batch passes no
  gradient back, so its weights stop learning (on this batch);
- **saturation**: a tanh output beyond +-0.97 (a sigmoid's beyond 0.015 and 0.985, the
  same point: sigmoid(x) = (1 + tanh(x / 2)) / 2) has a local derivative below 0.06, and
  passes back almost nothing;
- **gradient norm**: the L2 norm of the layer's parameters' gradients under a loss;
- **update-to-data ratio**: how much one optimizer step moves the layer's weights,
  std(change) / std(weights). About 1e-3 (log10 of -3) is a rule of thumb from the
  lectures, not a law: far below it the layer barely learns, far above it thrashes.

`diagnose` measures and puts everything back: the model's weights and gradients, and
the optimizer's state, are as they were before the call.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from minitorch_scalar import Value

from ._checks import is_batch
from .module import Module

SATURATION = 0.97
"""|tanh| beyond this is saturated (its derivative 1 - t^2 < 0.06); a sigmoid s at |2s - 1|."""

RULE_OF_THUMB = 1e-3
"""The update-to-data ratio Karpathy's makemore lectures aim for: a rule of thumb."""


@dataclass(frozen=True)
class LayerReport:
    """What one layer did on the batch.

    `activation` is the neurons' ("relu", "tanh", "sigmoid", "linear"), or "mixed";
    `relu_units` counts the relu ones. `outputs` and `output_grads` are (rows, units)
    arrays: each neuron's output (after its activation) on each row, and d(loss) /
    d(output); `mean` and `std` are the outputs'. `weight_grads` holds d(loss) / d(w)
    for the layer's weights, in `named_parameters()` order. `dead` lists the relu
    neurons whose output is 0 on every row; `always_saturated` the tanh or sigmoid
    neurons saturated on every row; `saturated` is the fraction of tanh/sigmoid outputs
    that are saturated (None if the layer has none). The gradients, `grad_norm` (over
    weights and biases) and `update_ratio` are None when not measured (no loss; no
    optimizer).
    """

    name: str
    activation: str
    units: int
    relu_units: int
    dead: tuple[int, ...]
    saturated: float | None
    always_saturated: tuple[int, ...]
    mean: float
    std: float
    grad_norm: float | None
    update_ratio: float | None
    outputs: np.ndarray = field(repr=False)
    output_grads: np.ndarray | None = field(repr=False)
    weight_grads: np.ndarray | None = field(repr=False)

    @property
    def dead_fraction(self) -> float | None:
        """The fraction of the layer's relu neurons that are dead; None without relu."""
        return len(self.dead) / self.relu_units if self.relu_units else None


@dataclass(frozen=True)
class Diagnosis(Sequence[LayerReport]):
    """One `LayerReport` per layer, in order; `str()` is the table `diagnose` prints."""

    layers: tuple[LayerReport, ...]
    rows: int
    loss: float | None

    def __getitem__(self, index: Any) -> Any:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def layer(self, name: str) -> LayerReport:
        """The report of the layer called `name` ("layers.0"); KeyError if none is."""
        for report in self.layers:
            if report.name == name:
                return report
        raise KeyError(f"no layer {name!r}; the layers are {[r.name for r in self.layers]}")

    def __str__(self) -> str:
        return format_table(self)

    def __repr__(self) -> str:
        dead = sum(len(r.dead) for r in self.layers)
        return f"<Diagnosis of {len(self.layers)} layers on {self.rows} rows: {dead} dead relu>"

    def print(self, file: TextIO | None = None) -> None:
        """Print the table (to stdout, or `file`)."""
        print(self, file=file or sys.stdout)


def diagnose(
    model: Module,
    batch: Any,
    loss: Callable[[Any], Value] | None = None,
    *,
    optimizer: Any = None,
    show: bool = True,
) -> Diagnosis:
    """Run `model` on `batch` layer by layer and report on each layer.

    Args:
        model: an `MLP` (or any model whose ``layers`` are applied one after the other
            and hold ``neurons`` with an ``activation``), or a single `Layer`.
        batch: input rows, as the model takes them (a 2-D array or a list of rows).
        loss: optional, a function of the model's outputs on `batch` (``model(batch)``:
            one output per row) giving a Value, e.g. ``lambda scores: nn.hinge_loss(scores, y)``.
            With it, gradients are measured: each layer's gradient norm, and the
            gradients of its outputs.
        optimizer: optional (needs `loss`): an optimizer over the model's parameters.
            Its next step is taken on the loss's gradients, measured (the update-to-data
            ratio), and undone: it needs ``state_dict()`` and ``load_state_dict()``.
        show: print the table (the default).

    The model, its gradients and the optimizer are left exactly as they were.
    """
    layers = named_layers(model)
    if optimizer is not None and loss is None:
        raise ValueError("diagnose(optimizer) needs loss=: a step follows a loss's gradients")
    params = model.parameters()
    held = [p.grad for p in params]
    try:
        for p in params:
            p.grad = 0.0
        outputs, final = _forward(layers, batch)
        loss_value = _backward(loss, final)
        ratios = _dry_step(optimizer, layers) if optimizer is not None else [None] * len(layers)
        reports = tuple(
            _report(name, layer, outs, loss_value is not None, ratio)
            for (name, layer), outs, ratio in zip(layers, outputs, ratios)
        )
    finally:
        for p, grad in zip(params, held):
            p.grad = grad
    diagnosis = Diagnosis(reports, len(outputs[0]), loss_value)
    if show:
        diagnosis.print()
    return diagnosis


def named_layers(model: Any) -> list[tuple[str, Any]]:
    """(name, layer) for each layer of `model`: ``layers.{i}``, or ``layer`` for one Layer."""
    if hasattr(model, "neurons"):
        return [("layer", model)]
    layers = getattr(model, "layers", None)
    if not isinstance(layers, Sequence) or not all(hasattr(x, "neurons") for x in layers):
        raise TypeError(
            "diagnose(model) expects an MLP, a Layer, or a model whose `layers` hold "
            f"neurons, got {type(model).__name__}"
        )
    return [(f"layers.{i}", layer) for i, layer in enumerate(layers)]


def layer_weights(layer: Any) -> list[Value]:
    """The layer's weights (its parameters named ``weight``), without the biases."""
    named = layer.named_parameters()
    weights = [p for name, p in named if name.split(".")[-1].startswith("weight")]
    return weights or [p for _, p in named]


def update_ratio(before: Sequence[float], after: Sequence[float]) -> float:
    """std(after - before) / std(before): how far a step moved weights, for their spread.

    The measure of Karpathy's lectures (there ``(lr * grad).std() / data.std()``), which
    does not see a shift of all the weights together. 0.0 for a step that moved nothing;
    inf if the weights had no spread but moved.
    """
    before_array = np.asarray(before, dtype=np.float64)
    change = np.std(np.asarray(after, dtype=np.float64) - before_array)
    spread = np.std(before_array)
    if change == 0.0:
        return 0.0
    return float(change / spread) if spread > 0.0 else math.inf


def _forward(layers: list[tuple[str, Any]], batch: Any) -> tuple[list[list[list[Value]]], Any]:
    """Each layer's outputs on the batch (rows of Values), and the last call's result."""
    if not is_batch(batch):
        raise TypeError(
            "diagnose(batch) expects input rows (a 2-D array or a list of rows), "
            f"got {type(batch).__name__}"
        )
    outputs, xs, result = [], batch, None
    for _, layer in layers:
        result = layer(xs)  # one output per row: a Value (one neuron) or a list
        xs = [row if isinstance(row, list) else [row] for row in result]
        outputs.append(xs)
    return outputs, result


def _backward(loss: Callable[[Any], Value] | None, final: Any) -> float | None:
    """loss(final).backward(); the loss's value, or None without a loss."""
    if loss is None:
        return None
    value = loss(final)
    if not isinstance(value, Value):
        raise TypeError(f"diagnose(loss) must return a Value, got {type(value).__name__}")
    value.backward()
    return value.data


def _dry_step(optimizer: Any, layers: list[tuple[str, Any]]) -> list[float]:
    """Each layer's update-to-data ratio under `optimizer.step()`, the step then undone."""
    weights = [layer_weights(layer) for _, layer in layers]
    every = [p for _, layer in layers for p in layer.parameters()]
    ours = {id(p) for p in every}
    every += [p for p in getattr(optimizer, "params", []) if id(p) not in ours]
    data = [p.data for p in every]
    state = optimizer.state_dict()
    before = [[p.data for p in ws] for ws in weights]
    try:
        optimizer.step()
        return [update_ratio(b, [p.data for p in ws]) for b, ws in zip(before, weights)]
    finally:
        for p, number in zip(every, data):
            p.data = number
        optimizer.load_state_dict(state)


def _report(
    name: str, layer: Any, rows: list[list[Value]], with_grads: bool, ratio: float | None
) -> LayerReport:
    """The `LayerReport` of one layer from its outputs (and their gradients)."""
    activations = [neuron.activation for neuron in layer.neurons]
    outputs = np.array([[v.data for v in row] for row in rows], dtype=np.float64)
    dead = tuple(
        j for j, act in enumerate(activations) if act == "relu" and not np.any(outputs[:, j] > 0)
    )
    saturated_at = _saturated(outputs, activations)
    squashing = [j for j, act in enumerate(activations) if act in ("tanh", "sigmoid")]
    grads = weight_grads = None
    norm = None
    if with_grads:
        grads = np.array([[v.grad for v in row] for row in rows], dtype=np.float64)
        weight_grads = np.array([p.grad for p in layer_weights(layer)], dtype=np.float64)
        norm = math.sqrt(sum(p.grad * p.grad for p in layer.parameters()))
    return LayerReport(
        name=name,
        activation=_activation_name(activations),
        units=len(activations),
        relu_units=activations.count("relu"),
        dead=dead,
        saturated=float(saturated_at[:, squashing].mean()) if squashing else None,
        always_saturated=tuple(j for j in squashing if saturated_at[:, j].all()),
        mean=float(outputs.mean()),
        std=float(outputs.std()),
        grad_norm=norm,
        update_ratio=ratio,
        outputs=outputs,
        output_grads=grads,
        weight_grads=weight_grads,
    )


def _saturated(outputs: np.ndarray, activations: list[str | None]) -> np.ndarray:
    """A (rows, units) mask: True where a tanh or sigmoid output is saturated."""
    mask = np.zeros(outputs.shape, dtype=bool)
    for j, act in enumerate(activations):
        if act == "tanh":
            mask[:, j] = np.abs(outputs[:, j]) > SATURATION
        elif act == "sigmoid":
            mask[:, j] = np.abs(2 * outputs[:, j] - 1) > SATURATION
    return mask


def _activation_name(activations: list[str | None]) -> str:
    """The layer's activation: its one name ("linear" for None), else "mixed"."""
    names = {"linear" if act is None else act for act in activations}
    return names.pop() if len(names) == 1 else "mixed"


def format_table(diagnosis: Diagnosis) -> str:
    """The table `diagnose` prints: a row per layer, then a sentence per problem found."""
    header = f"diagnosis on a batch of {diagnosis.rows} rows"
    if diagnosis.loss is not None:
        header += f" (loss {diagnosis.loss:.4g})"
    columns = (
        f"{'layer':<10} {'units':>5}  {'activation':<10} {'mean':>8} {'std':>8} "
        f"{'dead relu':>12} {'saturated':>9} {'grad norm':>9} {'update/data':>11}"
    )
    lines = [header, columns, "-" * len(columns)]
    lines += [_row(report) for report in diagnosis.layers]
    lines += _findings(diagnosis)
    return "\n".join(lines)


def _row(r: LayerReport) -> str:
    dead = (
        f"{len(r.dead)}/{r.relu_units} ({len(r.dead) / r.relu_units:.0%})" if r.relu_units else "-"
    )
    return (
        f"{r.name:<10} {r.units:>5}  {r.activation:<10} {r.mean:>8.3f} {r.std:>8.3f} "
        f"{dead:>12} {_maybe(r.saturated, '.0%'):>9} {_maybe(r.grad_norm, '.2e'):>9} "
        f"{_maybe(r.update_ratio, '.1e'):>11}"
    )


def _maybe(number: float | None, spec: str) -> str:
    return "-" if number is None else format(number, spec)


def _findings(diagnosis: Diagnosis) -> list[str]:
    """A sentence for each layer with dead or saturated neurons, and the rule of thumb."""
    lines = []
    for r in diagnosis.layers:
        if r.dead:
            their = "its" if len(r.dead) == 1 else "their"
            lines.append(
                f"{r.name} {_neurons(r.dead)} dead on this batch: the relu is 0 on every "
                f"row, so no gradient reaches {their} weights"
            )
        if r.always_saturated:
            lines.append(
                f"{r.name} {_neurons(r.always_saturated)} saturated on every row: "
                "they pass back almost no gradient"
            )
    if any(r.update_ratio is not None for r in diagnosis.layers):
        lines.append(
            f"update/data: std(step's change) / std(weights); ~{RULE_OF_THUMB:g} is a rule "
            "of thumb (Karpathy's makemore lectures), not a law"
        )
    return lines


def _neurons(indices: Sequence[int]) -> str:
    """The subject of a finding: "neuron 3 is", or "neurons 3, 7 and 12 are"."""
    if len(indices) == 1:
        return f"neuron {indices[0]} is"
    listed = ", ".join(map(str, indices[:-1])) + f" and {indices[-1]}"
    return f"neurons {listed} are"
