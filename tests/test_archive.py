"""Checkpoints as zips: export and import round trips, and uploads refused without side effects."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch

from rnnviz.models.network import ModelConfig
from rnnviz.storage.archive import export_zip, import_zip
from rnnviz.storage.checkpoints import (
    CheckpointError,
    load_checkpoint,
    read_meta,
    save_checkpoint,
)
from rnnviz.storage.meta import MAX_META_BYTES

from .saved import Hostile, make_model, make_record, save_small


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def test_hostile_pickle_in_a_zip_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    folder = save_small(tmp_path / "src")
    meta = (folder / "meta.json").read_bytes()
    data = zip_of({"meta.json": meta, "model.safetensors": pickle.dumps(Hostile(marker))})
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        import_zip(data, root=tmp_path / "dest")
    assert not marker.exists()
    assert not (tmp_path / "dest").exists()


def test_export_import_round_trip(tmp_path: Path) -> None:
    config = ModelConfig(cell="lstm", hidden_size=8, bidirectional=True)
    model = make_model(config)
    folder = save_checkpoint(model, make_record(config), root=tmp_path / "a", name="LSTM run")
    data = export_zip(folder)
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == [
        "meta.json",
        "model.safetensors",
    ]
    first = import_zip(data, root=tmp_path / "b")
    second = import_zip(data, root=tmp_path / "b")
    assert (first.name, second.name) == ("LSTM run", "LSTM run-2")
    images = torch.rand(3, 28, 28)
    assert torch.equal(load_checkpoint(first).model(images), model(images))
    assert read_meta(first) == read_meta(folder)


def _members(tmp_path: Path) -> dict[str, bytes]:
    folder = save_small(tmp_path / "src")
    return {f.name: f.read_bytes() for f in folder.iterdir()}


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda m: {"../evil": m["meta.json"], "model.safetensors": m["model.safetensors"]},
            "evil",
        ),
        (lambda m: {**m, "extra.txt": b"hi"}, "extra.txt"),
        (lambda m: {"meta.json": m["meta.json"]}, "expected exactly"),
        (lambda m: {"run/meta.json": m["meta.json"], "run/model.safetensors": b""}, "run/"),
    ],
    ids=["path-traversal", "extra-file", "missing-weights", "nested-folder"],
)
def test_import_refuses_bad_member_names(tmp_path: Path, edit: Any, pattern: str) -> None:
    data = zip_of(edit(_members(tmp_path)))
    with pytest.raises(CheckpointError, match=pattern):
        import_zip(data, root=tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    assert not (tmp_path / "evil").exists()


def test_import_refuses_oversized_members_and_non_zips(tmp_path: Path) -> None:
    members = _members(tmp_path)
    size = len(members["model.safetensors"])
    with pytest.raises(CheckpointError, match=f"{size} bytes, over the 1000-byte limit"):
        import_zip(zip_of(members), root=tmp_path / "dest", max_bytes=1000)
    bomb = {**members, "model.safetensors": bytes(10 * 2**20)}  # 10 MiB of zeros, ~10 KiB zipped
    with pytest.raises(CheckpointError, match="over the"):
        import_zip(zip_of(bomb), root=tmp_path / "dest", max_bytes=2**20)
    with pytest.raises(CheckpointError, match="not a readable zip"):
        import_zip(b"definitely not a zip", root=tmp_path / "dest")
    corrupt = bytearray(zip_of(members))
    corrupt[100:400] = bytes(300)  # inside the first member's compressed data
    with pytest.raises(CheckpointError, match="not a readable zip"):
        import_zip(bytes(corrupt), root=tmp_path / "dest")
    with pytest.raises(CheckpointError, match="bytes is more than the"):
        import_zip(bytes(MAX_META_BYTES + 2**17), root=tmp_path / "dest", max_bytes=0)
    assert not (tmp_path / "dest").exists()


def test_import_refuses_weights_that_do_not_fit_the_meta(tmp_path: Path) -> None:
    members = _members(tmp_path)
    other = save_small(tmp_path / "other", hidden=4)
    members["model.safetensors"] = (other / "model.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match="weights do not fit"):
        import_zip(zip_of(members), root=tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_an_upload_with_nan_weights_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    members = _members(tmp_path)
    tensors = safetensors.torch.load(members["model.safetensors"])
    tensors["rnn.weight_hh_l0"][0, 0] = float("nan")
    members["model.safetensors"] = safetensors.torch.save(tensors)
    with pytest.raises(CheckpointError, match=r"'rnn\.weight_hh_l0' holds NaN"):
        import_zip(zip_of(members), root=tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
