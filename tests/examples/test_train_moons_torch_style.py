"""examples/train_moons_torch_style.py: runs end to end, saves PyTorch's names, rejects bad
flags, and builds the optimizer groups it says."""

from __future__ import annotations

import re

import numpy as np
import pytest
import train_moons_torch_style as script
from sklearn.datasets import make_moons

import nn

SUMMARY = re.compile(r"^final: loss=(\d+\.\d{4}) train_acc=(\d\.\d{3}) test_acc=(\d\.\d{3})$", re.M)
TINY = ["--samples", "20", "--hidden", "4", "--epochs", "3", "--seed", "3"]


def test_a_tiny_run_prints_the_model_and_saves_weights_with_pytorchs_names(run_script, tmp_path):
    result = run_script("train_moons_torch_style.py", *TINY, "--save-model", "model.npz")
    assert result.returncode == 0, result.stderr
    assert "(0): Linear(in_features=2, out_features=4, bias=True)" in result.stdout
    assert "epoch    3" in result.stdout
    reported = float(SUMMARY.search(result.stdout).group(2))
    with np.load(tmp_path / "model.npz") as archive:
        assert {k: archive[k].shape for k in archive.files} == {
            "0.weight": (4, 2), "0.bias": (4,), "2.weight": (4, 4), "2.bias": (4,),
            "4.weight": (1, 4), "4.bias": (1,),
        }  # fmt: skip
    model = script.make_model(4)
    model.load(tmp_path / "model.npz")
    x, y = make_moons(n_samples=20, noise=0.1, random_state=np.random.RandomState(3))
    assert script.accuracy(model(x), y) == pytest.approx(reported, abs=5e-4)


def test_help_and_a_bad_flag(run_script, assert_usage_error):
    result = run_script("train_moons_torch_style.py", "--help")
    assert result.returncode == 0 and "as in PyTorch" in result.stdout
    assert_usage_error(run_script("train_moons_torch_style.py", "--lr", "0"))


@pytest.mark.parametrize(
    "flags", [["--epochs", "x"], ["--hidden", "0"], ["--samples", "1"], ["--bogus"]]
)
def test_bad_flags_exit_2_with_a_usage_line(flags, capsys):
    with pytest.raises(SystemExit) as info:
        script.parse_args(flags)
    assert info.value.code == 2 and "usage:" in capsys.readouterr().err


def test_the_optimizer_decays_the_weights_and_not_the_biases():
    model = script.make_model(3)
    optimizer = script.make_optimizer(model, lr=0.5)
    decayed, free = optimizer.param_groups
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert decayed["params"] == [w for m in linears for row in m.weight for w in row]
    assert free["params"] == [b for m in linears for b in m.bias]
    assert (decayed["weight_decay"], free["weight_decay"]) == (script.WEIGHT_DECAY, 0.0)
    assert decayed["lr"] == free["lr"] == 0.5 and decayed["momentum"] == script.MOMENTUM
