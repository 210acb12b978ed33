"""The playground: a network learning live in your browser, and backprop inside any neuron.

Starts a local web server (on 127.0.0.1 only) and opens its page: pick a data set and a
network, press Play and watch the boundary, the loss and every neuron learn; click a
neuron (or the loss) and a point to see its scalar graph and step through its backward
pass, formula 6 edge by edge. Ctrl-C stops the server.

Run:  python examples/playground.py [--port N] [--no-browser]
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import threading
import webbrowser
from collections.abc import Sequence

from playground_server import Playground, PlaygroundServer
from script_args import int_between, run_guarded

DEFAULT_PORT = 8765


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, PlaygroundServer]:
    """The command line, checked, and the server listening on --port (a port in use is
    a usage error: exit 2 with a usage line)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--port",
        type=int_between(0, 65535),
        default=DEFAULT_PORT,
        help=f"the port on 127.0.0.1, 0 for any free one (default: {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the address, do not open a browser"
    )
    args = parser.parse_args(argv)
    try:
        server = PlaygroundServer(args.port, Playground())
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            parser.error(f"argument --port: {args.port} is in use; pick another (0: any free one)")
        parser.error(f"argument --port: cannot listen on {args.port}: {error.strerror}")
    return args, server


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the page until Ctrl-C."""
    args, server = parse_args(argv)
    with server:
        print(f"playground: serving on {server.url}  (Ctrl-C stops it)", flush=True)
        if not args.no_browser:
            open_browser(server.url)
        server.serve_forever()


def open_browser(url: str) -> None:
    """Open `url` in the user's browser, from a thread (the server is already listening).

    Without a display (a Linux terminal over ssh, a container) Python's `webbrowser`
    would start a text browser in this terminal: there, only say where the page is.
    """
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        print("playground: no display here; open the address in a browser", flush=True)
        return
    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()


if __name__ == "__main__":
    run_guarded(main)
