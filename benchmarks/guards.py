"""What compile's guards cost on micrograd's moons step, measured in one process.

    python benchmarks/guards.py            # the full run (about half a minute)
    python benchmarks/guards.py --quick    # fewer rounds

A compiled call checks, before it replays, that its trace still holds: the call's
signature is looked up (arguments.py), the structure count is compared with the one the
trace's model guard saw (guards.py: one int compare), and the parameters' data are
checked to be floats. The moons demo step (MLP 2-16-16-1 on 100 points, hinge loss +
L2, backward, SGD) is timed in interleaved blocks:

- ``guarded``: the step as users run it;
- ``unguarded``: the same step with the model guard's check replaced by ``True`` (no
  compare at all), to show what the guard costs in the step (the two differ by noise);
- the guard's check alone and the data check alone, timed in a tight loop, as a share
  of the step: the figures to hold against the issue's 5%;
- ``changing``: a structure change unrelated to the model (a new module made) before
  every step, so that each call walks the model again and finds it unchanged: the
  price of the slow path, which ordinary training never takes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from time import perf_counter

import numpy as np
import workloads as wl  # beside this script

import minitorch_scalar as ms
import nn


def moons_step() -> tuple:
    """The compiled demo step (traced), its model and optimizer, and its batch."""
    points, labels = wl.moons()
    xs, ts = np.array(points), np.array(labels)
    model, optimizer = wl.ours_model(wl.initial_weights())

    def objective(points: np.ndarray, labels: np.ndarray) -> ms.Value:
        return nn.hinge_loss(model(points), labels) + wl.ALPHA * nn.l2_penalty(model.parameters())

    step = ms.compile(objective)
    step(xs, ts)
    return step, optimizer, xs, ts


def timed_block(run, steps: int) -> float:
    """Mean seconds per step over `steps` steps."""
    start = perf_counter()
    for k in range(steps):
        run(k)
    return (perf_counter() - start) / steps


def per_call(check, calls: int) -> float:
    """Mean seconds per call of `check()`."""
    start = perf_counter()
    for _ in range(calls):
        check()
    return (perf_counter() - start) / calls


def measure(rounds: int, steps: int) -> dict[str, float]:
    step, optimizer, xs, ts = moons_step()
    trace = next(iter(step.traces.values()))
    guard = trace.guard
    real_check = guard.holds_now

    def train(k: int) -> None:
        loss = step(xs, ts)
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = wl.learning_rate(k % 100)
        optimizer.step()

    def changing(k: int) -> None:
        nn.Neuron(2, seed=0)  # unrelated to the model: bumps the structure count
        train(k)

    times: dict[str, list[float]] = {"guarded": [], "unguarded": [], "changing": []}
    for _ in range(rounds):  # interleaved, so that a change of load hits all alike
        guard.holds_now = real_check
        times["guarded"].append(timed_block(train, steps))
        guard.holds_now = lambda: True
        times["unguarded"].append(timed_block(train, steps))
        guard.holds_now = real_check
        times["changing"].append(timed_block(changing, steps))
    data = [p.data for p in trace.parameters]  # read by every replay, checked or not
    from minitorch_scalar.compiler.replay import floats_only

    step_s = statistics.median(times["guarded"])
    return {
        "step_ms": step_s * 1e3,
        "unguarded_step_ms": statistics.median(times["unguarded"]) * 1e3,
        "changing_step_ms": statistics.median(times["changing"]) * 1e3,
        "guard_check_us": per_call(real_check, 100_000) * 1e6,
        "data_check_us": per_call(lambda: floats_only(data), 10_000) * 1e6,
        "fingerprint_walk_us": per_call(guard._still_holds, 300) * 1e6,
        "traces": step.trace_count,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="What compile's guards cost on the moons step (not a test)."
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args(argv)
    r = measure(rounds=3 if args.quick else 9, steps=50 if args.quick else 100)
    step_us = r["step_ms"] * 1e3
    print(f"moons step, compiled (median of interleaved blocks): {r['step_ms']:.3f} ms")
    print(f"  the same, the model guard's check replaced by True: {r['unguarded_step_ms']:.3f} ms")
    print(
        f"  the guard's check alone: {r['guard_check_us'] * 1e3:.0f} ns a call, "
        f"{r['guard_check_us'] / step_us:.4%} of the step"
    )
    print(
        f"  the check that the parameters' data are floats: {r['data_check_us']:.1f} us a call, "
        f"{r['data_check_us'] / step_us:.2%} of the step"
    )
    print(
        f"  a structure change before every step (the slow path): {r['changing_step_ms']:.3f} ms "
        f"(the model walked again: {r['fingerprint_walk_us']:.0f} us); "
        f"traces made: {r['traces']} (no retrace)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
