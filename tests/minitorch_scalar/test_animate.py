"""draw_backward, and draw_graph as a notebook uses it: frames, files, the picture's promises.

One frame per step of explain_backward, each showing the gradients as they stand after
its step; a GIF with that many frames; an HTML player that fetches nothing; nothing run
when an argument is wrong; arrow labels that never cover a box.
"""

from __future__ import annotations

import random
import re

import pytest
from PIL import Image
from scalar_article import article_program
from scalar_random_programs import MINITORCH, random_program, run

import minitorch_scalar as ms
from minitorch_scalar import Value, draw_backward, draw_graph, explain_backward

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def article_loss() -> tuple[Value, Value]:
    """The article's program at x = -2: (x, loss)."""
    x = Value(-2.0, label="x")
    return x, article_program(x)["loss"]


def micrograd_lecture() -> Value:
    """The lecture's L = (a*b + c) * f at a=2, b=-3, c=10, f=-2."""
    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    return (a * b + c) * f


def box_texts(animated: ms.BackwardAnimation) -> dict[str, str]:
    """Each box's second line ("val ... grad ..."), by the box's name."""
    texts = [t.get_text() for t in animated.figure.axes[0].texts if t.get_text().count("\n") == 1]
    return {t.split("\n")[0].split(" | ")[0]: t.split("\n")[1] for t in texts if "val " in t}


def test_one_frame_per_step_each_showing_the_gradients_after_it():
    animated = draw_backward(micrograd_lecture())
    steps = animated.steps
    assert animated.frames == len(steps) == 6
    for k, step in enumerate(steps):
        animated.show_frame(k)
        shown = box_texts(animated)
        assert shown[step.parent_name].endswith(f"grad {step.after:.4g}")
        later = {s.parent_name for s in steps[k + 1 :]} - {s.parent_name for s in steps[: k + 1]}
        assert all(shown[name].endswith("grad 0") for name in later)  # not reached yet
        heading = animated.figure.axes[0].texts
        assert any(t.get_text() == f"step {k + 1} of 6:  {step}" for t in heading)


def test_the_gif_has_one_frame_per_step_and_backwards_gradients(tmp_path):
    path = tmp_path / "backward.gif"
    root = micrograd_lecture()
    animated = draw_backward(root, path)
    with Image.open(path) as gif:
        assert gif.n_frames == animated.frames == len(animated.steps) == 6
    again = micrograd_lecture()
    again.backward()
    grads = [[n.grad for n in ms.topological_order(r) if not n.parents] for r in (root, again)]
    assert grads[0] == grads[1] == [6.0, -4.0, -2.0, 4.0]


def test_the_html_player_holds_every_frame_and_fetches_nothing(tmp_path):
    path = tmp_path / "backward.html"
    animated = draw_backward(micrograd_lecture(), path, title="L = (a*b + c) * f")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/png;base64,") == animated.frames
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page
    assert 'class="fa ' not in page  # matplotlib's icon-font buttons, replaced by text
    assert "&#9654;" in page  # the play button, as text


def test_a_notebook_shows_the_player_and_the_figure(tmp_path):
    animated = draw_backward(micrograd_lecture(), tmp_path / "backward.html")
    html = animated._repr_html_()
    assert html in (tmp_path / "backward.html").read_text(encoding="utf-8")
    figure = draw_graph(micrograd_lecture())
    assert figure._repr_png_()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda root, tmp: draw_backward(root, tmp / "b.mp4"), ValueError, ".gif or .html"),
        (lambda root, tmp: draw_backward(root, 7), TypeError, "path"),
        (lambda root, tmp: draw_backward(root, max_nodes=2), ValueError, "max_nodes=2"),
        (lambda root, tmp: draw_backward(root, fps=0), ValueError, "fps"),
        (lambda root, tmp: draw_backward(root, names=3), TypeError, "names"),
    ],
)
def test_a_bad_argument_is_refused_before_backward_runs(tmp_path, call, error, message):
    a = Value(2.0)
    root = a * a + 1.0
    with pytest.raises(error, match=message):
        call(root, tmp_path)
    assert (a.grad, root.grad) == (0.0, 0.0)
    assert list(tmp_path.iterdir()) == []


def test_a_leaf_has_no_step_to_animate():
    leaf = Value(1.0)
    with pytest.raises(ValueError, match="leaf"):
        draw_backward(leaf)
    assert leaf.grad == 0.0


def overlaps(figure, boxes, labels) -> list[tuple[str, str]]:
    """(box text, label text) for every label that touches a box, as drawn."""
    renderer = figure.canvas.get_renderer()
    for text in [*boxes, *labels]:
        text.update_bbox_position_size(renderer)  # what drawing does, without the pixels
    found = []
    for label in labels:
        near = label.get_bbox_patch().get_window_extent(renderer)
        for box in boxes:
            if near.overlaps(box.get_bbox_patch().get_window_extent(renderer)):
                found.append((box.get_text(), label.get_text()))
    return found


@pytest.mark.parametrize("seed", range(6))
def test_arrow_labels_never_cover_a_box_even_with_long_names(seed):
    rng = random.Random(seed)
    inputs = [rng.uniform(-2, 2) for _ in range(3)]
    nodes = run(random_program(rng, inputs, steps=12), inputs, MINITORCH)
    names = {node: "layers.0.weight[12, 3]" * rng.randint(0, 2) for node in nodes[:3]}
    picture = ms.graph.draw_picture(nodes[-1], names={k: v for k, v in names.items() if v})
    labels = [edge.label for edge in picture.edges.values()]
    assert overlaps(picture.figure, list(picture.boxes.values()), labels) == []


def test_the_animations_arithmetic_never_covers_a_box():
    animated = draw_backward(micrograd_lecture())
    picture = animated._picture
    for k in range(animated.frames):
        animated.show_frame(k)
        labels = [edge.label for edge in picture.edges.values()]
        assert overlaps(animated.figure, list(picture.boxes.values()), labels) == []


def test_draw_graph_names_a_models_parameters():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [1], seed=0)
    loss = model([1.0, 2.0]) * 1.0
    figure = draw_graph(loss, names=model)
    texts = {t.get_text().split("\n")[0] for t in figure.axes[0].texts}
    assert {"layers.0.weight[0, 0]", "layers.0.weight[0, 1]", "layers.0.bias[0]"} <= texts


def test_the_steps_drawn_are_explain_backwards():
    animated = draw_backward(micrograd_lecture())
    again = explain_backward(micrograd_lecture())
    assert [str(s) for s in animated.steps] == [str(s) for s in again]


def test_ipython_shows_the_figure_as_png_and_the_animation_as_the_player():
    formatters = pytest.importorskip("IPython.core.formatters")
    shown = formatters.DisplayFormatter()
    x = Value(2.0)
    y = x * x + 1.0
    picture, _ = shown.format(draw_graph(y))  # no %matplotlib inline, no pyplot
    assert picture["image/png"][:8] == PNG_MAGIC
    player, _ = shown.format(draw_backward(x * 3.0))
    assert player["text/html"].count("data:image/png;base64,") == 1
