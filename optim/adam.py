"""Adam, with optional AMSGrad and L2 or decoupled weight decay, and AdamW."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from minitorch_scalar import Value, as_float

from . import array_step
from .array_step import adam_on_arrays
from .checks import (
    Check,
    finite_nonnegative_number,
    finite_number,
    flag,
    integer_at_least,
    nonnegative_number,
)
from .optimizer import Optimizer


def beta_pair(betas: object, name: str) -> tuple[float, float]:
    """`betas` as (beta1, beta2) floats, each in [0, 1); TypeError/ValueError naming
    `name` otherwise."""
    if not isinstance(betas, tuple | list):
        raise TypeError(
            f"{name} expects a pair (beta1, beta2), got {type(betas).__name__}: {betas!r}"
        )
    if len(betas) != 2:
        raise ValueError(f"{name} expects a pair (beta1, beta2), got {len(betas)} items: {betas!r}")
    pair = (as_float(betas[0], f"{name}[0]"), as_float(betas[1], f"{name}[1]"))
    for index, beta in enumerate(pair):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{name}[{index}] expects a number in [0, 1), got {betas[index]!r}")
    return pair


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as PyTorch's ``torch.optim.Adam``; AMSGrad optional.

    For each parameter theta with gradient grad f(theta), whose state starts at
    t = 0, m = v = vmax = 0 (lr = learning rate, wd = weight_decay, (beta1, beta2) =
    betas), one step is::

        g <- -grad f(theta)  if maximize  else  grad f(theta)
        if wd != 0:
            if decoupled_weight_decay:
                theta <- theta * (1 - lr * wd)                 (AdamW's decay)
            else:
                g <- g + wd * theta                            (an L2 penalty)
        t <- t + 1
        m <- beta1 * m + (1 - beta1) * g                       (first moment)
        v <- beta2 * v + (1 - beta2) * g * g                   (second moment)
        if amsgrad:
            vmax <- max(vmax, v)                               (the largest v so far)
        denominator <- sqrt(vmax if amsgrad else v) / sqrt(1 - beta2^t) + eps
        if denominator != 0:
            theta <- theta - (lr / (1 - beta1^t)) * m / denominator

    That is the paper's theta - lr * mhat / (sqrt(vhat) + eps), with the bias-corrected
    moments mhat = m / (1 - beta1^t) and vhat = v / (1 - beta2^t) (vmax with AMSGrad),
    written in PyTorch's order of operations; `step_by_rule` is these lines, one
    parameter at a time, and `step` runs them on arrays (`optim.array_step`) to the same
    bits. AMSGrad is from Reddi et al., "On the Convergence of Adam and Beyond" (2018).

    t is each parameter's own step count, as in PyTorch: a parameter whose grad is None
    is skipped, and its t, m, v and vmax stay as they were (and it is not decayed).

    Every option below is also an option of each parameter group, read afresh at every
    step: ``opt.param_groups[i]["lr"] = ...`` takes effect at the next step, and a group
    given as a dict may set its own (the others come from these arguments)::

        Adam([{"params": body, "weight_decay": 1e-4}, {"params": head}], lr=1e-3)

    One deliberate difference: with ``eps=0`` a parameter whose second moment is 0 (one
    that has had no gradient yet) has a denominator of 0. It then takes no step of the
    rule's last line, the limit as eps -> 0, where PyTorch writes nan (or inf) into it.

    Args:
        params: the leaf Values to optimize, or parameter groups (see `Optimizer`).
        lr: learning rate, >= 0.
        betas: (beta1, beta2), each in [0, 1): the decay rates of the two moments.
        eps: >= 0, added to the denominator for numerical stability.
        weight_decay: wd >= 0: by default an L2 penalty wd/2 * theta^2 added to the
            objective, which Adam then rescales with the gradient.
        amsgrad: divide by the largest second moment seen so far instead of the latest.
        maximize: climb the objective instead of descending it.
        decoupled_weight_decay: decay theta itself by lr * wd, apart from the moments:
            Adam becomes AdamW (PyTorch's option of the same name; see `AdamW`).

    Raises:
        TypeError: an option is not a real number (betas: not a pair of them;
            amsgrad, maximize, decoupled_weight_decay: not a bool), or `params` is not an
            iterable of Values or of groups.
        ValueError: lr, eps or weight_decay < 0; a beta outside [0, 1); an option nan or
            an int too large for a float; `params` empty or with a duplicate; a group
            without "params" or with an unknown key.
        The same errors, naming the group (``param_groups[1]['lr']``), come from `step`
        when a value set in ``param_groups`` by hand is wrong.

    State (``opt.state[p]``, as PyTorch's, from p's first step with a gradient): ``step``
    (t, an int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, in a group with amsgrad only,
    ``max_exp_avg_sq`` (vmax).
    """

    option_checks = Optimizer.option_checks | {
        "betas": beta_pair,
        "eps": nonnegative_number,
        "weight_decay": nonnegative_number,
        "amsgrad": flag,
        "maximize": flag,
        "decoupled_weight_decay": flag,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def state_checks(self, options: Mapping[str, Any]) -> dict[str, Check]:
        """step an int >= 1; the moments finite, the second ones >= 0."""
        return {
            "step": integer_at_least(1),
            "exp_avg": finite_number,
            "exp_avg_sq": finite_nonnegative_number,
        }

    def optional_state_checks(self, options: Mapping[str, Any]) -> dict[str, Check]:
        """vmax, finite and >= 0, may be there or not, whatever amsgrad is now: a parameter
        that stepped before amsgrad was set has none yet (the rule starts it at 0), and
        one left from steps before amsgrad was unset keeps it."""
        return {"max_exp_avg_sq": finite_nonnegative_number}

    def step(self) -> None:
        """Update every parameter that has a gradient once by the rule above, group by
        group: on arrays (`optim.array_step`, the rule's bits), or by `step_by_rule`
        when `plain_rule` is set or the arrays cannot hold something."""
        if self.plain_rule or not array_step.step(self, array_step.ADAM_STATE, adam_on_arrays):
            self.step_by_rule()

    def step_by_rule(self) -> None:
        """The rule above, line for line, one parameter at a time: the reference."""
        for options, stepping in self.stepping_groups():  # all checked before anything changes
            lr, eps, wd = options["lr"], options["eps"], options["weight_decay"]
            beta1, beta2 = options["betas"]
            maximize, amsgrad = options["maximize"], options["amsgrad"]
            decoupled = options["decoupled_weight_decay"]
            for p in stepping:
                state = self.state.get(p) or self._first_state(p, amsgrad)
                g = -p.grad if maximize else p.grad
                theta = p.data
                if wd:
                    if decoupled:
                        theta = theta * (1 - lr * wd)
                    else:
                        g = g + wd * theta
                t = state["step"] = state["step"] + 1
                m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
                v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
                if amsgrad:  # (vmax 0 for a parameter that stepped before amsgrad was set)
                    vmax = state["max_exp_avg_sq"] = max(state.get("max_exp_avg_sq", 0.0), v)
                denominator = math.sqrt(vmax if amsgrad else v) / math.sqrt(1 - beta2**t) + eps
                if denominator:  # 0 only if eps == 0 and v == 0: no step (see above)
                    theta = theta - (lr / (1 - beta1**t)) * m / denominator
                p.data = theta

    def _first_state(self, p: Value, amsgrad: bool) -> dict[str, Any]:
        """p's state before its first step: t = 0, m = v = 0 (and vmax = 0 with amsgrad)."""
        state = self.state[p] = {"step": 0, "exp_avg": 0.0, "exp_avg_sq": 0.0}
        if amsgrad:
            state["max_exp_avg_sq"] = 0.0
        return state


class AdamW(Adam):
    """AdamW (Loshchilov and Hutter, 2019), as PyTorch's ``torch.optim.AdamW``: Adam whose
    weight decay shrinks the parameter itself instead of joining the gradient.

    For each parameter theta with gradient grad f(theta), whose state starts at
    t = 0, m = v = vmax = 0 (lr = learning rate, wd = weight_decay, (beta1, beta2) =
    betas), one step is::

        g <- -grad f(theta)  if maximize  else  grad f(theta)
        if wd != 0:
            theta <- theta * (1 - lr * wd)                     (decoupled decay)
        t <- t + 1
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g * g
        if amsgrad:
            vmax <- max(vmax, v)
        denominator <- sqrt(vmax if amsgrad else v) / sqrt(1 - beta2^t) + eps
        if denominator != 0:
            theta <- theta - (lr / (1 - beta1^t)) * m / denominator

    With Adam's L2 penalty the decay is divided by sqrt(vhat) like the gradient, so
    parameters with large gradients are barely decayed; here every parameter shrinks by
    the same factor 1 - lr * wd per step. As in PyTorch this is `Adam` with
    ``decoupled_weight_decay=True`` (a group option, True here), computed the same way;
    everything `Adam` says about t, None gradients, eps=0 and the state holds here.

    Args:
        params: the leaf Values to optimize, or parameter groups (see `Optimizer`).
        lr: learning rate, >= 0.
        betas: (beta1, beta2), each in [0, 1).
        eps: >= 0, added to the denominator.
        weight_decay: wd >= 0, the decay rate (default 1e-2, PyTorch's; Adam's is 0).
        amsgrad: divide by the largest second moment seen so far instead of the latest.
        maximize: climb the objective instead of descending it.

    Raises: as `Adam`.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
