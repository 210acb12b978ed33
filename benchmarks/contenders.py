"""One MLP training step written four ways, and a steady-state clock for them.

compiled.py's steady-state part and sweep time these, each contender's steps run back
to back. A `Task` says what a step does: an MLP (relu between layers, the last layer
linear), a loss (micrograd's hinge + ALPHA * L2, or cross-entropy), an optimizer (SGD
with a rate per step, or Adam with PyTorch's defaults), and the batches (step k takes
batch k mod their number). Every contender starts from the weights of `task.model()`:

- ``compiled``: ours, ``minitorch_scalar.compile`` of the loss, traced before timing;
- ``torch``: PyTorch eager, float64 ``torch.nn.Linear`` layers, torch's optimizers;
- ``jax``: ``jax.jit`` of the whole step (loss, ``jax.grad``, the update), float64;
- ``numpy``: the forward and backward written by hand with float64 arrays (the floor).

Each must compute our loss to ~1e-12: `steady` compares the first steps' losses. The
JAX contender is absent when JAX is not installed.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter, process_time
from typing import Any

import numpy as np
import workloads as wl

import minitorch_scalar as ms
import nn
import optim

Step = Callable[[int], float]  # step(k) trains once on batch k, gives the loss
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
CHECKED = 3  # the first steps whose losses are compared with ours


@dataclass
class Task:
    """A training step: model, loss ("hinge" or "cross_entropy"), optimizer, batches."""

    name: str
    model: Callable[[], nn.MLP]  # a fresh model, the same weights at every call
    loss: str
    optimizer: str  # "sgd" (rate lr(k)) or "adam" (rate lr(0))
    lr: Callable[[int], float]
    batches: list[tuple[np.ndarray, np.ndarray]]

    def batch(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The batch of step k."""
        return self.batches[k % len(self.batches)]


def layer_arrays(model: nn.MLP) -> list[np.ndarray]:
    """The model's weights and biases as float64 arrays: W_0 (out, in), b_0, W_1, ..."""
    return [np.array(value, dtype=np.float64) for value in model.state_dict().values()]


# ------------------------------------------------------------------------- ours


def ours(task: Task, exact: bool = True) -> Step:
    """The compiled loss, then zero_grad, backward and our optimizer's step (`exact`:
    compile's mode; False: the fast mode, within 1e-12 of eager)."""
    model = task.model()
    if task.loss == "hinge":

        def objective(x: np.ndarray, y: np.ndarray) -> ms.Value:
            penalty = wl.ALPHA * nn.l2_penalty(model.parameters())
            return nn.hinge_loss(model(x), y) + penalty
    else:

        def objective(x: np.ndarray, y: np.ndarray) -> ms.Value:
            return nn.cross_entropy(model(x), y)

    compiled = ms.compile(objective, exact=exact)
    compiled(*task.batch(0))  # the trace, dropped
    sgd = task.optimizer == "sgd"
    optimizer = (optim.SGD if sgd else optim.Adam)(model.parameters(), lr=task.lr(0))

    def step(k: int) -> float:
        loss = compiled(*task.batch(k))
        optimizer.zero_grad()
        loss.backward()
        if sgd:
            optimizer.lr = task.lr(k)
        optimizer.step()
        return loss.data

    return step


def fast(task: Task) -> Step:
    """`ours` in compile's fast mode, ``exact=False``."""
    return ours(task, exact=False)


# ------------------------------------------------------------------------ torch


def torch_step(task: Task) -> Step:
    """PyTorch eager: the same layers, loss and optimizer, on tensors made once."""
    import torch

    arrays = layer_arrays(task.model())
    layers: list[Any] = []
    for weight, bias in zip(arrays[::2], arrays[1::2]):
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weight))
            linear.bias.copy_(torch.from_numpy(bias))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    sgd = task.optimizer == "sgd"
    kind = torch.optim.SGD if sgd else torch.optim.Adam
    optimizer = kind(model.parameters(), lr=task.lr(0))
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in task.batches]

    def step(k: int) -> float:
        x, y = batches[k % len(batches)]
        if task.loss == "hinge":
            scores = model(x).squeeze(1)
            penalty = wl.ALPHA * sum((p * p).sum() for p in model.parameters())
            loss = torch.relu(1 - y * scores).mean() + penalty
        else:
            loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        if sgd:
            for group in optimizer.param_groups:
                group["lr"] = task.lr(k)
        optimizer.step()
        return loss.item()

    return step


# ------------------------------------------------------------------------ numpy


def numpy_loss_and_grads(
    params: list[np.ndarray], x: np.ndarray, y: np.ndarray, loss: str
) -> tuple[float, list[np.ndarray]]:
    """The loss and its gradient in every parameter, by the chain rule written out.

    Forward: a_0 = x, z_i = a_i W_i^T + b_i, a_{i+1} = relu(z_i), the scores the last z.
    Hinge: L = mean(relu(1 - y s)) + ALPHA sum p^2, dL/ds = -y [1 - y s > 0] / n.
    Cross-entropy: L = mean(log sum_j e^(z_j - m) - (z_y - m)), dL/dz = (softmax - onehot) / n.
    Backward: dW_i = dz_i^T a_i, db_i = sum of dz_i's rows, dz_{i-1} = (dz_i W_i) [z_{i-1} > 0].
    """
    activations, pres = [x], []
    for weight, bias in zip(params[::2], params[1::2]):
        pres.append(activations[-1] @ weight.T + bias)
        activations.append(np.maximum(pres[-1], 0.0))
    z, n = pres[-1], len(x)
    if loss == "hinge":
        margin = 1.0 - y * z[:, 0]
        penalty = sum(float((p * p).sum()) for p in params)
        value = np.maximum(margin, 0.0).mean() + wl.ALPHA * penalty
        dz = (-(y * (margin > 0)) / n)[:, None]
    else:
        shifted = z - z.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        sums = exps.sum(axis=1)
        rows = np.arange(n)
        value = float(np.mean(np.log(sums) - shifted[rows, y]))
        dz = exps / sums[:, None]
        dz[rows, y] -= 1.0
        dz /= n
    grads: list[np.ndarray] = [np.empty(0)] * len(params)
    for i in reversed(range(len(pres))):
        grads[2 * i] = dz.T @ activations[i]
        grads[2 * i + 1] = dz.sum(axis=0)
        if i:
            dz = (dz @ params[2 * i]) * (pres[i - 1] > 0)
    if loss == "hinge":
        grads = [g + 2 * wl.ALPHA * p for g, p in zip(grads, params)]
    return float(value), grads


def numpy_step(task: Task) -> Step:
    """The step in float64 numpy arrays: forward, backward by hand, SGD or Adam in place."""
    params = layer_arrays(task.model())
    moments = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    (beta1, beta2), lr0 = ADAM_BETAS, task.lr(0)

    def step(k: int) -> float:
        loss, grads = numpy_loss_and_grads(params, *task.batch(k), task.loss)
        if task.optimizer == "sgd":
            for p, g in zip(params, grads):
                p -= task.lr(k) * g
            return loss
        t = k + 1
        for p, g, m, v in zip(params, grads, *moments):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            p -= (lr0 / (1 - beta1**t)) * m / (np.sqrt(v) / np.sqrt(1 - beta2**t) + ADAM_EPS)
        return loss

    return step


# -------------------------------------------------------------------------- jax


def jax_module() -> Any | None:
    """JAX in float64 on one thread, or None when it is not installed."""
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_step(task: Task) -> Step:
    """``jax.jit`` of the whole step: the loss, ``jax.grad`` of it, SGD or Adam."""
    jax = jax_module()
    jnp = jax.numpy
    (beta1, beta2), lr0 = ADAM_BETAS, task.lr(0)

    def loss_of(params: list, x: Any, y: Any) -> Any:
        a = x
        for i in range(0, len(params), 2):
            z = a @ params[i].T + params[i + 1]
            a = jnp.maximum(z, 0.0)
        if task.loss == "hinge":
            penalty = sum((p * p).sum() for p in params)
            return jnp.maximum(1.0 - y * z[:, 0], 0.0).mean() + wl.ALPHA * penalty
        shifted = z - z.max(axis=1, keepdims=True)
        picked = jnp.take_along_axis(shifted, y[:, None], axis=1)[:, 0]
        return jnp.mean(jnp.log(jnp.exp(shifted).sum(axis=1)) - picked)

    @jax.jit
    def update(params: list, m: list, v: list, x: Any, y: Any, lr: Any, t: Any) -> tuple:
        loss, grads = jax.value_and_grad(loss_of)(params, x, y)
        if task.optimizer == "sgd":
            return loss, [p - lr * g for p, g in zip(params, grads)], m, v
        m = [beta1 * mi + (1 - beta1) * g for mi, g in zip(m, grads)]
        v = [beta2 * vi + (1 - beta2) * g * g for vi, g in zip(v, grads)]
        c1, c2 = 1 - beta1**t, jnp.sqrt(1 - beta2**t)
        params = [
            p - (lr0 / c1) * mi / (jnp.sqrt(vi) / c2 + ADAM_EPS) for p, mi, vi in zip(params, m, v)
        ]
        return loss, params, m, v

    state = {"params": [jnp.asarray(p) for p in layer_arrays(task.model())]}
    state["m"] = [jnp.zeros_like(p) for p in state["params"]]
    state["v"] = [jnp.zeros_like(p) for p in state["params"]]
    batches = [(jnp.asarray(x), jnp.asarray(y)) for x, y in task.batches]

    def step(k: int) -> float:
        x, y = batches[k % len(batches)]
        loss, state["params"], state["m"], state["v"] = update(
            state["params"], state["m"], state["v"], x, y, task.lr(k), float(k + 1)
        )
        return float(loss)

    return step


def contenders(task: Task) -> dict[str, Callable[[Task], Step]]:
    """The makers of each contender's step, torch first; JAX only when installed."""
    makers: dict[str, Callable[[Task], Step]] = {
        "torch": torch_step,
        "compiled": ours,
        "fast": fast,
    }
    if jax_module() is not None:
        makers["jax"] = jax_step
    makers["numpy"] = numpy_step
    return makers


# ----------------------------------------------------------------- steady state


@dataclass
class Clock:
    """A contender's step and its step counter, which goes on across blocks."""

    step: Step
    k: int = 0
    losses: list[float] = field(default_factory=list)  # of the first CHECKED steps

    def run(self, seconds: float, at_least: int) -> tuple[int, float, float]:
        """Steps back to back for `seconds` (at least `at_least`), then gc.collect():
        the steps made, and their CPU and wall seconds, the collect included."""
        start, start_cpu, steps = perf_counter(), process_time(), 0
        while steps < at_least or perf_counter() - start < seconds:
            loss = self.step(self.k)
            if self.k < CHECKED:
                self.losses.append(loss)
            self.k += 1
            steps += 1
        gc.collect()
        return steps, process_time() - start_cpu, perf_counter() - start


def steady(steps: dict[str, Step], block_s: float, warmup_s: float, pairs: int) -> dict[str, Any]:
    """Each contender's steady state: blocks of steps back to back, each after a warm-up
    block of its own, in `pairs` pairs of rounds, one in the order of `steps` and one in
    the reverse order. Per contender and order, the mean CPU and wall time per step; and
    the max relative difference of its first CHECKED losses from those of "compiled"."""
    clocks = {key: Clock(step) for key, step in steps.items()}
    orders = {"forward": list(steps), "reverse": list(reversed(steps))}
    times: dict[str, dict[str, list]] = {key: {o: [] for o in orders} for key in steps}
    gc.collect()
    gc.freeze()
    try:
        for _ in range(pairs):
            for order, keys in orders.items():
                for key in keys:
                    clocks[key].run(warmup_s, 3)
                    block = clocks[key].run(block_s, 10)
                    times[key][order].append(block)
                    print(
                        f"    {order:7s} {key:8s} {block[1] / block[0] * 1e3:9.3f} ms CPU/step"
                        f" ({block[0]} steps)",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        gc.unfreeze()
    result = {}
    for key, by_order in times.items():
        per = {}
        for order, blocks in by_order.items():
            n = sum(b[0] for b in blocks)
            per[order] = {
                "cpu_s": sum(b[1] for b in blocks) / n,
                "wall_s": sum(b[2] for b in blocks) / n,
                "steps": n,
            }
        every = [b for blocks in by_order.values() for b in blocks]
        n = sum(b[0] for b in every)
        per["both"] = {
            "cpu_s": sum(b[1] for b in every) / n,
            "wall_s": sum(b[2] for b in every) / n,
            "steps": n,
        }
        per["loss_vs_ours"] = wl.max_relative_difference(
            clocks[key].losses, clocks["compiled"].losses
        )
        result[key] = per
    return result
