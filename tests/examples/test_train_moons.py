"""examples/train_moons.py: runs end to end, reproduces micrograd's demo, rejects bad flags."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import moons_args
import moons_watch
import numpy as np
import pytest
import train_moons
from PIL import Image
from script_args import run_guarded
from sklearn.datasets import make_moons

import nn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GIF_MAGIC = b"GIF89a"
SUMMARY = re.compile(
    r"^final: loss=(\d+\.\d{4}) train_acc=(\d\.\d{3}) test_acc=(\d\.\d{3}) "
    r"time=\d+\.\ds \((eager|compiled)\)$",
    re.MULTILINE,
)
TINY = [
    "--samples", "12", "--test-samples", "10", "--hidden", "4", "--epochs", "3", "--grid", "10",
]  # fmt: skip


def test_tiny_run_writes_the_figures_the_gif_and_the_summary_line(run_script, tmp_path):
    result = run_script("train_moons.py", *TINY, "--out-dir", "figures", "--gif", "b.gif")
    assert result.returncode == 0, result.stderr
    assert SUMMARY.search(result.stdout), result.stdout
    assert "step    3/3" in result.stdout
    for name in ("moons_decision_boundary.png", "moons_training_curves.png"):
        assert (tmp_path / "figures" / name).read_bytes()[:8] == PNG_MAGIC
    gif = tmp_path / "b.gif"
    assert gif.read_bytes()[:6] == GIF_MAGIC
    with Image.open(gif) as image:
        assert image.n_frames == 4  # steps 0 (before training), 1, 2, 3


def test_saved_model_has_the_reported_training_accuracy(run_script, tmp_path):
    flags = ["--batch-size", "5", "--optimizer", "adam", "--loss", "bce", "--seed", "7"]
    result = run_script("train_moons.py", *TINY, *flags, "--save-model", "model.npz")
    assert result.returncode == 0, result.stderr
    reported = float(SUMMARY.search(result.stdout).group(2))
    model = nn.MLP(2, [4, 1])
    model.load(tmp_path / "model.npz")
    points, labels = train_moons.moons(12, 0.1, 7)
    scores = model(points)
    assert train_moons.accuracy(scores, labels) == pytest.approx(reported, abs=5e-4)


def test_moons_draws_the_points_of_micrographs_global_seed():
    saved = np.random.get_state()
    try:
        np.random.seed(1337)
        expected = make_moons(n_samples=100, noise=0.1)  # micrograd's demo
    finally:
        np.random.set_state(saved)
    points, labels = train_moons.moons(100, 0.1, 1337)
    np.testing.assert_array_equal(points, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


def test_each_loss_the_flag_offers_has_its_function_and_its_targets():
    """--loss's choices (moons_args) and the losses train_moons computes are one list."""
    names = list(moons_args.LOSS_NAMES)
    assert list(train_moons.LOSSES) == list(train_moons.TARGETS) == names
    labels = np.array([0, 1, 1])
    assert train_moons.TARGETS["hinge"](labels).tolist() == [-1, 1, 1]
    assert train_moons.TARGETS["bce"](labels).tolist() == [0, 1, 1]


def test_accuracy_counts_positive_scores_as_class_one():
    from minitorch_scalar import Value

    scores = [Value(2.0), Value(-1.0), Value(0.5), Value(-3.0)]
    labels = np.array([1, 1, 0, 0])  # right, wrong, wrong, right
    assert train_moons.accuracy(scores, labels) == 0.5


def test_first_steps_match_micrograd_demo(capsys):
    micrograd_engine = pytest.importorskip("micrograd.engine")
    micrograd_nn = pytest.importorskip("micrograd.nn")
    samples, steps = 20, 3
    points, labels = train_moons.moons(samples, 0.1, 1337)

    saved = random.getstate()
    try:
        random.seed(1337)  # micrograd draws its weights from the global generator
        reference = micrograd_nn.MLP(2, [16, 16, 1])
    finally:
        random.setstate(saved)
    targets = labels * 2 - 1
    reference_losses = []
    for k in range(steps):  # micrograd's demo loop, verbatim in its arithmetic
        scores = [reference(list(map(micrograd_engine.Value, row))) for row in points]
        losses = [(1 + -t * s).relu() for t, s in zip(targets, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        total = data_loss + 1e-4 * sum(p * p for p in reference.parameters())
        reference.zero_grad()
        total.backward()
        for p in reference.parameters():
            p.data -= (1.0 - 0.9 * k / steps) * p.grad
        reference_losses.append(float(total.data))

    args = train_moons.parse_args(["--samples", str(samples), "--epochs", str(steps)])
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    data = train_moons.Points(points, labels)
    history = train_moons.train(args, model, data, data)
    capsys.readouterr()
    assert history.loss == pytest.approx(reference_losses, rel=1e-9)
    assert [v.data for v in model.parameters()] == pytest.approx(
        [float(p.data) for p in reference.parameters()], rel=1e-9, abs=1e-12
    )


@pytest.mark.slow
def test_defaults_reach_full_training_accuracy(tmp_path, capsys):
    train_moons.main(["--out-dir", str(tmp_path)])
    summary = SUMMARY.search(capsys.readouterr().out)
    assert summary.group(2) == "1.000"
    assert float(summary.group(3)) >= 0.95


@pytest.mark.parametrize(
    "flags",
    [
        ["--epochs", "-1"],
        ["--epochs", "0"],
        ["--hidden", "16", "0"],
        ["--hidden"],
        ["--lr", "abc"],
        ["--lr", "nan"],
        ["--noise", "-0.1"],
        ["--samples", "1.5"],
        ["--momentum", "1"],
        ["--momentum", "0.9", "--optimizer", "adam"],
        ["--samples", "10", "--batch-size", "11"],
        ["--loss", "mse"],
        ["--save-model", "no/such/folder/model.npz"],
        ["--save-model", "."],
        ["--gif", "no/such/folder/boundary.gif"],
        ["--samples", str(10**20)],
        ["--samples", "10001"],
        ["--test-samples", "10001"],
        ["--hidden", "257"],
        ["--epochs", "10001"],
        ["--batch-size", str(10**20)],
        ["--grid", "9"],
        ["--grid", "1001"],
        ["--seed", "-1"],
        ["--seed", str(2**32 - 1)],
    ],
)
def test_bad_values_are_usage_errors(flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_moons.parse_args([*flags, "--out-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_a_bad_flag_exits_2_without_a_traceback(run_script, assert_usage_error):
    assert_usage_error(run_script("train_moons.py", "--epochs", "-3"))


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_moons.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--samples", "--noise", "--test-samples", "--hidden", "--epochs", "--lr",
        "--batch-size", "--optimizer", "--momentum", "--loss", "--seed", "--out-dir",
        "--save-model", "--compile", "--gif", "--grid",
    ):  # fmt: skip
        assert re.search(rf"^  {flag} .*\S", text, re.MULTILINE), flag  # with its help text


def test_help_states_the_maxima(capsys):
    with pytest.raises(SystemExit):
        train_moons.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "training points, 1 to 10000" in text
    assert "each 1 to 256" in text
    assert "1 to 10000 (default: 100)" in text  # --epochs


@pytest.mark.parametrize("existing", [False, True])
def test_a_model_path_that_cannot_be_written_is_a_usage_error(existing, tmp_path, capsys):
    (tmp_path / "locked").mkdir()
    target = tmp_path / "locked" / "m.npz"
    if existing:
        target.write_bytes(b"")
    flags = ["--save-model", str(target), "--out-dir", str(tmp_path)]
    real_access = os.access
    read_only = mock.patch(  # as if "locked" and all in it were read-only, even for root
        "script_args.os.access",
        lambda path, mode: "locked" not in str(path) and real_access(path, mode),
    )
    with read_only, pytest.raises(SystemExit) as exit_info:
        train_moons.parse_args(flags)
    assert exit_info.value.code == 2
    assert f"argument --save-model: cannot write '{target}'" in capsys.readouterr().err


SMALL = ["--samples", "12", "--test-samples", "10", "--grid", "10", "--epochs", "20"]
DIVERGED = re.compile(
    r"train_moons\.py: (loss became (nan|inf)|training diverged) at step \d+.*; try a smaller --lr"
)


def test_a_diverging_run_ends_with_one_line_and_draws_nothing(run_script, tmp_path):
    result = run_script("train_moons.py", *SMALL, "--lr", "1e6", "--out-dir", "out")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert DIVERGED.fullmatch(line), line
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("flags", [["--noise", "1e300"], ["--lr", "1e300", "--loss", "bce"]])
def test_more_diverging_runs(flags, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train_moons.py"])
    with pytest.raises(SystemExit) as exit_info:
        run_guarded(lambda: train_moons.main([*SMALL, *flags, "--out-dir", str(tmp_path)]))
    assert exit_info.value.code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert DIVERGED.fullmatch(line), line
    assert list(tmp_path.iterdir()) == []


def failing_at(step: int, error: Exception):
    """A stand-in for train_moons.make_step: the real loss, except that its `step`-th
    call raises `error` (as the engine does on an overflow, or on a bug)."""
    real = train_moons.make_step

    def make_step(model, loss_name, compiled):
        forward = real(model, loss_name, compiled)
        calls = []

        def failing(points, targets):
            calls.append(step)
            if len(calls) == step:
                raise error
            return forward(points, targets)

        return failing

    return make_step


def test_an_engine_overflow_counts_as_divergence(monkeypatch, capsys):
    from script_args import DivergenceError

    overflow = OverflowError("exp: e ** 1000.0 overflows a float")
    monkeypatch.setattr(train_moons, "make_step", failing_at(4, overflow))
    args = train_moons.parse_args(["--samples", "12", "--epochs", "6"])
    data = train_moons.Points(*train_moons.moons(12, 0.1, 1))
    with pytest.raises(DivergenceError, match=r"training diverged at step 4 \(exp: .*smaller --lr"):
        train_moons.train(args, nn.MLP(2, [4, 1], seed=1), data, data)
    assert "step    3/6" in capsys.readouterr().out  # three steps went through first


def test_a_value_error_without_nan_or_inf_is_a_bug_not_a_divergence(monkeypatch):
    bug = ValueError("backward: this output has no backward")
    monkeypatch.setattr(train_moons, "make_step", failing_at(1, bug))
    args = train_moons.parse_args(["--samples", "12", "--epochs", "2"])
    data = train_moons.Points(*train_moons.moons(12, 0.1, 1))
    with pytest.raises(ValueError, match="no backward"):
        train_moons.train(args, nn.MLP(2, [4, 1], seed=1), data, data)


def test_compiled_training_gives_the_eager_numbers(capsys):
    points, labels = train_moons.moons(16, 0.1, 5)
    data = train_moons.Points(points, labels)
    losses = {}
    for flags in ([], ["--compile"]):
        args = train_moons.parse_args(["--epochs", "4", "--batch-size", "6", *flags])
        model = nn.MLP(2, [6, 1], seed=5)
        losses[bool(flags)] = (train_moons.train(args, model, data, data).loss, model.state_dict())
    capsys.readouterr()
    assert losses[True][0] == losses[False][0]
    for key, value in losses[False][1].items():
        np.testing.assert_array_equal(losses[True][1][key], value)


def test_compile_prints_a_steps_time_beside_eager_and_leaves_the_weights(tmp_path, capsys):
    model = nn.MLP(2, [6, 1], seed=5)
    before = model.state_dict()
    data = train_moons.Points(*train_moons.moons(16, 0.1, 5))
    line = train_moons.compare_engines(model, "hinge", data, rounds=2)
    assert re.fullmatch(
        r"a step's forward and backward on 16 points: compiled \d+\.\d\d ms, "
        r"eager \d+\.\d\d ms \(\d+x\)",
        line,
    ), line
    for key, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)
    assert all(p.grad == 0.0 for p in model.parameters())
    train_moons.main([*TINY, "--compile", "--out-dir", str(tmp_path)])
    assert "a step's forward and backward on 12 points: compiled" in capsys.readouterr().out


def test_held_out_accuracy_is_measured_every_epoch(capsys):
    points, labels = train_moons.moons(12, 0.1, 2)
    test = train_moons.Points(*train_moons.moons(9, 0.1, 3))
    args = train_moons.parse_args(["--epochs", "5", "--batch-size", "4"])
    model = nn.MLP(2, [4, 1], seed=2)
    history = train_moons.train(args, model, train_moons.Points(points, labels), test)
    capsys.readouterr()
    assert history.heldout_steps == [3, 6, 9, 12, 15]  # 3 batches per epoch
    assert history.heldout_accuracy[-1] == train_moons.accuracy(model(test.xy), test.labels)


def test_the_scorer_equals_the_model_called_row_by_row():
    model = nn.MLP(2, [5, 1], seed=4)
    points = np.random.default_rng(0).uniform(-2.0, 2.0, size=(23, 2))
    scores = train_moons.make_scorer(model, chunk=10)(points)  # 3 chunks, the last padded
    assert scores.tolist() == [model(row).data for row in points]


def test_the_gif_of_the_defaults_chooses_among_every_step():
    """Every one of the defaults' 100 steps is pictured, so the GIF's frames can be
    spent where the boundary moves (see moons_plots.pick_frames)."""
    assert len(set(np.linspace(0, 100, moons_watch.GIF_CANDIDATES).round().tolist())) == 101
    assert moons_watch.GIF_FRAMES == 40


def test_a_closed_pipe_ends_quietly(tmp_path, env):
    """The run is long (10,000 steps) so that it cannot end before the pipe closes,
    however slowly this test is scheduled."""
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "train_moons.py"), *TINY, "--epochs", "10000"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read()
    assert process.wait(timeout=600) == 141
    assert stderr == ""


def test_a_pipe_closed_before_the_first_line_ends_quietly(tmp_path, env):
    reader, writer = os.pipe()
    os.close(reader)  # as `| true` does: nothing will ever read
    try:
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / "train_moons.py"), *TINY],
            cwd=tmp_path, env=env, stdout=writer, stderr=subprocess.PIPE, text=True,
            timeout=600, check=False,
        )  # fmt: skip
    finally:
        os.close(writer)
    assert done.returncode == 141
    assert done.stderr == ""


def test_ctrl_c_ends_with_130_and_no_traceback(tmp_path, env):
    process = subprocess.Popen(
        [sys.executable, "-u", str(EXAMPLES / "train_moons.py"), *TINY, "--epochs", "10000"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout.readline().startswith("step")  # training has started
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 130
    assert stderr == "train_moons.py: interrupted\n"


def test_diagnose_draws_its_pictures_and_changes_no_number(run_script, tmp_path):
    plain = run_script("train_moons.py", *TINY, "--out-dir", "plain")
    diagnosed = run_script("train_moons.py", *TINY, "--out-dir", "figures", "--diagnose")
    assert diagnosed.returncode == 0, diagnosed.stderr
    for name in ("moons_histograms.png", "moons_over_training.png"):
        assert (tmp_path / "figures" / name).read_bytes()[:8] == PNG_MAGIC
    assert not (tmp_path / "plain" / "moons_histograms.png").exists()
    losses = [re.findall(r"loss \S+", run.stdout) for run in (plain, diagnosed)]
    assert losses[0] == losses[1] and losses[0]


@pytest.mark.parametrize(("lr", "least", "most"), [("1", 0, 2), ("3", 12, 16)])
def test_the_recorder_sees_relus_die_at_a_too_large_learning_rate(lr, least, most):
    """The gallery's bad run in small: at --lr 3 most relus of layer 1 die in 8 steps."""
    from diagnose_plots import Recorder

    args = train_moons.parse_args(["--lr", lr, "--epochs", "40", "--compile"])
    points, labels = train_moons.moons(100, 0.1, 1337)
    data = train_moons.Points(points, labels)
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    recorder = Recorder(model, points, lambda s: nn.hinge_loss(s, 2 * labels - 1))
    train_moons.train(args, model, data, data, recorder)
    first, last = recorder.snapshots[0][1], recorder.snapshots[-1][1]
    assert first[0].dead == () and first[1].dead == ()
    assert least <= len(last[1].dead) <= most  # of 16
    assert len(recorder.ratios) == 40 and all(len(r) == 3 for r in recorder.ratios)


def test_ctrl_c_the_moment_the_guard_hands_it_to_python_ends_with_one_line(capsys, monkeypatch):
    """A Ctrl-C that comes while `run_guarded` is still installing Python's handler (it
    raises KeyboardInterrupt there) ends as any other: one line, status 130."""
    real_signal, calls = signal.signal, []

    def signal_then_ctrl_c(number, handler):
        previous = real_signal(number, handler)
        calls.append(handler)
        if len(calls) == 1:  # the guard's first call, handing Ctrl-C to Python
            raise KeyboardInterrupt  # as the signal would, arriving now
        return previous

    monkeypatch.setattr(sys, "argv", ["train_moons.py"])
    monkeypatch.setattr(signal, "signal", signal_then_ctrl_c)
    ran = []
    with pytest.raises((SystemExit, KeyboardInterrupt)) as exit_info:  # (not stop pytest)
        run_guarded(lambda: ran.append("main"))
    assert exit_info.type is SystemExit and exit_info.value.code == 130
    assert capsys.readouterr().err == "train_moons.py: interrupted\n"
    assert ran == []
    assert calls[0] is signal.default_int_handler and len(calls) == 2  # then restored
