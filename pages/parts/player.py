"""The reading's own controls: Play and Pause, a step back and forward, a slider over the steps.

They are Streamlit widgets, so a keyboard reaches every one (Tab, then Enter, Space or the arrow
keys) and so does a finger. Playing moves one frame every `FRAME_S` seconds in a fragment and stops
by itself at the last frame; anything else a student presses stops it. Layout only.

The frame shown is the page's own state, not the slider's. While the reading plays, the browser
may send back a slider value from a tick ago (its timer does not wait for the last frame to
arrive), which must neither stop the play nor pull it back a frame. So the slider shows the frame
and only reports a student's move: each move that is not the slider's own gives it a fresh key (a
new slider, standing at the new frame). A value sent for a slider the page has since replaced is
an echo when it is the frame that slider was drawn at, and is ignored (Streamlit calls its
callback all the same: a replaced widget's state is gone, so any value sent for it looks
changed); any other value is a student's move that came before the next frame did. The buttons
keep their keys, so the one a keyboard pressed keeps the focus.

Play and Pause are two buttons, each of which only does what it says, rather than one that
turns into the other: the browser can send one press twice (a press it has not yet sent goes out
with the timer's next request too, and again on its own), and a second Pause must not play.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import streamlit as st

FRAME_S = 0.4  # seconds a frame shows while playing: 28 rows in about 11 s
_AT, _PLAYING, _OF, _MOVES = "inside_frame", "inside_playing", "inside_reading", "inside_moves"
_DRAWN = "inside_drawn"  # the last few sliders drawn, and the frame each stood at
_REMEMBERED = 4


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


def _play(last: int) -> None:
    state = st.session_state
    if not state[_PLAYING] and state[_AT] >= last:  # from the start again
        _go(0)
    state[_PLAYING] = True


def _pause() -> None:
    st.session_state[_PLAYING] = False


def _move(by: int, last: int) -> None:
    st.session_state[_PLAYING] = False
    _go(min(max(st.session_state[_AT] + by, 0), last))


def _slid(key: str) -> None:
    state = st.session_state
    value, drawn = state[key], state[_DRAWN].get(key)
    if key == _slider(state[_MOVES]):  # the student moved the slider shown: it keeps the focus
        state[_PLAYING], state[_AT] = False, value
    elif drawn is not None and value != drawn:  # moved before the page's next frame arrived
        state[_PLAYING] = False
        _go(value)
    # Otherwise it is the echo of a slider already replaced, at the frame it was drawn at.


def _slider(moves: int) -> str:
    return f"inside_slider_{moves}"


def _view(frames: list[str], step: str, draw: Callable[[int], None], ticking: bool) -> None:
    state, last = st.session_state, len(frames) - 1
    if ticking and state[_PLAYING]:  # the timer's turn: the next frame
        _go(min(state[_AT] + 1, last))
        state[_PLAYING] = state[_AT] < last
    if bool(state[_PLAYING]) != ticking:  # started or stopped: the timer follows
        st.rerun()
    row = st.container(horizontal=True)  # one row; a phone wraps the last button under it
    at = state[_AT]
    row.button("Play", key="inside_play", icon=":material/play_arrow:", on_click=_play,
               args=(last,))  # fmt: skip
    row.button("Pause", key="inside_pause", icon=":material/pause:", on_click=_pause)
    row.button("Previous", key="inside_previous", icon=":material/skip_previous:",
               on_click=_move, args=(-1, last), disabled=at == 0)  # fmt: skip
    row.button("Next", key="inside_next", icon=":material/skip_next:",
               on_click=_move, args=(1, last), disabled=at == last)  # fmt: skip
    slider = _slider(state[_MOVES])
    drawn = list(state.get(_DRAWN, {}).items())[-_REMEMBERED:]
    state[_DRAWN] = {**dict(drawn), slider: at}
    st.select_slider(f"{step.capitalize()} shown", options=range(len(frames)), value=at,
                     key=slider, format_func=frames.__getitem__, on_change=_slid,
                     args=(slider,))  # fmt: skip
    draw(at)
