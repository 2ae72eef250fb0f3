"""axe-core (WCAG 2.0 and 2.1, levels A and AA) on every page, in a real browser.

No page may fail colour contrast, in the light theme or the dark one; every page passes every A
and AA rule axe checks. axe-core comes with `axe-playwright-python` (pinned in
requirements-dev.txt) and runs in each frame of the page.

Each page is checked as it opens, and then in the states a class puts it in: the Train page
while a run is live and after runs end, Evaluate with a confusion cell chosen, Draw after a
drawing, Inside the RNN while it plays, a lesson with its figures, the Memory lab after a run.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import pytest

pytest.importorskip("axe_playwright_python", reason="pip install -r requirements-dev.txt")

from tests.conftest import ROOT, main_button, wait_idle
from tests.test_browser_draw import current_row, draw_a_seven, open_in_inside, settled, until
from tests.test_browser_evaluate import choose_another_cell, open_page, pair_chosen
from tests.test_browser_train import MINUTES, points

PAGES = ["", "train", "evaluate", "compare", "inside", "draw", "memory_lab", "lessons?lesson=1",
         "class"]  # fmt: skip
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CLEAN = PAGES
EVERY_RULE = {"runOnly": {"type": "tag", "values": WCAG}}
CONTRAST = {"runOnly": {"type": "rule", "values": ["color-contrast"]}}
Found = dict[str, list[str]]  # rule id -> "impact: CSS target: what is wrong" per element
NONE: dict[str, Found] = {"light": {}, "dark": {}}  # what `in_both_schemes` finds on a clean page
MEMORY_RUN = "lab=recall&steps=30"  # a recall net trained for 30 steps: a second or two

# The app's page background in each scheme: the page has repainted once it shows it. (Charts
# are not waited for: axe does not judge text drawn in SVG, and a chart that has played its
# animation can keep the old scheme's colours.)
THEME = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
REPAINTED = """rgb => getComputedStyle(
    document.querySelector('[data-testid="stApp"]')).backgroundColor === rgb"""


def background(scheme: str) -> str:
    """The app's background in `scheme`, as the browser writes it: "rgb(0, 0, 0)"."""
    return "rgb({}, {}, {})".format(*bytes.fromhex(THEME[scheme]["backgroundColor"][1:]))


# Streamlit shows a placeholder while an element's code loads (a chart, a radio, a table), after
# the script has run; a chart draws itself a moment after that. The page is all there once
# neither is left.
DRAWN = """() => !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every(chart => chart.querySelector('.main-svg'))"""

# Elements a rerun has yet to draw again ("stale"), shown fainter than the page's own text.
FADED = """() => [...document.querySelectorAll('[data-stale="true"]')]
    .filter(e => parseFloat(getComputedStyle(e).opacity) < 1).length"""

# How much taller the window must be for no part of the page (the main column, the sidebar: each
# scrolls alone) to need scrolling.
HIDDEN = """() => Math.max(0, ...['stMain', 'stSidebarContent'].map(id => {
    const part = document.querySelector(`[data-testid="${id}"]`);
    return part ? part.scrollHeight - part.clientHeight : 0;
}))"""


def whole_page_on_screen(tab: Any) -> None:
    """Make the window as tall as the page. axe judges the colour contrast of text on screen
    only; text scrolled out of view it leaves as "needs review", never as a violation."""
    for _ in range(5):  # a taller window can lay a page out taller again
        if (hidden := int(tab.evaluate(HIDDEN))) <= 1:
            return
        size = tab.viewport_size
        tab.set_viewport_size({"width": size["width"], "height": size["height"] + hidden})
        tab.wait_for_timeout(300)  # the app lays itself out again
    assert int(tab.evaluate(HIDDEN)) <= 1, "the page grows with the window: part stays hidden"


def said(node: dict[str, Any]) -> str:
    """What axe says is wrong with one element (for contrast: the colours and the ratio)."""
    return "; ".join(check["message"] for check in node["any"] + node["all"] + node["none"])


def violations(page: Any, rules: dict[str, Any]) -> Found:
    """axe's violations in every frame of `page`, all of it drawn and on screen: rule id ->
    "impact: CSS target: what is wrong" per element."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_function(DRAWN)
    whole_page_on_screen(page)
    script, found = Axe().axe_script, Found()
    options = json.dumps({**rules, "resultTypes": ["violations"]})
    for frame in page.frames:
        frame.evaluate(script)
        for v in frame.evaluate(f"axe.run(document, {options})")["violations"]:
            nodes = [f"{v['impact']}: {' '.join(n['target'])}: {said(n)}" for n in v["nodes"]]
            found.setdefault(v["id"], []).extend(nodes)
    return found


def opened(page: Any, app_url: str, path: str, scheme: str = "light") -> Any:
    page.emulate_media(color_scheme=scheme)  # the app follows the browser's light or dark
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    page.get_by_test_id("stSidebar").wait_for()
    return page


def in_both_schemes(
    tab: Any, *, live: Callable[[], AbstractContextManager[None]] = nullcontext
) -> dict[str, Found]:
    """Every WCAG A and AA rule in the light scheme, colour contrast in the dark one, on the page
    as it is: the violations found in each. Each axe run happens inside a fresh `live()`, once
    the app has repainted in that scheme: what moves is set going there and must still move
    after the run."""
    found = {}
    for scheme, rules in (("light", EVERY_RULE), ("dark", CONTRAST)):
        tab.emulate_media(color_scheme=scheme)
        tab.wait_for_function(REPAINTED, arg=background(scheme))
        with live():
            found[scheme] = violations(tab, rules)
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_no_page_fails_colour_contrast(page: Any, app_url: str, path: str, scheme: str) -> None:
    tab = opened(page, app_url, path, scheme)
    assert violations(tab, CONTRAST) == {}


@pytest.mark.parametrize("path", CLEAN)
def test_a_page_passes_every_wcag_a_and_aa_rule(page: Any, app_url: str, path: str) -> None:
    tab = opened(page, app_url, path)
    assert violations(tab, EVERY_RULE) == {}


def start_playing(tab: Any) -> None:
    """Inside the RNN plays from its first row: paused, the slider sent Home, then Play pressed.
    (While it plays, the slider is drawn anew at each frame, and a keyboard's focus on it goes
    with it: a student pauses first.)"""
    tab.get_by_role("button", name="Pause", exact=True).click()
    settled(tab)
    tab.get_by_role("slider", name="Row shown").focus()
    tab.keyboard.press("Home")
    until(lambda: current_row(tab) == 1, 15, "the first row", tab)
    settled(tab)  # the Play button pressed is the one drawn last
    tab.get_by_role("button", name="Play", exact=True).click()


@contextmanager
def playing(tab: Any) -> Iterator[None]:
    """Inside the RNN plays from its first row while the block runs (on a busy machine it may
    reach the last row before the block ends, and stop there); the next block pauses it and
    starts it again from the first row."""
    start_playing(tab)
    yield
    until(lambda: current_row(tab) > 1, 30, "the reading to have moved", tab)


@contextmanager
def training(tab: Any) -> Iterator[None]:
    """The Train page's run goes on through the block."""
    yield
    assert tab.get_by_text("running · epoch").is_visible(), "the run ended during axe's run"


def test_draw_after_a_drawing_then_inside_while_it_plays(page: Any, app_url: str) -> None:
    draw_a_seven(page, app_url)
    assert in_both_schemes(page) == NONE
    open_in_inside(page)
    assert in_both_schemes(page, live=lambda: playing(page)) == NONE


def test_train_while_a_run_is_live_and_after_runs_end(page: Any, app_url: str) -> None:
    opened(page, app_url, f"train?{MINUTES}")
    main_button(page, "Start training").click()
    try:
        page.get_by_text("running · epoch").wait_for()
        deadline = time.monotonic() + 60
        while sum(points(page)) < 2:  # the live loss chart has points
            assert time.monotonic() < deadline, "no loss points within a minute"
            page.wait_for_timeout(200)
        assert in_both_schemes(page, live=lambda: training(page)) == NONE
        faded = []
        for _ in range(50):  # 5 s of the live run's refreshes: what is being redrawn stays legible
            faded.append(page.evaluate(FADED))
            page.wait_for_timeout(100)
        assert max(faded) == 0, faded
    finally:
        main_button(page, "Stop").click()
    page.locator('[data-testid="stAlertContentWarning"]').get_by_text("Stopped").wait_for()
    wait_idle(page)
    assert in_both_schemes(page) == NONE

    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("1")  # the next run ends in a second or two
    epochs.press("Enter")
    wait_idle(page)
    main_button(page, "Start training").click()
    page.locator('[data-testid="stAlertContentSuccess"]').wait_for()
    wait_idle(page)
    assert len(points(page, "Test set, per class")) == 3  # the finished run's charts are there
    assert in_both_schemes(page) == NONE


def test_evaluate_with_a_confusion_cell_chosen(page: Any, app_url: str) -> None:
    open_page(page, f"{app_url}/evaluate")
    assert choose_another_cell(page) == pair_chosen(page)
    page.get_by_role("combobox", name="Test image").wait_for()  # the pair's images are shown
    assert in_both_schemes(page) == NONE


def test_a_lesson_with_its_figures(page: Any, app_url: str) -> None:
    opened(page, app_url, "lessons?lesson=4")
    page.get_by_test_id("stDataFrame").wait_for()
    assert page.get_by_text("fills in when the lesson's runs finish").count() == 0  # all there
    assert in_both_schemes(page) == NONE


def test_the_memory_lab_after_a_run(page: Any, app_url: str) -> None:
    opened(page, app_url, f"memory_lab?{MEMORY_RUN}")
    main_button(page, "Start training").first.click()
    page.locator('[data-testid="stAlertContentSuccess"]').wait_for()
    wait_idle(page)
    assert page.locator(".js-plotly-plot").count() == 3  # curves, samples, accuracy per length
    assert in_both_schemes(page) == NONE
