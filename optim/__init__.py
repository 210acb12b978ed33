"""optim: PyTorch's optimizers and learning-rate schedulers for Values, rule for rule.

>>> from minitorch_scalar import Value
>>> from optim import SGD
>>> w = Value(1.0)
>>> opt = SGD([w], lr=0.1)
>>> loss = (w - 3) ** 2
>>> opt.zero_grad()
>>> loss.backward()
>>> opt.step()
>>> round(w.data, 12)  # 1 - 0.1 * 2 * (1 - 3)
1.4
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
