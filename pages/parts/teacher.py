"""Who teaches the class, and the sidebar's teacher key. Layout only.

A teacher is a signed-in account the server lists in its secrets (`[rnnviz] teachers = [...]`)
or, on a server with `RNNVIZ_TEACHER_KEY`, a browser where someone typed that key in the sidebar
(once per browser: the register remembers the owner, never the key, and no URL carries it). Only
a teacher starts a class, starts or ends a sweep, and stops every job.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from pages.parts import shared as app
from rnnviz.classroom import register

ENROLLED = "class_enrolled"  # session key: this session's owner has a number in the register


def account() -> str | None:
    """The signed-in account's name (its email, else its subject), where the server signs in."""
    return app.account_claim("email", "sub")


def listed_teachers() -> frozenset[str]:
    """The accounts the server's secrets list as teachers."""
    try:
        return frozenset(str(t) for t in st.secrets.get("rnnviz", {}).get("teachers", []))
    except (FileNotFoundError, StreamlitAPIException, KeyError, AttributeError):
        return frozenset()


def enrolled() -> register.Register:
    """The register, with this browser in it (once a session)."""
    owner = app.owner_id()
    if st.session_state.get(ENROLLED) != owner:
        st.session_state[ENROLLED] = owner
        return register.enrol(app.RUNS_DIR, owner, account())
    return register.read(app.RUNS_DIR)


def is_teacher(reg: register.Register | None = None) -> bool:
    reg = reg if reg is not None else register.read(app.RUNS_DIR)
    return register.is_teacher(reg, app.owner_id(), account(), listed_teachers())


def can_teach() -> bool:
    """Does this server have a teacher at all (a key, or listed accounts)?"""
    return register.teacher_key_set() or bool(listed_teachers())


def unlock() -> None:
    typed = st.session_state.pop("teacher_key", "")
    if register.become_teacher(app.RUNS_DIR, app.owner_id(), typed):
        st.session_state["teacher_note"] = "You are the teacher in this browser."
    else:
        st.session_state["teacher_note"] = "That is not the teacher key."


def sidebar_section() -> None:
    """The teacher key, where the server has one; who this browser is in the class."""
    reg = enrolled()
    if is_teacher(reg):
        st.caption("**Teacher** in this browser.")
        if app.owner_id() in reg.teachers and st.button("Leave teacher mode"):
            register.leave_teaching(app.RUNS_DIR, app.owner_id())
            st.rerun()
        return
    st.caption(f"You are **{reg.label(app.owner_id())}** in this class.")
    if not register.teacher_key_set():
        return
    with st.expander("Teacher"):
        st.text_input("Teacher key", type="password", key="teacher_key")
        st.button("Unlock", on_click=unlock)
        if note := st.session_state.pop("teacher_note", None):
            st.caption(note)
