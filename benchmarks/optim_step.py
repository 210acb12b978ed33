"""An optimizer's step on the digits model: the plain rule beside the array path, one process.

    python benchmarks/optim_step.py            # the full run (about half a minute)
    python benchmarks/optim_step.py --quick    # fewer rounds

The digits example's model, ``nn.MLP(64, [32, 10])``, has 2,410 parameters. For each
optimizer below, two copies of it with the same weights and gradients step side by side:

- ``plain rule``: ``opt.plain_rule = True``, the rule as the class docstring writes it,
  one parameter at a time in Python floats (`step_by_rule`);
- ``arrays``: the step as users get it (`optim.array_step`): every gradient and data
  read into arrays once per group, the rule on numpy arrays, the data written back;
- ``numpy floor`` (Adam only): the same Adam update on numpy arrays that are already
  there, without reading or writing a Value: what the arrays' arithmetic alone costs.

Then the whole compiled digits training step (``minitorch_scalar.compile`` of the
cross-entropy of a batch of 100, backward, zero_grad, Adam's step), with Adam on the
plain rule beside Adam on arrays: what the array path changes in a training step.

Only ``opt.step()`` is timed in the first part (the gradients are set between steps,
untimed), the whole step in the second, in CPU time (`time.process_time`, which a busy
machine's other processes do not add to), in blocks of steps that take turns, both
orders; each figure is the median over rounds of the block's mean step. After the run
the two copies' parameters must be the same floats to the bit, and the script says so
(it exits with 1 if they are not).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable
from time import process_time

import numpy as np

import minitorch_scalar as ms
import nn
import optim

FULL = {"rounds": 30, "steps": 10}
QUICK = {"rounds": 5, "steps": 4}
OPTIMIZERS: dict[str, Callable] = {
    "SGD": lambda params: optim.SGD(params, lr=0.05),
    "SGD, momentum 0.9": lambda params: optim.SGD(params, lr=0.05, momentum=0.9),
    "Adam": lambda params: optim.Adam(params, lr=0.05),
    "AdamW, amsgrad": lambda params: optim.AdamW(params, lr=0.05, amsgrad=True),
}


def gradients(count: int, steps: int) -> list[list[float]]:
    """`steps` rows of `count` gradients of mixed scales, the same for every contender."""
    rng = np.random.default_rng(0)
    return (rng.normal(size=(steps, count)) * np.logspace(-4, 1, count)).tolist()


def optimizer_step(make: Callable, plain_rule: bool, rows: list[list[float]]) -> Callable:
    """A function running the next block of steps of a fresh model's optimizer; it
    returns the block's mean CPU seconds per step. Its `params` attribute: the model's."""
    params = nn.MLP(64, [32, 10], seed=0).parameters()
    opt = make(params)
    opt.plain_rule = plain_rule
    position = [0]

    def block(steps: int) -> float:
        total = 0.0
        for _ in range(steps):
            row = rows[position[0] % len(rows)]
            position[0] += 1
            for p, g in zip(params, row):
                p.grad = g
            start = process_time()
            opt.step()
            total += process_time() - start
        return total / steps

    block.params = params  # type: ignore[attr-defined]
    return block


def numpy_adam_floor(rows: list[list[float]]) -> Callable:
    """Adam's update (PyTorch's defaults, lr 0.05) on arrays already made: the floor."""
    grads = [np.array(row) for row in rows]
    theta = np.array([p.data for p in nn.MLP(64, [32, 10], seed=0).parameters()])
    m, v, t = np.zeros_like(theta), np.zeros_like(theta), [0]
    beta1, beta2, lr, eps = 0.9, 0.999, 0.05, 1e-8

    def block(steps: int) -> float:
        nonlocal theta, m, v
        start = process_time()
        for k in range(steps):
            g = grads[k % len(grads)]
            t[0] += 1
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            denominator = np.sqrt(v) / math.sqrt(1 - beta2 ** t[0]) + eps
            theta = theta - (lr / (1 - beta1 ** t[0])) * m / denominator
        return (process_time() - start) / steps

    return block


def compiled_digits_step(plain_rule: bool) -> Callable:
    """A function running the next block of compiled digits training steps (batches of
    100 random images, Adam at 0.05); it returns the block's mean CPU seconds per step."""
    rng = np.random.default_rng(1)
    images, labels = rng.random((100, 64)), rng.integers(0, 10, 100)
    model = nn.MLP(64, [32, 10], seed=0)
    opt = optim.Adam(model.parameters(), lr=0.05)
    opt.plain_rule = plain_rule
    forward = ms.compile(lambda x, y: nn.cross_entropy(model(x), y))
    forward(images, labels).backward()  # the trace, untimed

    def block(steps: int) -> float:
        start = process_time()
        for _ in range(steps):
            loss = forward(images, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return (process_time() - start) / steps

    block.params = model.parameters()  # type: ignore[attr-defined]
    return block


def interleaved(contenders: dict[str, Callable], rounds: int, steps: int) -> dict[str, float]:
    """Median over rounds of each contender's mean step, the blocks taking turns (the
    order reversed every other round), after one warm-up round."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    for round_index in range(rounds + 1):
        for name in order if round_index % 2 else reversed(order):
            seconds = contenders[name](steps)
            if round_index:
                times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


def bits_of(params: list) -> bytes:
    """The parameters' data, as the bytes of their float64s."""
    return np.array([p.data for p in params]).tobytes()


def micro(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, a shorter run")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    rows = gradients(2410, 8)
    print(
        f"optimizer step on nn.MLP(64, [32, 10]), 2,410 parameters, CPU time per step "
        f"({'quick' if args.quick else 'full'} run: {config['rounds']} rounds of "
        f"{config['steps']} steps)"
    )
    print(f"{'optimizer':<20} {'plain rule':>12} {'arrays':>12} {'ratio':>8}  same bits")
    same_everywhere = True
    for name, make in OPTIMIZERS.items():
        contenders = {
            "plain": optimizer_step(make, True, rows),
            "arrays": optimizer_step(make, False, rows),
        }
        if name == "Adam":
            contenders["floor"] = numpy_adam_floor(rows)
        medians = interleaved(contenders, config["rounds"], config["steps"])
        plain, arrays = contenders["plain"].params, contenders["arrays"].params
        same = bits_of(plain) == bits_of(arrays)
        same_everywhere &= same
        ratio = medians["plain"] / medians["arrays"]
        print(
            f"{name:<20} {micro(medians['plain']):>12} {micro(medians['arrays']):>12} "
            f"{ratio:>7.1f}x  {'yes' if same else 'NO'}"
        )
        if "floor" in medians:
            print(f"{'  numpy floor':<20} {'':>12} {micro(medians['floor']):>12}")
    contenders = {"plain": compiled_digits_step(True), "arrays": compiled_digits_step(False)}
    medians = interleaved(contenders, config["rounds"], config["steps"])
    same = bits_of(contenders["plain"].params) == bits_of(contenders["arrays"].params)
    same_everywhere &= same
    print(
        f"{'compiled digits step':<20} {micro(medians['plain']):>12} "
        f"{micro(medians['arrays']):>12} {medians['plain'] / medians['arrays']:>7.1f}x  "
        f"{'yes' if same else 'NO'}   (Adam's step on the plain rule / on arrays)"
    )
    return 0 if same_everywhere else 1


if __name__ == "__main__":
    sys.exit(main())
