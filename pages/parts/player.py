"""The reading's own controls: Play or Pause, a step back and forward, and a slider over the steps.

They are Streamlit widgets, so a keyboard reaches every one (Tab, then Enter, Space or the arrow
keys) and so does a finger. Playing moves one frame every `FRAME_S` seconds in a fragment and stops
by itself at the last frame; anything a student presses stops it. Layout only.

The frame shown is the page's own state, not the slider's: while the reading plays, the browser
may send back a slider value from a tick ago, which would stop the play and pull it back a frame.
So the slider shows the frame and only reports a student's move; each move that is not the
slider's own gives it a fresh key (a new slider, at the new frame). The buttons keep their keys,
so the one a keyboard pressed keeps the focus when Play turns into Pause.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import streamlit as st

FRAME_S = 0.4  # seconds a frame shows while playing: 28 rows in about 11 s
_AT, _PLAYING, _OF, _MOVES = "inside_frame", "inside_playing", "inside_reading", "inside_moves"


def player(
    reading: Hashable, frames: Sequence[str], step: str, draw: Callable[[int], None]
) -> None:
    """Controls over `frames` (their names: the step each shows) and `draw(frame)` under them;
    `reading` names what is read, and a new one starts again at the first frame."""
    state = st.session_state
    if state.get(_OF) != reading:
        state[_OF], state[_AT], state[_PLAYING] = reading, 0, False
        state[_MOVES] = state.get(_MOVES, 0) + 1
    playing = bool(state[_PLAYING])
    st.fragment(_view, run_every=FRAME_S if playing else None)(list(frames), step, draw, playing)


def _go(frame: int) -> None:
    state = st.session_state
    state[_AT], state[_MOVES] = frame, state[_MOVES] + 1


def _play_or_pause(last: int) -> None:
    state = st.session_state
    if state[_PLAYING]:
        state[_PLAYING] = False
        return
    if state[_AT] >= last:  # from the start again
        _go(0)
    state[_PLAYING] = True


def _move(by: int, last: int) -> None:
    st.session_state[_PLAYING] = False
    _go(min(max(st.session_state[_AT] + by, 0), last))


def _slid(key: str) -> None:  # the student moved the slider: it stays, with the focus
    state = st.session_state
    state[_PLAYING], state[_AT] = False, state[key]


def _view(frames: list[str], step: str, draw: Callable[[int], None], ticking: bool) -> None:
    state, last = st.session_state, len(frames) - 1
    if ticking and state[_PLAYING]:  # the timer's turn: the next frame
        _go(min(state[_AT] + 1, last))
        state[_PLAYING] = state[_AT] < last
    if bool(state[_PLAYING]) != ticking:  # started or stopped: the timer follows
        st.rerun()
    row = st.container(horizontal=True)  # one row of three, on a phone too
    playing, at = bool(state[_PLAYING]), state[_AT]
    icon = ":material/pause:" if playing else ":material/play_arrow:"
    row.button("Pause" if playing else "Play", key="inside_play", icon=icon,
               on_click=_play_or_pause, args=(last,))  # fmt: skip
    row.button("Previous", key="inside_previous", icon=":material/skip_previous:",
               on_click=_move, args=(-1, last), disabled=at == 0)  # fmt: skip
    row.button("Next", key="inside_next", icon=":material/skip_next:",
               on_click=_move, args=(1, last), disabled=at == last)  # fmt: skip
    slider = f"inside_slider_{state[_MOVES]}"
    st.select_slider(f"{step.capitalize()} shown", options=range(len(frames)), value=at,
                     key=slider, format_func=frames.__getitem__, on_change=_slid,
                     args=(slider,))  # fmt: skip
    draw(at)
