"""minitorch_scalar: a scalar autograd engine, small enough to read in one sitting.

The article's program (x = -2), node by node:

>>> from minitorch_scalar import Value
>>> x = Value(-2.0)
>>> z = 2 * x
>>> y1 = z + 5
>>> y2 = (z * z).relu() + x + 3
>>> loss = y1 - y2 + y2 * x
>>> loss.backward()
>>> loss.data, x.grad, z.grad, y1.grad, y2.grad
(-50.0, 64.0, 25.0, 1.0, -3.0)
"""

from . import structure
from .animate import BackwardAnimation, draw_backward
from .compiler import compile
from .custom_op import CustomOp, custom_op
from .engine import Value
from .explain import (
    BackwardStep,
    BackwardSteps,
    NonFinite,
    explain_backward,
    first_nonfinite,
    node_names,
)
from .fast_linear import linear, linear_batch
from .fused import dot, max, select, sum
from .grad_mode import is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .graph import draw_graph, to_dot
from .graph_walk import cyclic_gc_paused, topological_order
from .real import as_float, is_integer, is_real_number
from .seed import manual_seed

__all__ = [
    "BackwardAnimation",
    "BackwardStep",
    "BackwardSteps",
    "CustomOp",
    "GradcheckError",
    "NonFinite",
    "Value",
    "as_float",
    "compile",
    "custom_op",
    "cyclic_gc_paused",
    "dot",
    "draw_backward",
    "draw_graph",
    "explain_backward",
    "first_nonfinite",
    "gradcheck",
    "is_grad_enabled",
    "is_integer",
    "is_real_number",
    "linear",
    "linear_batch",
    "manual_seed",
    "max",
    "no_grad",
    "node_names",
    "select",
    "structure",
    "sum",
    "to_dot",
    "topological_order",
]
