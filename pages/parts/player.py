"""The reading's own controls: Play or Pause, a step back and forward, and a slider over the steps.

They are Streamlit widgets, so a keyboard reaches every one (Tab, then Enter, Space or the arrow
keys) and so does a finger. Playing moves one frame every `FRAME_S` seconds in a fragment and stops
by itself at the last frame; anything a student presses stops it. Layout only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import streamlit as st

FRAME_S = 0.4  # seconds a frame shows while playing: 28 rows in about 11 s
_AT, _PLAYING, _OF = "inside_frame", "inside_playing", "inside_reading"


def player(
    reading: Hashable, frames: Sequence[str], step: str, draw: Callable[[int], None]
) -> None:
    """Controls over `frames` (their names: the step each shows) and `draw(frame)` under them;
    `reading` names what is read, and a new one starts again at the first frame."""
    state = st.session_state
    if state.get(_OF) != reading:
        state[_OF], state[_AT], state[_PLAYING] = reading, 0, False
    playing = bool(state.get(_PLAYING))
    st.fragment(_view, run_every=FRAME_S if playing else None)(list(frames), step, draw, playing)


def _stop() -> None:
    st.session_state[_PLAYING] = False


def _play(last: int) -> None:
    state = st.session_state
    if state[_AT] >= last:  # from the start again
        state[_AT] = 0
    state[_PLAYING] = True


def _move(by: int, last: int) -> None:
    state = st.session_state
    state[_PLAYING], state[_AT] = False, min(max(state[_AT] + by, 0), last)


def _view(frames: list[str], step: str, draw: Callable[[int], None], ticking: bool) -> None:
    state, last = st.session_state, len(frames) - 1
    if ticking and state[_PLAYING]:  # the timer's turn: the next frame
        state[_AT] = min(state[_AT] + 1, last)
        state[_PLAYING] = state[_AT] < last
    if bool(state[_PLAYING]) != ticking:  # started or stopped: the timer follows
        st.rerun()
    row = st.container(horizontal=True)  # one row of three, on a phone too
    if state[_PLAYING]:
        row.button("Pause", icon=":material/pause:", on_click=_stop)
    else:
        row.button("Play", icon=":material/play_arrow:", on_click=_play, args=(last,))
    row.button("Previous", icon=":material/skip_previous:", on_click=_move, args=(-1, last),
               disabled=state[_AT] == 0)  # fmt: skip
    row.button("Next", icon=":material/skip_next:", on_click=_move, args=(1, last),
               disabled=state[_AT] == last)  # fmt: skip
    st.select_slider(f"{step.capitalize()} shown", options=range(len(frames)), key=_AT,
                        format_func=frames.__getitem__, on_change=_stop)  # fmt: skip
    draw(state[_AT])
