"""Instructions per training step of micrograd's moons demo on our side, counted by
valgrind's callgrind: a figure that does not drift with the machine's load.

    python benchmarks/instructions.py              # model called on the batch
    python benchmarks/instructions.py --per-sample # called once per sample
    python benchmarks/instructions.py --steps 5    # more steps to average over

Wall time on a shared machine drifts by 2x within seconds, so a change of a few
percent cannot be seen in it; instructions can. The count is the difference between
a run of N steps and a run of none, divided by N (imports and set-up cancel out).
It repeats to within 0.2% from run to run. Three things would otherwise make it vary
by several percent, and are fixed here: string hashing (PYTHONHASHSEED=0), the
addresses objects get, which order sets of nodes (address randomisation off with
``setarch -R``), and OpenBLAS's idle threads spinning (OPENBLAS_NUM_THREADS=1).

Instructions are not seconds (a cache miss costs many), and valgrind runs the
program some 50 times slower: this is for comparing two versions of our code, not
for the ratios to micrograd, which `bench.py` measures.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The child: the demo's step as bench.py times it, k steps after one untimed step.
CHILD = """
import gc, sys
sys.path.insert(0, {here!r})
import workloads as wl
points, labels = wl.moons()
model, optimizer = wl.ours_model(wl.initial_weights())
gc.collect(); gc.freeze()
steps = int(sys.argv[1])
for k in range(steps + 1):
    wl.ours_demo_step(model, optimizer, points, labels, k, batched={batched})
"""


def collected(steps: int, batched: bool) -> int:
    """Instructions callgrind counts for the child running `steps` timed steps."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-c",
        CHILD.format(here=str(HERE), batched=batched),
        str(steps),
    ]
    if shutil.which("setarch"):
        command = ["setarch", platform.machine(), "-R", *command]
    env = os.environ | {"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, count, print instructions per step."""
    parser = argparse.ArgumentParser(
        description="Instructions per demo training step on our side (valgrind's callgrind)."
    )
    parser.add_argument("--steps", type=int, default=3, help="steps to average over (default 3)")
    parser.add_argument(
        "--per-sample", action="store_true", help="call the model once per sample, not on the batch"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.steps <= 100:
        parser.error(f"--steps expects 1 to 100, got {args.steps}")
    if shutil.which("valgrind") is None:
        print("instructions.py needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 1
    batched = not args.per_sample
    print(f"counting {args.steps} steps under callgrind (a few minutes)...", file=sys.stderr)
    per_step = (collected(args.steps, batched) - collected(0, batched)) / args.steps
    call = "on the batch" if batched else "once per sample"
    print(f"moons demo step, model called {call}: {per_step / 1e6:.1f}M instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
