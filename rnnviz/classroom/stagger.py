"""When each tab that watched a shared run redraws its whole page after the run ends.

Thirty students who joined one run see it end at the same refresh of their pages. Each tab then
runs its whole page once more (its sidebar selects the new model and its refresh timer stops),
and thirty whole-page runs at once on one server hold every other refresh up for seconds. So a
tab shows the end at once, in the refresh that saw it, and waits `settle_ticks(watchers, place)`
more ticks of its one-second timer before that whole-page run: about `PER_TICK` of them fall in
each second, over at most `MAX_TICKS` seconds. A run watched by a few reruns their pages at once.
"""

from __future__ import annotations

PER_TICK = 6  # whole-page runs a second that the end of a shared run adds, ~40 ms of CPU each
MAX_TICKS = 8  # the longest a tab's sidebar waits to show the new model, in seconds


def settle_ticks(watchers: int, place: int) -> int:
    """Timer ticks the watcher at `place` (0 the starter, then in the order they joined) waits
    after the run's end before its whole page runs again."""
    spread = min(MAX_TICKS, -(-watchers // PER_TICK))
    return min(max(place, 0), watchers - 1) * spread // watchers if spread > 1 else 0
