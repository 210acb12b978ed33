"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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

    Every option below is also an option of each parameter group, read afresh at every
    step: ``opt.param_groups[i]["lr"] = ...`` takes effect at the next step, and a group
    given as a dict may set its own (the others come from these arguments)::

        SGD([{"params": body}, {"params": head, "lr": 0.01}], lr=0.1, momentum=0.9)

    Args:
        params: the leaf Values to optimize, or parameter groups (see `Optimizer`).
        lr: learning rate, >= 0.
        momentum: mu, >= 0 (0: plain gradient descent).
        dampening: tau, the weight 1 - tau of the new gradient in the buffer.
        weight_decay: wd >= 0, an L2 penalty wd/2 * theta^2 added to the objective.
        nesterov: use Nesterov momentum; needs momentum > 0 and dampening == 0.
        maximize: climb the objective instead of descending it.

    Raises:
        TypeError: an option is not a real number (nesterov, maximize: not a bool),
            or `params` is not an iterable of Values or of groups.
        ValueError: lr, momentum or weight_decay < 0; an option nan, or an int too large
            for a float; nesterov with momentum == 0 or dampening != 0; `params` empty or
            with a duplicate; a group without "params" or with an unknown key.
        The same errors, naming the group (``param_groups[1]['lr']``), come from `step`
        when a value set in ``param_groups`` by hand is wrong.

    State (``opt.state[p]``, as PyTorch's): ``momentum_buffer``, b, from the first step
    with momentum that gives p a gradient. A parameter whose grad is None is skipped: its
    buffer is untouched.
    """

    option_checks = Optimizer.option_checks | {
        "momentum": nonnegative_number,
        "dampening": real_number,
        "weight_decay": nonnegative_number,
        "nesterov": flag,
        "maximize": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def checked_options(self, given: Mapping[str, object], where: str = "") -> dict[str, Any]:
        """Each option checked (see `Optimizer`); nesterov needs mu > 0 and tau = 0."""
        checked = super().checked_options(given, where)
        if checked.get("nesterov") and (checked["momentum"] == 0.0 or checked["dampening"] != 0.0):
            raise ValueError(
                f"{where + ': ' if where else ''}nesterov=True expects momentum > 0 and "
                f"dampening == 0, got momentum={given['momentum']!r}, "
                f"dampening={given['dampening']!r}"
            )
        return checked

    def state_checks(self, options: Mapping[str, Any]) -> dict[str, Check]:
        """A parameter's state is its momentum buffer, a finite number."""
        return {"momentum_buffer": finite_number}

    def step(self) -> None:
        """Update every parameter that has a gradient once by the rule above, group by group."""
        for options, stepping in self.stepping_groups():  # all checked before anything changes
            lr, weight_decay, momentum = options["lr"], options["weight_decay"], options["momentum"]
            undampened, nesterov = 1.0 - options["dampening"], options["nesterov"]
            maximize = options["maximize"]
            for p in stepping:
                g = -p.grad if maximize else p.grad
                if weight_decay:
                    g += weight_decay * p.data
                if momentum:
                    state = self.state.setdefault(p, {})
                    b = state.get("momentum_buffer")
                    b = state["momentum_buffer"] = g if b is None else momentum * b + undampened * g
                    g = g + momentum * b if nesterov else b
                p.data -= lr * g
