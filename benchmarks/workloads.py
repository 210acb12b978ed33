"""The workloads that `bench.py` measures, each written as its user would write it.

- micrograd's moons demo (100 samples, ``MLP(2, [16, 16, 1])``, hinge loss + 1e-4 * L2,
  full batch, SGD with a decaying rate), in three dialects: micrograd's own code (run on
  micrograd's Value, or on ours by swapping the import), ours with `nn` and `optim`, and
  PyTorch vectorised. Every run starts from the same weights.
- A long expression whose memory is traced, to count bytes per recorded op.
- A chain a million nodes deep, forward and backward.

A timed training step includes everything a user meets: building the graph, backward,
the update, and dropping the graph. Ours is freed at once by reference counting;
micrograd's graphs are reference cycles (each node's closure holds the node), left to
the cyclic collector: gc stays enabled, as users have it. The dialects are trained in
interleaved blocks of steps (see `train`), each block closed by a ``gc.collect()`` that
is timed with it: each dialect pays for collecting its own garbage.
"""

from __future__ import annotations

import gc
import random
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from time import perf_counter, process_time
from types import ModuleType
from typing import Any

import numpy as np
from sklearn.datasets import make_moons

import nn
import optim

SIZES = [2, 16, 16, 1]  # MLP(2, [16, 16, 1])
ALPHA = 1e-4  # weight of the L2 penalty, as micrograd's demo


def learning_rate(k: int) -> float:
    """micrograd's demo schedule: lr_k = 1 - 0.9 k / 100."""
    return 1.0 - 0.9 * k / 100


def moons(samples: int = 100) -> tuple[list[list[float]], list[float]]:
    """micrograd's demo data: 100 moons (or `samples`), noise 0.1, seed 1337, labels in
    {-1, +1}."""
    rng = np.random.RandomState(1337)
    points, labels = make_moons(n_samples=samples, noise=0.1, random_state=rng)
    return points.tolist(), (2 * labels - 1).astype(float).tolist()


def initial_weights(seed: int = 1337) -> list[float]:
    """micrograd's initialisation, flat in its parameter order.

    Layer by layer, neuron by neuron: the neuron's weights ~ U(-1, 1), then its bias 0.
    """
    rng = random.Random(seed)
    flat: list[float] = []
    for nin, nout in pairwise(SIZES):
        for _ in range(nout):
            flat += [rng.uniform(-1.0, 1.0) for _ in range(nin)] + [0.0]
    return flat


def load_weights(parameters: list[Any], weights: list[float]) -> None:
    """Set each scalar parameter's ``.data`` from `weights`, in order."""
    if len(parameters) != len(weights):
        raise ValueError(
            f"load_weights expects one parameter per weight ({len(weights)}), "
            f"got {len(parameters)} parameters"
        )
    for p, w in zip(parameters, weights):
        p.data = w


# ------------------------------------------------------------------ timed training


class CollectorClock:
    """Seconds spent in the cyclic garbage collector while the clock is on (gc.callbacks).

    >>> with CollectorClock() as clock:
    ...     _ = gc.collect()
    >>> clock.seconds > 0.0
    True
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> CollectorClock:
        gc.callbacks.append(self._tick)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._tick)

    def _tick(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = perf_counter()
        else:
            self.seconds += perf_counter() - self._started


Step = Callable[[int], tuple[float, float]]  # step(k) trains once, gives (loss, accuracy)


@dataclass
class Block:
    """Consecutive steps of one run, timed together with the ``gc.collect()`` closing them.

    Seconds of wall time (perf_counter), of CPU time of this process (process_time, a
    cross-check on a busy machine, where other processes inflate wall time), and of
    wall time inside the cyclic garbage collector.
    """

    steps: int
    wall: float
    cpu: float
    collector: float


@dataclass
class Run:
    """A training run: every step's loss and accuracy, and the times of its timed blocks."""

    step: Step
    warmup: int = 0  # steps of the untimed first block
    blocks: list[Block] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)

    def mean(self, seconds: str) -> float:
        """Mean seconds per timed step of a `Block` time: "wall", "cpu" or "collector"."""
        total = sum(getattr(block, seconds) for block in self.blocks)
        return total / sum(block.steps for block in self.blocks)

    def advance(self, steps: int, clock: CollectorClock) -> Block:
        """Train `steps` more steps (k goes on from the last), then ``gc.collect()``; time all."""
        start, start_cpu, start_collector = perf_counter(), process_time(), clock.seconds
        for _ in range(steps):
            loss, accuracy = self.step(len(self.losses))
            self.losses.append(loss)
            self.accuracies.append(accuracy)
        gc.collect()
        return Block(
            steps,
            perf_counter() - start,
            process_time() - start_cpu,
            clock.seconds - start_collector,
        )


def train(steps: dict[str, Step], block_steps: dict[str, int], rounds: int) -> dict[str, Run]:
    """Train every run of `steps` in rounds, interleaved, so that all meet the same machine.

    A round gives each run in turn, in the order of `steps`, a block of
    ``block_steps[key]`` consecutive steps; each run's step counter k goes on across its
    blocks, so its schedule and losses are those of an uninterrupted run. Round 0 is the
    warm-up (real steps, losses kept, not timed), then `rounds` timed rounds. A block ends
    with ``gc.collect()``, timed with it: each run pays for collecting its own garbage,
    and none of it is collected during another run's block. A line per block goes to
    stderr.
    """
    runs = {key: Run(step) for key, step in steps.items()}
    with CollectorClock() as clock:
        for r in range(rounds + 1):
            for key, run in runs.items():
                block = run.advance(block_steps[key], clock)
                if r == 0:
                    run.warmup = block.steps
                else:
                    run.blocks.append(block)
                print(
                    f"  round {r}/{rounds}{' (warm-up)' if r == 0 else ''}  {key}: "
                    f"k {len(run.losses) - block.steps}-{len(run.losses) - 1}"
                    f"  {block.wall / block.steps * 1e3:9.2f} ms/step"
                    f"  (collector {block.collector / block.steps * 1e3:8.2f} ms)"
                    f"  loss {run.losses[-1]:.6f}",
                    file=sys.stderr,
                )
    return runs


def max_relative_difference(a: list[float], b: list[float]) -> float:
    """max |a_k - b_k| / |b_k| over the steps both runs made."""
    return max(abs(x - r) / abs(r) for x, r in zip(a, b))


def micrograd_demo_step(
    model: Any, value: type, points: list[list[float]], labels: list[float], k: int
) -> tuple[float, float]:
    """One step of micrograd's demo notebook, as written there, with `value` as Value."""
    inputs = [list(map(value, row)) for row in points]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (si.data > 0) for yi, si in zip(labels, scores)]
    model.zero_grad()
    total_loss.backward()
    lr = learning_rate(k)
    for p in model.parameters():
        p.data -= lr * p.grad
    return total_loss.data, sum(accuracy) / len(accuracy)


@contextmanager
def value_class_swapped(module: ModuleType, value: type) -> Iterator[None]:
    """Inside, `module` sees `value` as its ``Value``: a user changing only the import."""
    original = module.Value
    module.Value = value
    try:
        yield
    finally:
        module.Value = original


def micrograd_model(micrograd_nn: ModuleType, value: type, weights: list[float]) -> Any:
    """micrograd's own ``MLP(2, [16, 16, 1])``, its scalars of class `value`."""
    with value_class_swapped(micrograd_nn, value):
        model = micrograd_nn.MLP(SIZES[0], SIZES[1:])
    load_weights(model.parameters(), weights)
    return model


def ours_demo_step(
    model: Any,
    optimizer: Any,
    points: list[list[float]],
    labels: list[float],
    k: int,
    batched: bool = True,
) -> tuple[float, float]:
    """The demo step with our `nn` and `optim`, as a PyTorch user would write it: the
    model called on the batch, or (`batched` False) once per sample, as micrograd's demo.
    Both build the same graph."""
    scores = model(points) if batched else [model(x) for x in points]
    total_loss = nn.hinge_loss(scores, labels) + ALPHA * nn.l2_penalty(model.parameters())
    accuracy = [(yi > 0) == (si.data > 0) for yi, si in zip(labels, scores)]
    optimizer.zero_grad()
    total_loss.backward()
    optimizer.lr = learning_rate(k)
    optimizer.step()
    return total_loss.data, sum(accuracy) / len(accuracy)


def ours_model(weights: list[float]) -> tuple[Any, Any]:
    """Our ``nn.MLP(2, [16, 16, 1])`` with `weights`, and an ``optim.SGD`` over it."""
    model = nn.MLP(SIZES[0], SIZES[1:])
    load_weights(model.parameters(), weights)
    return model, optim.SGD(model.parameters(), lr=learning_rate(0))


def torch_model(torch: ModuleType, weights: list[float]) -> tuple[Any, Any]:
    """The MLP as float64 ``nn.Linear`` layers holding `weights`, and torch's SGD.

    A micrograd neuron's weights are one row of its layer's (out, in) weight matrix.
    """
    layers: list[Any] = []
    flat = iter(weights)
    for nin, nout in pairwise(SIZES):
        rows = [[next(flat) for _ in range(nin + 1)] for _ in range(nout)]
        linear = torch.nn.Linear(nin, nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([row[:-1] for row in rows], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([row[-1] for row in rows], dtype=torch.float64))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])  # the last layer is linear
    return model, torch.optim.SGD(model.parameters(), lr=learning_rate(0))


def torch_demo_step(
    torch: ModuleType, model: Any, optimizer: Any, points: Any, labels: Any, k: int
) -> tuple[float, float]:
    """The demo step vectorised: the whole batch in one pass through the layers."""
    scores = model(points).squeeze(1)
    data_loss = torch.relu(1 - labels * scores).mean()
    reg_loss = ALPHA * sum((p * p).sum() for p in model.parameters())
    total_loss = data_loss + reg_loss
    accuracy = ((labels > 0) == (scores > 0)).double().mean().item()
    optimizer.zero_grad()
    total_loss.backward()
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(k)
    optimizer.step()
    return total_loss.item(), accuracy


# ------------------------------------------------------------------------ memory

OPS_PER_LINK = 4  # a*b, +, relu, *constant


def bytes_per_op(value: type, links: int) -> float:
    """Traced bytes per recorded op while building a long expression, graph kept alive.

    The expression repeats ``v = (v * w_i + b_i).relu() * 0.5`` (micrograd has no tanh);
    the leaves w_i, b_i exist before tracing starts, so only what the ops record is
    counted: each node, its float result, its edges, and whatever else an op keeps
    (micrograd: a set of children, a closure, a node per constant).
    """
    rng = random.Random(0)
    ws = [value(rng.uniform(0.9, 1.1)) for _ in range(links)]
    bs = [value(rng.uniform(0.0, 0.1)) for _ in range(links)]
    v = value(0.5)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for w, b in zip(ws, bs):
            v = (v * w + b).relu() * 0.5
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return grown / (OPS_PER_LINK * links)


# ---------------------------------------------------------------------- depth

CHAIN_FACTOR = 1.0000001


@dataclass
class Chain:
    """A chain ``v = v * c`` of `depth` nodes: seconds to build, backpropagate, free."""

    depth: int
    forward: float
    backward: float
    free: float
    collector: float  # of forward + backward + free, the seconds in the cyclic collector
    grad_error: float  # |x.grad - c**depth| / c**depth


def deep_chain(value: type, depth: int) -> Chain:
    """Build ``v = x * c * c * ...`` with `depth` ops, then ``v.backward()``.

    dv/dx = c ** depth, which the gradient is checked against.
    """
    x = value(1.0)
    with CollectorClock() as clock:
        start = perf_counter()
        v = x
        for _ in range(depth):
            v = v * CHAIN_FACTOR
        built = perf_counter()
        v.backward()
        done = perf_counter()
        del v
        freed = perf_counter()
    expected = CHAIN_FACTOR**depth
    return Chain(
        depth,
        built - start,
        done - built,
        freed - done,
        clock.seconds,
        abs(x.grad - expected) / expected,
    )


def first_recursion_failure(value: type, limit: int) -> int | None:
    """The smallest chain depth <= `limit` whose backward raises RecursionError, or None.

    Found by bisection on chains ``v = v * c`` built from a leaf.
    """

    def fails(depth: int) -> bool:
        v = value(1.0)
        for _ in range(depth):
            v = v * CHAIN_FACTOR
        try:
            v.backward()
        except RecursionError:
            return True
        return False

    if not fails(limit):
        return None
    low, high = 1, limit  # fails(high) holds; find the smallest such depth
    while low < high:
        middle = (low + high) // 2
        if fails(middle):
            high = middle
        else:
            low = middle + 1
    return high
