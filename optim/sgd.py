"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from minitorch_scalar import Value

from .checks import Check, finite_number, flag, nonnegative_number, real_number
from .optimizer import Optimizer


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

    t counts a parameter's own steps with momentum (those in which it had a gradient):
    its buffer starts empty and is created at its t = 1, as in PyTorch. Nesterov momentum
    follows Sutskever et al., "On the importance of initialization and momentum in deep
    learning" (2013).

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
        ValueError: lr, momentum or weight_decay < 0; a hyperparameter nan, or an int
            too large for a float; nesterov with momentum == 0 or dampening != 0; `params`
            empty or with a duplicate.

    State (``opt.state[p]``, as PyTorch's): ``momentum_buffer``, b, from the first step
    with momentum that gives p a gradient. A parameter whose grad is None is skipped: its
    buffer is untouched.
    """

    hyperparameter_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")

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
        super().__init__(
            params,
            lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )

    def checked_hyperparameters(self, given: Mapping[str, object]) -> dict[str, Any]:
        """lr, momentum, weight_decay >= 0; dampening a number; nesterov needs mu > 0, tau = 0."""
        checked = super().checked_hyperparameters(given) | {
            "momentum": nonnegative_number(given["momentum"], "momentum"),
            "dampening": real_number(given["dampening"], "dampening"),
            "weight_decay": nonnegative_number(given["weight_decay"], "weight_decay"),
            "nesterov": flag(given["nesterov"], "nesterov"),
            "maximize": flag(given["maximize"], "maximize"),
        }
        if checked["nesterov"] and (checked["momentum"] == 0.0 or checked["dampening"] != 0.0):
            raise ValueError(
                "nesterov=True expects momentum > 0 and dampening == 0, got "
                f"momentum={given['momentum']!r}, dampening={given['dampening']!r}"
            )
        return checked

    def state_checks(self, hyperparameters: Mapping[str, Any]) -> dict[str, Check]:
        """A parameter's state is its momentum buffer, a finite number."""
        return {"momentum_buffer": finite_number}

    def step(self) -> None:
        """Update every parameter that has a gradient once by the rule above."""
        lr, weight_decay, momentum = self.lr, self.weight_decay, self.momentum
        undampened, nesterov, maximize = 1.0 - self.dampening, self.nesterov, self.maximize
        for p, grad in self.gradients():  # all checked before anything changes
            g = -grad if maximize else grad
            if weight_decay:
                g += weight_decay * p.data
            if momentum:
                state = self.state.setdefault(p, {})
                b = state.get("momentum_buffer")
                b = state["momentum_buffer"] = g if b is None else momentum * b + undampened * g
                g = g + momentum * b if nesterov else b
            p.data -= lr * g
