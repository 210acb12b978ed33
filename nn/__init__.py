"""nn: neurons, layers and MLPs on the scalar engine, with losses and saved weights.

Two styles. PyTorch's: subclass `Module`, assign `Linear` layers and other modules
as attributes, define `forward`; `Sequential`, `ModuleList`, `ReLU`, `Tanh`,
`Sigmoid`, `Identity`, `functional` (``import nn.functional as F``) and the loss
modules, with PyTorch's names. micrograd's: `Neuron`, `Layer` and `MLP` (same
signatures, same parameter order), with a choice of activation, reproducible
initialisation, and PyTorch's `state_dict` keys:

>>> import nn
>>> model = nn.MLP(2, [16, 16, 1], seed=0)
>>> score = model([0.5, -1.0])
>>> loss = nn.hinge_loss([score], [1])
>>> loss.backward()
>>> len(model.parameters())
337
"""

from . import diagnostics, functional, losses
from .container import ModuleList, Sequential
from .diagnostics import Diagnosis, LayerReport, diagnose
from .layers import MLP, Layer, Neuron
from .linear import Identity, Linear, ReLU, Sigmoid, Tanh
from .losses import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    l2_penalty,
    mse_loss,
)
from .module import Module, ParameterGroup

__all__ = [
    "MLP",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Diagnosis",
    "Identity",
    "Layer",
    "LayerReport",
    "Linear",
    "MSELoss",
    "Module",
    "ModuleList",
    "Neuron",
    "ParameterGroup",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "diagnose",
    "diagnostics",
    "functional",
    "hinge_loss",
    "l2_penalty",
    "losses",
    "mse_loss",
]
