"""The model manager: list, rename, delete, download and upload checkpoints. Layout only.

Everything on disk goes through `rnnviz.storage.checkpoints`, whose `CheckpointError` messages are
shown as they are. Own runs (this tab's runs folder) can be renamed and deleted; shipped models are
read-only. Actions run as button callbacks, before the script, so the sidebar's model list is
already up to date on the run that follows.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages.parts.shared import checkpoints, runs_dir, select_checkpoint, selected_info, shipped
from rnnviz.common.files import safe_name
from rnnviz.common.text import plain
from rnnviz.jobs.runs import check_room
from rnnviz.storage.archive import export_zip, import_zip
from rnnviz.storage.checkpoints import CheckpointError, CheckpointInfo
from rnnviz.storage.export import code_zip
from rnnviz.storage.folders import delete_checkpoint, rename_checkpoint

_FLASH = "models_flash"  # (kind, message) of the last action, shown once
_UPLOADS = "models_upload_round"  # bumped after an import, which gives a fresh, empty uploader
_PICK = "models_pick"
_FOLLOW = "models_pick_follows"  # the sidebar's model when the picker last followed it


def _flash(kind: str, message: str) -> None:
    """Say `message` once, on the next run; it holds names users chose, so it is shown as text."""
    st.session_state[_FLASH] = (kind, plain(message))


def _is_shipped(info: CheckpointInfo) -> bool:
    return shipped(info)


def _rename(path: Path, key: str) -> None:
    typed = str(st.session_state.get(key, "")).strip()
    if not typed:
        _flash("warning", "Type a new name first.")
        return
    chosen = selected_info()
    was_selected = chosen is not None and chosen.path == path
    try:
        new = rename_checkpoint(path, safe_name(typed))
    except (CheckpointError, OSError) as e:
        _flash("error", f"Not renamed: {e}")
        return
    if was_selected:
        select_checkpoint(new)
    st.session_state[_PICK] = str(new)
    st.session_state[key] = ""
    _flash("success", f"Renamed {path.name!r} to {new.name!r}.")


def _delete(path: Path) -> None:
    try:
        delete_checkpoint(path)
    except (CheckpointError, OSError) as e:
        _flash("error", f"Not deleted: {e}")
        return
    st.session_state.pop(_PICK, None)
    _flash("success", f"Deleted {path.name!r}.")


def _table(infos: list[CheckpointInfo]) -> None:
    rows = [
        {
            "Model": i.record.title or i.name,
            "Folder": i.name,
            "Kind": "shipped" if _is_shipped(i) else "yours",
            "Dataset": i.dataset,
            "Test accuracy": i.test_accuracy,
            "Created": i.created[:16].replace("T", " "),
        }
        for i in infos
    ]
    config = {"Test accuracy": st.column_config.NumberColumn(format="percent")}
    st.dataframe(rows, hide_index=True, column_config=config)


def _actions(info: CheckpointInfo) -> None:
    shipped = _is_shipped(info)
    read_only = "Shipped models are read-only." if shipped else None
    key = f"models_new_name_{info.name}"
    name_col, rename_col, download_col, code_col, delete_col = st.columns(
        [3, 1, 1.4, 1.3, 1], vertical_alignment="bottom"
    )
    name_col.text_input("New name", key=key, disabled=shipped, placeholder=info.name)
    rename_col.button(
        "Rename", on_click=_rename, args=(info.path, key), disabled=shipped, help=read_only
    )
    download_col.download_button(
        "Download",
        data=lambda: export_zip(info.path),
        file_name=f"{info.name}.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/download:",
    )
    code_col.download_button(
        "As code",
        data=lambda: code_zip(info.path),
        file_name=f"{info.name}-code.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/code:",
        help="model.py, train.py and the weights: run it without rnnviz",
    )
    with delete_col.popover("Delete", disabled=shipped, help=read_only):
        st.write(f"Delete {info.name!r} for good?")
        st.button(
            "Delete", type="primary", on_click=_delete, args=(info.path,), key="models_delete"
        )


def _upload() -> None:
    round_ = st.session_state.setdefault(_UPLOADS, 0)
    uploaded = st.file_uploader(
        "Upload a model (a .zip downloaded from rnnviz)",
        type=["zip"],
        key=f"models_upload_{round_}",
    )
    if uploaded is None:
        return
    st.session_state[_UPLOADS] = round_ + 1  # a fresh uploader: a refused file is not retried
    try:
        check_room(runs_dir())
        path = import_zip(uploaded.getvalue(), root=runs_dir())
    except (CheckpointError, ValueError) as e:
        _flash("error", f"{uploaded.name} was not imported: {e}")
        st.rerun()
    select_checkpoint(path)
    _flash("success", f"Imported {uploaded.name} as {path.name!r}; it is now the selected model.")
    st.rerun()


def _picker(infos: list[CheckpointInfo]) -> CheckpointInfo:
    paths = [str(i.path) for i in infos]
    chosen = selected_info()
    selected = str(chosen.path) if chosen else paths[0]
    # Follow the sidebar: a newly selected model is the one to manage.
    if st.session_state.get(_PICK) not in paths or st.session_state.get(_FOLLOW) != selected:
        st.session_state[_PICK] = selected
    st.session_state[_FOLLOW] = selected
    kinds = {str(i.path): "shipped" if _is_shipped(i) else "yours" for i in infos}
    labels = {str(i.path): f"{i.name} ({kinds[str(i.path)]})" for i in infos}
    pick = st.selectbox("Model to manage", paths, key=_PICK, format_func=labels.__getitem__)
    return infos[paths.index(pick)]


def manage_models() -> None:
    """The "Manage models" expander: a table of every model, actions on one, and an upload."""
    with st.expander("Manage models", icon=":material/folder_managed:"):
        flash = st.session_state.pop(_FLASH, None)
        if flash:
            getattr(st, flash[0])(flash[1])
        infos = checkpoints()
        if infos:
            _table(infos)
            _actions(_picker(infos))
        _upload()
