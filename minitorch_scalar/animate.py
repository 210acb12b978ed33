"""Backward as an animation on the graph's picture: one frame per step of formula 6.

`draw_backward(root, path)` runs `explain_backward(root)` and plays its steps on the
picture `draw_graph` draws: in frame k the edge of step k is lit, its arithmetic
``local * arriving = term`` written on it, the parent's box outlined, and every box
shows its (value, grad) as they stand after step k. The top line spells step k out.

A ``.gif`` is written with Pillow (through matplotlib); a ``.html`` file holds
matplotlib's JavaScript player (play, pause, step forward and back) with every frame
inside it: it needs no network. Without a path, the returned object shows that player
in a notebook.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .engine import Value
from .explain import BackwardStep, BackwardSteps, explain_backward, factor
from .graph import EDGE_COLOUR, Picture, check_drawable, draw_picture, format_number, node_text
from .real import is_real_number

if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation

# matplotlib's player's icons (Font Awesome's names), as text every font has
BUTTONS = {
    "fa-minus": "&minus;",
    "fa-fast-backward": "|&#9664;&#9664;",
    "fa-step-backward": "|&#9664;",
    "fa-play fa-flip-horizontal": "&#9664;",
    "fa-pause": "||",
    "fa-play": "&#9654;",
    "fa-step-forward": "&#9654;|",
    "fa-fast-forward": "&#9654;&#9654;|",
    "fa-plus": "+",
}
LIT = "#c0392b"  # the edge of the current step, and its parent's outline
FORMATS = (".gif", ".html")


class BackwardAnimation:
    """The steps of a backward played on the graph's picture, one frame per step.

    In a notebook it shows as matplotlib's JavaScript player. `show_frame(k)` sets
    `figure` to frame k; `save(path)` writes a ``.gif`` or a self-contained ``.html``.
    """

    def __init__(self, picture: Picture, steps: BackwardSteps, fps: float) -> None:
        self.steps = steps
        self.figure = picture.figure
        self.fps = fps
        self._picture = picture
        self._title = picture.title.get_text()
        self._grads = _grads_after_each_step(steps)
        self._lit: tuple[Value, Value] | None = None
        self._html: str | None = None

    @property
    def frames(self) -> int:
        """The number of frames: one per step."""
        return len(self.steps)

    def show_frame(self, k: int) -> None:
        """Draw frame k on `figure`: step k's edge lit, every gradient as after step k."""
        step, picture = self.steps[k], self._picture
        if self._lit is not None:
            _light(picture, self._lit, lit=False)
        self._lit = (step.parent, step.node)
        _light(picture, self._lit, lit=True)
        picture.edges[self._lit].label.set_text(_arithmetic(step))
        grads = self._grads[k]
        for node, box in picture.boxes.items():
            box.set_text(node_text(node, picture.names[node], grads.get(node, 0.0)))
        picture.title.set_text(_heading(self._title, k, self.steps))

    def animation(self) -> FuncAnimation:
        """matplotlib's animation of the frames (`show_frame` for each k in turn)."""
        from matplotlib.animation import FuncAnimation

        return FuncAnimation(
            self.figure,
            self.show_frame,
            frames=self.frames,
            interval=1000 / self.fps,
            repeat=False,
            blit=False,
            init_func=lambda: None,
        )

    def to_html(self) -> str:
        """The player, as an HTML fragment with every frame embedded and nothing fetched.

        matplotlib's player draws its buttons with an icon font it links from a CDN:
        offline they would be blank. The link goes, and each icon becomes plain text.
        Made once (the frames do not change), then kept.
        """
        if self._html is None:
            player = self.animation().to_jshtml(fps=self.fps, default_mode="once")
            player = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*">', "", player)
            self._html = re.sub(r'<i class="fa ([^"]*)"></i>', _button_as_text, player)
        return self._html

    def _repr_html_(self) -> str:
        return self.to_html()

    def save(self, path: str | os.PathLike) -> None:
        """Write the animation to `path`: a ``.gif``, or an ``.html`` page that plays it."""
        target = _check_path(path)
        if target.suffix.lower() == ".gif":
            from matplotlib.animation import PillowWriter

            self.animation().save(target, writer=PillowWriter(fps=self.fps), dpi=DPI)
        else:
            title = f"backward of {self.steps.root_name}, step by step"
            page = HTML_PAGE.format(title=title, player=self.to_html())
            target.write_text(page, encoding="utf-8")


def draw_backward(
    root: Value,
    path: str | os.PathLike | None = None,
    names: object = None,
    grad: float = 1.0,
    *,
    title: str = "",
    fps: float = 1.0,
    max_nodes: int = 60,
) -> BackwardAnimation:
    """Run ``root.backward(grad)`` and animate its steps on the graph; save to `path`.

    One frame per step of `explain_backward(root, grad, names)`, whose gradients it
    leaves. `path` ends in ``.gif`` or ``.html``; None only returns the animation (a
    notebook shows it). A leaf's gradient shows this call's running sum, as in the
    steps. `max_nodes` bounds the graph as in `draw_graph` (60: a frame must read).
    Every argument is checked before backward runs.
    """
    target = None if path is None else _check_path(path)
    check_drawable(root, path, max_nodes)
    if not root.parents and not root.op:
        raise ValueError(
            "draw_backward expects a root computed from other Values, got a leaf: "
            "backward would have no step to show"
        )
    if not is_real_number(fps):
        raise TypeError(f"draw_backward(fps) expects a number, got {type(fps).__name__}")
    if not 0 < fps <= 60:
        raise ValueError(f"draw_backward(fps) expects a number in (0, 60], got {fps!r}")
    steps = explain_backward(root, grad, names)
    picture = draw_picture(
        root,
        title,
        max_nodes,
        names,
        path,
        label_texts=[_arithmetic(step) for step in steps],
        box_texts={node_text(step.parent, step.parent_name, step.after) for step in steps},
        title_texts=[_heading(title, k, steps) for k in range(len(steps))],
        caption=CAPTION,
    )
    animated = BackwardAnimation(picture, steps, fps)
    animated.show_frame(0)
    if target is not None:
        animated.save(target)
    return animated


DPI = 100  # of the GIF's frames, as of the player's and of draw_graph's pictures
CAPTION = (
    "arrow numbers: local derivative d(node)/d(parent)\n"
    "red: this step of formula 6, \u2190 local derivative * grad(node) = the term added "
    "to the grad of the outlined parent"
)

HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; }}
.animation {{ max-width: 100%; }}
.animation img {{ max-width: 100%; height: auto; }}
</style></head>
<body>
<h3>{title}</h3>
<p>One frame per step of formula 6: grad(parent) += (d node / d parent) * grad(node).
The lit edge is the step's; its parent is outlined.</p>
{player}
</body>
</html>
"""


def _button_as_text(icon: re.Match) -> str:
    return BUTTONS.get(icon[1], "?")


def _heading(title: str, k: int, steps: BackwardSteps) -> str:
    """The title of frame k: `title`, then step k spelt out."""
    line = f"step {k + 1} of {len(steps)}:  {steps[k]}"
    return f"{title}\n{line}" if title else line


def _grads_after_each_step(steps: BackwardSteps) -> list[dict[Value, float]]:
    """The gradients after each step, of the root and of the parents that got one so
    far (the others hold 0.0: backward starts every gradient of the graph there).
    """
    current = {steps.root: steps.seed}
    after = []
    for step in steps:
        current[step.parent] = step.after
        after.append(dict(current))
    return after


def _light(picture: Picture, edge: tuple[Value, Value], *, lit: bool) -> None:
    """Light the edge (parent, child) and outline its parent's box, or put them back."""
    artists = picture.edges[edge]
    colour = LIT if lit else EDGE_COLOUR
    artists.line.set_color(colour)
    artists.line.set_linewidth(2.5 if lit else 1.0)
    artists.head.arrow_patch.set_color(colour)
    artists.head.arrow_patch.set_linewidth(2.5 if lit else 1.0)
    artists.label.set_color(LIT if lit else "#1f4e79")
    artists.label.set_fontweight("bold" if lit else "normal")
    if not lit:
        artists.label.set_text(format_number(artists.local))
    patch = picture.boxes[edge[0]].get_bbox_patch()
    patch.set_edgecolor(colour if lit else "#555555")
    patch.set_linewidth(2.5 if lit else 1.0)


def _arithmetic(step: BackwardStep) -> str:
    """``<- (-4) * (-3) = 12``: the step's term of formula 6, local times arriving,
    with an arrow the way the gradient flows (against the edge's arrow).
    """
    local, arriving = factor(step.local, format_number), factor(step.arriving, format_number)
    return f"\u2190 {local} * {arriving} = {format_number(step.local * step.arriving)}"


def _check_path(path: object) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"draw_backward(path) expects a str or os.PathLike, got {type(path).__name__}"
        )
    target = Path(path)
    if target.suffix.lower() not in FORMATS:
        raise ValueError(
            f"draw_backward(path) expects a file ending in .gif or .html, got {str(path)!r}"
        )
    return target


__all__ = ["BackwardAnimation", "draw_backward"]
