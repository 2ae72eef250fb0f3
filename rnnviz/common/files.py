"""Files on disk done carefully: safe folder names, capped reads, and atomic, fsynced writes.

A folder is filled under a hidden temporary name and renamed into place, so a crash never leaves a
half-written one in a listing; reads of files someone else wrote stop at a size cap before
anything is parsed.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path

from rnnviz.common.text import shown

MAX_NAME_LENGTH = 80

# Folder names: ASCII letters, digits, "-", "_", "." and space; no leading "." (hidden temp
# folders) or space, no trailing space or "." (both are trouble on Windows).
_NAME_RE = re.compile(r"[A-Za-z0-9_-](?:[A-Za-z0-9_. -]*[A-Za-z0-9_-])?")
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)}


class UnsafeFileError(ValueError):
    """A name or a file breaks one of the rules here; the message says which."""


def safe_name(text: str) -> str:
    """A valid folder name made from `text`: "LSTM 2x128 · MNIST" -> "LSTM 2x128 - MNIST"."""
    decomposed = unicodedata.normalize("NFKD", text)  # "é" -> "e" + a combining accent
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    name = re.sub(r"[^A-Za-z0-9_. -]+", "-", plain)
    name = re.sub(r"\s+", " ", name).strip(" .-")
    name = name[:MAX_NAME_LENGTH].rstrip(" .-")
    if _reserved(name):
        name = f"{name}-run"
    return name if _NAME_RE.fullmatch(name) else "checkpoint"


def read_capped(file: Path, cap: int) -> bytes:
    with open(file, "rb") as f:
        raw = f.read(cap + 1)
    if len(raw) > cap:
        raise UnsafeFileError(f"{file}: larger than the {cap}-byte limit")
    return raw


def check_name(name: str) -> None:
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(name):
        raise UnsafeFileError(
            f"name={shown(name)} is not a valid checkpoint name: use 1-{MAX_NAME_LENGTH} ASCII "
            "letters, digits, '-', '_', '.' and spaces, not starting with '.' or a space"
        )
    if _reserved(name):
        raise UnsafeFileError(f"name={shown(name)} is a device name on Windows; choose another")


def _reserved(name: str) -> bool:
    """CON, NUL, COM1, LPT9, ... (with any extension): names Windows gives to devices."""
    return name.split(".")[0].strip().upper() in _RESERVED


def write_atomically(root: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Fill a hidden temporary folder under `root`, then rename it to a free name; returns it."""
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".{name}.{uuid.uuid4().hex}.tmp"
    temp.mkdir()
    try:
        write(temp)
        for file in temp.iterdir():
            _fsync_file(file)
        _fsync_dir(temp)
        target = _rename_to_free_name(temp, root, name)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_dir(root)
    return target


def _rename_to_free_name(temp: Path, root: Path, name: str) -> Path:
    for n in range(1, 10_000):
        suffix = "" if n == 1 else f"-{n}"
        candidate = root / (name[: MAX_NAME_LENGTH - len(suffix)].rstrip(" .") + suffix)
        if candidate.exists() or candidate.is_symlink():
            continue
        try:
            os.rename(temp, candidate)  # atomic; fails if another writer took the name meanwhile
        except OSError:
            if candidate.exists():
                continue
            raise
        return candidate
    raise UnsafeFileError(f"{root}: no free folder name for {shown(name)}")


def _fsync_file(file: Path) -> None:
    with open(file, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # directories cannot be opened on every platform (Windows); best effort there
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_replacing(file: Path, content: bytes) -> None:
    """Replace `file` with `content` atomically: a temporary file beside it, fsynced, renamed."""
    temp = file.parent / f".{file.name}.{uuid.uuid4().hex}"
    temp.write_bytes(content)
    _fsync_file(temp)
    os.replace(temp, file)
    _fsync_dir(file.parent)


def replace_folder(folder: Path, write: Callable[[Path], None]) -> Path:
    """Fill a hidden temporary folder beside `folder`, then put it in `folder`'s place: the old
    one is renamed aside, the new one renamed in, the old one deleted. Between the two renames a
    crash leaves the old one aside, which `recover_replaced` puts back."""
    root, name = folder.parent, folder.name
    temp = root / f".{name}.{uuid.uuid4().hex}.tmp"
    temp.mkdir()
    aside = root / f".{name}.{uuid.uuid4().hex}.old"
    try:
        write(temp)
        for file in temp.iterdir():
            _fsync_file(file)
        _fsync_dir(temp)
        os.rename(folder, aside)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    os.rename(temp, folder)
    _fsync_dir(root)
    shutil.rmtree(aside, ignore_errors=True)
    return folder


def recover_replaced(root: Path) -> None:
    """Put back a folder `replace_folder` had renamed aside when a crash stopped it."""
    if not root.is_dir():
        return
    for entry in root.iterdir():
        parts = entry.name.split(".")
        if entry.is_dir() and entry.name.startswith(".") and parts[-1] == "old" and len(parts) > 3:
            original = root / ".".join(parts[1:-2])
            if not original.exists():
                os.rename(entry, original)
