"""A lesson in headless chromium, end to end: open lesson 5 from its link, run it, open its
first step on Inside the RNN, come back and stop what is left.

Lesson 5's first run is one epoch of a 20-unit LSTM on the real MNIST, so the walk needs the
real data (RNNVIZ_DATA_DIR); the ten-epoch run queued after it is stopped once the walk has seen
what it came for. Screenshots: test-artifacts/lesson-5-*.png.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import main_button, real_data_dir, shot, wait_idle

ONE_EPOCH_S = 300  # generous: one epoch of the small LSTM, on a machine shared with other work


@pytest.mark.browser
@pytest.mark.slow
def test_lesson_five_runs_and_opens_its_first_step(page: Any, app_url: str) -> None:
    real_data_dir()
    page.set_viewport_size({"width": 1400, "height": 2200})
    page.goto(f"{app_url}/lessons?lesson=5")
    page.get_by_role("heading", name="Lesson 5: Watch it learn to read").wait_for()
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    step = main_button(page, "Read a 4 after one epoch")
    assert not step.is_disabled()  # the lesson's shipped models: ready on the first click
    shot(page, "lesson-5-start")

    main_button(page, "Run this lesson").click()
    page.get_by_text("Lesson 5: LSTM 20, SGD lr 0.1, batch 100, one epoch · running").wait_for()
    page.get_by_text("one epoch · done").wait_for(timeout=ONE_EPOCH_S * 1000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some(b => "
        "b.innerText.includes('Read a 4 after one epoch') && !b.disabled)",
        timeout=30_000,
    )
    shot(page, "lesson-5-running")

    main_button(page, "Read a 4 after one epoch").click()
    page.get_by_role("heading", name="Inside the RNN").wait_for()
    wait_idle(page)
    assert "lesson" not in page.url  # Inside's own URL, the lesson's model selected
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "lesson-5-inside")

    page.get_by_test_id("stSidebarNav").get_by_text("Lessons").click()  # the same session
    page.get_by_role("heading", name="Lesson 5: Watch it learn to read").wait_for()
    # the session's lesson jobs are still there: the first done, the ten-epoch one going on from
    # it, stopped here unless it finished while Inside was open (on a busy machine it may)
    page.get_by_text("one epoch · done: finished 1 epochs").wait_for()
    stop, finished = (
        main_button(page, "Stop the lesson's runs"),
        page.get_by_text("10 in all · done"),
    )
    stop.or_(finished).first.wait_for()
    if stop.is_visible():
        stop.click()
        page.get_by_text("10 in all · stopped").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "lesson-5-figures")
