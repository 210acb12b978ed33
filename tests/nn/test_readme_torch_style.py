"""The README's "Written as in PyTorch": both styles' code runs, and the PyTorch-style
model learns and prints what the comments say."""

import re
from pathlib import Path

import minitorch_scalar as ms
import nn.functional as F

README = Path(__file__).resolve().parents[2] / "README.md"


def section_code() -> list[str]:
    text = README.read_text()
    section = text.split("### Written as in PyTorch", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_both_styles_run_and_the_pytorch_style_model_learns(capsys):
    micrograd_style, torch_style = section_code()
    exec(micrograd_style, {})
    namespace: dict = {}
    exec(torch_style, namespace)
    printed = capsys.readouterr().out
    assert printed.startswith("Net(\n  (hidden): Linear(in_features=2, out_features=16, bias=True)")
    assert printed.rstrip().endswith("(16, 2)")
    ms.manual_seed(0)
    untrained = namespace["Net"]()
    x, y = namespace["X"], namespace["y"]
    before = F.binary_cross_entropy_with_logits(untrained(x), y).data
    assert namespace["loss"].data < 0.5 * before
