"""axe-core (WCAG 2.0 and 2.1, levels A and AA) on every page, in a real browser.

No page may fail colour contrast, in the light theme or the dark one; every page passes every A
and AA rule axe checks. axe-core comes with `axe-playwright-python` (pinned in
requirements-dev.txt) and runs in each frame of the page.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import wait_idle

PAGES = ["", "train", "evaluate", "compare", "inside", "draw", "memory_lab", "lessons?lesson=1",
         "class"]  # fmt: skip
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CLEAN = PAGES


def violations(page: Any, rules: dict[str, Any]) -> dict[str, int]:
    """axe's violations in every frame of `page`: rule id -> elements."""
    from axe_playwright_python.sync_playwright import Axe

    script, found = Axe().axe_script, dict[str, int]()
    options = json.dumps({**rules, "resultTypes": ["violations"]})
    for frame in page.frames:
        frame.evaluate(script)
        for v in frame.evaluate(f"axe.run(document, {options})")["violations"]:
            found[v["id"]] = found.get(v["id"], 0) + len(v["nodes"])
    return found


def opened(page: Any, app_url: str, path: str, scheme: str = "light") -> Any:
    pytest.importorskip("axe_playwright_python", reason="pip install -r requirements-dev.txt")
    page.emulate_media(color_scheme=scheme)  # the app follows the browser's light or dark
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    page.get_by_test_id("stSidebar").wait_for()
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_no_page_fails_colour_contrast(page: Any, app_url: str, path: str, scheme: str) -> None:
    tab = opened(page, app_url, path, scheme)
    assert violations(tab, {"runOnly": {"type": "rule", "values": ["color-contrast"]}}) == {}


@pytest.mark.parametrize("path", CLEAN)
def test_a_page_passes_every_wcag_a_and_aa_rule(page: Any, app_url: str, path: str) -> None:
    tab = opened(page, app_url, path)
    assert violations(tab, {"runOnly": {"type": "tag", "values": WCAG}}) == {}
