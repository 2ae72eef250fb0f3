"""The Train page's refreshes, driven over Streamlit's websocket as a browser drives them: what
a press of Start and each tick of the live view redraw (a class's ticks are the server's load)."""

from __future__ import annotations

from tests.conftest import real_data_dir
from tests.wire import press, session


def test_start_redraws_only_its_row_and_a_tick_only_the_run(app_url: str) -> None:
    real_data_dir()
    with session(app_url, "train") as train:
        page = train.page
        start = page.widget("Start training")
        row = page.fragments[start.id]
        assert row and "Preset" in {w.label for w in page.widgets.values()}
        page.widgets.clear()
        train.rerun([press(start)], fragment=row)
        drawn = {w.label for w in page.widgets.values()}
        assert "Preset" not in drawn  # the row's fragment ran, not the whole page
        assert page.widget("Start training").disabled and not page.widget("Stop").disabled
        ((view, period),) = page.timers.items()  # the run's view ticks, inside the row's fragment
        assert view != row and 0.8 <= period <= 1.2
        stop = page.widget("Stop")
        page.widgets.clear()
        train.rerun(fragment=view, auto=True)
        assert not {"Start training", "Stop", "Pause", "Train on"} & {
            w.label for w in page.widgets.values()
        }  # a tick draws the run, not the buttons
        train.rerun([press(stop)], fragment=row)
