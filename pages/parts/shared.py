"""What every page shares: the job manager, the tab's owner id, the selected model, the sidebar.

Layout helpers only; everything computed lives in `rnnviz`. The job manager and loaded models are
process-wide (`st.cache_resource`), so jobs survive reruns, page switches and reloads. The owner
comes from the browser (its account where the server signs users in, else its XSRF cookie;
`rnnviz.classroom.identity`), never from the URL: a reload finds its jobs, a copied link gets none
of them.
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections.abc import Hashable
from pathlib import Path

import streamlit as st
import torch
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.pages_manager import PagesManager

from rnnviz.classroom.identity import XSRF_COOKIE, owner_from_account, owner_from_xsrf, valid_owner
from rnnviz.classroom.stagger import refresh_period
from rnnviz.common.text import plain
from rnnviz.jobs.mirror import Jobs, jobs_from_env
from rnnviz.jobs.runs import warm_up
from rnnviz.storage.checkpoints import (
    Checkpoint,
    CheckpointInfo,
    checkpoint_info,
    list_checkpoints,
    load_checkpoint,
)
from rnnviz.storage.folders import best_checkpoint, shipped_dir

_RUN = threading.local()  # a script run's thread: `framed` once app.py has run in it


def in_the_frame() -> None:
    """app.py's mark on this script run: it goes through the navigation frame."""
    _RUN.framed = True


def run_through_the_frame() -> None:
    """Make a fresh server's first visits to a page URL run app.py like every later visit.

    Until some run calls `st.navigation`, Streamlit treats a `pages/` folder as a legacy
    multipage app and runs a requested page file directly, without app.py's frame and sidebar.
    Every page calls this first, so such a run switches that mode off and reruns through app.py
    (AppTest, too, starts each run in that mode); so does a run that started in that mode just
    before another switched it off (several tabs reconnecting to a restarted server). Never at
    import: a rerun raised inside an import fails the same import in every other tab's run.
    """
    if PagesManager.uses_pages_directory or not getattr(_RUN, "framed", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


ROOT = Path(__file__).resolve().parents[2]  # pages/parts/ -> the checkout
SHIPPED_DIR = shipped_dir()
LESSONS_DIR = SHIPPED_DIR / "lessons"  # the lessons' models, as `Run this lesson` trains them
RUNS_DIR = Path(os.environ.get("RNNVIZ_RUNS_DIR", ROOT / "runs"))
CHECKPOINT_KEY = "checkpoint_path"
_PICKER_KEY = "sidebar_model"
_SYNCED_KEY = "sidebar_model_synced"  # what the picker and CHECKPOINT_KEY last agreed on


@st.cache_resource
def job_manager() -> Jobs:
    """One per server process: jobs on this server's threads, or, when the environment names a
    Ray cluster (see `rnnviz.jobs.backends`), the cluster's job table, which outlives the server."""
    return jobs_from_env()


@st.cache_resource
def warm_up_in_background() -> threading.Thread:
    """Once per process: what a first training run would otherwise wait for (see `warm_up`)."""
    thread = threading.Thread(target=warm_up, args=(data_dir(),), name="rnnviz-warmup", daemon=True)
    thread.start()
    return thread


class _Lease:
    """Lives as long as one browser session; its end hands the owner's jobs a grace period."""

    open_sessions = 0  # in this process, for how often a live page refreshes
    _count = threading.Lock()

    def __init__(self, owner: str) -> None:
        self.owner = owner
        job_manager().attach(owner)
        with _Lease._count:
            _Lease.open_sessions += 1

    def release(self) -> None:
        with _Lease._count:
            _Lease.open_sessions -= 1
        job_manager().detach(self.owner)


@st.cache_resource(scope="session", on_release=lambda lease: lease.release())
def _lease(owner: str) -> _Lease:
    return _Lease(owner)


def owner_id() -> str:
    """This browser's owner id: its account, else its XSRF cookie's, else this session's own.

    A link never carries it: an `owner=` that an old link brings is dropped from the URL unread.
    """
    if not valid_owner(st.session_state.get("owner")):
        cookie = st.context.cookies.get(XSRF_COOKIE)
        st.session_state.owner = _account() or owner_from_xsrf(cookie) or uuid.uuid4().hex[:16]
    owner: str = st.session_state.owner
    if "owner" in st.query_params:
        del st.query_params["owner"]
    _lease(owner)
    return owner


def auth_configured() -> bool:
    """True when `.streamlit/secrets.toml` names an OpenID Connect provider (`[auth]`)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitAPIException, KeyError):
        return False


def account_claim(*claims: str) -> str | None:
    """`claims[0] or claims[1] or ...` of the signed-in account ("sub", "email"), as text, where
    the server signs users in; None for no one signed in."""
    if not auth_configured():
        return None
    try:
        if st.user.is_logged_in:
            value = None
            for claim in claims:
                value = value or st.user.get(claim)
            return str(value)
    except (AttributeError, KeyError, StreamlitAPIException):
        pass
    return None


def _account() -> str | None:
    """The signed-in account's owner id, where the server signs users in."""
    claim = account_claim("sub", "email")
    return None if claim is None else owner_from_account(claim)


def runs_dir() -> Path:
    """This tab's own runs; each owner sees only theirs (plus the shipped models)."""
    return RUNS_DIR / owner_id()


def data_dir() -> str | None:
    return os.environ.get("RNNVIZ_DATA_DIR")


def model_folders() -> tuple[Path, ...]:
    """Where this tab's models are: its own runs, the shipped models, the lessons' models."""
    return runs_dir(), SHIPPED_DIR, LESSONS_DIR


def checkpoints() -> list[CheckpointInfo]:
    """This tab's own runs, then the shipped models, then the lessons' shipped models."""
    return [info for folder in model_folders() for info in list_checkpoints(folder)]


def shipped(info: CheckpointInfo) -> bool:
    """A model that came with rnnviz (`checkpoints/`, its lessons' too): nobody's to change."""
    return info.path.parent in (SHIPPED_DIR, LESSONS_DIR)


def first_choice(infos: list[CheckpointInfo]) -> CheckpointInfo | None:
    """The model selected before anyone chose one: the best reader of the data here among the
    shipped models and this tab's runs (a lesson's models wait for their lesson)."""
    return best_checkpoint([i for i in infos if i.path.parent != LESSONS_DIR] or infos,
                           data_dir=data_dir())  # fmt: skip


def checkpoint_label(info: CheckpointInfo) -> str:
    """Shipped models by their title; own runs by their folder name, which a rename changes."""
    acc = f" · {info.test_accuracy:.1%}" if info.test_accuracy is not None else ""
    if info.path.parent == LESSONS_DIR:
        return f"{info.record.title or info.name}{acc} (lesson)"
    if info.path.parent == SHIPPED_DIR:
        return f"{info.record.title or info.name}{acc} (shipped)"
    if info.record.status == "interrupted":  # its last epoch's snapshot: Resume is on Train
        return f"{info.name} ({info.record.message})"
    return f"{info.name}{acc}"


def select_checkpoint(path: Path | str) -> None:
    """Make `path` the selected model; the sidebar picker shows it from the next rerun on."""
    st.session_state[CHECKPOINT_KEY] = str(path)


def selected_info() -> CheckpointInfo | None:
    """The model chosen in this tab (read from its own folder: a live refresh asks for it every
    second), else the best for this data among the listed ones."""
    chosen = st.session_state.get(CHECKPOINT_KEY)
    if chosen and Path(chosen).parent in model_folders():
        try:
            return checkpoint_info(Path(chosen))
        except (ValueError, OSError):  # gone or broken since it was chosen
            pass
    return first_choice(checkpoints())


@st.cache_resource(max_entries=16)
def _load(path: str, mtime: float) -> Checkpoint:
    return load_checkpoint(path, device="cpu")


def selected_checkpoint() -> Checkpoint | None:
    """The selected model, loaded once per process (inference runs on CPU: one image is tiny)."""
    info = selected_info()
    if info is None:
        return None
    weights = info.path / "model.safetensors"
    return _load(str(info.path), weights.stat().st_mtime)


def device_label() -> str:
    if job_manager().backend.name == "ray":
        return "the Ray cluster"
    if torch.cuda.is_available():
        return f"GPU · {torch.cuda.get_device_name(0)}"
    return "CPU"


def controls_locked() -> bool:
    """The server keeps everyone in class mode, with no way to the full controls."""
    return os.environ.get("RNNVIZ_LOCK_CONTROLS") == "1"


def class_mode() -> bool:
    """Projector mode: presets and Start/Stop only, large charts.

    On with `?class=1`; `RNNVIZ_CLASS_MODE=1` makes it the default (then `?class=0` turns it off);
    `RNNVIZ_LOCK_CONTROLS=1` keeps it on whatever the link says.
    """
    if controls_locked():
        return True
    default = "1" if os.environ.get("RNNVIZ_CLASS_MODE") == "1" else "0"
    return st.query_params.get("class", default) in ("1", "true", "yes")


LIVE_KEY = "live_updates"  # the sidebar's switch: off stops every live chart and table moving


_TABS = itertools.count()  # each tab's number, in the order this server first drew a live page
_TAB_KEY = "tab_number"


def live_every(seconds: float) -> float | None:
    """How often a live fragment refreshes: about every `seconds`, at a period of this tab's own
    (`rnnviz.classroom.stagger.refresh_period`: a class's timers drift apart), or never while the
    student has turned live updates off in the sidebar (anything that moves can be paused),
    which the page then says."""
    if st.session_state.get(LIVE_KEY, True):
        if _TAB_KEY not in st.session_state:
            st.session_state[_TAB_KEY] = next(_TABS)
        return refresh_period(seconds, st.session_state[_TAB_KEY], _Lease.open_sessions)
    st.caption("Live updates are off, so this stands still; turn them on in the sidebar to "
               "catch up.")  # fmt: skip
    return None


_SETTLE = "settle_after_end"  # (what ended, timer ticks left) before the whole page reruns


def rerun_after(ended: Hashable, ticks: int) -> None:
    """Rerun the whole page once (its sidebar, and a live fragment's timer stopping), `ticks`
    ticks of that timer after the first call for `ended`, at once for 0. A class whose shared
    run ended in the same second spreads those page runs over a few (`rnnviz.classroom.stagger`).
    """
    kept = st.session_state.get(_SETTLE)
    left = kept[1] if kept is not None and kept[0] == ended else ticks
    if left is None:  # done for `ended`
        return
    st.session_state[_SETTLE] = (ended, left - 1 if left > 0 else None)
    if left <= 0:
        st.rerun()


def sidebar() -> None:
    warm_up_in_background()
    owner_id()
    with st.sidebar:
        if auth_configured():
            if getattr(st.user, "is_logged_in", False):
                st.button("Sign out", on_click=st.logout)
            else:
                st.button("Sign in", on_click=st.login, type="primary")
        backend = job_manager().backend
        if (problem := backend.problem(wait_s=3.0)) is not None:  # a refused address: at once
            st.error(plain(problem), icon=":material/cloud_off:")
        elif backend.name == "ray":
            st.caption(plain(backend.describe()))
        else:
            st.caption(f"Device: **{device_label()}**")
        st.toggle("Live updates", True, key=LIVE_KEY,
                  help="Charts and tables of running jobs move as they train. Turn this off to "
                  "stop them moving; turn it on again to catch up.")  # fmt: skip
        infos = checkpoints()
        if not infos:
            st.info("No models yet: train one on the Train page.")
            return
        paths = [str(i.path) for i in infos]
        chosen = st.session_state.get(CHECKPOINT_KEY)
        if chosen != st.session_state.get(_SYNCED_KEY) and chosen in paths:
            st.session_state[_PICKER_KEY] = chosen  # a page selected a model since the last run
        elif st.session_state.get(_PICKER_KEY) not in paths:
            best = first_choice(infos) or infos[0]  # the best for this data
            st.session_state[_PICKER_KEY] = str(best.path)
        labels = {str(i.path): checkpoint_label(i) for i in infos}
        choice = st.selectbox("Model", paths, key=_PICKER_KEY, format_func=labels.__getitem__)
        st.session_state[CHECKPOINT_KEY] = st.session_state[_SYNCED_KEY] = choice
        info = infos[paths.index(choice)]
        st.caption(f"Dataset: **{info.dataset}** · cell **{info.cell}**")
