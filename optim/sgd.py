"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

from minitorch_scalar import Value

from .optimizer import Optimizer, flag, nonnegative_number, real_number


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum: PyTorch's ``torch.optim.SGD``.

    For each parameter theta with gradient grad f(theta), at step t = 1, 2, ...
    (lr = learning rate, wd = weight_decay, mu = momentum, tau = dampening)::

        g_t <- -grad f(theta_{t-1})  if maximize  else  grad f(theta_{t-1})
        if wd != 0:
            g_t <- g_t + wd * theta_{t-1}
        if mu != 0:
            if t > 1:
                b_t <- mu * b_{t-1} + (1 - tau) * g_t
            else:
                b_t <- g_t                  (the first buffer is not dampened)
            if nesterov:
                g_t <- g_t + mu * b_t
            else:
                g_t <- b_t
        theta_t <- theta_{t-1} - lr * g_t

    "t = 1" is the first step taken with momentum: the buffers start empty and are
    created then, as in PyTorch. Nesterov momentum follows Sutskever et al., "On the
    importance of initialization and momentum in deep learning" (2013).

    Args:
        params: the leaf Values to optimize (see `Optimizer`).
        lr: learning rate, >= 0; live: ``opt.lr = ...`` takes effect at the next step.
        momentum: mu, >= 0 (0: plain gradient descent).
        dampening: tau, the weight 1 - tau of the new gradient in the buffer.
        weight_decay: wd >= 0, an L2 penalty wd/2 * theta^2 added to the objective.
        nesterov: use Nesterov momentum; needs momentum > 0 and dampening == 0.
        maximize: climb the objective instead of descending it.

    Raises:
        TypeError: a hyperparameter is not a real number (nesterov, maximize: not a bool),
            or `params` is not an iterable of Values.
        ValueError: lr, momentum or weight_decay < 0; nesterov with momentum == 0 or
            dampening != 0; `params` empty or with a duplicate.

    Attributes:
        momentum_buffers: b for each parameter, in the order of `params`; None until
            the first step with momentum.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        self.momentum = nonnegative_number(momentum, "momentum")
        self.dampening = real_number(dampening, "dampening")
        self.weight_decay = nonnegative_number(weight_decay, "weight_decay")
        self.nesterov = flag(nesterov, "nesterov")
        self.maximize = flag(maximize, "maximize")
        if nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError(
                "nesterov=True expects momentum > 0 and dampening == 0, got "
                f"momentum={momentum!r}, dampening={dampening!r}"
            )
        super().__init__(params, lr)
        self.momentum_buffers: list[float | None] = [None] * len(self.params)

    def step(self) -> None:
        """Update every parameter once by the rule above, with the current ``self.lr``."""
        lr, weight_decay, momentum = self.lr, self.weight_decay, self.momentum
        undampened, nesterov, maximize = 1.0 - self.dampening, self.nesterov, self.maximize
        buffers = self.momentum_buffers
        for i, p in enumerate(self.params):
            g = -p.grad if maximize else p.grad
            if weight_decay:
                g += weight_decay * p.data
            if momentum:
                b = buffers[i]
                b = g if b is None else momentum * b + undampened * g
                buffers[i] = b
                g = g + momentum * b if nesterov else b
            p.data -= lr * g
