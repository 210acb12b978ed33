"""Run the notebooks top to bottom in a fresh kernel; store them with their outputs.

    python examples/notebooks/execute.py            # every notebook here, in place
    python examples/notebooks/execute.py 02_*.ipynb

The notebooks are stored with their outputs so that they read on a code host; after an
edit, or a change of the library, this script refreshes them (the tests fail until it
has: they compare the stored outputs with a fresh run). A cell tagged ``live-only``
(the backward player: a megabyte of frames, which a code host would not play) is run
only in Jupyter, and stored without output. The tests also execute notebooks with cells
replaced (`execute`'s `replace`: the exercises' solutions, or a wrong answer).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the clone: the kernel imports this tree's library
LIVE_ONLY = "live-only"
TIMEOUT = 120  # seconds per cell


def tags(cell: nbformat.NotebookNode) -> list[str]:
    """The cell's tags (``metadata.tags``), [] if none."""
    return list(cell.get("metadata", {}).get("tags", []))


def execute(path: Path, replace: Mapping[str, str] | None = None) -> nbformat.NotebookNode:
    """The notebook at `path`, run in a fresh kernel in its folder; an error raises.

    ``live-only`` cells are left out. `replace` maps a tag to the source that the cells
    carrying it get instead of theirs (e.g. ``{"exercise-1": "predicted = {...}"}``).
    """
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if LIVE_ONLY not in tags(cell)]
    for cell in notebook.cells:
        for tag in tags(cell):
            if replace and tag in replace:
                cell.source = replace[tag]
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    path_entries = [str(ROOT), os.environ.get("PYTHONPATH", "")]
    client.execute(env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path_entries))})
    return notebook


def store(path: Path) -> None:
    """Run the notebook at `path` and write it back with its outputs (see the module)."""
    stored = nbformat.read(path, as_version=4)
    ran = {cell.id: cell for cell in execute(path).cells}
    for cell in stored.cells:
        if cell.cell_type != "code":
            continue
        fresh = ran.get(cell.id)
        cell.outputs = copy.deepcopy(fresh.outputs) if fresh is not None else []
        cell.execution_count = fresh.execution_count if fresh is not None else None
    nbformat.write(stored, path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="the notebooks to run and store (default: every .ipynb in this folder)",
    )
    args = parser.parse_args(argv)
    for path in args.notebooks or sorted(HERE.glob("*.ipynb")):
        if not path.is_file():
            parser.error(f"no notebook {str(path)!r}")
        print(f"running {path.name}", flush=True)
        store(path)


if __name__ == "__main__":
    sys.exit(main())
