"""How the training scripts end when something outside them goes wrong: Ctrl-C at any
moment (during the imports too), a save that fails at the end, a damaged --load file.

Every test runs the real script in a subprocess. A signal is sent at a moment the
script itself announces (a line it prints, or, for the imports, the line that
``python -X importtime`` prints as each module finishes importing), so what is tested
does not depend on how fast the machine is.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import train_digits
import train_moons

import nn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TINY = [
    "--samples", "12", "--test-samples", "10", "--hidden", "4", "--grid", "10",
]  # fmt: skip
ARGS = {
    "train_moons.py": [*TINY, "--epochs", "10000"],
    "train_digits.py": ["--hidden", "4", "--epochs", "1000"],
}


def start(script: str, args: list[str], cwd: Path, env: dict, *python_flags: str):
    return subprocess.Popen(
        [sys.executable, *python_flags, str(EXAMPLES / script), *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def import_finished(line: str) -> str | None:
    """The module a line of ``-X importtime`` says has been imported (None for its
    header, and for any other line)."""
    match = re.fullmatch(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*", line)
    return match.group(1) if match else None


# The first module is the guard itself (its handler is in place once it has imported);
# the others run from the heaviest imports to the last one of each script.
IMPORT_MOMENTS = [
    ("train_moons.py", "interrupt_guard"),
    ("train_moons.py", "numpy"),
    ("train_moons.py", "matplotlib"),
    ("train_moons.py", "sklearn.datasets"),
    ("train_moons.py", "optim"),
    ("train_digits.py", "numpy"),
    ("train_digits.py", "nn"),
]


@pytest.mark.parametrize(("script", "module"), IMPORT_MOMENTS)
def test_ctrl_c_while_importing_ends_with_130_and_one_line(script, module, tmp_path, env):
    process = start(script, ARGS[script], tmp_path, env, "-X", "importtime")
    others = []
    for line in process.stderr:  # read until `module` has been imported
        if import_finished(line) == module:
            break
        if not line.startswith("import time:"):
            others.append(line)
    else:
        pytest.fail(f"{script} never imported {module}: {''.join(others)}")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)
    others += [line for line in stderr.splitlines(True) if not line.startswith("import time:")]
    assert others == [f"{script}: interrupted\n"]
    assert process.returncode == 130


@pytest.mark.parametrize(
    ("script", "moment"),
    [
        ("train_moons.py", "final:"),  # after training: the engines compared, then drawing
        ("train_digits.py", "epoch"),
    ],
)
def test_ctrl_c_later_ends_with_130_and_one_line(script, moment, tmp_path, env):
    args = ARGS[script]
    if moment == "final:":  # a short run, then a long drawing (1000 x 1000 scores)
        args = [*TINY, "--epochs", "2", "--compile", "--grid", "1000"]
    process = start(script, args, tmp_path, env, "-u")
    for line in process.stdout:
        if line.startswith(moment):
            break
    else:
        pytest.fail(f"{script} never printed {moment!r}: {process.stderr.read()}")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)
    assert stderr == f"{script}: interrupted\n"
    assert process.returncode == 130


def _resource_limit(limit_bytes: int):
    """A preexec_fn: no file of the child may grow beyond `limit_bytes` (a full disk,
    for that child alone). Python ignores SIGXFSZ, so the write fails with EFBIG."""

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return limit


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits")
def test_a_save_that_fails_at_the_end_says_so_in_one_line(tmp_path, env):
    """The model's file (535 kB) is the one file too large for the child's limit: the
    figures are written, then the save fails after its temporary file was created.
    One line, exit 1, and no file left in the model's folder. (train_digits saves
    through the same `script_args.save_model`.)"""
    script = "train_moons.py"
    models = tmp_path / "models"
    models.mkdir()
    flags = [*TINY, "--samples", "2", "--test-samples", "2", "--hidden", "256", "256"]
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *flags, "--epochs", "1",
         "--save-model", "models/m.npz"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
        preexec_fn=_resource_limit(400_000),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"{script}: could not write the model to 'models/m.npz': File too large"
    ]
    assert "wrote" in done.stdout  # the figures were written first
    assert list(models.iterdir()) == []


def test_a_model_path_in_proc_is_refused_before_training(tmp_path, env):
    """`os.access` says yes to root in /proc; the check tries to create a file."""
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "train_moons.py"), *TINY, "--save-model", "/proc/m.npz"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "argument --save-model: cannot write '/proc/m.npz'" in done.stderr
    assert "step" not in done.stdout


@pytest.mark.parametrize("script", ["train_moons.py", "train_digits.py"])
def test_the_printed_load_line_loads_the_saved_model(script, tmp_path, env):
    flags = {
        "train_moons.py": [*TINY, "--hidden", "5", "3", "--epochs", "2"],
        "train_digits.py": ["--hidden", "6", "--epochs", "1"],
    }[script]
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *flags, "--save-model", "m.npz"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = re.search(r"^wrote m\.npz \(to load it: (.*)\)$", done.stdout, re.MULTILINE)
    assert line, done.stdout
    names = {"nn": nn}
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        exec(line.group(1), names)  # the line a learner would paste
    finally:
        os.chdir(cwd)
    with np.load(tmp_path / "m.npz") as saved:
        for key, value in names["model"].state_dict().items():
            np.testing.assert_array_equal(value, saved[key])


@pytest.mark.parametrize("script", [train_moons, train_digits])
def test_the_help_says_how_to_load_a_saved_model(script, capsys):
    with pytest.raises(SystemExit):
        script.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "MLP.load" not in text
    assert re.search(r"model = nn\.MLP\(\d+, \[[\d, ]+\]\); model\.load\(PATH\)", text)


def write_damaged(path: Path) -> None:
    nn.MLP(2, [3, 1], seed=0).save(path)
    path.write_bytes(path.read_bytes()[:150])


def write_neuron(path: Path) -> None:
    nn.Neuron(3, seed=0).save(path)


def write_wrong_chain(path: Path) -> None:
    state = nn.MLP(2, [3, 1], seed=0).state_dict()
    state["layers.1.weight"] = np.zeros((1, 4))
    np.savez(path, **state)


def write_huge_shape(path: Path) -> None:
    state = nn.MLP(2, [3, 1], seed=0).state_dict()
    state["layers.0.weight"] = np.zeros((0, 2))
    np.savez(path, **state)


BAD_LOADS = [
    ("damaged", write_damaged, "is not a weights file"),
    ("a neuron's", write_neuron, "holds no MLP's weights"),
    ("layers that do not chain", write_wrong_chain, r"expects shape \(1, 3\), got \(1, 4\)"),
    ("an empty layer", write_huge_shape, "expects a positive int"),
    ("a directory", lambda p: p.mkdir(), "it is a directory, not a regular file"),
    ("/dev/zero", lambda p: p.symlink_to("/dev/zero"), "it is a character device"),
    ("a FIFO", lambda p: os.mkfifo(p), r"it is a FIFO \(named pipe\)"),
]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX file types")
@pytest.mark.parametrize(
    ("write", "reason"), [c[1:] for c in BAD_LOADS], ids=[c[0] for c in BAD_LOADS]
)
def test_to_pytorch_refuses_a_bad_file_in_one_usage_line(write, reason, tmp_path, env):
    """--load reads the file with the model's checked load, never numpy's np.load."""
    write(tmp_path / "w.npz")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "to_pytorch.py"), "--load", "w.npz"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    usage, message = done.stderr.splitlines()
    assert usage.startswith("usage: to_pytorch.py")
    assert message.startswith("to_pytorch.py: error: argument --load: ")
    assert re.search(reason, message), message
    assert "pickle" not in message


def test_progress_times_never_go_back_with_compile_and_a_gif(tmp_path, capsys):
    """Each progress line's elapsed time is the run's time so far minus the time spent
    measuring it, all of which lies inside the run: so it is >= 0 and never falls,
    however long the GIF's first frame (a 50 x 50 grid, traced) takes."""
    flags = [
        *TINY,
        "--grid",
        "100",
        "--epochs",
        "20",
        "--compile",
        "--gif",
        str(tmp_path / "b.gif"),
    ]
    train_moons.main([*flags, "--out-dir", str(tmp_path)])
    elapsed = [float(s) for s in re.findall(r"elapsed (-?\d+\.\d)s", capsys.readouterr().out)]
    assert len(elapsed) == 10
    assert elapsed[0] >= 0.0
    assert elapsed == sorted(elapsed)
