"""Ctrl-C while an example script is still starting: one line and exit 130, no traceback.

A script imports this module before anything else. From then on Ctrl-C (SIGINT) prints
"<script>: interrupted" and exits with status 130, as `script_args.run_guarded` does
once the script's main runs (it hands Ctrl-C to Python's KeyboardInterrupt for that
while, so that the script can clean up). Without it, Ctrl-C during the imports (numpy,
scikit-learn, matplotlib: about a second) prints a KeyboardInterrupt traceback from
deep inside one of them.

The handler is installed only when the program being run is a script of this folder
(`__main__`): a test that imports a script keeps its own Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports after Ctrl-C


def interrupted_line() -> str:
    """What a script says when Ctrl-C ends it: "<script name>: interrupted"."""
    return f"{os.path.basename(sys.argv[0])}: interrupted"


def exit_interrupted(signum: int, frame: FrameType | None) -> None:
    """SIGINT's handler while nothing needs cleaning up: say so, and leave at once."""
    os.write(sys.stderr.fileno(), (interrupted_line() + "\n").encode())
    os._exit(EXIT_INTERRUPTED)


def _running_an_example() -> bool:
    """True when `__main__` is a script of this folder (not a test importing one)."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    here = os.path.dirname(os.path.abspath(__file__))
    return main_file is not None and os.path.dirname(os.path.abspath(main_file)) == here


if _running_an_example():
    signal.signal(signal.SIGINT, exit_interrupted)
