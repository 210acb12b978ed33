"""The playground's page in a real browser: Debian's headless Chromium, driven by Playwright.

It loads the page, presses Play and checks that the boundary and the loss change, clicks
a neuron and checks that its graph is drawn, and steps backward edge by edge. A
screenshot of each state is saved (in the test's tmp folder) for a person to look at.
Skipped when Playwright or /usr/bin/chromium is missing; `.ci/run` installs both.

The README's picture is the page after one backward step, written
when PLAYGROUND_SCREENSHOT names a file:

    PLAYGROUND_SCREENSHOT=docs/playground.png \
        python -m pytest tests/examples/test_playground_browser.py
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playground_server import Playground, PlaygroundServer
from playground_settings import parse_settings

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    pytest.skip(f"no {CHROMIUM}: apt-get install chromium", allow_module_level=True)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 60.0  # seconds a state may take to appear on a loaded machine


@pytest.fixture(scope="module")
def server() -> Iterator[PlaygroundServer]:
    """The playground with its default settings (moons), serving in the background."""
    with PlaygroundServer(0, Playground(parse_settings({}))) as running:
        running.serve_in_background()
        yield running
        running.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server: PlaygroundServer) -> Iterator[object]:
    """The page, loaded and ready; console errors and failed requests are collected in
    `page.problems`, which must stay empty."""
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    tab = context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda m: tab.problems.append(f"console: {m.text}") if m.type == "error" else None,
    )
    tab.on("requestfailed", lambda r: tab.problems.append(f"request failed: {r.url}"))
    tab.goto(server.url)
    tab.wait_for_selector("body[data-ready=true]", timeout=WAIT * 1000)
    yield tab
    context.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds (the page's CSP forbids Playwright's evaluated
    predicates, so the test reads the page from outside)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def step_count(page) -> int:
    return int(page.text_content("#step-count"))


def canvas_png(page, selector: str) -> bytes:
    return page.locator(selector).screenshot()


def test_play_learns_moons_and_a_neuron_shows_its_backward(page, tmp_path: Path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page.screenshot(path=shots / "1-loaded.png", full_page=True)
    assert step_count(page) == 0
    boundary, loss = canvas_png(page, "#boundary"), page.text_content("#train-loss")

    page.click("#play")
    wait_until(lambda: step_count(page) >= 150, "150 training steps")
    page.click("#play")  # pause: the frame on its way may still land, no more after it
    wait_until(lambda: page.text_content("#play").endswith("Play"), "the Play button back")
    before, after = -1, step_count(page)
    while after != before:  # settled: no change over half a second
        time.sleep(0.5)
        before, after = after, step_count(page)
    time.sleep(1.0)
    assert step_count(page) == after  # paused means paused
    page.screenshot(path=shots / "2-trained.png", full_page=True)
    assert canvas_png(page, "#boundary") != boundary
    assert float(page.text_content("#train-loss")) < float(loss)

    page.click('.neuron[data-layer="1"][data-index="2"]')
    page.wait_for_selector("#graph g.node", timeout=WAIT * 1000)
    assert "neuron 2 of layers.1" in page.text_content("#math-title")
    names = page.locator("#graph g.node text.name").all_text_contents()
    assert "layers.1.h[2]" in names and "layers.0.weight[0, 0]" in names
    cursor = page.text_content("#bw-cursor")
    total = int(re.fullmatch(r"step 0 of (\d+)", cursor).group(1))
    assert total == page.locator("#graph path.edge").count()  # one step per edge
    page.screenshot(path=shots / "3-neuron-graph.png", full_page=True)

    page.click("#bw-step")
    assert page.text_content("#bw-cursor") == f"step 1 of {total}"
    assert page.locator("#graph path.edge.active").count() == 1
    receiver = page.locator("#graph g.node.receiver")
    assert receiver.count() == 1
    formula = page.text_content("#formula")
    assert "grad(parent) += local \u00d7 grad(node)" in formula
    assert "+=" in page.text_content("#formula .engine")
    page.screenshot(path=shots / "4-one-step.png", full_page=True)
    if os.environ.get("PLAYGROUND_SCREENSHOT"):
        page.screenshot(path=os.environ["PLAYGROUND_SCREENSHOT"], full_page=True)

    page.click("#bw-step")
    page.click("#bw-step")
    assert page.text_content("#bw-cursor") == f"step 3 of {total}"
    page.click("#bw-back")
    assert page.text_content("#bw-cursor") == f"step 2 of {total}"
    page.click("#bw-end")
    assert page.text_content("#bw-cursor") == f"step {total} of {total}"
    assert page.locator("#graph path.edge.done").count() == total - 1  # the last is active

    page.click("#loss-node")
    wait_until(lambda: "the loss" in page.text_content("#math-title"), "the loss's graph")
    page.wait_for_selector("#graph g.node.root", timeout=WAIT * 1000)
    assert page.text_content("#graph g.node.root text.name") == "loss"
    for _ in range(4):
        page.click("#bw-step")
    page.screenshot(path=shots / "5-loss-graph.png", full_page=True)
    assert page.problems == []


def test_a_bad_setting_is_shown_on_the_page_and_changes_nothing(page):
    assert page.is_hidden("#error")
    page.fill("#hidden", "6, 99")
    page.press("#hidden", "Enter")  # a change: the page asks for a reset
    page.locator("#error").wait_for(state="visible", timeout=WAIT * 1000)
    message = page.text_content("#error")
    assert message.startswith("hidden[1]: expected an integer from 1 to 8, got 99")
    assert "last good settings" in message
    assert page.locator('.neuron[data-layer="1"]').count() == 6  # the old network stays
    page.fill("#hidden", "3")
    page.press("#hidden", "Enter")
    wait_until(lambda: page.is_hidden("#error"), "the error to clear")
    assert page.locator('.neuron[data-layer="0"]').count() == 3
    assert page.locator('.neuron[data-layer="1"]').count() == 1  # the output
    assert all("status of 400" in problem for problem in page.problems)  # the refusal only


def test_picking_a_point_shows_the_loss_there(page):
    page.uncheck("#show-test")  # only training points to pick from
    box = page.locator("#boundary").bounding_box()
    state = page.request.get(page.url + "api/state").json()
    plane = state["maps"]["plane"]
    x, y, label = state["points"]["train"][5]
    page.mouse.click(
        box["x"] + (x + plane) / (2 * plane) * box["width"],
        box["y"] + (plane - y) / (2 * plane) * box["height"],
    )
    wait_until(lambda: "train point 5 " in page.text_content("#math-title"), "its graph")
    assert f"class {label}" in page.text_content("#math-title")
    assert page.problems == []


def reset_done(page) -> bool:
    """True once a reset has been answered: the step is 0 and Play can be pressed."""
    return step_count(page) == 0 and page.is_enabled("#play")


def test_step_makes_one_step_and_reset_starts_again(page):
    page.click("#reset")
    wait_until(lambda: reset_done(page), "the reset")
    start = canvas_png(page, "#boundary")
    page.click("#step-train")
    wait_until(lambda: step_count(page) == 1, "one step")
    page.click("#step-train")
    wait_until(lambda: step_count(page) == 2, "a second step")
    page.click("#reset")
    wait_until(lambda: reset_done(page), "the reset")
    assert canvas_png(page, "#boundary") == start  # the same seed: the same start
    assert page.is_hidden("#graph-box")
    assert page.problems == []
