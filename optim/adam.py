"""Adam, with optional AMSGrad and L2 weight decay."""

from __future__ import annotations

import math
from collections.abc import Iterable

from minitorch_scalar import Value

from .optimizer import Optimizer, flag, nonnegative_number, real_number


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as PyTorch's ``torch.optim.Adam``; AMSGrad optional.

    For each parameter theta with gradient grad f(theta), starting from
    m_0 = v_0 = vmax_0 = 0, at step t = 1, 2, ...
    (lr = learning rate, wd = weight_decay, (beta1, beta2) = betas)::

        g_t <- -grad f(theta_{t-1})  if maximize  else  grad f(theta_{t-1})
        if wd != 0:
            g_t <- g_t + wd * theta_{t-1}
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t        (first moment)
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2      (second moment)
        mhat_t <- m_t / (1 - beta1^t)                     (bias corrections)
        if amsgrad:
            vmax_t <- max(vmax_{t-1}, v_t)
            vhat_t <- vmax_t / (1 - beta2^t)
        else:
            vhat_t <- v_t / (1 - beta2^t)
        theta_t <- theta_{t-1} - lr * mhat_t / (sqrt(vhat_t) + eps)

    As PyTorch, the last line is computed in the equal form
    ``theta - (lr / (1 - beta1^t)) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)``, with
    both corrections computed once per step. AMSGrad is from Reddi et al., "On the
    Convergence of Adam and Beyond" (2018). Every parameter steps every time, so one
    step count t serves them all.

    One deliberate difference: with ``eps=0`` a parameter whose second moment is 0 (one
    that has had no gradient yet) has a denominator of 0. It then stays where it is,
    the limit of the rule as eps -> 0, where PyTorch writes nan (or inf) into it.

    Args:
        params: the leaf Values to optimize (see `Optimizer`).
        lr: learning rate, >= 0; live: ``opt.lr = ...`` takes effect at the next step.
        betas: (beta1, beta2), each in [0, 1): the decay rates of the two moments.
        eps: >= 0, added to the denominator for numerical stability.
        weight_decay: wd >= 0, an L2 penalty wd/2 * theta^2 added to the objective
            (not AdamW's decoupled decay).
        amsgrad: divide by the largest second moment seen so far instead of the latest.
        maximize: climb the objective instead of descending it.

    Raises:
        TypeError: a hyperparameter is not a real number (betas: not a pair of them;
            amsgrad, maximize: not a bool), or `params` is not an iterable of Values.
        ValueError: lr, eps or weight_decay < 0; a beta outside [0, 1); `params` empty
            or with a duplicate.

    Attributes:
        steps: t, the number of steps taken.
        exp_avgs, exp_avg_sqs, max_exp_avg_sqs: m, v and vmax for each parameter, in
            the order of `params` (vmax stays 0 unless amsgrad).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        self.betas = beta_pair(betas)
        self.eps = nonnegative_number(eps, "eps")
        self.weight_decay = nonnegative_number(weight_decay, "weight_decay")
        self.amsgrad = flag(amsgrad, "amsgrad")
        self.maximize = flag(maximize, "maximize")
        super().__init__(params, lr)
        self.steps = 0
        self.exp_avgs = [0.0] * len(self.params)
        self.exp_avg_sqs = [0.0] * len(self.params)
        self.max_exp_avg_sqs = [0.0] * len(self.params)

    def step(self) -> None:
        """Update every parameter once by the rule above, with the current ``self.lr``."""
        self.steps += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1.0 - beta1**self.steps)
        sqrt_correction2 = math.sqrt(1.0 - beta2**self.steps)
        eps, weight_decay = self.eps, self.weight_decay
        amsgrad, maximize = self.amsgrad, self.maximize
        ms, vs, vmaxes = self.exp_avgs, self.exp_avg_sqs, self.max_exp_avg_sqs
        for i, p in enumerate(self.params):
            g = -p.grad if maximize else p.grad
            if weight_decay:
                g += weight_decay * p.data
            m = ms[i] = beta1 * ms[i] + (1.0 - beta1) * g
            v = vs[i] = beta2 * vs[i] + (1.0 - beta2) * g * g
            if amsgrad:
                v = vmaxes[i] = max(vmaxes[i], v)
            denominator = math.sqrt(v) / sqrt_correction2 + eps
            if denominator:  # 0 only if eps == 0 and v == 0: then no step (see the docstring)
                p.data -= step_size * m / denominator


def beta_pair(betas: object) -> tuple[float, float]:
    """`betas` as (beta1, beta2) floats, each in [0, 1); TypeError/ValueError otherwise."""
    if not isinstance(betas, tuple | list):
        raise TypeError(
            f"betas expects a pair (beta1, beta2), got {type(betas).__name__}: {betas!r}"
        )
    if len(betas) != 2:
        raise ValueError(f"betas expects a pair (beta1, beta2), got {len(betas)} items: {betas!r}")
    pair = (real_number(betas[0], "betas[0]"), real_number(betas[1], "betas[1]"))
    for index, beta in enumerate(pair):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"betas[{index}] expects a number in [0, 1), got {betas[index]!r}")
    return pair
