"""The math inside one neuron: its scalar graph for one data point, and its backward.

`neuron_graph` runs the model on one point with the engine (its inputs as the leaves
``x1`` and ``x2``), takes the output of the neuron asked for (or the loss on that
point), and calls `minitorch_scalar.explain_backward` on it. What the page gets is
read from the engine's own records: each node's op, value (`data`) and gradient
(`grad`), its parents and local derivatives (`parents`, `local_grads`), and the steps
of formula 6, one per edge, in backward's order:

    grad(parent) <- grad(parent) + local * grad(node)

It runs on a copy of the model (its `state_dict()`), so nothing it does touches the
gradients or the weights of the model being trained.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from playground_session import LOSS_FUNCTIONS, Session, targets_for
from playground_settings import RequestError, integer, require_object

import nn
from minitorch_scalar import (
    BackwardSteps,
    Value,
    explain_backward,
    node_names,
    topological_order,
)


def parse_target(request: dict[str, Any], hidden: list[int]) -> tuple[int, int] | None:
    """The neuron asked for, (layer, index), the output being layer len(hidden); None
    for the loss. RequestError for a neuron the model does not have."""
    target = request.get("neuron", "loss")
    if target == "loss":
        return None
    fields = require_object(target, "neuron")
    layer = integer(fields.get("layer"), "neuron.layer", 0, len(hidden))
    width = [*hidden, 1][layer]
    return layer, integer(fields.get("index"), "neuron.index", 0, width - 1)


def parse_point(request: dict[str, Any], session: Session) -> tuple[str, int]:
    """The data point asked for: ("train" or "test", its index in that set)."""
    fields = require_object(request.get("point", {"split": "train", "index": 0}), "point")
    split = fields.get("split")
    if split not in ("train", "test"):
        raise RequestError(f"point.split: expected train or test, got {split!r}")
    count = len(session.train_xy if split == "train" else session.test_xy)
    return split, integer(fields.get("index"), "point.index", 0, count - 1)


def neuron_graph(session: Session, request: object) -> dict[str, Any]:
    """The graph and backward steps a graph request asks for, as JSON (see the module)."""
    fields = require_object(request, "graph request")
    unknown = sorted(set(fields) - {"neuron", "point"})
    if unknown:
        raise RequestError(f"graph request: unknown field {unknown[0]!r}")
    target = parse_target(fields, session.settings.hidden)
    split, index = parse_point(fields, session)
    if session.diverged is not None:
        raise RequestError("the weights are not finite numbers: press Reset first")
    model = copy_of(session.model, session.settings)
    xy = (session.train_xy if split == "train" else session.test_xy)[index]
    label = int((session.train_labels if split == "train" else session.test_labels)[index])
    outputs = labelled_forward(model, [Value(float(xy[0]), "x1"), Value(float(xy[1]), "x2")])
    if target is None:
        goal = targets_for(session.settings.loss, np.array([label]))
        root = LOSS_FUNCTIONS[session.settings.loss]([outputs[-1][0]], goal)
        root.label = "loss"
    else:
        root = outputs[target[0]][target[1]]
    names = node_names(root, model)
    steps = explain_backward(root, names=names)
    return {
        "point": {
            "split": split,
            "index": index,
            "x": float(xy[0]),
            "y": float(xy[1]),
            "label": label,
        },
        "step": session.steps,
        **graph_json(root, names, steps),
    }


def copy_of(model: nn.MLP, settings: Any) -> nn.MLP:
    """A new MLP of the same shape holding the same weights (fresh Values, grads 0)."""
    activation = None if settings.activation == "linear" else settings.activation
    copy = nn.MLP(2, [*settings.hidden, 1], activation=activation, seed=0)
    copy.load_state_dict(model.state_dict())
    return copy


def labelled_forward(model: nn.MLP, inputs: list[Value]) -> list[list[Value]]:
    """Each layer's outputs for one input row, layer by layer, the nodes labelled by
    where they are: ``layers.0.z[3]`` the weighted sum of neuron 3 of layer 0,
    ``layers.0.h[3]`` its activation; the last layer's one output is ``score``."""
    outputs, h = [], inputs
    last = len(model.layers) - 1
    for i, layer in enumerate(model.layers):
        out = layer(h)
        h = out if isinstance(out, list) else [out]
        for j, node in enumerate(h):
            if i == last:
                node.label = "score"
            elif node.op in ("relu", "tanh", "sigmoid"):
                node.label = f"layers.{i}.h[{j}]"
                node.parents[0].label = f"layers.{i}.z[{j}]"
            else:
                node.label = f"layers.{i}.z[{j}]"
        outputs.append(h)
    return outputs


def graph_json(root: Value, names: dict[Value, str], steps: BackwardSteps) -> dict[str, Any]:
    """The nodes (forward order, the root last), their edges, and backward's steps."""
    order = topological_order(root)
    ids = {node: i for i, node in enumerate(order)}
    nodes = [
        {
            "name": names[node],
            "op": node.op,
            "value": node.data,
            "grad": node.grad,
            "parents": [ids[p] for p in node.parents],
            "locals": list(node.local_grads),
        }
        for node in order
    ]
    return {
        "root": ids[root],
        "seed": steps.seed,
        "nodes": nodes,
        "steps": [
            {
                "node": ids[s.node],
                "parent": ids[s.parent],
                "local": s.local,
                "arriving": s.arriving,
                "before": s.before,
                "after": s.after,
                "text": str(s),
            }
            for s in steps
        ],
    }
