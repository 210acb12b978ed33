"""Adam, with optional AMSGrad and L2 or decoupled weight decay, and AdamW."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from minitorch_scalar import Value, as_float

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

    For each parameter theta with gradient grad f(theta), starting from
    m_0 = v_0 = vmax_0 = 0, at its step t = 1, 2, ...
    (lr = learning rate, wd = weight_decay, (beta1, beta2) = betas)::

        g_t <- -grad f(theta_{t-1})  if maximize  else  grad f(theta_{t-1})
        if wd != 0:
            if decoupled_weight_decay:
                theta_{t-1} <- theta_{t-1} - lr * wd * theta_{t-1}   (AdamW's decay)
            else:
                g_t <- g_t + wd * theta_{t-1}                        (an L2 penalty)
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t        (first moment)
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2      (second moment)
        mhat_t <- m_t / (1 - beta1^t)                     (bias corrections)
        if amsgrad:
            vmax_t <- max(vmax_{t-1}, v_t)
            vhat_t <- vmax_t / (1 - beta2^t)
        else:
            vhat_t <- v_t / (1 - beta2^t)
        theta_t <- theta_{t-1} - lr * mhat_t / (sqrt(vhat_t) + eps)

    As PyTorch, the decoupled decay is computed ``theta * (1 - lr * wd)`` and the last
    line in the equal form
    ``theta - (lr / (1 - beta1^t)) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)``. AMSGrad
    is from Reddi et al., "On the Convergence of Adam and Beyond" (2018).

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
        """step an int >= 1; the moments finite, the second ones >= 0; vmax with amsgrad."""
        checks: dict[str, Check] = {
            "step": integer_at_least(1),
            "exp_avg": finite_number,
            "exp_avg_sq": finite_nonnegative_number,
        }
        if options["amsgrad"]:
            checks["max_exp_avg_sq"] = finite_nonnegative_number
        return checks

    def optional_state_checks(self, options: Mapping[str, Any]) -> dict[str, Check]:
        """Without amsgrad, vmax may be there: left from steps before amsgrad was unset."""
        return {} if options["amsgrad"] else {"max_exp_avg_sq": finite_nonnegative_number}

    def step(self) -> None:
        """Update every parameter that has a gradient once by the rule above, group by group."""
        for options, stepping in self.stepping_groups():  # all checked before anything changes
            lr, eps, weight_decay = options["lr"], options["eps"], options["weight_decay"]
            beta1, beta2 = options["betas"]
            maximize, amsgrad = options["maximize"], options["amsgrad"]
            decoupled, decay = options["decoupled_weight_decay"], 1.0 - lr * weight_decay
            one_minus_beta1, one_minus_beta2 = 1.0 - beta1, 1.0 - beta2
            corrections = BiasCorrections(lr, beta1, beta2)
            for p in stepping:
                state = self.state.get(p) or self._first_state(p, amsgrad)
                g = -p.grad if maximize else p.grad
                theta = p.data
                if weight_decay:
                    if decoupled:
                        theta *= decay
                    else:
                        g += weight_decay * theta
                t = state["step"] = state["step"] + 1
                m = state["exp_avg"] = beta1 * state["exp_avg"] + one_minus_beta1 * g
                v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + one_minus_beta2 * g * g
                if amsgrad:  # (vmax 0 for a parameter that stepped before amsgrad was set)
                    v = state["max_exp_avg_sq"] = max(state.get("max_exp_avg_sq", 0.0), v)
                step_size, root_of_correction = corrections[t]
                denominator = math.sqrt(v) / root_of_correction + eps
                # 0 only if eps == 0 and v == 0: then no step (see the docstring)
                p.data = theta - step_size * m / denominator if denominator else theta

    def _first_state(self, p: Value, amsgrad: bool) -> dict[str, Any]:
        """p's state before its first step: t = 0, m = v = 0 (and vmax = 0 with amsgrad)."""
        state = self.state[p] = {"step": 0, "exp_avg": 0.0, "exp_avg_sq": 0.0}
        if amsgrad:
            state["max_exp_avg_sq"] = 0.0
        return state


class AdamW(Adam):
    """AdamW (Loshchilov and Hutter, 2019), as PyTorch's ``torch.optim.AdamW``: Adam whose
    weight decay shrinks the parameter itself instead of joining the gradient.

    For each parameter theta with gradient grad f(theta), starting from
    m_0 = v_0 = vmax_0 = 0, at its step t = 1, 2, ...
    (lr = learning rate, wd = weight_decay, (beta1, beta2) = betas)::

        g_t <- -grad f(theta_{t-1})  if maximize  else  grad f(theta_{t-1})
        theta_{t-1} <- theta_{t-1} - lr * wd * theta_{t-1}     (decoupled decay)
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        mhat_t <- m_t / (1 - beta1^t)
        if amsgrad:
            vmax_t <- max(vmax_{t-1}, v_t)
            vhat_t <- vmax_t / (1 - beta2^t)
        else:
            vhat_t <- v_t / (1 - beta2^t)
        theta_t <- theta_{t-1} - lr * mhat_t / (sqrt(vhat_t) + eps)

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


class BiasCorrections(dict):
    """t -> (lr / (1 - beta1^t), sqrt(1 - beta2^t)): step t's bias corrections, each
    computed once per step for all the parameters at that t (most share one)."""

    def __init__(self, lr: float, beta1: float, beta2: float) -> None:
        super().__init__()
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2

    def __missing__(self, t: int) -> tuple[float, float]:
        found = self[t] = (self.lr / (1.0 - self.beta1**t), math.sqrt(1.0 - self.beta2**t))
        return found
