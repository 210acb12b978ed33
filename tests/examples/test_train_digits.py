"""examples/train_digits.py: the split, compiled == eager, an accuracy floor, bad flags."""

from __future__ import annotations

import re

import numpy as np
import pytest
import train_digits
from digits_plots import FILES, confusion_matrix

import nn

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SUMMARY = re.compile(
    r"^final: loss=(\d+\.\d{4}) test_acc=(\d\.\d{3}) time=\d+\.\ds \((eager|compiled)\)$",
    re.MULTILINE,
)
SMALL = ["--hidden", "16", "--epochs", "4", "--batch-size", "50", "--lr", "0.05"]


def test_the_split_holds_out_a_fifth_drawn_with_the_seed():
    train, test = train_digits.digits(0)
    assert (len(train.images), len(test.images)) == (1438, 359)
    assert train.images.shape[1] == 64
    assert train.images.min() >= 0.0 and train.images.max() == 1.0
    other = train_digits.digits(1)[1]
    assert not np.array_equal(test.labels, other.labels)


def test_a_small_run_writes_four_figures_and_clears_an_accuracy_floor(run_script, tmp_path):
    result = run_script("train_digits.py", *SMALL, "--out-dir", "figs", "--save-model", "m.npz")
    assert result.returncode == 0, result.stderr
    summary = SUMMARY.search(result.stdout)
    assert summary and summary.group(3) == "compiled", result.stdout
    assert float(summary.group(2)) >= 0.92  # 4 epochs of a 64-16-10 net: 0.944 at seed 0
    for name in FILES.values():
        assert (tmp_path / "figs" / name).read_bytes()[:8] == PNG_MAGIC
    model = nn.MLP(64, [16, 10])
    model.load(tmp_path / "m.npz")
    test = train_digits.digits(0)[1]
    predicted = train_digits.make_predictor(model)(test.images)
    assert np.mean(predicted == test.labels) == pytest.approx(float(summary.group(2)), abs=5e-4)


def test_eager_and_compiled_training_give_the_same_numbers(capsys):
    train, test = train_digits.digits(3)
    results = []
    for flags in (["--eager"], []):
        args = train_digits.parse_args(["--epochs", "1", "--batch-size", "500", *flags])
        model = nn.MLP(64, [8, 10], seed=3)
        results.append((train_digits.train(args, model, train, test), model.state_dict()))
    capsys.readouterr()
    assert results[0][0] == results[1][0]
    for key, value in results[0][1].items():
        np.testing.assert_array_equal(results[1][1][key], value)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    counts = confusion_matrix(np.array([1, 1, 2, 9]), np.array([1, 7, 2, 9]))
    assert counts[1, 1] == 1 and counts[1, 7] == 1 and counts[2, 2] == 1 and counts[9, 9] == 1
    assert counts.sum() == 4


def test_a_diverging_run_ends_with_one_line(run_script):
    result = run_script("train_digits.py", *SMALL, "--lr", "1e300", "--out-dir", "out")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert re.fullmatch(r"train_digits\.py: .* at step \d+.*; try a smaller --lr", line), line


@pytest.mark.parametrize(
    "flags",
    [
        ["--epochs", "0"],
        ["--epochs", str(10**20)],
        ["--hidden", "257"],
        ["--batch-size", "1438"],
        ["--lr", "-1"],
        ["--seed", "x"],
        ["--save-model", "no/such/folder/m.npz"],
        ["--bogus"],
    ],
)
def test_bad_values_are_usage_errors(flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_digits.parse_args([*flags, "--out-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_a_bad_flag_exits_2_without_a_traceback(run_script, assert_usage_error):
    assert_usage_error(run_script("train_digits.py", "--batch-size", "0"))


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit):
        train_digits.parse_args(["--help"])
    text = capsys.readouterr().out
    for flag in ("--epochs", "--batch-size", "--lr", "--hidden", "--seed", "--out-dir",
                 "--save-model", "--eager"):  # fmt: skip
        assert re.search(rf"^  {flag} .*\S", text, re.MULTILINE), flag


@pytest.mark.slow
def test_the_defaults_reach_96_percent(tmp_path, capsys):
    train_digits.main(["--out-dir", str(tmp_path)])
    summary = SUMMARY.search(capsys.readouterr().out)
    assert float(summary.group(2)) >= 0.96


def test_diagnose_draws_its_pictures_and_changes_no_number(run_script, tmp_path):
    short = [*SMALL, "--epochs", "1"]
    plain = run_script("train_digits.py", *short, "--out-dir", "plain")
    diagnosed = run_script("train_digits.py", *short, "--out-dir", "figs", "--diagnose")
    assert diagnosed.returncode == 0, diagnosed.stderr
    for name in ("digits_histograms.png", "digits_over_training.png"):
        assert (tmp_path / "figs" / name).read_bytes()[:6] == b"\x89PNG\r\n"
    losses = [re.findall(r"loss \S+", run.stdout) for run in (plain, diagnosed)]
    assert losses[0] == losses[1] and losses[0]
