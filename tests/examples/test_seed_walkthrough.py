"""examples/seed_walkthrough.py: the article's numbers, backward's order, the graph picture."""

from __future__ import annotations

import re
from pathlib import Path

import seed_walkthrough
from PIL import Image

from minitorch_scalar import explain_backward

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_script_prints_the_articles_results_and_draws_the_graph(run_script, tmp_path):
    result = run_script("seed_walkthrough.py", "--out-dir", "pictures", "--html")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Section 2 of the article: (value, grad) before and after backward.
    assert "x: (-2, 0)  z: (-4, 0)  y1: (1, 0)  y2: (17, 0)  loss: (-50, 0)" in out
    result_line = out.split("Result")[1].splitlines()[1]
    assert result_line == "  x: (-2, 64)  z: (-4, 25)  y1: (1, 1)  y2: (17, -3)  loss: (-50, 1)"
    # Problem 1: y = z, z = 1 -> y = 1, grad_z = 1. Problem 2: z = x^2, y = 2z at x = 2
    # -> z = 4, y = 8, grad_z = dy/dz = 2, grad_x = 2 * 2x = 8.
    assert "y = 1, grad_z = 1" in out
    assert "z = 4, y = 8, grad_z = 2, grad_x = 8" in out
    # y_1 = 2 x_0 - x_1 seeded with 3: x_0.grad = 2 * 3 = 6, x_1.grad = -1 * 3 = -3;
    # starting from x_0.grad = 2 it is 2 + 2 * 3 = 8.
    assert "x_0.grad = 0 + 2 * 3 = 6, x_1.grad = -3" in out
    assert "2 + 2 * 3 = 8" in out
    picture = tmp_path / "pictures" / "seed_graph.png"
    assert picture.read_bytes()[:8] == PNG_MAGIC
    with Image.open(tmp_path / "pictures" / "seed_backward.gif") as gif:
        assert gif.n_frames == 14  # one per step: the 14 updates the walk-through prints
    assert len(re.findall(r"^    grad\(.* <- ", out, re.MULTILINE)) == 14
    player = (tmp_path / "pictures" / "seed_backward.html").read_text(encoding="utf-8")
    assert player.count("data:image/png;base64,") == 14 and "https://" not in player


def test_the_running_sums_end_at_the_gradients_of_the_article(capsys):
    nodes = seed_walkthrough.build_article_graph()
    seed_walkthrough.walk_through_backward(nodes["loss"])
    updates = re.findall(r"grad\((\S+)\) <- .* = (\S+)$", capsys.readouterr().out, re.MULTILINE)
    last = dict(updates)  # the final update of each node
    assert {name: float(last[name]) for name in ("x", "z", "y1", "y2")} == {
        "x": 64.0,
        "z": 25.0,
        "y1": 1.0,
        "y2": -3.0,
    }
    assert {name: node.grad for name, node in nodes.items()} == {
        "x": 64.0,
        "z": 25.0,
        "y1": 1.0,
        "y2": -3.0,
        "loss": 1.0,
    }


def test_each_node_is_visited_after_every_node_that_uses_it(capsys):
    nodes = seed_walkthrough.build_article_graph()
    steps = seed_walkthrough.walk_through_backward(nodes["loss"])
    printed = re.findall(r"^  visit (\S+):", capsys.readouterr().out, re.MULTILINE)
    visits = list(dict.fromkeys(step.node for step in steps))
    assert [node.label for node in visits] == printed
    assert visits[0] is nodes["loss"]
    index = {node: i for i, node in enumerate(visits)}
    for node in visits:
        for parent in node.parents:
            if parent in index:  # interior parents; leaves are never visited
                assert index[parent] > index[node]
    assert {node.label for node in visits} == {
        "loss", "y2*x", "y1-y2", "y2", "relu(s)+x", "relu(s)", "s", "y1", "z",
    }  # fmt: skip


def test_the_readme_quotes_what_explain_backward_prints_on_the_article():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Backward, step by step, on any graph\n", 1)[1]
    quoted = section.split("```text\n", 1)[1].split("```", 1)[0]
    printed = str(explain_backward(seed_walkthrough.build_article_graph()["loss"]))
    assert printed.startswith(quoted.rstrip("\n"))


def test_an_out_dir_that_is_a_file_is_a_usage_error(run_script, assert_usage_error, tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    assert_usage_error(run_script("seed_walkthrough.py", "--out-dir", "taken"))


def test_an_unknown_flag_is_a_usage_error(run_script, assert_usage_error):
    assert_usage_error(run_script("seed_walkthrough.py", "--bogus"))
