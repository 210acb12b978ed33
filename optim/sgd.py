"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import array_step
from .array_step import sgd_on_arrays
from .checks import Check, finite_number, flag, nonnegative_number, real_number
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum: PyTorch's ``torch.optim.SGD``.

    For each parameter theta with gradient grad f(theta) (lr = learning rate,
    wd = weight_decay, mu = momentum, tau = dampening, b = the momentum buffer), one
    step is::

        g <- -grad f(theta)  if maximize  else  grad f(theta)
        if wd != 0:
            g <- g + wd * theta
        if mu != 0:
            b <- g  if b is none  else  mu * b + (1 - tau) * g   (the first one undampened)
            g <- g + mu * b  if nesterov  else  b
        theta <- theta - lr * g

    The buffer starts empty, and is made at p's first step with momentum that gives
    it a gradient, as in PyTorch. `step_by_rule` is these lines, one parameter at a
    time, and `step` runs them on arrays (`optim.array_step`) to the same bits. Nesterov
    momentum follows Sutskever et al., "On the importance of initialization and
    momentum in deep learning" (2013).

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
        """Update every parameter that has a gradient once by the rule above, group by
        group: on arrays (`optim.array_step`, the rule's bits), or by `step_by_rule`
        when `plain_rule` is set or the arrays cannot hold something."""
        if self.plain_rule or not array_step.step(self, array_step.SGD_STATE, sgd_on_arrays):
            self.step_by_rule()

    def step_by_rule(self) -> None:
        """The rule above, line for line, one parameter at a time: the reference."""
        for options, stepping in self.stepping_groups():  # all checked before anything changes
            lr, wd, mu, tau = (options[k] for k in ("lr", "weight_decay", "momentum", "dampening"))
            maximize, nesterov = options["maximize"], options["nesterov"]
            for p in stepping:
                g = -p.grad if maximize else p.grad
                if wd:
                    g = g + wd * p.data
                if mu:
                    state = self.state.setdefault(p, {})
                    b = state.get("momentum_buffer")
                    b = state["momentum_buffer"] = g if b is None else mu * b + (1 - tau) * g
                    g = g + mu * b if nesterov else b
                p.data = p.data - lr * g
