"""Speed and memory of minitorch_scalar beside micrograd and PyTorch, measured in one run.

    python benchmarks/bench.py            # the full run (one to two minutes)
    python benchmarks/bench.py --quick    # fewer steps, a shorter expression
    python benchmarks/bench.py --json     # results as JSON on stdout
    python benchmarks/bench.py --profile  # also cProfile our side of parts 1 and 2

1. micrograd's moons demo: mean time per training step, micrograd's code vs ours
   (`nn.MLP`, `optim.SGD`), from the same weights; their losses must agree.
   PyTorch, vectorised, is shown as a reference.
2. micrograd's own model code on micrograd's Value and on ours: the gain of changing
   only the import.
3. Bytes per recorded op of a long expression (tracemalloc), ours vs micrograd.
4. A chain a million nodes deep: forward and backward (micrograd's recursive backward
   cannot; the depth where it fails is shown).
5. The tracer's hook in `engine.make_node` when no trace is open: our moons step, and
   one node made, with the hook and with a copy of `make_node` without it.

The runs of parts 1 and 2 are interleaved in rounds (`workloads.train`): the speed of a
shared machine drifts over seconds, and runs made one after the other would compare two
different moods of it. Each ratio is also given as the median over rounds of the
per-round ratio, which drift moves even less.

micrograd (the `parity` extra) and PyTorch are optional: what needs them is skipped
with a note. Progress goes to stderr. These are measurements, not tests: each target
is printed with PASS or MISS beside the measured figure.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import json
import os
import platform
import pstats
import re
import statistics
import sys
import time
from importlib import metadata
from types import ModuleType
from typing import Any

import workloads as wl

import minitorch_scalar
import nn
import optim
from minitorch_scalar import custom_op, engine, fast_linear, fused
from minitorch_scalar.engine import Value, make_node
from minitorch_scalar.grad_mode import mode, open_blocks

DEMO_SPEEDUP = 80.0  # ours vs micrograd, moons demo step
IMPORT_SPEEDUP = 6.0  # micrograd's code on our Value vs on its own
MAX_BYTES_PER_OP = 185.0
MAX_CHAIN_SECONDS = 5.0  # "a few seconds", forward + backward
LOSS_AGREEMENT = 1e-9  # max relative difference of the per-step losses
CHAIN_DEPTH = 1_000_000
MICROGRAD_DEPTH_PROBE = 2_000

# timed rounds of the demo's runs (after one warm-up round), links of the traced expression
FULL = {"rounds": 20, "links": 25_000}
QUICK = {"rounds": 4, "links": 5_000}
# Steps per block, chosen so that each run spends about as long per round as micrograd's
# one step, as far as the schedule lr_k = 1 - 0.9 k / 100 allows: it is made for ~100
# steps (lr < 0 from k = 112), so no run goes beyond 5 x 21 = 105 steps.
BLOCK_STEPS = {
    "torch": 5,
    "ours": 5,
    "ours_scalar_sums": 5,
    "ours_per_sample": 5,
    "micrograd": 1,
    "import": 5,
    "hook_on": 5,
    "hook_off": 5,
}
HOOK_ROUNDS = {"rounds": 21, "nodes": 100_000}  # part 5's one-node timing: rounds, nodes each
PROFILED_STEPS = 5
TORCH_THREADS = 1  # batches of 100 x 16: more threads only add overhead and noise


def optional(name: str) -> ModuleType | None:
    """The module `name`, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def progress(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
    }
    for package in ("micrograd", "torch"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = None
    return info


def verdict(ok: bool | None) -> str:
    """PASS, MISS, or n/a when the figure could not be measured."""
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


# --------------------------------------------------------------------- the parts


DIALECTS = {  # the demo's runs, in their order in a round: each ratio's sides are neighbours
    "torch": "part 1, PyTorch vectorised",
    "ours": "part 1, ours (nn.MLP called on the batch, optim.SGD)",
    "ours_scalar_sums": "part 1, ours, with fast_linear's numpy sums off (VECTORISED_FROM = inf)",
    "ours_per_sample": "part 1, ours, nn.MLP called once per sample as micrograd's demo",
    "micrograd": "part 1, micrograd",
    "import": "part 2, micrograd's code on our Value",
    "hook_on": "part 5, ours again (make_node as it is)",
    "hook_off": "part 5, ours with make_node's tracer hook taken out",
}


def demo_steps(micrograd: tuple | None, torch: ModuleType | None) -> dict[str, wl.Step]:
    """A training step of each dialect of the moons demo (in `DIALECTS` order), fresh
    models, the same weights."""
    points, labels = wl.moons()
    weights = wl.initial_weights()
    steps: dict[str, wl.Step] = {}
    if torch is not None:
        t_model, t_optimizer = wl.torch_model(torch, weights)
        t_points = torch.tensor(points, dtype=torch.float64)
        t_labels = torch.tensor(labels, dtype=torch.float64)
        steps["torch"] = lambda k: wl.torch_demo_step(
            torch, t_model, t_optimizer, t_points, t_labels, k
        )
    for key, batched in (("ours", True), ("ours_scalar_sums", True), ("ours_per_sample", False)):
        model, optimizer = wl.ours_model(weights)
        steps[key] = lambda k, m=model, o=optimizer, b=batched: wl.ours_demo_step(
            m, o, points, labels, k, b
        )
    steps["ours_scalar_sums"] = without_numpy_sums(steps["ours_scalar_sums"])
    for key in ("hook_on", "hook_off"):
        model, optimizer = wl.ours_model(weights)
        steps[key] = lambda k, m=model, o=optimizer: wl.ours_demo_step(m, o, points, labels, k)
    steps["hook_off"] = without_the_hook(steps["hook_off"])
    if micrograd is not None:
        engine, micrograd_nn = micrograd
        for key, value in (("micrograd", engine.Value), ("import", minitorch_scalar.Value)):
            mg_model = wl.micrograd_model(micrograd_nn, value, weights)
            steps[key] = lambda k, m=mg_model, v=value: wl.micrograd_demo_step(
                m, v, points, labels, k
            )
    return steps


def without_numpy_sums(step: wl.Step) -> wl.Step:
    """`step` with `fast_linear` summing every dot product in Python, as `dot` does: what
    its numpy sums save is the ratio of the two runs (the same nodes, the same bits)."""

    def run(k: int) -> tuple[float, float]:
        saved = fast_linear.VECTORISED_FROM
        fast_linear.VECTORISED_FROM = sys.maxsize
        try:
            return step(k)
        finally:
            fast_linear.VECTORISED_FROM = saved

    return run


new_value = object.__new__  # as the engine binds it


def make_node_without_hook(
    data: float,
    op: str,
    operands: tuple,
    local_grads: tuple[float, ...],
    parents: tuple[Value, ...] | None = None,
) -> Value:
    """`engine.make_node` without the tracer's hook (no listener read, none called): the
    same node, the same grad mode. What the hook costs is the difference."""
    out = new_value(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out.op = op
    out._parents = operands if parents is None else parents
    out._local_grads = local_grads
    if open_blocks[0] and not mode.now.recording:
        out._parents = out._local_grads = ()
    return out


NODE_MAKERS = (engine, fused, fast_linear, custom_op)  # every module that calls make_node


def without_the_hook(step: wl.Step) -> wl.Step:
    """`step` with `make_node_without_hook` in place of `make_node` wherever it is called."""

    def run(k: int) -> tuple[float, float]:
        for module in NODE_MAKERS:
            module.make_node = make_node_without_hook
        try:
            return step(k)
        finally:
            for module in NODE_MAKERS:
                module.make_node = make_node

    return run


def hook_part() -> dict:
    """Part 5's one-node timing: ns per node made (operands a + b, all Values), with the
    hook and without, in interleaved rounds; the median of each."""
    progress("part 5: one node made, with and without the tracer's hook")
    a, b, grads = Value(1.0), Value(2.0), (1.0, 1.0)
    operands, count = (a, b), HOOK_ROUNDS["nodes"]

    def per_node(maker: Any) -> float:
        start = time.perf_counter()
        for _ in range(count):
            maker(3.0, "+", operands, grads)
        return (time.perf_counter() - start) / count

    makers = {"with": make_node, "without": make_node_without_hook}
    times: dict[str, list[float]] = {"with": [], "without": []}
    for r in range(HOOK_ROUNDS["rounds"]):
        for key in ("with", "without") if r % 2 else ("without", "with"):  # in turn first
            times[key].append(per_node(makers[key]))
    with_hook, without = (statistics.median(times[key]) for key in ("with", "without"))
    return {"with_hook_s": with_hook, "without_s": without, "ratio": with_hook / without}


def demo_runs(config: dict, micrograd: tuple | None, torch: ModuleType | None) -> dict:
    """Parts 1 and 2: every dialect of the moons demo, interleaved and timed (see
    `workloads.train`); None for what is absent."""
    steps = demo_steps(micrograd, torch)
    # The ~350k objects of the imports (numpy, scikit-learn, torch and what torch loads
    # when its first model is built) would be traversed by every full collection, on
    # both sides; a user's script does not carry them all. Freeze them out of it (with
    # the models, a few thousand long-lived objects that any script would have).
    gc.collect()
    gc.freeze()
    progress("parts 1 and 2: " + "; ".join(f"{key} = {DIALECTS[key]}" for key in steps))
    return dict.fromkeys(DIALECTS) | wl.train(steps, BLOCK_STEPS, config["rounds"])


def run_summary(run: wl.Run | None) -> dict | None:
    """The figures of a run for the report."""
    if run is None:
        return None
    return {
        "mean_step_s": run.mean("wall"),
        "mean_step_cpu_s": run.mean("cpu"),
        "mean_step_in_collector_s": run.mean("collector"),
        "timed_steps": sum(block.steps for block in run.blocks),
        "warmup_steps": run.warmup,
        "timed_rounds": len(run.blocks),
        "block_steps": run.blocks[0].steps,
        "round_mean_steps_s": [block.wall / block.steps for block in run.blocks],
        "final_loss": run.losses[-1],
        "final_accuracy": run.accuracies[-1],
    }


def round_speedups(ours: wl.Run, reference: wl.Run) -> list[float]:
    """Per timed round: the reference's mean step in its block / ours in our block."""
    return [
        (theirs.wall / theirs.steps) / (mine.wall / mine.steps)
        for mine, theirs in zip(ours.blocks, reference.blocks)
    ]


def comparison(ours: wl.Run | None, reference: wl.Run | None) -> dict:
    """Both runs' figures, reference / ours mean step time (over all timed steps, and the
    median over rounds of the per-round ratio), and how far their losses differ."""
    both = ours is not None and reference is not None
    per_round = round_speedups(ours, reference) if both else None
    return {
        "ours": run_summary(ours),
        "reference": run_summary(reference),
        "speedup": reference.mean("wall") / ours.mean("wall") if both else None,
        "speedup_cpu": reference.mean("cpu") / ours.mean("cpu") if both else None,
        "round_speedups": per_round,
        "speedup_median_of_rounds": statistics.median(per_round) if both else None,
        "loss_max_rel_diff": wl.max_relative_difference(ours.losses, reference.losses)
        if both
        else None,
    }


def speedup_part(ours: wl.Run | None, reference: wl.Run | None, target: float) -> dict:
    """`comparison` with its targets: a speedup of at least `target`, losses that agree."""
    result = comparison(ours, reference)
    speedup, difference = result["speedup"], result["loss_max_rel_diff"]
    return result | {
        "speedup_target": target,
        "speedup_pass": None if speedup is None else speedup >= target,
        "loss_target": LOSS_AGREEMENT,
        "loss_pass": None if difference is None else difference <= LOSS_AGREEMENT,
    }


def memory_part(config: dict, micrograd: tuple | None) -> dict:
    """Part 3: bytes per recorded op, ours and micrograd's."""
    links = config["links"]
    progress(f"part 3: tracing {wl.OPS_PER_LINK * links} ops")
    gc.collect()
    ours = wl.bytes_per_op(minitorch_scalar.Value, links)
    theirs = wl.bytes_per_op(micrograd[0].Value, links) if micrograd else None
    return {
        "ops": wl.OPS_PER_LINK * links,
        "ours": ours,
        "micrograd": theirs,
        "ratio": theirs / ours if theirs else None,
        "target": MAX_BYTES_PER_OP,
        "pass": ours <= MAX_BYTES_PER_OP,
    }


def depth_part(micrograd: tuple | None) -> dict:
    """Part 4: a million-node chain, ours; the depth where micrograd's backward fails."""
    progress(f"part 4: a chain {CHAIN_DEPTH} nodes deep")
    gc.collect()
    try:
        chain = wl.deep_chain(minitorch_scalar.Value, CHAIN_DEPTH)
        ours: dict[str, Any] = vars(chain) | {"error": None}
        total = chain.forward + chain.backward
    except RecursionError as error:  # reported as the figure it is, not a crash
        ours, total = {"error": f"RecursionError: {error}"}, None
    failure = None
    if micrograd is not None:
        failure = wl.first_recursion_failure(micrograd[0].Value, MICROGRAD_DEPTH_PROBE)
    return {
        "ours": ours,
        "forward_backward_s": total,
        "target_s": MAX_CHAIN_SECONDS,
        "pass": total is not None and total <= MAX_CHAIN_SECONDS,
        "micrograd_probe_depth": MICROGRAD_DEPTH_PROBE if micrograd else None,
        "micrograd_recursion_error_at": failure,
        "recursion_limit": sys.getrecursionlimit(),
    }


def profile_ours(micrograd: tuple | None) -> None:
    """cProfile a few steps of our side of parts 1 and 2; print our functions by tottime."""
    steps = demo_steps(micrograd, None)
    ours = "|".join(
        re.escape(os.path.dirname(package.__file__)) for package in (minitorch_scalar, nn, optim)
    )
    for key in ("ours", "import"):
        if key not in steps:
            continue
        profiler = cProfile.Profile()
        profiler.enable()
        for k in range(PROFILED_STEPS):
            steps[key](k)
        profiler.disable()
        print(
            f"\n== profile: {DIALECTS[key]}, {PROFILED_STEPS} steps, our code only ==",
            file=sys.stderr,
        )
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(ours, 15)


# ------------------------------------------------------------------------ report


def seconds(s: float | None) -> str:
    """A duration with a unit that suits it."""
    if s is None:
        return "-"
    return f"{s * 1e3:.2f} ms" if s < 1.0 else f"{s:.2f} s"


def table(results: dict) -> str:
    """The results as an aligned table, one row per figure, targets with PASS/MISS."""
    demo, port, memory, depth = (results[k] for k in ("demo", "import", "memory", "depth"))

    def row(*cells: str) -> list[str]:
        return [*cells, *[""] * (6 - len(cells))]

    def times(part: dict, what: str, inverted: bool = False) -> list[list[str]]:
        """Mean steps and reference / ours, or ours / reference when `inverted`."""
        ours, reference, target = part["ours"], part["reference"], part.get("speedup_target")

        def ratio(x: float | None) -> str:
            return "-" if x is None else f"{1 / x if inverted else x:.1f}x"

        return [
            row(
                what,
                seconds(ours and ours["mean_step_s"]),
                seconds(reference and reference["mean_step_s"]),
                ratio(part["speedup"]),
                "(info)" if target is None else f">= {target:g}x",
                verdict(part["speedup_pass"]) if target else "",
            ),
            row(
                f"  median over {results['rounds']} rounds of the round's ratio",
                "",
                "",
                ratio(part["speedup_median_of_rounds"]),
            ),
            row(
                "  the same in CPU time of this process",
                seconds(ours and ours["mean_step_cpu_s"]),
                seconds(reference and reference["mean_step_cpu_s"]),
                ratio(part["speedup_cpu"]),
            ),
            row(
                "  of the wall time, in the cyclic collector",
                seconds(ours and ours["mean_step_in_collector_s"]),
                seconds(reference and reference["mean_step_in_collector_s"]),
            ),
        ]

    def losses(part: dict, against: str) -> list[str]:
        diff, target = part["loss_max_rel_diff"], part.get("loss_target")
        return row(
            f"  per-step losses vs {against}, max rel diff",
            "-" if diff is None else f"{diff:.1e}",
            "",
            "",
            "(info)" if target is None else f"<= {target:g}",
            verdict(part["loss_pass"]) if target else "",
        )

    chain, failure = depth["ours"], depth["micrograd_recursion_error_at"]
    if depth["micrograd_probe_depth"] is None:
        micrograd_chain = "-"
    elif failure is None:
        micrograd_chain = f"ok at {depth['micrograd_probe_depth']}"
    else:
        micrograd_chain = f"RecursionError at {failure}"
    rows = [
        row("measure", "ours", "micrograd", "ratio", "target", "result"),
        *times(demo, "1 moons demo, mean step (micrograd / ours)"),
        losses(demo, "micrograd"),
        *times(results["fast_values"], "  numpy's sums in fast_linear: without / with")[:2],
        *times(results["demo_per_sample"], "  the same, our model called once per sample")[:2],
        losses(results["demo_per_sample"], "micrograd"),
        *times(port, "2 micrograd's code, its Value / our Value"),
        losses(port, "micrograd"),
        row(
            f"3 bytes per recorded op ({memory['ops']} ops)",
            f"{memory['ours']:.0f} B",
            "-" if memory["micrograd"] is None else f"{memory['micrograd']:.0f} B",
            "-" if memory["ratio"] is None else f"{memory['ratio']:.1f}x",
            f"<= {memory['target']:g} B",
            verdict(memory["pass"]),
        ),
        row(
            f"4 chain {CHAIN_DEPTH} deep, forward + backward",
            chain["error"] or seconds(depth["forward_backward_s"]),
            micrograd_chain,
            "",
            f"<= {depth['target_s']:g} s",
            verdict(depth["pass"]),
        ),
    ]
    if chain["error"] is None:
        phases = {
            "forward": "forward",
            "backward": "backward",
            "free": "free the graph",
            "collector": "of these, in the cyclic collector",
        }
        rows += [row(f"  {label}", seconds(chain[key])) for key, label in phases.items()]
    node = results["hook_node"]
    rows += [
        row("", "without", "with hook", "with / without"),
        *times(results["hook"], "5 the tracer's hook, moons step (no trace open)")[:2],
        row(
            "  one node made (a + b), median of rounds",
            f"{node['without_s'] * 1e9:.0f} ns",
            f"{node['with_hook_s'] * 1e9:.0f} ns",
            f"{node['ratio']:.2f}x",
            "(info)",
        ),
    ]
    if results["torch"] is not None:
        rows += [
            row("", "ours", "PyTorch", "ours / torch"),
            *times(results["torch"], "1 moons demo, mean step, vectorised", inverted=True),
            losses(results["torch"], "PyTorch"),
        ]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    )


def header(results: dict) -> str:
    """The machine and the run's settings."""
    m = results["machine"]
    versions = ", ".join(f"{p} {m[p] or 'absent'}" for p in ("micrograd", "torch"))
    if m["torch"]:
        versions += f" ({TORCH_THREADS} thread)"
    lines = [
        f"minitorch_scalar benchmarks ({'quick' if results['quick'] else 'full'} run)",
        f"{m['platform']}, {m['python']}, {m['cpus']} CPUs; {versions}",
        f"load average (1 min) at the start: {m['load_average_1min']:.2f}, "
        f"at the end: {results['load_average_at_end']:.2f}",
        f"times (parts 1, 2): mean wall time per training step; the runs interleaved in "
        f"{results['rounds']} rounds after 1 of warm-up,",
        "  each round a block of steps per run ("
        + ", ".join(f"{key} {n}" for key, n in BLOCK_STEPS.items())
        + ") closed by gc.collect(),",
        "  timed with it: each run pays for collecting its own garbage; gc enabled "
        "(the imports' objects frozen out of it)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run every part, print the table (or JSON)."""
    parser = argparse.ArgumentParser(
        description="Benchmark minitorch_scalar beside micrograd and PyTorch (not a test)."
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps, a shorter run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile our side of parts 1 and 2 (stderr)"
    )
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL

    engine, micrograd_nn = optional("micrograd.engine"), optional("micrograd.nn")
    micrograd = (engine, micrograd_nn) if engine and micrograd_nn else None
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(TORCH_THREADS)
    notes = []
    if micrograd is None:
        notes.append("micrograd is not installed (pip install -e '.[parity]'): its columns skipped")
    if torch is None:
        notes.append("PyTorch is not installed: the vectorised reference skipped")

    host = machine()  # before the runs: its load average is the one at the start
    runs = demo_runs(config, micrograd, torch)
    results = {
        "machine": host,
        "quick": args.quick,
        "rounds": config["rounds"],
        "demo": speedup_part(runs["ours"], runs["micrograd"], DEMO_SPEEDUP),
        "demo_per_sample": comparison(runs["ours_per_sample"], runs["micrograd"]),
        "fast_values": comparison(runs["ours"], runs["ours_scalar_sums"]),
        "import": speedup_part(runs["import"], runs["micrograd"], IMPORT_SPEEDUP),
        "torch": comparison(runs["ours"], runs["torch"]) if torch else None,
        "memory": memory_part(config, micrograd),
        "depth": depth_part(micrograd),
        "hook": comparison(runs["hook_off"], runs["hook_on"]),
        "hook_node": hook_part(),
        "notes": notes,
        "load_average_at_end": os.getloadavg()[0],
    }
    if args.profile:
        profile_ours(micrograd)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(header(results))
        print()
        print(table(results))
        for note in notes:
            print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
