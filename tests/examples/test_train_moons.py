"""examples/train_moons.py: runs end to end, reproduces micrograd's demo, rejects bad flags."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
import train_moons
from sklearn.datasets import make_moons

import nn

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SUMMARY = re.compile(
    r"^final: loss=(\d+\.\d{4}) train_acc=(\d\.\d{3}) test_acc=(\d\.\d{3}) time=\d+\.\ds$",
    re.MULTILINE,
)
TINY = ["--samples", "12", "--test-samples", "10", "--hidden", "4", "--epochs", "3"]


def test_tiny_run_writes_both_figures_and_the_summary_line(run_script, tmp_path):
    result = run_script("train_moons.py", *TINY, "--out-dir", "figures")
    assert result.returncode == 0, result.stderr
    assert SUMMARY.search(result.stdout), result.stdout
    assert "step    3/3" in result.stdout
    for name in ("moons_decision_boundary.png", "moons_training_curves.png"):
        assert (tmp_path / "figures" / name).read_bytes()[:8] == PNG_MAGIC


def test_saved_model_has_the_reported_training_accuracy(run_script, tmp_path):
    flags = ["--batch-size", "5", "--optimizer", "adam", "--loss", "bce", "--seed", "7"]
    result = run_script("train_moons.py", *TINY, *flags, "--save-model", "model.npz")
    assert result.returncode == 0, result.stderr
    reported = float(SUMMARY.search(result.stdout).group(2))
    model = nn.MLP(2, [4, 1])
    model.load(tmp_path / "model.npz")
    points, labels = train_moons.moons(12, 0.1, 7)
    scores = [model(row) for row in points]
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
    history = train_moons.train(args, model, points, labels)
    capsys.readouterr()
    assert history["loss"] == pytest.approx(reference_losses, rel=1e-9)
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
        "--save-model",
    ):  # fmt: skip
        assert re.search(rf"^  {flag} .*\S", text, re.MULTILINE), flag  # with its help text
