"""Checkpoints as zip files: export one for download, import one a user uploads.

An import is validated completely (members, flags, sizes before inflating, the meta, the weights'
header against the model the meta describes) before anything is written, and then written as a
new checkpoint folder, atomically; nothing in the zip is ever unpickled or run.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import safetensors
import safetensors.torch

from rnnviz.common.files import safe_name, write_atomically
from rnnviz.storage.checkpoints import (
    META_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    checkpoint_errors,
    read_meta,
)
from rnnviz.storage.meta import MAX_META_BYTES, parse_meta
from rnnviz.storage.weights import (
    MAX_WEIGHTS_BYTES,
    SAFETENSORS_ERRORS,
    check_finite,
    check_weights_size,
    compare_headers,
    expected_header,
    header_of,
)


def export_zip(path: Path | str) -> bytes:
    """The checkpoint at `path` as a zip of `model.safetensors` and `meta.json` (no folders)."""
    path = Path(path)
    read_meta(path)
    with checkpoint_errors():
        check_weights_size(path / WEIGHTS_FILE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(path / WEIGHTS_FILE, arcname=WEIGHTS_FILE)
        zf.write(path / META_FILE, arcname=META_FILE)
    return buffer.getvalue()


def import_zip(data: bytes, *, root: Path | str, max_bytes: int = MAX_WEIGHTS_BYTES) -> Path:
    """Validate an exported zip completely, then write it as a new checkpoint under `root`.

    Nothing is written unless the zip, both members, the meta and the weights all check out.
    The folder is named from meta["name"], with "-2", "-3", ... appended if that is taken.
    """
    limit = max_bytes + MAX_META_BYTES + 2**16  # both members at their caps, plus zip overhead
    if len(data) > limit:
        raise CheckpointError(f"zip: {len(data)} bytes is more than the {limit}-byte limit")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = _read_zip_members(zf, max_bytes)
    except CheckpointError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
    ) as e:
        raise CheckpointError(f"zip: not a readable zip file ({e})") from e
    with checkpoint_errors():
        meta, record = parse_meta(members[META_FILE], f"{META_FILE} in the zip")
    source = f"{WEIGHTS_FILE} in the zip"
    try:
        tensors = safetensors.torch.load(members[WEIGHTS_FILE])  # parsed once: header and values
    except SAFETENSORS_ERRORS as e:
        raise CheckpointError(f"{source}: not a valid safetensors file ({e})") from e
    with checkpoint_errors():
        compare_headers(expected_header(record.config.model), header_of(tensors), source)
        check_finite(tensors, source)

    def write(folder: Path) -> None:
        for member, content in members.items():
            (folder / member).write_bytes(content)

    return write_atomically(Path(root), safe_name(meta["name"]), write)


def _read_zip_members(zf: zipfile.ZipFile, max_bytes: int) -> dict[str, bytes]:
    """The two members' contents, checking names, flags and sizes before decompressing."""
    names = [info.filename for info in zf.infolist()]
    if sorted(names) != sorted([META_FILE, WEIGHTS_FILE]):
        raise CheckpointError(
            f"zip: members {names!r}; expected exactly {META_FILE!r} and {WEIGHTS_FILE!r}"
        )
    caps = {META_FILE: MAX_META_BYTES, WEIGHTS_FILE: max_bytes}
    members: dict[str, bytes] = {}
    for info in zf.infolist():
        cap = caps[info.filename]
        if info.flag_bits & 0x1:
            raise CheckpointError(f"zip: {info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise CheckpointError(f"zip: {info.filename} uses compression {info.compress_type}")
        if info.file_size > cap:
            raise CheckpointError(
                f"zip: {info.filename} is {info.file_size} bytes, over the {cap}-byte limit"
            )
        with zf.open(info) as f:
            content = f.read(cap + 1)  # the declared size may lie; never inflate past the cap
        if len(content) > cap:
            raise CheckpointError(f"zip: {info.filename} inflates past the {cap}-byte limit")
        members[info.filename] = content
    return members
