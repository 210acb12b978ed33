"""The pictures say what they show: one colour scale per quantity, frames where things move."""

from __future__ import annotations

import moons_plots
import numpy as np
import pytest
import train_moons
from digits_plots import first_layer_figure
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.image import AxesImage
from moons_plots import Frame, pick_frames

TINY = [
    "--samples", "12", "--test-samples", "10", "--hidden", "4", "--epochs", "10", "--grid", "20",
]  # fmt: skip


def test_the_first_layer_images_share_one_symmetric_scale_and_show_it():
    rng = np.random.default_rng(0)
    change = rng.normal(size=(12, 64)) * np.geomspace(0.01, 3.0, 12)[:, None]  # unequal
    figure = first_layer_figure(change)
    images = [a for axes in figure.axes for a in axes.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 12
    bound = float(np.abs(change).max())
    assert {image.get_clim() for image in images} == {(-bound, bound)}
    bars = [axes for axes in figure.axes if axes.get_ylabel() == "trained - initial weight"]
    assert len(bars) == 1  # one colour bar, for all


def test_the_still_and_every_gif_frame_draw_scores_on_one_scale(tmp_path, monkeypatch):
    """Every filled contour the moons script draws (the still, then each GIF frame) has
    the same levels, which reach every score of the still."""
    drawn = []
    real = moons_plots._filled_scores

    def recording(axes, grid, bound, zorder=0):
        contours = real(axes, grid, bound, zorder)
        drawn.append((tuple(contours.levels), float(np.abs(grid.scores).max())))
        return contours

    monkeypatch.setattr(moons_plots, "_filled_scores", recording)
    train_moons.main([*TINY, "--gif", str(tmp_path / "b.gif"), "--out-dir", str(tmp_path)])
    levels = {level for level, _ in drawn}
    assert len(drawn) > 5 and len(levels) == 1
    (scale,) = levels
    assert scale[0] == -scale[-1]
    assert drawn[0][1] <= scale[-1]  # the still: nothing beyond the scale


def frames_of(pictures):
    return [
        Frame(i, len(pictures) - 1, 0.0, np.asarray(p, dtype=float)) for i, p in enumerate(pictures)
    ]


def test_frames_gather_where_the_boundary_moves():
    """The picture changes over the first 20 of 120 steps, then stays: the frames go
    to those steps, and the last frame stands for the still rest."""
    pictures = [np.full((4, 4), min(k, 20) / 20.0) for k in range(120)]
    kept = [frame.step for frame in pick_frames(frames_of(pictures), 40, bound=1.0)]
    assert kept[0] == 0 and kept[-1] == 119
    assert kept == [*range(20), 119]  # every moving step, then the end


def test_frames_of_a_steady_change_are_evenly_spaced():
    pictures = [np.full((2, 2), k / 120.0) for k in range(121)]
    kept = [frame.step for frame in pick_frames(frames_of(pictures), 41, bound=1.0)]
    assert kept == list(range(0, 121, 3))


@given(
    changes=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=150),
    count=st.integers(2, 50),
)
def test_picked_frames_are_in_order_within_the_count_and_end_at_the_last(changes, count):
    pictures = np.concatenate([[0.0], np.cumsum(changes)])[:, None, None] * np.ones((1, 2, 2))
    frames = frames_of(pictures)
    kept = [frame.step for frame in pick_frames(frames, count, bound=1e9)]
    assert kept == sorted(set(kept))
    assert kept[0] == 0 and kept[-1] == len(frames) - 1
    assert len(kept) == len(frames) if len(frames) <= count else len(kept) <= count


@pytest.mark.parametrize("count", [1])
def test_a_single_frame_run_keeps_its_frame(count):
    frames = frames_of([np.zeros((2, 2))])
    assert pick_frames(frames, count, bound=1.0) == frames
