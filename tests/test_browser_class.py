"""The class as one experiment in headless chromium: browsers that start the same run share one
job, a class sweep from the teacher's side and three students', and what a student cannot do.

Each browser context is a browser of its own (its own cookie, so its own owner), as the students'
laptops are. Screenshots go to test-artifacts/class-*.png.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BROWSER_TEACHER_KEY, main_button, shot, wait_idle

pytestmark = pytest.mark.browser
SAME = "dataset=digits&cell=gru&hidden=16&epochs=25&batch=32&lr=0.01&device=cpu"


def browser_tab(browser: Any, url: str) -> Any:
    tab = browser.new_context(viewport={"width": 1280, "height": 1100}).new_page()
    tab.set_default_timeout(90_000)
    tab.goto(url)
    wait_idle(tab)
    return tab


def accuracy_in(text: str) -> float:
    """The test accuracy a Done message names: "Test accuracy **97.12%**"."""
    found = re.search(r"Test accuracy\s*([\d.]+)%", text)
    assert found, text
    return float(found.group(1))


def trained(runs: Path) -> set[str]:
    """One entry per run that actually trained: a joined run's copies share `created`."""
    return {json.loads(m.read_text())["created"] for m in runs.glob("*/*/meta.json")}


def test_the_same_run_started_in_two_browsers_trains_once(
    browser: Any, app_url: str, browser_runs: Path
) -> None:
    before = trained(browser_runs)
    ann = browser_tab(browser, f"{app_url}/train?{SAME}")
    bob = browser_tab(browser, f"{app_url}/train?{SAME}")
    main_button(ann, "Start training").click()
    ann.get_by_text(re.compile(r"running · epoch")).wait_for()
    clicked = time.monotonic()
    main_button(bob, "Start training").click()
    bob.get_by_text("You joined a run started by 1 other").wait_for()
    done = '[data-testid="stAlertContentSuccess"]'
    running = bob.get_by_text(re.compile(r"running · epoch"))  # or, on a busy machine, its end
    running.or_(bob.locator(done).get_by_text("Test accuracy")).first.wait_for()
    seen = time.monotonic() - clicked  # a figure for the note, not a timed assertion
    print(f"\nthe second browser's Start -> its first progress: {seen:.2f} s")
    shot(bob, "class-joined")
    ann.get_by_text("1 other joined this run").wait_for()
    shot(ann, "class-joined-by")
    ann.locator(done).get_by_text("Test accuracy").wait_for()
    bob.locator(done).get_by_text("Test accuracy").wait_for()
    first = accuracy_in(ann.locator(done).inner_text())
    second = accuracy_in(bob.locator(done).inner_text())
    assert first == second
    assert len(trained(browser_runs) - before) == 1  # one job trained, two models saved
    shot(bob, "class-joined-done")

    cy = browser_tab(browser, f"{app_url}/train?{SAME}&seed=7")  # other settings: its own run
    main_button(cy, "Start training").click()
    cy.get_by_text(re.compile(r"running · epoch")).wait_for()
    assert cy.get_by_text("You joined a run").count() == 0
    cy.locator(done).get_by_text("Test accuracy").wait_for()
    assert len(trained(browser_runs) - before) == 2
    for tab in (ann, bob, cy):
        tab.context.close()


def unlock(tab: Any, key: str) -> None:
    tab.get_by_text("Teacher", exact=True).click()
    tab.get_by_label("Teacher key").fill(key)
    tab.get_by_role("button", name="Unlock").click()
    wait_idle(tab)


def test_a_class_sweep_from_the_teachers_side_and_three_students(
    browser: Any, app_url: str
) -> None:
    student = browser_tab(browser, f"{app_url}/class")
    student.get_by_role("heading", name="Class", exact=True).wait_for()
    unlock(student, "a guess")
    student.get_by_text("That is not the teacher key.").wait_for()
    assert main_button(student, "Start a class").count() == 0
    assert student.get_by_role("button", name=re.compile("Stop every job")).count() == 0
    shot(student, "class-student-no-key")

    teacher = browser_tab(browser, f"{app_url}/class")
    unlock(teacher, BROWSER_TEACHER_KEY)
    main_button(teacher, "Start a class").click()
    wait_idle(teacher)
    teacher.get_by_text("Start a class sweep").click()
    teacher.get_by_label("Its values, separated by commas").fill("8, 16, 32")
    rest = teacher.get_by_test_id("stSelectbox").filter(has_text="The rest of the run")
    rest.locator("input").click()
    rest.locator("input").press_sequentially("Offline digits")  # the list filters as one types
    teacher.keyboard.press("Enter")
    wait_idle(teacher)
    assert "Offline digits" in rest.locator("input").input_value()
    main_button(teacher, "Start the sweep").click()
    wait_idle(teacher)
    shot(teacher, "class-sweep-started")
    link = teacher.get_by_text(re.compile(r"/train\?sweep=\w+"))
    link.wait_for()
    sweep = re.search(r"/train\?sweep=(\w+)", link.inner_text())
    assert sweep is not None
    assert BROWSER_TEACHER_KEY not in teacher.url
    shot(teacher, "class-sweep-teacher")

    parts = []
    tabs = [browser_tab(browser, f"{app_url}/train?sweep={sweep.group(1)}") for _ in range(3)]
    for i, tab in enumerate(tabs):
        part = tab.get_by_text(re.compile("Your part of the class sweep"))
        part.wait_for()
        parts.append(part.inner_text())
        shot(tab, f"class-sweep-student-{i + 1}")
        main_button(tab, "Start training").click()
    assert [p.split(":")[1].split(";")[0].strip() for p in parts] == [
        "hidden 8", "hidden 16", "hidden 32",
    ]  # fmt: skip
    for tab in tabs:
        tab.locator('[data-testid="stAlertContentSuccess"]').get_by_text("Test accuracy").wait_for()
    teacher.reload()
    wait_idle(teacher)
    # the chart's title; its accessible name, "Line chart: " and the same words, is a second match
    teacher.get_by_text("Class sweep of hidden: 3 runs, 3 of 3 values", exact=True).wait_for()
    shot(teacher, "class-sweep-board")
    for tab in (student, teacher, *tabs):
        tab.context.close()
