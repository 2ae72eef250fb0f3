"""The reading's player on Inside the RNN, driven over Streamlit's websocket as a browser drives it.

While the reading plays, the browser's timer asks for the next frame every 0.4 s without waiting
for the last one to arrive, so a request may carry the slider the page has already replaced, at
the frame it stood at. On a busy machine that is common; here it is sent on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import real_data_dir
from tests.wire import Session, choose, press, session, shown

SLIDER = "Row shown"


@pytest.fixture
def inside(app_url: str) -> Iterator[Session]:
    real_data_dir()  # the page reads a test image: the player needs the test set
    with session(app_url, "inside") as opened:
        yield opened


def tick(inside: Session, player: str, echo: Any) -> int:
    """The browser's timer asks for the next frame, holding `echo`, at the frame it was drawn at;
    the frame the page then shows."""
    inside.rerun([choose(echo, shown(echo))], fragment=player, auto=True)
    return shown(inside.page.widget(SLIDER))


def test_a_slider_echoed_from_a_frame_ago_neither_stops_the_play_nor_pulls_it_back(
    inside: Session,
) -> None:
    page = inside.page
    player = page.fragments[page.widget("Play").id]
    assert shown(page.widget(SLIDER)) == 0
    inside.rerun([press(page.widget("Play"))], fragment=player)
    assert page.timers == {player: pytest.approx(0.4)}
    echo = page.widget(SLIDER)  # what the browser holds when its timer fires next
    at = shown(echo)
    assert tick(inside, player, echo) == at + 1
    assert tick(inside, player, echo) == at + 2  # one frame late: it plays on
    assert page.widget(SLIDER).id != echo.id  # each frame the page moved to has a new slider


def test_a_slider_moved_just_before_the_next_frame_arrived_stops_the_play_there(
    inside: Session,
) -> None:
    page = inside.page
    player = page.fragments[page.widget("Play").id]
    inside.rerun([press(page.widget("Play"))], fragment=player)
    seen = page.widget(SLIDER)
    assert tick(inside, player, seen) == shown(seen) + 1
    inside.rerun([choose(seen, 0)], fragment=player)  # Home on the slider the student still sees
    assert shown(page.widget(SLIDER)) == 0
    assert tick(inside, player, page.widget(SLIDER)) == 0  # stopped there


def test_a_student_moving_the_slider_while_it_plays_stops_it_there(inside: Session) -> None:
    page = inside.page
    player = page.fragments[page.widget("Play").id]
    inside.rerun([press(page.widget("Play"))], fragment=player)
    inside.rerun([choose(page.widget(SLIDER), 20)], fragment=player)
    assert shown(page.widget(SLIDER)) == 20
    assert tick(inside, player, page.widget(SLIDER)) == 20
    inside.rerun([press(page.widget("Previous"))], fragment=player)
    assert shown(page.widget(SLIDER)) == 19


def test_a_pause_sent_twice_stays_paused_and_a_play_sent_twice_plays(inside: Session) -> None:
    """The browser sends a press it has not yet flushed with its timer's request, and then on
    its own: one press arrives twice."""
    page = inside.page
    player = page.fragments[page.widget("Play").id]
    inside.rerun([press(page.widget("Play"))], fragment=player)
    inside.rerun([press(page.widget("Play"))], fragment=player)
    at = shown(page.widget(SLIDER))
    assert tick(inside, player, page.widget(SLIDER)) == at + 1
    pause = [choose(page.widget(SLIDER), at + 1), press(page.widget("Pause"))]
    inside.rerun(pause, fragment=player, auto=True)
    inside.rerun(pause, fragment=player)
    at = shown(page.widget(SLIDER))
    assert tick(inside, player, page.widget(SLIDER)) == at  # paused
