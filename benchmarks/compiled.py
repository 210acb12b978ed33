"""minitorch_scalar.compile beside the eager engine, PyTorch, JAX and numpy, in one run.

    python benchmarks/compiled.py            # the full run (about ten minutes)
    python benchmarks/compiled.py --quick    # fewer rounds, no sweep (under a minute)
    python benchmarks/compiled.py --json     # results as JSON on stdout
    python benchmarks/compiled.py --steady   # the headline alone (the steady state)
    python benchmarks/compiled.py --sweep    # the steady state over sizes alone
    python benchmarks/compiled.py --scaling --quick   # part 6 alone, small sizes

The headline is the steady state (`contenders.steady`): the moons step of part 1 run by
each contender (ours compiled, PyTorch eager, JAX ``jit`` when installed, numpy written
by hand: the floor) in blocks of steps back to back after a warm-up, in both orders
(torch first, then reversed), as ratios of CPU time to PyTorch's. Each contender's first
losses must equal ours to 1e-12. The sweep does the same for MLPs 2-w-w-1 (w = 16, 64,
256) on 10, 100 and 1,000 moons, and for digits at hidden widths 32 and 128 (a full run
only, or ``--sweep``). The interleaved rounds of parts 1 to 3 time blocks of a few
steps, each starting with caches left cold by another contender's block, a cost that is
not the same for every contender (PyTorch's first step pays more than ours): their
ratios are shown beside the headline, for information.

1. micrograd's moons demo step, full batch of 100 (bench.py's part 1): compiled vs our
   eager ``model(X)`` vs PyTorch eager (float64, 1 thread). The compiled and eager runs
   start from the same weights; their per-step losses must be bit-identical.
2. The same step on minibatches of 20, a different batch every step (one trace).
3. scikit-learn's digits, MLP 64-32-10 relu, cross-entropy, Adam: one epoch of 15
   steps of 100 images, compiled vs eager vs PyTorch.
4. The cost of tracing: the first call of a fresh compiled moons step / one eager step.
5. Inference on a 300 x 300 grid of the moons model, compiled replays vs PyTorch.
6. How the trace scales: for chains ``v = v * c`` of 1,000 to 1,000,000 ops and MLPs
   2-w-w-1 (w = 16, 64, 256) on a batch of 100, the time of a fresh compile's first call
   (the trace) / one eager step (forward and backward), and its peak memory
   (tracemalloc) / the eager step's peak, which holds the graph.

As in bench.py, the runs of a part take turns in interleaved rounds (`workloads.train`)
and each ratio is also given as the median over rounds of the round's ratio. Targets are
printed with PASS or MISS beside each figure, never asserted. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from time import perf_counter
from typing import Any

import contenders as ct
import numpy as np
import torch
import workloads as wl
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

import minitorch_scalar as ms
import nn
import optim

TORCH_THREADS = 1
CHAINS_FULL = (1_000, 4_000, 20_000, 100_000, 1_000_000)
WIDTHS_FULL = (16, 64, 256)
FULL = {
    "rounds": 20,
    "digits_rounds": 10,
    "traces": 10,
    "grid_rounds": 10,
    "eager_grid": True,
    "chains": CHAINS_FULL,
    "widths": WIDTHS_FULL,
}
QUICK = {
    "rounds": 4,
    "digits_rounds": 1,
    "traces": 2,
    "grid_rounds": 2,
    "eager_grid": False,
    "chains": (1_000, 4_000, 20_000),
    "widths": (16, 64),
}
# the steady state: each contender's steps back to back (contenders.steady)
STEADY = {"block_s": 1.0, "warmup_s": 0.2, "pairs": 2}  # the headline, the moons step
STEADY_QUICK = {"block_s": 0.2, "warmup_s": 0.05, "pairs": 1}
SWEEP = {"block_s": 0.5, "warmup_s": 0.1, "pairs": 1}  # each size of the sweep
SWEEP_FULL = {"widths": (16, 64, 256), "batches": (10, 100, 1_000), "hidden": (32, 128)}
SWEEP_QUICK = {"widths": (16, 64), "batches": (10, 100), "hidden": (32,)}
SWEEP_LR = 0.01  # the sweep's moons MLPs: SGD at a constant rate
SCALING_BATCH = 100  # part 6: the MLPs' batch
SCALING_BLOCK_S = 0.2  # part 6: a round times each of the two this long (at least one call)
MOONS_BLOCK = {"torch": 5, "compiled": 5, "eager": 5}  # steps per block (k stays <= 104)
DIGITS_BLOCK = {"torch": 5, "compiled": 5, "fast": 5, "eager": 1}  # epochs per block: eager is slow
MINIBATCH, MINIBATCH_SEED = 20, 0
DIGITS_TRAIN, DIGITS_BATCH, DIGITS_HIDDEN, DIGITS_LR, DIGITS_SEED = 1_500, 100, 32, 1e-3, 0
EAGER_STEPS_PER_TRACE = 5  # part 4: eager steps timed beside each fresh trace
GRID_SIDE, GRID_CHUNK, EAGER_SAMPLE, EAGER_LIMIT_S = 300, 500, 10_000, 30.0
TORCH_GRID_CALLS = 10  # PyTorch's grid call is ~1000 times shorter: repeat it per round

# (comparison, bound) per figure; the goals are printed beside, never judged
TARGETS = {
    "moons_vs_torch": ("<=", 0.8),
    "moons_speedup": (">=", 15.0),
    "digits_speedup": (">=", 10.0),
    "trace_cost": ("<=", 5.0),
    "trace_memory": ("<=", 2.0),
    "identical": ("==", 0.0),
    "same_loss": ("<=", 1e-12),
    "traces": ("==", 1),
    "fast_moons_vs_torch": ("<=", 0.5),  # compile(fn, exact=False): the fast mode
    "fast_digits_vs_torch": ("<=", 1.0),
    "fast_grid_vs_torch": ("<=", 1.0),
}
GOALS = {"moons_vs_torch": "goal 0.5"}

Step = Callable[[int], tuple[float, float]]


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def meets(value: float | None, target: str) -> bool | None:
    """Whether `value` meets TARGETS[target]; None when there is no value."""
    if value is None:
        return None
    op, bound = TARGETS[target]
    return {"<=": value <= bound, ">=": value >= bound, "==": value == bound}[op]


# ------------------------------------------------------------------ comparisons


def ratio(numerator: wl.Run, denominator: wl.Run) -> dict[str, Any]:
    """numerator / denominator mean step time, over all timed steps and per round."""
    per_round = [
        (a.wall / a.steps) / (b.wall / b.steps)
        for a, b in zip(numerator.blocks, denominator.blocks)
    ]
    return {
        "ratio": numerator.mean("wall") / denominator.mean("wall"),
        "ratio_cpu": numerator.mean("cpu") / denominator.mean("cpu"),
        "median_of_rounds": statistics.median(per_round),
        "round_ratios": per_round,
    }


def same_losses(a: list[float], b: list[float]) -> dict[str, Any]:
    """Max abs difference of the losses both runs have, and whether every bit agrees."""
    n = min(len(a), len(b))
    bits = all(x.hex() == y.hex() for x, y in zip(a[:n], b[:n]))
    return {
        "steps_compared": n,
        "max_abs_diff": max(abs(x - y) for x, y in zip(a[:n], b[:n])),
        "identical": bits,
    }


def run_times(run: wl.Run, steps_per_call: int = 1) -> dict[str, Any]:
    """A run's mean times per call of its Step (a training step, or an epoch)."""
    return {
        "mean_s": run.mean("wall"),
        "mean_cpu_s": run.mean("cpu"),
        "mean_in_collector_s": run.mean("collector"),
        "timed_calls": sum(block.steps for block in run.blocks),
        "steps_per_call": steps_per_call,
    }


def train_frozen(steps: dict[str, Step], blocks: dict[str, int], rounds: int) -> dict:
    """`workloads.train`, after moving every object alive now out of the cyclic
    collector's way (imports, models, traces), as bench.py does."""
    gc.collect()
    gc.freeze()
    try:
        return wl.train(steps, blocks, rounds)
    finally:
        gc.unfreeze()


# ----------------------------------------------------------- parts 1 and 2: moons


@dataclass
class MoonsData:
    """The batch of step k, in each dialect's form: numpy, lists, tensors."""

    arrays: list[tuple[np.ndarray, np.ndarray]]
    lists: list[tuple[list, list]]
    tensors: list[tuple[Any, Any]]


def moons_batches(batch: int | None, steps: int) -> MoonsData:
    """The full batch every step (`batch` None), or a fresh seeded minibatch per step."""
    points, labels = wl.moons()
    x, y = np.array(points), np.array(labels)
    if batch is None:
        indices = [np.arange(len(x))] * steps
    else:
        rng = np.random.RandomState(MINIBATCH_SEED)
        indices = [rng.permutation(len(x))[:batch] for _ in range(steps)]
    arrays = [(x[i], y[i]) for i in indices]
    return MoonsData(
        arrays,
        [(a.tolist(), b.tolist()) for a, b in arrays],
        [(torch.tensor(a), torch.tensor(b)) for a, b in arrays],
    )


def moons_objective(model: nn.MLP) -> Callable[[np.ndarray, np.ndarray], ms.Value]:
    """The demo's loss as a function of the batch: hinge + ALPHA * L2."""

    def objective(points: np.ndarray, labels: np.ndarray) -> ms.Value:
        return nn.hinge_loss(model(points), labels) + wl.ALPHA * nn.l2_penalty(model.parameters())

    return objective


def compiled_moons(data: MoonsData) -> tuple[Step, ms.Compiled]:
    """The compiled demo step, traced on the first batch before the timing starts."""
    model, optimizer = wl.ours_model(wl.initial_weights())
    step = ms.compile(moons_objective(model))
    step(*data.arrays[0])  # the trace; its result is dropped, nothing is updated

    def train_step(k: int) -> tuple[float, float]:
        loss = step(*data.arrays[k])
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = wl.learning_rate(k)
        optimizer.step()
        return loss.data, math.nan  # the loss alone is compiled: no scores, no accuracy

    return train_step, step


def moons_steps(data: MoonsData) -> tuple[dict[str, Step], ms.Compiled]:
    """torch, compiled and eager demo steps (in that order), from the same weights."""
    weights = wl.initial_weights()
    t_model, t_optimizer = wl.torch_model(torch, weights)
    model, optimizer = wl.ours_model(weights)
    compiled, step = compiled_moons(data)
    steps: dict[str, Step] = {
        "torch": lambda k: wl.torch_demo_step(torch, t_model, t_optimizer, *data.tensors[k], k),
        "compiled": compiled,
        "eager": lambda k: wl.ours_demo_step(model, optimizer, *data.lists[k], k),
    }
    return steps, step


def moons_part(config: dict, batch: int | None) -> dict[str, Any]:
    """Part 1 (`batch` None: the full 100) or 2 (minibatches): the three runs interleaved."""
    rounds = config["rounds"]
    total = (rounds + 1) * max(MOONS_BLOCK.values())
    steps, step = moons_steps(moons_batches(batch, total))
    progress(f"moons, batch {batch or 100}: torch, compiled, eager in {rounds} rounds")
    runs = train_frozen(steps, MOONS_BLOCK, rounds)
    return {
        "batch": batch or 100,
        "rounds": rounds,
        "times": {key: run_times(run) for key, run in runs.items()},
        "compiled_vs_torch": ratio(runs["compiled"], runs["torch"]),
        "eager_vs_compiled": ratio(runs["eager"], runs["compiled"]),
        "losses": same_losses(runs["compiled"].losses, runs["eager"].losses),
        "losses_vs_torch_max_rel": wl.max_relative_difference(
            runs["compiled"].losses, runs["torch"].losses
        ),
        "traces": len(step.traces),
    }


# ----------------------------------------------------------------- part 3: digits


@dataclass
class Digits:
    """The training images (pixels / 16) and digits, and each epoch's batches."""

    images: np.ndarray
    labels: np.ndarray
    epochs: list[list[np.ndarray]]  # per epoch, the batches' indices


def digits_data(epochs: int) -> Digits:
    """The first DIGITS_TRAIN images; one seeded batch order per epoch, shared by all."""
    data = load_digits()
    images, labels = data.data[:DIGITS_TRAIN] / 16.0, data.target[:DIGITS_TRAIN]
    rng = np.random.RandomState(DIGITS_SEED)
    orders = [rng.permutation(DIGITS_TRAIN) for _ in range(epochs)]
    starts = range(0, DIGITS_TRAIN, DIGITS_BATCH)
    return Digits(images, labels, [[o[i : i + DIGITS_BATCH] for i in starts] for o in orders])


def ours_epoch(forward: Callable, model: nn.MLP, data: Digits, losses: list[float]) -> Step:
    """An epoch of `forward` (eager or compiled) and Adam; per-step losses into `losses`."""
    optimizer = optim.Adam(model.parameters(), lr=DIGITS_LR)

    def epoch(e: int) -> tuple[float, float]:
        first = len(losses)
        for batch in data.epochs[e]:
            loss = forward(data.images[batch], data.labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.data)
        return float(np.mean(losses[first:])), math.nan

    return epoch


def torch_digits(model: nn.MLP) -> Any:
    """The same MLP in float64 torch.nn.Linear layers, weights from our state_dict."""
    state = model.state_dict()
    layers: list[Any] = []
    for i, (nin, nout) in enumerate([(64, DIGITS_HIDDEN), (DIGITS_HIDDEN, 10)]):
        linear = torch.nn.Linear(nin, nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.asarray(state[f"layers.{i}.weight"])))
            linear.bias.copy_(torch.from_numpy(np.asarray(state[f"layers.{i}.bias"])))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def torch_epoch(model: nn.MLP, data: Digits, losses: list[float]) -> Step:
    """An epoch in PyTorch eager on the same batches."""
    t_model = torch_digits(model)
    optimizer = torch.optim.Adam(t_model.parameters(), lr=DIGITS_LR)
    images, labels = torch.from_numpy(data.images), torch.from_numpy(data.labels)

    def epoch(e: int) -> tuple[float, float]:
        first = len(losses)
        for batch in data.epochs[e]:
            index = torch.from_numpy(batch)
            loss = torch.nn.functional.cross_entropy(t_model(images[index]), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return float(np.mean(losses[first:])), math.nan

    return epoch


def digits_part(config: dict) -> dict[str, Any]:
    """Part 3: epochs of the digits MLP, compiled vs eager vs torch, interleaved."""
    rounds = config["digits_rounds"]
    data = digits_data((rounds + 1) * max(DIGITS_BLOCK.values()))
    losses: dict[str, list[float]] = {"torch": [], "compiled": [], "fast": [], "eager": []}
    models = {key: nn.MLP(64, [DIGITS_HIDDEN, 10], seed=DIGITS_SEED) for key in losses}

    def forward(model: nn.MLP) -> Callable:
        return lambda images, labels: nn.cross_entropy(model(images), labels)

    compiled = ms.compile(forward(models["compiled"]))
    fast = ms.compile(forward(models["fast"]), exact=False)
    start = perf_counter()
    compiled(data.images[data.epochs[0][0]], data.labels[data.epochs[0][0]])  # the trace
    trace_s = perf_counter() - start
    fast(data.images[data.epochs[0][0]], data.labels[data.epochs[0][0]])  # its trace
    steps = {
        "torch": torch_epoch(models["torch"], data, losses["torch"]),
        "compiled": ours_epoch(compiled, models["compiled"], data, losses["compiled"]),
        "fast": ours_epoch(fast, models["fast"], data, losses["fast"]),
        "eager": ours_epoch(forward(models["eager"]), models["eager"], data, losses["eager"]),
    }
    progress(f"digits: epochs of torch, compiled, fast, eager in {rounds} rounds")
    runs = train_frozen(steps, DIGITS_BLOCK, rounds)
    per_epoch = len(data.epochs[0])
    return {
        "rounds": rounds,
        "steps_per_epoch": per_epoch,
        "trace_s": trace_s,
        "times": {key: run_times(run, per_epoch) for key, run in runs.items()},
        "compiled_vs_torch": ratio(runs["compiled"], runs["torch"]),
        "eager_vs_compiled": ratio(runs["eager"], runs["compiled"]),
        "fast_vs_torch": ratio(runs["fast"], runs["torch"]),
        "losses": same_losses(losses["compiled"], losses["eager"]),
        "fast_losses_vs_eager_max_rel": wl.max_relative_difference(losses["fast"], losses["eager"]),
        "losses_vs_torch_max_rel": wl.max_relative_difference(losses["compiled"], losses["torch"]),
        "traces": len(compiled.traces),
    }


# ------------------------------------------------------------------ part 4: trace


def trace_part(config: dict) -> dict[str, Any]:
    """Part 4: a fresh compile's first call (the trace) / one eager step, per round."""
    data = moons_batches(None, 1)
    model, optimizer = wl.ours_model(wl.initial_weights())
    traced, _ = wl.ours_model(wl.initial_weights())
    objective = moons_objective(traced)
    traces, eager, k = [], [], 0
    progress(f"trace: {config['traces']} fresh compiles, {EAGER_STEPS_PER_TRACE} eager steps each")
    wl.ours_demo_step(model, optimizer, *data.lists[0], 0)  # warm-up
    for _ in range(config["traces"]):
        start = perf_counter()
        ms.compile(objective)(*data.arrays[0])
        traces.append(perf_counter() - start)
        gc.collect()  # the dropped trace's cycles, not timed
        start = perf_counter()
        for _ in range(EAGER_STEPS_PER_TRACE):
            k = (k + 1) % 100
            wl.ours_demo_step(model, optimizer, *data.lists[0], k)
        eager.append((perf_counter() - start) / EAGER_STEPS_PER_TRACE)
        progress(f"  trace {traces[-1] * 1e3:.0f} ms, eager step {eager[-1] * 1e3:.2f} ms")
    return {
        "trace_s": traces,
        "eager_step_s": eager,
        "ratio": statistics.mean(traces) / statistics.mean(eager),
        "median_of_rounds": statistics.median(t / e for t, e in zip(traces, eager)),
    }


# ---------------------------------------------------------------- part 5: inference


def moons_grid() -> np.ndarray:
    """GRID_SIDE x GRID_SIDE points over the moons and a margin, as (n, 2)."""
    points = np.array(wl.moons()[0])
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    xs, ys = (np.linspace(low[i], high[i], GRID_SIDE) for i in range(2))
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def compiled_scores(scores: ms.Compiled, grid: np.ndarray) -> np.ndarray:
    """The scores of every point, GRID_CHUNK points per replay, under no_grad()."""
    out: list[float] = []
    with ms.no_grad():
        for first in range(0, len(grid), GRID_CHUNK):
            out.extend(s.data for s in scores(grid[first : first + GRID_CHUNK]))
    return np.array(out)


def timed(fn: Callable[[], Any], calls: int = 1) -> tuple[float, Any]:
    """Mean seconds of `calls` calls of fn, and its last result."""
    start = perf_counter()
    for _ in range(calls):
        result = fn()
    return (perf_counter() - start) / calls, result


def eager_grid(model: nn.MLP, grid: np.ndarray, full: bool) -> dict[str, Any]:
    """Eager `model(grid)` under no_grad(): EAGER_SAMPLE points, then, in a full run and
    if that predicts under EAGER_LIMIT_S, the whole grid once."""
    with ms.no_grad():
        sample_s, _ = timed(lambda: model(grid[:EAGER_SAMPLE]))
        estimate = sample_s * len(grid) / EAGER_SAMPLE
        progress(f"  eager, {EAGER_SAMPLE} points: {sample_s:.2f} s")
        if not full or estimate > EAGER_LIMIT_S:
            return {"seconds": estimate, "measured": False}
        progress(f"  eager, {len(grid)} points (about {estimate:.0f} s)")
        seconds, _ = timed(lambda: model(grid))
    return {"seconds": seconds, "measured": True}


def inference_part(config: dict) -> dict[str, Any]:
    """Part 5: the moons model (initial weights) on the grid: compiled vs PyTorch."""
    grid = moons_grid()
    model, _ = wl.ours_model(wl.initial_weights())
    t_model, _ = wl.torch_model(torch, wl.initial_weights())
    t_grid = torch.from_numpy(grid)
    scores = ms.compile(lambda points: model(points))  # returns the list of scores
    fast = ms.compile(lambda points: model(points), exact=False)
    progress(f"inference: {len(grid)} points, compiled in chunks of {GRID_CHUNK}")
    with ms.no_grad():
        trace_s, _ = timed(lambda: scores(grid[:GRID_CHUNK]))
        fast(grid[:GRID_CHUNK])  # its trace
    gc.collect()

    def torch_scores() -> np.ndarray:
        with torch.no_grad():
            return t_model(t_grid).squeeze(1).numpy()

    compiled, reference, fast_s = [], [], []
    for _ in range(config["grid_rounds"]):
        seconds, ours = timed(lambda: compiled_scores(scores, grid))
        compiled.append(seconds)
        seconds, ours_fast = timed(lambda: compiled_scores(fast, grid))
        fast_s.append(seconds)
        seconds, theirs = timed(torch_scores, TORCH_GRID_CALLS)
        reference.append(seconds)
        progress(
            f"  compiled {compiled[-1] * 1e3:.1f} ms, fast {fast_s[-1] * 1e3:.1f} ms,"
            f" torch {reference[-1] * 1e3:.2f} ms"
        )
    return {
        "points": len(grid),
        "chunk": GRID_CHUNK,
        "trace_s": trace_s,
        "compiled_s": statistics.mean(compiled),
        "torch_s": statistics.mean(reference),
        "ratio": statistics.mean(compiled) / statistics.mean(reference),
        "median_of_rounds": statistics.median(c / t for c, t in zip(compiled, reference)),
        "max_abs_diff_vs_torch": float(np.max(np.abs(ours - theirs))),
        "fast_s": statistics.mean(fast_s),
        "fast_ratio": statistics.mean(fast_s) / statistics.mean(reference),
        "fast_median_of_rounds": statistics.median(f / t for f, t in zip(fast_s, reference)),
        "fast_max_diff": float(  # |a - b| / max(1, |b|): the fast mode's own measure
            np.max(np.abs(ours_fast - ours) / np.maximum(1.0, np.abs(ours)))
        ),
        "traces": len(scores.traces),
        "eager": eager_grid(model, grid, config["eager_grid"]),
    }


# ------------------------------------------------- the steady state and the sweep


def moons_task() -> ct.Task:
    """Part 1's step: the demo's model, weights, loss and schedule (k mod 100), batch 100."""
    points, labels = wl.moons()
    return ct.Task(
        "moons 2-16-16-1, batch 100",
        lambda: wl.ours_model(wl.initial_weights())[0],
        "hinge",
        "sgd",
        lambda k: wl.learning_rate(k % 100),
        [(np.array(points), np.array(labels))],
    )


def sweep_moons_task(width: int, batch: int) -> ct.Task:
    """An MLP 2-width-width-1 (seed 0) on `batch` moons (seeded), hinge + L2, SGD."""
    points, labels = (np.array(a) for a in wl.moons(batch))
    return ct.Task(
        f"moons 2-{width}-{width}-1, batch {batch:,}",
        lambda: nn.MLP(2, [width, width, 1], seed=0),
        "hinge",
        "sgd",
        lambda k: SWEEP_LR,
        [(points, labels)],
    )


def digits_task(hidden: int) -> ct.Task:
    """Part 3's step: MLP 64-hidden-10 (seed 0), cross-entropy, Adam, the 15 batches of
    100 of the first epoch in turn."""
    data = digits_data(1)
    return ct.Task(
        f"digits 64-{hidden}-10, batch {DIGITS_BATCH}, Adam",
        lambda: nn.MLP(64, [hidden, 10], seed=DIGITS_SEED),
        "cross_entropy",
        "adam",
        lambda k: DIGITS_LR,
        [(data.images[b], data.labels[b]) for b in data.epochs[0]],
    )


def steady_part(task: ct.Task, timing: dict) -> dict[str, Any]:
    """Every contender's steady state on `task`, and its ratios of CPU time to torch's."""
    progress(f"steady state: {task.name}")
    steps = {key: make(task) for key, make in ct.contenders(task).items()}
    times = ct.steady(steps, timing["block_s"], timing["warmup_s"], timing["pairs"])
    torch_cpu = {
        order: t["cpu_s"] for order, t in times["torch"].items() if order != "loss_vs_ours"
    }
    ratios = {
        key: {order: per[order]["cpu_s"] / torch_cpu[order] for order in torch_cpu}
        for key, per in times.items()
    }
    return {"task": task.name, "timing": timing, "times": times, "vs_torch_cpu": ratios}


def sweep_part(config: dict) -> list[dict[str, Any]]:
    """The steady state over sizes: moons MLPs of each width and batch, then digits."""
    tasks = [sweep_moons_task(w, b) for w in config["widths"] for b in config["batches"]]
    tasks += [digits_task(h) for h in config["hidden"]]
    return [steady_part(task, SWEEP) for task in tasks]


# ------------------------------------------------------------ part 6: trace scaling


@dataclass
class Workload:
    """A function to compile, its arguments, and how many scalar nodes it makes."""

    name: str
    fn: Callable[..., ms.Value]
    args: Callable[[], tuple]  # fresh arguments for each call
    rounds: int  # of a trace and an eager step, each timed once


def chain_workload(depth: int) -> Workload:
    """``v = v * c``, `depth` times, from a Value argument: one node per depth."""

    def chain(x: ms.Value) -> ms.Value:
        v = x
        for _ in range(depth):
            v = v * wl.CHAIN_FACTOR
        return v

    rounds = 5 if depth <= 4_000 else 3 if depth <= 20_000 else 1
    return Workload(f"chain of {depth:,} ops", chain, lambda: (ms.Value(1.0),), rounds)


def mlp_workload(width: int) -> Workload:
    """The moons objective on an MLP 2-width-width-1 and the 100 moons points."""
    model = nn.MLP(2, [width, width, 1], seed=0)
    points, labels = (np.array(a) for a in wl.moons())
    return Workload(
        f"MLP 2-{width}-{width}-1, batch {SCALING_BATCH}",
        moons_objective(model),
        lambda: (points, labels),
        5 if width <= 64 else 1,
    )


def eager_step(work: Workload) -> None:
    """One eager step: the graph, then backward; the graph dropped after."""
    work.fn(*work.args()).backward()


def first_call(work: Workload) -> None:
    """A fresh compile's first call: the trace (its eager result dropped after)."""
    ms.compile(work.fn)(*work.args())


def per_call(fn: Callable[[], Any], seconds: float = SCALING_BLOCK_S) -> float:
    """Mean seconds per call of fn, called until `seconds` have passed (at least once);
    the garbage of before collected first, not timed."""
    gc.collect()
    calls, start = 0, perf_counter()
    while calls == 0 or perf_counter() - start < seconds:
        fn()
        calls += 1
    return (perf_counter() - start) / calls


def peak_bytes(fn: Callable[[], Any]) -> int:
    """The peak of memory allocated while fn runs, above what was allocated before."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def scaling_row(work: Workload) -> dict[str, Any]:
    """Trace / eager step in time (rounds of one each, taking turns) and in peak memory."""
    eager_step(work)  # warm-up
    traces, eagers = [], []
    for _ in range(work.rounds):
        traces.append(per_call(lambda: first_call(work)))
        eagers.append(per_call(lambda: eager_step(work)))
    memory = {
        "trace": peak_bytes(lambda: first_call(work)),
        "eager": peak_bytes(lambda: eager_step(work)),
    }
    row = {
        "workload": work.name,
        "rounds": work.rounds,
        "trace_s": statistics.median(traces),
        "eager_step_s": statistics.median(eagers),
        "trace_peak_bytes": memory["trace"],
        "eager_peak_bytes": memory["eager"],
    }
    row["time_ratio"] = row["trace_s"] / row["eager_step_s"]
    row["memory_ratio"] = memory["trace"] / memory["eager"]
    progress(
        f"  {work.name}: trace {seconds(row['trace_s'])} / eager {seconds(row['eager_step_s'])}"
        f" = {row['time_ratio']:.1f}x; memory {row['memory_ratio']:.2f}x"
    )
    return row


def scaling_part(config: dict) -> list[dict[str, Any]]:
    """Part 6: the trace's cost against an eager step's, over sizes."""
    progress("trace scaling: chains, then MLPs (time, then tracemalloc's peak)")
    works = [chain_workload(n) for n in config["chains"]]
    works += [mlp_workload(w) for w in config["widths"]]
    return [scaling_row(work) for work in works]


# ------------------------------------------------------------------------ report


def seconds(s: float | None) -> str:
    """A duration with a unit that suits it."""
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    return f"{s * 1e3:.2f} ms" if s < 1.0 else f"{s:.2f} s"


def target_cells(value: float | None, target: str) -> list[str]:
    """The target and PASS/MISS cells of a judged figure."""
    op, bound = TARGETS[target]
    shown = f"{op} {bound:g}" + ("x" if op == ">=" else "")
    goal = f" ({GOALS[target]})" if target in GOALS else ""
    ok = meets(value, target)
    return [shown, ("n/a" if ok is None else "PASS" if ok else "MISS") + goal]


def ratio_rows(label: str, a: float, b: float, r: dict, target: str | None, x: bool) -> list:
    """A ratio row and its median-over-rounds row."""
    fmt = (lambda v: f"{v:.1f}x") if x else (lambda v: f"{v:.2f}")
    judged = target_cells(r["ratio"], target) if target else ["(info)", ""]
    return [
        [label, seconds(a), seconds(b), fmt(r["ratio"]), *judged],
        ["  median over rounds of the round's ratio", "", "", fmt(r["median_of_rounds"]), "", ""],
    ]


def loss_row(label: str, losses: dict) -> list[str]:
    """Per-step losses compiled vs eager: max abs diff, identical or not, judged."""
    same = losses["identical"]
    shown = f"{losses['max_abs_diff']:.1e}, identical: {'yes' if same else 'no'}"
    return [label, shown, "", "", "bit-identical", "PASS" if same else "MISS"]


def moons_rows(number: int, part: dict) -> list[list[str]]:
    """The rows of part 1 or 2."""
    t = {key: v["mean_s"] for key, v in part["times"].items()}
    batch = part["batch"]
    judged = number == 1
    rows = [
        *ratio_rows(
            f"{number} moons step, batch {batch}: compiled / torch",
            t["compiled"],
            t["torch"],
            part["compiled_vs_torch"],
            None,
            False,
        ),
        *ratio_rows(
            "  eager / compiled",
            t["eager"],
            t["compiled"],
            part["eager_vs_compiled"],
            "moons_speedup" if judged else None,
            True,
        ),
        loss_row(
            f"  per-step losses, compiled vs eager ({part['losses']['steps_compared']})",
            part["losses"],
        ),
    ]
    if number == 2:
        rows.append(
            [
                "  traces held at the end",
                str(part["traces"]),
                "",
                "",
                *target_cells(part["traces"], "traces"),
            ]
        )
    return rows


def digits_rows(part: dict) -> list[list[str]]:
    """The rows of part 3."""
    t = {key: v["mean_s"] for key, v in part["times"].items()}
    return [
        *ratio_rows(
            "3 digits epoch (15 steps): eager / compiled",
            t["eager"],
            t["compiled"],
            part["eager_vs_compiled"],
            "digits_speedup",
            True,
        ),
        *ratio_rows(
            "  compiled / torch", t["compiled"], t["torch"], part["compiled_vs_torch"], None, False
        ),
        loss_row(
            f"  per-step losses, compiled vs eager ({part['losses']['steps_compared']})",
            part["losses"],
        ),
        *ratio_rows(
            "  fast (exact=False) / torch",
            t["fast"],
            t["torch"],
            part["fast_vs_torch"],
            "fast_digits_vs_torch",
            False,
        ),
        [
            "  per-step losses, fast vs eager: max rel. diff",
            f"{part['fast_losses_vs_eager_max_rel']:.1e}",
            "",
            "",
            *target_cells(part["fast_losses_vs_eager_max_rel"], "same_loss"),
        ],
        ["  trace of the step (first call)", seconds(part["trace_s"]), "", "", "", ""],
    ]


def trace_rows(part: dict) -> list[list[str]]:
    """The rows of part 4."""
    return [
        [
            "4 trace (fresh compile's 1st call) / eager step",
            seconds(statistics.mean(part["trace_s"])),
            seconds(statistics.mean(part["eager_step_s"])),
            f"{part['ratio']:.1f}x",
            *target_cells(part["ratio"], "trace_cost"),
        ],
        [
            "  median over rounds of the round's ratio",
            "",
            "",
            f"{part['median_of_rounds']:.1f}x",
            "",
            "",
        ],
    ]


def inference_rows(part: dict) -> list[list[str]]:
    """The rows of part 5."""
    eager = part["eager"]
    how = "" if eager["measured"] else f" (est. from {EAGER_SAMPLE})"
    return [
        [
            f"5 grid of {part['points']}, no_grad: compiled / torch",
            seconds(part["compiled_s"]),
            seconds(part["torch_s"]),
            f"{part['ratio']:.0f}x",
            "(info)",
            "",
        ],
        [
            "  median over rounds of the round's ratio",
            "",
            "",
            f"{part['median_of_rounds']:.0f}x",
            "",
            "",
        ],
        [
            "  fast (exact=False) / torch",
            seconds(part["fast_s"]),
            seconds(part["torch_s"]),
            f"{part['fast_ratio']:.2f}",
            *target_cells(part["fast_ratio"], "fast_grid_vs_torch"),
        ],
        [
            "  median over rounds of the round's ratio",
            "",
            "",
            f"{part['fast_median_of_rounds']:.2f}",
            "",
            "",
        ],
        [
            "  scores, fast vs compiled: max |a-b| / max(1, |b|)",
            f"{part['fast_max_diff']:.1e}",
            "",
            "",
            *target_cells(part["fast_max_diff"], "same_loss"),
        ],
        [
            f"  eager / compiled{how}",
            seconds(eager["seconds"]),
            seconds(part["compiled_s"]),
            f"{eager['seconds'] / part['compiled_s']:.1f}x",
            "(info)",
            "",
        ],
        [
            f"  trace of one chunk of {part['chunk']} points",
            seconds(part["trace_s"]),
            "",
            "",
            "",
            "",
        ],
    ]


def megabytes(n: int) -> str:
    """A number of bytes in MB."""
    return f"{n / 1e6:.1f} MB"


def scaling_rows(part: list[dict]) -> list[list[str]]:
    """The rows of part 6: time and memory of each trace against its eager step."""
    rows = []
    for index, row in enumerate(part):
        label = f"{'6' if index == 0 else ' '} {row['workload']}"
        rows += [
            [
                f"{label}: trace / eager step",
                seconds(row["trace_s"]),
                seconds(row["eager_step_s"]),
                f"{row['time_ratio']:.1f}x",
                *target_cells(row["time_ratio"], "trace_cost"),
            ],
            [
                "    peak memory, trace / eager step",
                megabytes(row["trace_peak_bytes"]),
                megabytes(row["eager_peak_bytes"]),
                f"{row['memory_ratio']:.2f}x",
                *target_cells(row["memory_ratio"], "trace_memory"),
            ],
        ]
    return rows


STEADY_ORDERS = {"forward": "torch first", "reverse": "torch last", "both": "both"}


def steady_table(parts: list[dict], headline: bool, interleaved: dict | None) -> str:
    """The steady state's rows: per workload and contender, CPU time per step (both
    orders together) and its ratio to torch's in each order; the headline judged."""
    rows = [
        [
            "workload",
            "contender",
            "CPU/step",
            *(f"/ torch, {name}" for name in STEADY_ORDERS.values()),
            "loss vs ours",
            "target",
            "result",
        ]
    ]
    for index, part in enumerate(parts):
        for key, per in part["times"].items():
            ratios = part["vs_torch_cpu"][key]
            judged = index == 0 and headline and key in ("compiled", "fast")
            if judged:
                target = "moons_vs_torch" if key == "compiled" else "fast_moons_vs_torch"
                cells = target_cells(ratios["both"], target)
            elif key == "compiled":
                cells = ["", ""]
            else:
                cells = target_cells(per["loss_vs_ours"], "same_loss")
            label = part["task"] if key == next(iter(part["times"])) else ""
            rows.append(
                [
                    label,
                    key,
                    seconds(per["both"]["cpu_s"]),
                    *(f"{ratios[order]:.2f}" for order in STEADY_ORDERS),
                    "" if key == "compiled" else f"{per['loss_vs_ours']:.1e}",
                    *cells,
                ]
            )
        if index == 0 and headline and interleaved is not None:
            rows.append(
                [
                    "  the same, interleaved (part 1)",
                    "compiled",
                    seconds(interleaved["times"]["compiled"]["mean_cpu_s"]),
                    "",
                    "",
                    f"{interleaved['compiled_vs_torch']['ratio_cpu']:.2f}",
                    "",
                    "(info)",
                    "",
                ]
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i in (0, 1, 8) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    )


def steady_header(results: dict) -> str:
    """What the steady state's times are."""
    lines = ["steady state (the headline): CPU time per step, each contender's steps back to"]
    for key, name in (("steady", "moons step"), ("sweep", "sweep")):
        if key in results:
            t = results[key][0]["timing"]
            lines.append(
                f"  back; {name}: blocks of at least {t['block_s']} s, each after"
                f" {t['warmup_s']} s of warm-up,\n    in {t['pairs']} pair(s) of rounds,"
                " one torch first, one in the reverse order;"
            )
    lines.append("  / torch = the ratio of CPU times per step, in each order and both together;")
    lines.append("  loss vs ours = max rel. difference of the first 3 losses from ours compiled")
    return "\n".join(lines)


def table(results: dict) -> str:
    """The results as an aligned table, targets with PASS/MISS."""
    parts = {
        "moons": lambda part: moons_rows(1, part),
        "minibatch": lambda part: moons_rows(2, part),
        "digits": digits_rows,
        "trace": trace_rows,
        "inference": inference_rows,
        "scaling": scaling_rows,
    }
    rows = [["measure", "ours", "reference", "ratio", "target", "result"]]
    for key, part_rows in parts.items():
        if key in results:
            rows += part_rows(results[key])
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i in (0, 5) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    )


def machine() -> dict[str, Any]:
    """Where the figures were measured (the load average is the one at the start)."""
    return {
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "torch": metadata.version("torch"),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min_start": os.getloadavg()[0],
    }


def footer(results: dict) -> str:
    """The machine line."""
    m = results["machine"]
    return (
        f"{m['platform']}, {m['python']}, {m['cpus']} CPUs, numpy {m['numpy']}, "
        f"torch {m['torch']} ({m['torch_threads']} thread); load average (1 min) "
        f"at the start {m['load_average_1min_start']:.2f}, at the end "
        f"{m['load_average_1min_end']:.2f}"
    )


def header(results: dict) -> str:
    """What the times are."""
    c = results["config"]
    blocks = ", ".join(f"{key} {n}" for key, n in DIGITS_BLOCK.items())
    return "\n".join(
        [
            f"minitorch_scalar.compile benchmarks ({'quick' if results['quick'] else 'full'} run)",
            "parts 1, 2: mean wall time per training step, torch / compiled / eager interleaved",
            f"  in {c['rounds']} rounds of {MOONS_BLOCK['compiled']} steps, after 1 of warm-up;",
            f"part 3: mean time per epoch, {c['digits_rounds']} rounds (epochs a block: {blocks});",
            f"part 4: {c['traces']} fresh compiles; part 5: {c['grid_rounds']} rounds;",
            "part 6: the median of up to 5 rounds, each timing traces then eager steps for at",
            f"  least {SCALING_BLOCK_S} s; and each one's peak memory above what was allocated",
            "  before it (tracemalloc, another call)",
            "ours = the first run named in the measure, reference = the second",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run every part, print the table (or JSON)."""
    parser = argparse.ArgumentParser(
        description="Benchmark minitorch_scalar.compile beside the eager engine, "
        "PyTorch, JAX and numpy (not a test)."
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under 40 s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    alone = parser.add_mutually_exclusive_group()
    alone.add_argument(
        "--scaling", action="store_true", help="run part 6 alone (the trace's cost over sizes)"
    )
    alone.add_argument(
        "--steady", action="store_true", help="run the steady state of the moons step alone"
    )
    alone.add_argument(
        "--sweep", action="store_true", help="run the steady state's sweep over sizes alone"
    )
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    torch.set_num_threads(TORCH_THREADS)
    threadpool_limits(TORCH_THREADS)  # numpy's BLAS on one thread too
    host = machine()
    start = perf_counter()
    results: dict[str, Any] = {"quick": args.quick, "config": config}
    everything = not (args.scaling or args.steady or args.sweep)
    if everything or args.steady:
        results["steady"] = [steady_part(moons_task(), STEADY_QUICK if args.quick else STEADY)]
    if everything:
        results["moons"] = moons_part(config, None)
        results["minibatch"] = moons_part(config, MINIBATCH)
        results["digits"] = digits_part(config)
        results["trace"] = trace_part(config)
        results["inference"] = inference_part(config)
    if args.sweep or (everything and not args.quick):
        results["sweep"] = sweep_part(SWEEP_QUICK if args.quick else SWEEP_FULL)
    if everything or args.scaling:
        results["scaling"] = scaling_part(config)
    results["machine"] = host | {"load_average_1min_end": os.getloadavg()[0]}
    results["total_s"] = perf_counter() - start
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        if "steady" in results or "sweep" in results:
            print(steady_header(results), end="\n\n")
            parts = results.get("steady", []) + results.get("sweep", [])
            print(steady_table(parts, "steady" in results, results.get("moons")))
            print()
        if any(key in results for key in ("moons", "scaling")):
            print(header(results), end="\n\n")
            print(table(results), end="\n\n")
        print(footer(results))
        print(f"the whole run took {results['total_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
