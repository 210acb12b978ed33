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

import itertools
import random
from collections.abc import Callable, Sequence
from typing import Any

from minitorch_scalar import Value, dot, linear_batch

from ._checks import check_parameter_count, positive_int, weight_generator
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

    Its fields are what it computes with: ``w`` (a list of Values), ``b`` (a Value)
    and ``activation`` (checked when set); ``nin`` and ``nonlin`` are read from them.
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
        check_parameter_count(nin + 1, f"Neuron({nin})")
        if not isinstance(nonlin, bool):
            raise TypeError(f"Neuron(nonlin) expects a bool, got {type(nonlin).__name__}")
        _check_activation(activation, "Neuron(activation)")
        generator = weight_generator(seed, "Neuron(seed)")
        uniform = random.uniform if generator is None else generator.uniform
        self.w = [Value(uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = activation if nonlin else None

    @property
    def activation(self) -> str | None:
        """The name of the function applied to the dot product: a key of ACTIVATIONS."""
        return self._activation

    @activation.setter
    def activation(self, name: str | None) -> None:
        self._activation = _check_activation(name, "Neuron.activation")

    @property
    def nin(self) -> int:
        """The number of inputs: len(w)."""
        return len(self.w)

    @property
    def nonlin(self) -> bool:
        """micrograd's flag: True unless the neuron is linear (activation None)."""
        return self._activation is not None

    def forward(self, x: list) -> Value:
        """act(dot(w, x) + b) for a checked input list `x` (call the neuron to check it)."""
        return _activate(self._activation, dot(self.w, x, self.b))

    def parameters(self) -> list[Value]:
        """w_1, ..., w_nin, b (micrograd's order)."""
        return [*self.w, self.b]

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

    The neurons are the layer: it computes with their current weights, biases and
    activations, and keeps no copy of them. Calling a layer with one neuron gives a
    Value, as in micrograd. `kwargs` (`nonlin`, `activation`) go to every `Neuron`;
    `seed` gives all of them one generator (see the module docstring).

    Parameters, in order: neuron by neuron, its weights then its bias. In
    `state_dict()`, as PyTorch's nn.Linear: ``weight`` of shape (nout, nin), row j
    holding neuron j's weights, and ``bias`` of shape (nout,).
    """

    def __init__(
        self, nin: int, nout: int, *, seed: int | random.Random | None = None, **kwargs: Any
    ) -> None:
        nin = positive_int(nin, "Layer(nin)")
        nout = positive_int(nout, "Layer(nout)")
        check_parameter_count(nout * (nin + 1), f"Layer({nin}, {nout})")
        generator = weight_generator(seed, "Layer(seed)")
        self.neurons = [Neuron(nin, seed=generator, **kwargs) for _ in range(nout)]

    @property
    def nin(self) -> int:
        """The number of inputs: each neuron's nin."""
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        """The number of outputs: one per neuron."""
        return len(self.neurons)

    @property
    def activation(self) -> str | tuple[str | None, ...] | None:
        """The neurons' activation, or the tuple of them if they differ. Setting it
        sets every neuron's."""
        names = tuple(neuron.activation for neuron in self.neurons)
        return names[0] if len(set(names)) == 1 else names

    @activation.setter
    def activation(self, name: str | None) -> None:
        _check_activation(name, "Layer.activation")
        for neuron in self.neurons:
            neuron.activation = name

    def forward(self, x: list) -> list[Value]:
        """[neuron.forward(x) for each neuron], for a checked input list `x`."""
        return self.forward_batch([x])[0]

    def forward_batch(self, xs: list[list]) -> list[list[Value]]:
        """[[neuron.forward(x) for neuron in neurons] for x in xs], node for node and
        bit for bit: the dot nodes built by `linear_batch`, which reads each weight
        once for the batch, then each neuron's activation."""
        neurons = self.neurons
        batch = linear_batch([n.w for n in neurons], xs, [n.b for n in neurons])
        names = [n.activation for n in neurons]
        if names.count(names[0]) == len(names):  # one activation for all: look it up once
            if names[0] is None:
                return batch
            activate = ACTIVATIONS[names[0]]
            return [[activate(out) for out in outs] for outs in batch]
        return [[_activate(name, out) for name, out in zip(names, outs)] for outs in batch]

    def parameters(self) -> list[Value]:
        """Neuron by neuron, its weights then its bias (micrograd's order)."""
        return [p for neuron in self.neurons for p in neuron.parameters()]

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
    The layers (``layers``) are the model: ``nin`` and ``nouts`` are read from them.

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
        check_parameter_count(
            sum(n_out * (n_in + 1) for n_in, n_out in itertools.pairwise(sizes)),
            f"MLP({nin}, {sizes[1:]})",
        )
        _check_activation(activation, "MLP(activation)")
        generator = weight_generator(seed, "MLP(seed)")
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], seed=generator, nonlin=i != last, activation=activation)
            for i in range(len(nouts))
        ]

    @property
    def nin(self) -> int:
        """The number of inputs: the first layer's nin."""
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        """Each layer's number of outputs."""
        return [layer.nout for layer in self.layers]

    @property
    def activation(self) -> str | tuple | None:
        """The hidden layers' activation, read from them (None with no hidden layer).

        A tuple where the hidden layers' neurons differ (see `Layer.activation`).
        """
        hidden = {layer.activation for layer in self.layers[:-1]}
        if not hidden:
            return None
        return hidden.pop() if len(hidden) == 1 else tuple(x.activation for x in self.layers[:-1])

    def forward(self, x: list) -> list[Value]:
        """The last layer's outputs for a checked input list `x`."""
        return self.forward_batch([x])[0]

    def forward_batch(self, xs: list[list]) -> list[list[Value]]:
        """[forward(x) for x in xs], a layer at a time over the whole batch."""
        for layer in self.layers:
            xs = layer.forward_batch(xs)
        return xs

    def parameters(self) -> list[Value]:
        """Layer by layer, neuron by neuron, its weights then its bias (micrograd's)."""
        return [p for layer in self.layers for p in layer.parameters()]

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


def _activate(name: str | None, x: Value) -> Value:
    """The activation called `name` applied to x; x itself for None (linear)."""
    return x if name is None else ACTIVATIONS[name](x)


def _check_activation(activation: object, where: str) -> str | None:
    """`activation` if it names an activation (a key of ACTIVATIONS), else an error."""
    if activation is not None and not isinstance(activation, str):
        raise TypeError(
            f"{where} expects a str or None, got {type(activation).__name__}: {activation!r}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where} expects one of {list(ACTIVATIONS)}, got {activation!r}")
    return activation
