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

from .compiler import compile
from .engine import Value, cyclic_gc_paused, is_grad_enabled, no_grad, topological_order
from .fused import dot, linear, linear_batch, sum
from .gradcheck import GradcheckError, gradcheck
from .graph import draw_graph, to_dot
from .real import as_float, is_integer, is_real_number

__all__ = [
    "GradcheckError",
    "Value",
    "as_float",
    "compile",
    "cyclic_gc_paused",
    "dot",
    "draw_graph",
    "gradcheck",
    "is_grad_enabled",
    "is_integer",
    "is_real_number",
    "linear",
    "linear_batch",
    "no_grad",
    "sum",
    "to_dot",
    "topological_order",
]
