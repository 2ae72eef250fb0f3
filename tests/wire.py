"""A session of the served app spoken to over Streamlit's websocket, as a browser speaks it.

A browser sends a rerun request (the widget states it holds, and the fragment to run) and reads
back the page's elements. Driving the wire directly sends what a browser sends in a race it
cannot be made to lose on purpose: a value the page has already moved past.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

EARLY = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN


@dataclass
class Page:
    """What the requests so far drew: the widgets by id, in the order they were last drawn, the
    fragment each was drawn in, and the fragments the page asked to be rerun on a timer."""

    widgets: dict[str, Any] = field(default_factory=dict)
    fragments: dict[str, str] = field(default_factory=dict)  # widget id -> fragment id
    timers: dict[str, float] = field(default_factory=dict)  # fragment id -> seconds
    drawn: list[tuple[str, int]] = field(default_factory=list)  # each element's hash and bytes
    references: list[str] = field(default_factory=list)  # elements sent as "your copy of" a hash

    def widget(self, label: str) -> Any:
        """The widget with this label drawn last."""
        return [w for w in self.widgets.values() if w.label == label][-1]


@contextmanager
def session(url: str, page: str) -> Iterator[Session]:
    """One browser tab's session of the app at `url`, opened on the page `page`."""
    stream = url.replace("http", "ws", 1) + "/_stcore/stream"
    with connect(stream, subprotocols=[Subprotocol("streamlit")], max_size=None) as ws:
        opened = Session(ws)
        opened.rerun(page_name=page)
        yield opened


class Session:
    """A session's requests and what they drew (see `session`)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._page_hash = ""
        self.page = Page()

    def rerun(self, states: Sequence[WidgetState] = (), *, fragment: str = "", auto: bool = False,
              page_name: str = "", held: Sequence[str] = ()) -> Page:  # fmt: skip
        """Send one rerun request and read what it draws, up to the run that ends it (a run
        that ends early for another, as a fragment's `st.rerun()` does, is followed). `held`:
        the hashes of the elements the browser says it keeps a copy of."""
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.page_script_hash, rerun.page_name = self._page_hash, page_name
        rerun.fragment_id, rerun.is_auto_rerun = fragment, auto
        rerun.widget_states.widgets.extend(states)
        rerun.cached_message_hashes.extend(held)
        self._ws.send(msg.SerializeToString())
        self._read()
        return self.page

    def _read(self, limit_s: float = 120) -> None:
        end = time.monotonic() + limit_s
        while True:
            data = self._ws.recv(timeout=max(end - time.monotonic(), 0.01))
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "navigation":  # the page that ran, to ask for again
                self._page_hash = msg.navigation.page_script_hash
            elif kind == "script_finished" and msg.script_finished != EARLY:
                return
            elif kind == "ref_hash":
                self.page.references.append(msg.ref_hash)
            elif kind == "auto_rerun":
                self.page.timers[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                self.page.drawn.append((msg.hash, len(data)))
                widget = getattr(element, str(element.WhichOneof("type")))
                if hasattr(widget, "label") and hasattr(widget, "id"):
                    self.page.widgets.pop(widget.id, None)  # now the last drawn
                    self.page.widgets[widget.id] = widget
                    self.page.fragments[widget.id] = msg.delta.fragment_id


def press(widget: Any) -> WidgetState:
    """A button's press."""
    return WidgetState(id=widget.id, trigger_value=True)


def choose(slider: Any, index: int) -> WidgetState:
    """A select_slider standing at its option `index`, as the browser reports it."""
    state = WidgetState(id=slider.id)
    state.string_array_value.data.append(slider.options[index])
    return state


def shown(slider: Any) -> int:
    """The option a select_slider was drawn at."""
    return int((slider.value or slider.default)[0])
