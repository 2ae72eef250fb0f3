"""Careful files: safe folder names, capped reads and atomic replacement."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnviz.common.files import UnsafeFileError, check_name, read_capped, safe_name, write_replacing

from .saved import save_small


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LSTM 2x128 · MNIST", "LSTM 2x128 - MNIST"),
        ("../../etc/passwd", "etc-passwd"),
        ("Café  run.", "Cafe run"),
        ("...", "checkpoint"),
        ("ü" * 200, "u" * 80),
    ],
)
def test_safe_name(tmp_path: Path, text: str, expected: str) -> None:
    assert safe_name(text) == expected
    assert save_small(tmp_path, safe_name(text)).name == expected


def test_reads_stop_at_the_cap_and_say_so(tmp_path: Path) -> None:
    file = tmp_path / "big"
    file.write_bytes(b"x" * 11)
    assert read_capped(file, 11) == b"x" * 11
    with pytest.raises(UnsafeFileError, match="larger than the 10-byte limit"):
        read_capped(file, 10)


def test_replacing_a_file_leaves_no_temporary_behind(tmp_path: Path) -> None:
    file = tmp_path / "meta.json"
    file.write_text("old")
    write_replacing(file, b"new")
    assert file.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["meta.json"]


def test_windows_device_names_are_refused_and_made_safe(tmp_path: Path) -> None:
    for name in ("CON", "nul", "Com1", "lpt9.txt", "AUX .log"):
        with pytest.raises(UnsafeFileError, match="a device name on Windows"):
            check_name(name)
    check_name("CONSOLE")  # only the device names themselves
    assert safe_name("con") == "con-run" and safe_name("PRN.zip") == "PRN.zip-run"
    assert save_small(tmp_path, safe_name("NUL")).name == "NUL-run"
