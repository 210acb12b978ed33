"""PyTorch's `Linear`, and the activations as modules: `ReLU`, `Tanh`, `Sigmoid`, `Identity`.

`Linear` holds its weights as PyTorch does: ``weight``, out x in (row j: the weights of
output j), and ``bias``, out (or None); `state_dict()` names and shapes them as
PyTorch's ``nn.Linear``, so the weights copy to and from torch one to one. Its
outputs are the very `dot` nodes micrograd's `Layer` builds, and so its numbers.
"""

from __future__ import annotations

import math
import random
from typing import Any

from minitorch_scalar import Value, linear_batch

from . import functional as F
from ._checks import positive_int, weight_generator
from .module import Module


class Linear(Module):
    """y_j = b_j + sum_i W_ji x_i: PyTorch's ``nn.Linear(in_features, out_features, bias)``.

    Args:
        in_features, out_features: positive ints.
        bias: False for no bias (``bias`` is then None), as PyTorch's.
        seed: where the weights come from: None (the default) for the global generator
            that `minitorch_scalar.manual_seed` seeds, an int, or a ``random.Random``.

    PyTorch's initialisation: every weight, row by row, then every bias, is drawn from
    uniform(-k, k) with k = 1/sqrt(in_features) (the distribution of torch's default;
    the numbers are Python's `random`, not torch's generator). Parameters, in order:
    the weights row by row, then the biases (PyTorch's order).

    Called with one sample it gives the list of outputs (a Value when out_features is
    1, micrograd's convention); with a batch, one such output per row.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        seed: int | random.Random | None = None,
    ) -> None:
        super().__init__()
        in_features = positive_int(in_features, "Linear(in_features)")
        out_features = positive_int(out_features, "Linear(out_features)")
        if not isinstance(bias, bool):
            raise TypeError(f"Linear(bias) expects True or False, got {type(bias).__name__}")
        generator = weight_generator(seed, "Linear(seed)")
        uniform = random.uniform if generator is None else generator.uniform
        bound = 1.0 / math.sqrt(in_features)
        self.in_features, self.out_features = in_features, out_features
        self.register_parameter(
            "weight",
            [
                [Value(uniform(-bound, bound)) for _ in range(in_features)]
                for _ in range(out_features)
            ],
        )
        self.register_parameter(
            "bias", [Value(uniform(-bound, bound)) for _ in range(out_features)] if bias else None
        )

    @property
    def nin(self) -> int:
        """The width `__call__` checks: in_features."""
        return self.in_features

    def forward(self, x: list) -> list[Value]:
        """The outputs for one checked sample `x`: ``F.linear(x, weight, bias)``."""
        return linear_batch(self.weight, [x], self.bias)[0]

    def forward_batch(self, xs: list[list]) -> list[list[Value]]:
        """The outputs for each checked row of `xs`, the weights read once for the batch."""
        return linear_batch(self.weight, xs, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class _Elementwise(Module):
    """An activation as a module: its function applied to every number of the input,
    whose structure it keeps (a Value, a sample, a batch), as PyTorch's modules do."""

    def forward(self, input: Any) -> Any:
        """The function of every number of `input`: see `nn.functional`."""
        raise NotImplementedError

    def forward_batch(self, xs: list) -> list:
        return self.forward(xs)

    def __call__(self, input: Any) -> Any:
        return self.forward(input)


class ReLU(_Elementwise):
    """``F.relu`` as a module: max(0, x) for each x."""

    def forward(self, input: Any) -> Any:
        return F.relu(input)


class Tanh(_Elementwise):
    """``F.tanh`` as a module: tanh(x) for each x."""

    def forward(self, input: Any) -> Any:
        return F.tanh(input)


class Sigmoid(_Elementwise):
    """``F.sigmoid`` as a module: 1 / (1 + e^-x) for each x."""

    def forward(self, input: Any) -> Any:
        return F.sigmoid(input)


class Identity(_Elementwise):
    """The input, unchanged (PyTorch's: it takes and ignores any arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input
