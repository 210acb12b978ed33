"""examples/to_pytorch.py: the same outputs in PyTorch; without torch, a hint and exit 0."""

from __future__ import annotations

import re
import sys
from unittest import mock

import pytest
import to_pytorch


def test_the_torch_twin_gives_the_same_outputs_and_trains_on(run_script):
    pytest.importorskip("torch")
    result = run_script("to_pytorch.py", "--torch-steps", "3")
    assert result.returncode == 0, result.stderr
    difference = re.search(r"outputs on 100 held-out rows: (\S+)", result.stdout)
    assert float(difference.group(1)) < 1e-12
    assert len(re.findall(r"^PyTorch step \d: loss \d+\.\d+$", result.stdout, re.M)) == 3


def test_a_saved_digits_model_loads_and_moves(run_script, tmp_path):
    pytest.importorskip("torch")
    flags = ["--hidden", "8", "--epochs", "1", "--save-model", "d.npz"]
    assert run_script("train_digits.py", *flags).returncode == 0
    result = run_script("to_pytorch.py", "--load", "d.npz", "--torch-steps", "1")
    assert result.returncode == 0, result.stderr
    assert "loaded MLP(64, [8, 10])" in result.stdout
    assert float(re.search(r"held-out rows: (\S+)", result.stdout).group(1)) < 1e-12


def test_without_torch_it_says_how_to_install_it_and_exits_0(capsys):
    with mock.patch.dict(sys.modules, {"torch": None}):  # `import torch` raises ImportError
        to_pytorch.main([])
    assert capsys.readouterr().out == to_pytorch.INSTALL_HINT + "\n"


def test_a_missing_weights_file_is_a_usage_error(run_script, assert_usage_error):
    assert_usage_error(run_script("to_pytorch.py", "--load", "nothing.npz"))
