"""`Neuron`, `Layer` and `MLP`, with micrograd's signatures and parameter order.

Initialisation (micrograd's): each neuron draws its `nin` weights, in order, from
uniform(-1, 1) and sets its bias to 0 without a draw; a layer builds its neurons in
order, an MLP its layers. The `seed` argument says where the draws come from:

- ``None``: Python's global `random` module, exactly as micrograd, so
  ``random.seed(1337); MLP(2, [16, 16, 1])`` gives micrograd's weights, in order;
- an int: a fresh ``random.Random(seed)``, the same weights on every run;
- a ``random.Random``: that generator, which the draws advance.

A layer or an MLP passes ONE generator to all of its neurons, so the draws follow
one another as with the global generator.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Callable, Sequence
from typing import Any

from minitorch_scalar import Value, dot, linear_batch

from ._checks import positive_int
from .module import Module, ParameterGroup

ACTIVATIONS: dict[str | None, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    None: None,
}
"""The activations a neuron can apply to its dot product, by name; None is linear."""


class Neuron(Module):
    """out = act(b + w_1 x_1 + ... + w_nin x_nin): one `dot` node plus its activation.

    Args:
        nin: the number of inputs (and weights), a positive int.
        nonlin: False makes the neuron linear, whatever `activation` says (micrograd).
        activation: "relu" (the default), "tanh", "sigmoid", or None for linear.
        seed: where the weights are drawn from (see the module docstring).

    Parameters, in order: the weights ``w`` then the bias ``b``; in `state_dict()`,
    ``weight`` of shape (nin,) and ``bias`` of shape ().
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        activation: str | None = "relu",
        seed: int | random.Random | None = None,
    ) -> None:
        nin = positive_int(nin, "Neuron(nin)")
        if not isinstance(nonlin, bool):
            raise TypeError(f"Neuron(nonlin) expects a bool, got {type(nonlin).__name__}")
        activate = _activation_function(activation, "Neuron(activation)")
        generator = _generator(seed, "Neuron(seed)")
        uniform = random.uniform if generator is None else generator.uniform
        self.w = [Value(uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin
        self.activation = activation if nonlin else None
        self._activate = activate if nonlin else None
        self.nin = nin
        self._parameters = (*self.w, self.b)

    def forward(self, x: list) -> Value:
        """act(dot(w, x) + b) for a checked input list `x` (call the neuron to check it)."""
        out = dot(self.w, x, self.b)
        return out if self._activate is None else self._activate(out)

    def parameter_groups(self) -> list[ParameterGroup]:
        """``weight`` (nin,) and ``bias`` ()."""
        return [
            ParameterGroup("weight", (self.nin,), list(self.w)),
            ParameterGroup("bias", (), [self.b]),
        ]

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """`nout` neurons reading the same `nin` inputs; the output is their list.

    Calling a layer with one neuron gives a Value, as in micrograd. `kwargs`
    (`nonlin`, `activation`) go to every `Neuron`; `seed` gives all of them one
    generator (see the module docstring).

    Parameters, in order: neuron by neuron, its weights then its bias. In
    `state_dict()`, as PyTorch's nn.Linear: ``weight`` of shape (nout, nin), row j
    holding neuron j's weights, and ``bias`` of shape (nout,).
    """

    def __init__(
        self, nin: int, nout: int, *, seed: int | random.Random | None = None, **kwargs: Any
    ) -> None:
        nin = positive_int(nin, "Layer(nin)")
        nout = positive_int(nout, "Layer(nout)")
        generator = _generator(seed, "Layer(seed)")
        self.neurons = [Neuron(nin, seed=generator, **kwargs) for _ in range(nout)]
        self.nin = nin
        self.nout = nout
        self.activation = self.neurons[0].activation
        self._activate = self.neurons[0]._activate
        self._parameters = tuple(p for neuron in self.neurons for p in neuron.parameters())
        self._weight_rows = [neuron.w for neuron in self.neurons]
        self._biases = [neuron.b for neuron in self.neurons]

    def forward(self, x: list) -> list[Value]:
        """[neuron(x) for each neuron], for a checked input list `x`."""
        return self.forward_batch([x])[0]

    def forward_batch(self, xs: list[list]) -> list[list[Value]]:
        """[forward(x) for x in xs], built with `linear_batch`: the same dot node per
        neuron and input, with each weight read once for the batch."""
        batch = linear_batch(self._weight_rows, xs, self._biases)
        activate = self._activate
        if activate is None:
            return batch
        return [[activate(out) for out in outs] for outs in batch]

    def parameter_groups(self) -> list[ParameterGroup]:
        """``weight`` (nout, nin) and ``bias`` (nout,), as PyTorch's nn.Linear."""
        return [
            ParameterGroup(
                "weight", (self.nout, self.nin), [w for neuron in self.neurons for w in neuron.w]
            ),
            ParameterGroup("bias", (self.nout,), [neuron.b for neuron in self.neurons]),
        ]

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: layers of sizes `nouts`, each reading the one before.

    Every layer but the last applies `activation` ("relu", "tanh", "sigmoid" or None);
    the last is linear, as in micrograd. `seed`: where the weights come from (see the
    module docstring); the draws go layer by layer, neuron by neuron, weight by weight.

    Calling it gives a Value when the last layer has one output, else a list.
    Parameters, in order: layer by layer, neuron by neuron, its weights then its bias
    (micrograd's order, so a micrograd model's weights copy over one to one). In
    `state_dict()`: ``layers.{i}.weight`` (out, in) and ``layers.{i}.bias`` (out,),
    the keys of a PyTorch module holding its nn.Linear layers in an
    ``nn.ModuleList`` named ``layers``.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | None = "relu",
        seed: int | random.Random | None = None,
    ) -> None:
        nin = positive_int(nin, "MLP(nin)")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence):
            raise TypeError(
                f"MLP(nouts) expects a sequence of layer sizes, got {type(nouts).__name__}"
            )
        if not nouts:
            raise ValueError("MLP(nouts) expects at least one layer size, got none")
        sizes = [nin] + [positive_int(n, f"MLP(nouts[{i}])") for i, n in enumerate(nouts)]
        _activation_function(activation, "MLP(activation)")
        generator = _generator(seed, "MLP(seed)")
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], seed=generator, nonlin=i != last, activation=activation)
            for i in range(len(nouts))
        ]
        self.nin = nin
        self.nouts = sizes[1:]
        self.activation = activation
        self._parameters = tuple(p for layer in self.layers for p in layer.parameters())

    def forward(self, x: list) -> list[Value]:
        """The last layer's outputs for a checked input list `x`."""
        return self.forward_batch([x])[0]

    def forward_batch(self, xs: list[list]) -> list[list[Value]]:
        """[forward(x) for x in xs], a layer at a time over the whole batch."""
        for layer in self.layers:
            xs = layer.forward_batch(xs)
        return xs

    def parameter_groups(self) -> list[ParameterGroup]:
        """Each layer's groups, named ``layers.{i}.weight`` and ``layers.{i}.bias``."""
        return [
            ParameterGroup(f"layers.{i}.{group.name}", group.shape, group.values)
            for i, layer in enumerate(self.layers)
            for group in layer.parameter_groups()
        ]

    def __repr__(self) -> str:
        lines = "".join(f"  (layers.{i}): {layer!r}\n" for i, layer in enumerate(self.layers))
        return f"MLP(\n{lines})"


def _activation_function(activation: object, where: str) -> Callable[[Value], Value] | None:
    """The Value method named `activation`, or None for linear; else an error."""
    if activation is not None and not isinstance(activation, str):
        raise TypeError(
            f"{where} expects a str or None, got {type(activation).__name__}: {activation!r}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where} expects one of {list(ACTIVATIONS)}, got {activation!r}")
    return ACTIVATIONS[activation]


def _generator(seed: object, where: str) -> random.Random | None:
    """The generator to draw weights from: None for the global one, else a Random."""
    if seed is None or isinstance(seed, random.Random):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return random.Random(int(seed))
    raise TypeError(
        f"{where} expects an int, a random.Random or None, got {type(seed).__name__}: {seed!r}"
    )
