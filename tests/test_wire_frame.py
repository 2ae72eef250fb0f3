"""What the navigation frame asks of Streamlit for every page, checked over its websocket."""

from __future__ import annotations

from tests.conftest import real_data_dir
from tests.wire import session

LARGE = 10_000  # bytes: from this size Streamlit would send a held element as a reference


def test_an_element_the_browser_says_it_holds_is_sent_whole(app_url: str) -> None:
    """Streamlit answers a request with a reference to the browser's copy of a large element
    where the request lists that copy; a browser that dropped it before the answer arrived (it
    ages its copies by runs, and a busy page's queued runs finish in between) stops with "Cached
    ForwardMsg MISS". The frame turns references off: every element comes whole."""
    real_data_dir()  # Inside reads a test image and draws its large figures
    with session(app_url, "inside") as inside:
        page = inside.page
        first = list(page.drawn)
        large = {h for h, size in first if size >= LARGE}
        assert large, first  # the page draws elements Streamlit would otherwise reference
        inside.rerun(held=[h for h, _ in first])  # every element drawn so far, held
        again = dict(page.drawn[len(first) :])
        assert page.references == []
        assert large & set(again)  # drawn again, whole
        assert all(again[h] >= LARGE for h in large & set(again))


def test_each_tab_refreshes_at_a_period_of_its_own(app_url: str) -> None:
    """Tabs that asked at the same moment would tick together for good: the class's refreshes
    would queue behind one another each period. Each tab's live page asks for its own period,
    within a fifth of the page's (the Class page's: 3 s), and keeps it."""
    with session(app_url, "class") as one, session(app_url, "class") as two:
        (mine,), (theirs,) = one.page.timers.values(), two.page.timers.values()
        assert mine != theirs
        assert 2.4 <= mine <= 3.6 and 2.4 <= theirs <= 3.6
        one.page.timers.clear()
        one.rerun()  # the whole page again
        assert list(one.page.timers.values()) == [mine]
