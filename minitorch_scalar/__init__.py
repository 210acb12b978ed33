"""minitorch_scalar: a scalar autograd engine, small enough to read in one sitting.

>>> from minitorch_scalar import Value
>>> x = Value(-2.0)
>>> z = 2 * x
>>> loss = (z + 5) - ((z * z).relu() + x + 3) + ((z * z).relu() + x + 3) * x
>>> loss.backward()
>>> x.grad
64.0
"""

from .engine import Value, is_grad_enabled, no_grad, topological_order
from .fused import dot, sum
from .gradcheck import GradcheckError, gradcheck

__all__ = [
    "GradcheckError",
    "Value",
    "dot",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "sum",
    "topological_order",
]
