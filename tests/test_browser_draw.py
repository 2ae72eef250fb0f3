"""Draw and Inside the RNN in a real browser: mouse strokes on the canvas; the reading played,
paused and stepped from the keyboard."""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import shot, wait_idle

pytestmark = pytest.mark.browser

SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]  # a "7", as fractions of the canvas


# The reading's title says the row it stands at: "After row 7: best guess ...".
CURRENT_ROW = (
    "() => parseInt(((document.querySelector('.gtitle') || {textContent: ''}).textContent"
    ".match(/After row (\\d+)/) || [0, 0])[1])"
)


def current_row(tab: Any) -> int:
    return int(tab.evaluate(CURRENT_ROW))


def until(check: Any, seconds: float, what: str, tab: Any = None) -> None:
    end = time.monotonic() + seconds
    while not check():
        seen = "" if tab is None else f" (row {current_row(tab)}, {buttons(tab)})"
        assert time.monotonic() < end, f"timed out waiting for {what}{seen}"
        time.sleep(0.2)


def buttons(tab: Any) -> list[str]:
    """The player's buttons now on the page."""
    names = ("Play", "Pause", "Previous", "Next")
    return [n for n in names if tab.get_by_role("button", name=n, exact=True).count()]


def settled(tab: Any) -> None:
    """The page's runs have ended and no other follows at once (Play and Pause end in a run of
    the whole page, which starts a moment after the button's own run)."""
    for _ in range(3):
        wait_idle(tab)
        time.sleep(0.6)
    wait_idle(tab)


def press(tab: Any, button: str, key: str = "Enter", *, settle: bool = True) -> None:
    """Reach a button from the keyboard (focus it) and press it with `key`, once the page's runs
    have ended, so the button focused is the one drawn last (Play and Pause end in a run of the
    whole page, which draws the buttons again). While the reading plays, Pause need not wait."""
    if settle:
        settled(tab)
    tab.get_by_role("button", name=button, exact=True).focus()
    tab.keyboard.press(key)


def stroke(tab: Any, box: dict[str, float], points: list[tuple[float, float]]) -> None:
    """Press the mouse at the first point, move through the rest in small steps, release."""
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    tab.mouse.move(*at[0])
    tab.mouse.down()
    for x, y in at[1:]:
        tab.mouse.move(x, y, steps=15)
    tab.mouse.up()


def draw_a_seven(tab: Any, app_url: str) -> str:
    """Open Draw, draw a 7 with the mouse; the prediction shown once the page has run."""
    tab.goto(app_url)  # a fresh server serves /draw as an old-style page until app.py has run once
    wait_idle(tab)
    tab.goto(f"{app_url}/draw")
    wait_idle(tab)
    tab.get_by_text("Draw a digit").first.wait_for()
    canvas = tab.locator(".dc-container").first
    canvas.wait_for()
    box = canvas.bounding_box()
    assert box is not None and round(box["width"]) == 252
    stroke(tab, box, SEVEN)
    prediction = tab.get_by_test_id("stMetric").filter(has_text="Prediction")
    prediction.wait_for(timeout=60_000)
    wait_idle(tab)
    tab.locator(".annotation-text", has_text="the 28 rows it reads").wait_for()
    return str(prediction.get_by_test_id("stMetricValue").inner_text().strip())


def open_in_inside(tab: Any) -> None:
    """From Draw, open the drawing on Inside the RNN and wait for its animation."""
    tab.get_by_role("button", name=re.compile("Open in Inside the RNN")).click()
    tab.get_by_role("heading", name="Inside the RNN").wait_for()
    wait_idle(tab)
    tab.get_by_text("My drawing").first.wait_for()  # the handed-over drawing, once Inside has run
    tab.locator(".gtitle").first.wait_for()
    wait_idle(tab)


def test_draw_a_seven_then_watch_it_read(page: Any, app_url: str) -> None:
    tab = page
    value = draw_a_seven(tab, app_url)
    assert value in [str(d) for d in range(10)], value
    shot(tab, "draw")

    open_in_inside(tab)
    assert current_row(tab) == 1
    traces = tab.locator(".trace").count()
    press(tab, "Play")  # the keyboard plays it
    until(lambda: current_row(tab) >= 6, 60, "row 6 while playing", tab)
    press(tab, "Pause", " ", settle=False)
    settled(tab)
    row = current_row(tab)
    time.sleep(1.5)
    assert 6 <= row <= 28 and current_row(tab) == row  # paused: it stands still
    tab.get_by_role("slider", name="Row shown").focus()
    tab.keyboard.press("ArrowLeft")  # the arrow keys step the slider
    until(lambda: current_row(tab) == row - 1, 30, "the row before, by the arrow key", tab)
    press(tab, "Next")
    until(lambda: current_row(tab) == row, 30, "the row after, by Next", tab)
    assert tab.locator(".trace").count() == traces  # a step moves shapes; every trace stays
    title = tab.locator(".gtitle").first.text_content()
    assert title.startswith(f"After row {row}:"), title
    tab.get_by_role("heading", name="Row by row").evaluate("e => e.scrollIntoView()")
    shot(tab, "inside")


SCROLLS = """() => { const out = [];
  const walk = (root) => { for (const el of root.querySelectorAll('*')) {
    if (el.classList && el.classList.contains('dc-scroll'))
      out.push([el.scrollWidth, el.clientWidth]);
    if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document); return out; }"""


@contextlib.contextmanager
def opened(browser: Any, url: str, size: tuple[int, int], *, touch: bool = True,
           timeout_ms: int | None = None) -> Iterator[Any]:  # fmt: skip
    """A tab of a new browser context at `size` (a touch screen unless `touch` is False), at
    `url` once its script has run; the context is closed afterwards."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  has_touch=touch, is_mobile=touch)  # fmt: skip
    try:
        tab = context.new_page()
        if timeout_ms is not None:
            tab.set_default_timeout(timeout_ms)
        tab.goto(url)
        wait_idle(tab)
        yield tab
    finally:
        context.close()


@pytest.mark.parametrize("size", [(1024, 1366), (1366, 1024), (390, 844)])
def test_the_canvas_fits_its_column_on_tablets_and_phones(
    browser: Any, app_url: str, size: tuple[int, int]
) -> None:
    with opened(browser, f"{app_url}/draw", size) as tab:
        tab.locator(".dc-container").first.wait_for()
        [(content, shown)] = tab.evaluate(SCROLLS)  # the canvas, and the width its frame shows
        assert content == 252 and shown >= content  # nothing cut off, nothing to scroll sideways


def test_no_chart_toolbar_covers_a_title_on_a_touch_screen(browser: Any, app_url: str) -> None:
    shown = "() => [...document.querySelectorAll('.modebar-container')]"
    shown += ".map(e => e.offsetParent !== null)"
    for touch, expected in ((True, False), (False, True)):
        with opened(browser, f"{app_url}/inside", (1024, 1366), touch=touch) as tab:
            tab.locator(".modebar-container").first.wait_for(state="attached")
            toolbars = tab.evaluate(shown)  # laid out (hidden on hover only) or not at all
            assert toolbars and set(toolbars) == {expected}, (touch, toolbars)


def finger(tab: Any, box: dict[str, float], points: list[tuple[float, float]]) -> None:
    """A finger on a touch screen through the DevTools protocol: down, along, up."""
    cdp = tab.context.new_cdp_session(tab)
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", *at[0])
    for (x0, y0), (x1, y1) in itertools.pairwise(at):
        for i in range(1, 16):
            touch("touchMove", x0 + (x1 - x0) * i / 15, y0 + (y1 - y0) * i / 15)
    touch("touchEnd", *at[-1])


@pytest.mark.parametrize("size", [(1024, 1366), (390, 844)])
def test_a_finger_draws_a_digit_and_the_prediction_appears(
    browser: Any, app_url: str, size: tuple[int, int]
) -> None:
    width, height = size
    with opened(browser, f"{app_url}/draw", size, timeout_ms=60_000) as tab:
        canvas = tab.locator(".dc-container").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box is not None
        finger(tab, box, SEVEN)
        prediction = tab.get_by_test_id("stMetric").filter(has_text="Prediction")
        prediction.wait_for()
        wait_idle(tab)
        value = prediction.get_by_test_id("stMetricValue").inner_text().strip()
        assert value in [str(d) for d in range(10)], value
        if width > 1000:  # a tablet shows the prediction beside the canvas, without scrolling
            seen = prediction.bounding_box()
            assert seen is not None and seen["y"] + seen["height"] <= height
        shot(tab, f"draw-finger-{width}x{height}")
