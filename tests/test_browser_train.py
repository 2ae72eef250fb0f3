"""The Train page in headless chromium: start a tiny run, watch its loss chart grow, pause, finish.

Prints the seconds from the click on Start training to the first loss point and to the finished
run; screenshots go to test-artifacts/train-running.png and train-done.png.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.conftest import main_button, shot, wait_idle

EPOCHS = 30  # a few seconds: long enough to pause part-way even on a fast machine
# Hidden 128: slow enough per step that the run is still going when the test pauses it.
TINY = f"dataset=digits&hidden=128&epochs={EPOCHS}&batch=64&lr=0.01&device=cpu"
STEPS = EPOCHS * (1293 // 64)  # over the 1,293 digits left for training after validation
FIRST_POINT_S, FINISHED_S = 120, 360  # generous: the machine is shared with other work
# Minutes of training: still going after a few looks at it, however busy the CPU.
MINUTES = f"dataset=digits&hidden=16&epochs={EPOCHS * 10}&batch=16&lr=0.01&device=cpu"

# Points of each trace of the chart titled `title`, or [] while it is not on screen.
POINTS_JS = """title => {
    const charts = [...document.querySelectorAll('.js-plotly-plot')];
    const named = el => el.layout && el.layout.title && el.layout.title.text.includes(title);
    const chart = charts.find(named);
    // a long trace arrives as a typed array ({dtype, bdata}); plotly's full data holds it decoded
    const count = (trace, i) => trace.x && trace.x.length !== undefined ? trace.x.length
        : ((chart._fullData[i] || {}).x || []).length;
    return chart ? chart.data.map(count) : [];
}"""


def points(tab: Any, title: str = "Loss per step") -> list[int]:
    return list(tab.evaluate(POINTS_JS, title))


def wait_for(check: Any, started: float, what: str, limit: float) -> float:
    """Poll `check()` until it is true; seconds since `started`, failing after `limit`."""
    while not check():
        assert time.monotonic() - started < limit, f"no {what} within {limit} s"
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.mark.browser
def test_a_tiny_run_grows_its_curves_live_and_finishes(page: Any, app_url: str) -> None:
    page.set_viewport_size({"width": 1400, "height": 1900})  # the whole page in each screenshot
    page.goto(f"{app_url}/train?{TINY}")  # a shared link, possibly the server's first visit
    page.get_by_role("heading", name="Train", exact=True).wait_for()
    start = page.get_by_role("button", name="Start training")
    start.wait_for()
    wait_idle(page)
    assert page.get_by_text("Device:").count() == 1  # the shared sidebar is there
    assert page.locator('[data-testid="stException"]').count() == 0
    assert start.is_enabled()

    seen: set[int] = set()  # how many loss points the chart held at each look

    def look() -> int:
        held = points(page)[:1]
        seen.update(held)
        return sum(held)

    clicked = time.monotonic()
    start.click()
    first = wait_for(lambda: look() > 0, clicked, "loss point", FIRST_POINT_S)
    shot(page, "train-running")

    paused_at = time.monotonic()
    page.get_by_role("button", name="Pause").click()  # part-way: the chart holds what ran so far
    page.get_by_text("paused · epoch").wait_for()
    resume = page.get_by_role("button", name="Resume")
    resume.wait_for()
    time.sleep(1.5)  # a refresh after the step in flight at the click (a pause ends that step)
    held = look()
    time.sleep(2.5)  # two more refreshes: a paused run adds no steps
    assert 0 < held == look() < STEPS, (held, look())
    status = page.get_by_text("paused · epoch").inner_text()
    done_steps = int(status.split(" · step ")[1].split("/")[0])
    assert held == done_steps, (held, status)  # the live chart holds every step that ran
    resume.click()
    paused_s = time.monotonic() - paused_at
    done_alert = page.locator('[data-testid="stAlertContentSuccess"]')

    def finished_run() -> bool:
        look()
        return done_alert.count() > 0

    finished = wait_for(finished_run, clicked, "finished run", FINISHED_S)
    wait_idle(page)
    print(f"\nclick -> first loss point: {first:.1f} s; click -> finished: {finished:.1f} s, "
          f"{paused_s:.1f} s of it paused")  # fmt: skip
    print(f"loss points on the chart at each look: {sorted(seen)}")

    assert points(page) == [STEPS, STEPS]  # raw and smoothed, every step
    assert len(seen - {0, STEPS}) >= 1, seen  # the chart grew while the run went on
    assert points(page, "Accuracy per epoch") == [EPOCHS, EPOCHS]
    assert len(points(page, "Test set, per class")) == 3
    assert "Test accuracy" in done_alert.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "train-done")

    page.get_by_role("link", name="Evaluate").first.click()
    page.wait_for_url("**/evaluate**")
    page.get_by_role("heading", name="Evaluate", exact=True).first.wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "train-then-evaluate")


@pytest.mark.browser
def test_markdown_in_a_link_is_text_not_a_link_or_an_image(page: Any, app_url: str) -> None:
    hostile = "[log in here](http://127.0.0.1:9/) ![t](http://127.0.0.1:9/t.png)"  # loopback only
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(f"{app_url}/train?cell={quote(hostile)}")
    warning = page.locator('[data-testid="stAlertContentWarning"]').first
    warning.wait_for()
    wait_idle(page)
    assert hostile in warning.inner_text().replace("\u2060", "")  # as typed (but for joiners)
    assert warning.locator("a").count() == 0 and warning.locator("img").count() == 0
    assert not [url for url in fetched if "127.0.0.1:9/" in url]  # the image was never fetched
    shot(page, "train-hostile-link")


@pytest.mark.browser
def test_a_copied_link_carries_the_settings_but_not_the_run(
    page: Any, browser: Any, app_url: str
) -> None:
    page.goto(f"{app_url}/train?{MINUTES}")  # still going when the first browser comes back
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("running · epoch").wait_for()
    link = page.url  # what a student copies from the address bar
    assert "owner=" not in link and "epochs=300" in link

    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.goto(link)  # another browser opens the copied link
    other.get_by_role("heading", name="Train", exact=True).wait_for()
    wait_idle(other)
    other.get_by_text("Nothing trained yet in this tab").wait_for()
    assert main_button(other, "Stop").is_disabled()  # nothing of theirs to stop
    epochs = other.get_by_role("spinbutton", name="Epochs", exact=True)
    expect(epochs).to_have_value("300")  # the settings (a page run still in flight: waited for)
    shot(other, "train-copied-link")

    page.reload()  # the first browser, reloaded, still has its run and can stop it
    page.get_by_text("running · epoch").wait_for()
    main_button(page, "Stop").click()
    page.locator('[data-testid="stAlertContentWarning"]').get_by_text("Stopped").wait_for()
    other.context.close()
