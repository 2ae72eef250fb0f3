"""When each tab of a class refreshes, and when each redraws its whole page after a run ends.

A live page refreshes on its browser's timer, which starts when the page's answer arrives. Thirty
students who pressed Start together get their answers together, and with one period for all
their timers would tick in the same instant for the whole run: thirty refreshes queued behind
one another every second, the last waiting for all the others. So each tab refreshes at a period
of its own, `refresh_period(seconds, tab)`, within `SPREAD` of the page's: a class's timers drift
apart within a few ticks and then take their turns.

Thirty students who joined one run see it end at the same refresh of their pages. Each tab then
runs its whole page once more (its sidebar selects the new model and its refresh timer stops),
and thirty whole-page runs at once on one server hold every other refresh up for seconds. So a
tab shows the end at once, in the refresh that saw it, and waits `settle_ticks(watchers, place)`
more ticks of its timer (about a second each) before that whole-page run: none in the tick that
saw the end (every tab draws the end then), and from the next one on about `PER_TICK` a second,
over at most `MAX_TICKS` seconds. A run watched by a few reruns their pages at once.
"""

from __future__ import annotations

SPREAD = 0.2  # a tab's refresh period lies within 20 % of the page's
GOLDEN = (5**0.5 - 1) / 2  # tab k's place in that range: k times this, mod 1, evenly for any k
# Live refreshes a second one server answers at once without a queue: a refresh costs it about
# 10 ms of CPU (Streamlit's work and the view's), all of it under one GIL, beside training.
REFRESHES_PER_S = 50
PER_TICK = 6  # whole-page runs a second that the end of a shared run adds, ~40 ms of CPU each
MAX_TICKS = 8  # the longest a tab's sidebar waits to show the new model, in seconds


def settle_ticks(watchers: int, place: int) -> int:
    """Timer ticks the watcher at `place` (0 the starter, then in the order they joined) waits
    after the run's end before its whole page runs again."""
    spread = min(MAX_TICKS, -(-watchers // PER_TICK))
    if spread <= 1:
        return 0
    # From the tick after the one that saw the end: that one only draws it, in every tab at once.
    return 1 + min(max(place, 0), watchers - 1) * spread // watchers


def refresh_period(seconds: float, tab: int, tabs: int = 1) -> float:
    """The refresh period of the `tab`-th tab the server has served, for a page that refreshes
    every `seconds`, with `tabs` open on the server: within `SPREAD` of it either way, and
    spread evenly over any run of consecutive tabs (as consecutive multiples of the golden ratio
    are, mod 1). With more than `REFRESHES_PER_S` tabs a second open, each refreshes less often,
    so that together they ask for about that many refreshes a second."""
    offset = 2 * ((tab * GOLDEN) % 1) - 1  # in [-1, 1)
    return round(max(seconds, tabs / REFRESHES_PER_S) * (1 + SPREAD * offset), 3)
