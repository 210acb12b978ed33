"""What the example scripts share: checked argument types, the guard around main, the
checks of a run that diverged, and the writing of a run's figures and model.

Each type turns a command-line string into a checked value or raises
`argparse.ArgumentTypeError`, which argparse reports as a usage error (exit code 2,
no traceback). `run_guarded` runs a script's main so that the ways a run can end
early (a diverged training, a file it cannot write or read, Ctrl-C, a closed pipe)
end with one line, not a traceback.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from interrupt_guard import EXIT_INTERRUPTED, interrupted_line

from minitorch_scalar import NonFinite, Value, first_nonfinite

EXIT_FAILED = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`


class RunError(Exception):
    """The run cannot go on, for a reason its message says in one line (exit 1)."""


class DivergenceError(RunError):
    """Training left the finite numbers: the loss became nan or inf, or an op overflowed.

    The message reads "<what> at step <step> (<detail>); try a smaller --lr".
    """

    def __init__(self, step: int, what: str, detail: str | None = None) -> None:
        because = f" ({detail})" if detail else ""
        super().__init__(f"{what} at step {step}{because}; try a smaller --lr")
        self.step = step


def check_finite_loss(loss: Value, step: int, forward: Callable[..., Value], *args: object) -> None:
    """Raise `DivergenceError` unless the loss of step `step` (from 1) is finite.

    Its message says where the first nan or inf of the loss's graph was made
    (`first_nonfinite`). The loss is ``forward(*args)``; a compiled step's loss has no
    graph to search, so its function is run again on the eager engine.
    """
    if math.isfinite(loss.data):
        return
    found = first_nonfinite(loss)
    if found is not None and found.op == "compiled":
        found = first_nonfinite(inspect.unwrap(forward)(*args))
    raise DivergenceError(step, f"loss became {loss.data}", found and nonfinite_origin(found))


def nonfinite_origin(found: NonFinite) -> str:
    """``the first nan came from 'dot', node 401, of 33 operands as large as 8.2e+299``."""
    amount = found.node.data if found.where == "value" else found.node.grad
    what = "the first" if found.where == "value" else "the first gradient"
    operands = found.operands
    text = f"{what} {amount} came from {found.op or 'a leaf'!r}, node {found.index}"
    if len(operands) > 2:
        return f"{text}, of {len(operands)} operands as large as {max(map(abs, operands)):.2g}"
    return f"{text}, of {' and '.join(map(repr, operands))}" if operands else text


@contextmanager
def engine_errors_as_divergence(step: int) -> Iterator[None]:
    """Turn the engine's errors of a diverged run into `DivergenceError` at `step`.

    An OverflowError (e ** 1000) always; a ValueError only when its message names nan or
    inf (log of nan): any other ValueError is a bug, and goes up as it is.
    """
    try:
        yield
    except OverflowError as error:
        raise DivergenceError(step, "training diverged", str(error)) from error
    except ValueError as error:
        if not re.search(r"\b(nan|inf)\b", str(error)):
            raise
        raise DivergenceError(step, "training diverged", str(error)) from error


def run_guarded(main: Callable[[], object]) -> None:
    """Run `main()`, then exit; a run that ends early ends with one line, not a traceback.

    Exit status 0 when `main` returns, and when
    - training diverges, or a file cannot be written or read (`RunError`): the reason
      on stderr, exit 1;
    - the user presses Ctrl-C (KeyboardInterrupt): "interrupted", exit 130;
    - stdout is a pipe that closed (``script.py | head -1``): silently, exit 141.
    While `main` runs, Ctrl-C raises KeyboardInterrupt (so that a save in progress
    removes its temporary file); before and after, the handler that was there
    (`interrupt_guard`'s, in a script) is in place.
    """
    previous = signal.getsignal(signal.SIGINT)
    try:  # (before the handler changes: a Ctrl-C from then on is caught below)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        main()
        sys.stdout.flush()  # a closed pipe shows up here, while we can still catch it
    except RunError as error:
        print(f"{Path(sys.argv[0]).name}: {error}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        print(interrupted_line(), file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # Python would flush stdout again at exit and fail again: point it at devnull.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def writing(what: str) -> Iterator[None]:
    """Turn an OSError while writing `what` (a full disk, a folder gone since the run
    started) into a `RunError` saying so in one line."""
    try:
        yield
    except OSError as error:
        name = f" {str(error.filename)!r}" if error.filename else ""
        reason = error.strerror or str(error)
        raise RunError(f"could not write {what}{name}: {reason}") from error


def write_figures(draw: Callable[[], list[Path]]) -> None:
    """Call `draw`, which writes a run's figures and returns their paths, then print
    "wrote <path>, <path>, ..."; a write that fails is a `RunError` (see `writing`)."""
    with writing("the figures"):
        paths = draw()
    print("wrote " + ", ".join(map(str, paths)))


def check_finite_weights(model: Any, step: int) -> None:
    """`DivergenceError` at `step` unless every parameter of `model` is a finite number
    (an update can overflow a weight while the loss that led to it was finite)."""
    if not all(math.isfinite(p.data) for p in model.parameters()):
        raise DivergenceError(step, "the weights became nan or inf")


def save_model(model: Any, path: Path) -> None:
    """`model.save(path)`, then a line saying so and how to load it back.

    A save that fails is a `RunError` (see `writing`); the save itself is atomic, and
    leaves no file behind.
    """
    with writing(f"the model to {str(path)!r}"):
        model.save(path)
    build = f"nn.MLP({model.nin}, {model.nouts}"
    if model.activation != "relu":
        build += f", activation={model.activation!r}"
    print(f"wrote {path} (to load it: model = {build}); model.load({str(path)!r}))")


def int_between(low: int, high: int) -> Callable[[str], int]:
    """The argument type of an int in [low, high]; its error names both bounds."""

    def checked(text: str) -> int:
        value = _int_at_least(text, low)
        if value > high:
            raise argparse.ArgumentTypeError(f"expected an integer <= {high}, got {text!r}")
        return value

    return checked


def positive_int(text: str) -> int:
    """An int >= 1."""
    return _int_at_least(text, 1)


def numpy_seed(text: str) -> int:
    """An int in [0, 2**32 - 2].

    numpy's RandomState takes seeds below 2**32, and a script may draw a second data
    set with seed + 1.
    """
    value = _int_at_least(text, 0)
    if value > 2**32 - 2:
        raise argparse.ArgumentTypeError(f"expected an integer <= {2**32 - 2}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0."""
    value = _finite_float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite float >= 0."""
    value = _finite_float(text)
    if value < 0.0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def momentum(text: str) -> float:
    """A float in [0, 1): SGD's momentum factor."""
    value = _finite_float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


# The flags the training scripts share; `group` is a parser or one of its argument groups.
Group = argparse.ArgumentParser | argparse._ArgumentGroup
MAX_WIDTH = 256  # each hidden layer


def add_hidden_flag(group: Group, default: list[int], outputs: str) -> None:
    """--hidden WIDTH [WIDTH ...]: the hidden layers' widths, each 1 to MAX_WIDTH.
    `outputs` says what the output layer has ("one neuron", "10")."""
    group.add_argument(
        "--hidden",
        type=int_between(1, MAX_WIDTH),
        nargs="+",
        default=default,
        metavar="WIDTH",
        help=f"hidden layer widths, each 1 to {MAX_WIDTH}; the output layer has {outputs} "
        f"(default: {' '.join(map(str, default))})",
    )


def add_out_dir_flag(group: Group, figures: str) -> None:
    """--out-dir: the folder for `figures` (what the help calls them); `make_out_dir`
    creates it once the flags are parsed."""
    group.add_argument(
        "--out-dir",
        type=Path,
        default=Path("."),
        help=f"folder for {figures}, created if missing (default: the current folder)",
    )


def add_save_model_flag(group: Group, default_model: str, default_hidden: str) -> None:
    """--save-model PATH, whose help says how to load the file: build `default_model`
    (the model of the default --hidden, `default_hidden`) and call its load."""
    group.add_argument(
        "--save-model",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the trained weights here (numpy .npz); to load them, build the same "
        f"model and call its load: model = {default_model}; model.load(PATH) for "
        f"the default --hidden {default_hidden} (the run prints the line for its own sizes)",
    )


def add_diagnose_flag(group: Group, prefix: str) -> None:
    """--diagnose: also draw <prefix>_histograms.png and <prefix>_over_training.png."""
    group.add_argument(
        "--diagnose",
        action="store_true",
        help="also draw each layer's outputs, gradients and update ratio over training "
        f"({prefix}_histograms.png, {prefix}_over_training.png)",
    )


def make_out_dir(parser: argparse.ArgumentParser, out_dir: Path) -> Path:
    """`out_dir`, created if missing; a usage error (exit 2) if it cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"argument --out-dir: cannot create {str(out_dir)!r}: {error.strerror}")
    if not os.access(out_dir, os.W_OK):
        parser.error(f"argument --out-dir: cannot write into {str(out_dir)!r}")
    return out_dir


def check_output_file(parser: argparse.ArgumentParser, flag: str, path: Path | None) -> None:
    """A usage error (exit 2) unless `path` (if given) can be written.

    Its folder must exist and be writable; `path` must not be a folder or a read-only file.
    Through a symlink, these hold of the file it points to, which the save writes.
    """
    if path is None:
        return
    folder = Path(os.path.realpath(path)).parent
    if not folder.is_dir():
        parser.error(f"argument {flag}: no folder {str(folder)!r}")
    if path.is_dir():
        parser.error(f"argument {flag}: {str(path)!r} is a folder")
    writable = os.access(folder, os.W_OK | os.X_OK) and _can_create_in(folder)
    if not writable or (path.exists() and not os.access(path, os.W_OK)):
        parser.error(f"argument {flag}: cannot write {str(path)!r}")


def _can_create_in(folder: Path) -> bool:
    """True if a file can be created in `folder`: tried, with a file removed at once.

    `os.access` says yes to root everywhere, /proc included; creating a file says
    what the save at the end of the run will meet.
    """
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        return False
    os.unlink(probe)
    return True


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value
