"""Checkpoints: round trips, atomic writes, and files that must be refused without side effects."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch

from rnnviz.checkpoints import (
    FORMAT,
    MAX_META_BYTES,
    CheckpointError,
    delete_checkpoint,
    export_zip,
    import_zip,
    list_checkpoints,
    load_checkpoint,
    read_meta,
    rename_checkpoint,
    safe_name,
    save_checkpoint,
)
from rnnviz.models import ModelConfig, build_model

CLASS_NAMES = [str(i) for i in range(10)]


def make_meta(config: ModelConfig, **extra: Any) -> dict[str, Any]:
    return {
        "model": config.to_dict(),
        "dataset": "mnist",
        "class_names": CLASS_NAMES[: config.num_classes],
        **extra,
    }


def make_model(config: ModelConfig, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(config).eval()


def save_small(root: Path, name: str = "run", *, hidden: int = 8, **extra: Any) -> Path:
    config = ModelConfig(cell="gru", hidden_size=hidden)
    return save_checkpoint(make_model(config), make_meta(config, **extra), root=root, name=name)


def rewrite_meta(folder: Path, **changes: Any) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    for key, value in changes.items():
        if isinstance(value, dict):
            meta[key].update(value)
        else:
            meta[key] = value
    (folder / "meta.json").write_text(json.dumps(meta))


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


class _Hostile:
    """Unpickling this creates a file: proof that a loader ran code from the data."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(cell="lstm", hidden_size=8, num_layers=2, bidirectional=True),
        ModelConfig(cell="gru", hidden_size=8),
        ModelConfig(cell="cnn", hidden_size=32, num_classes=3),
    ],
    ids=["lstm-bidirectional", "gru", "cnn"],
)
def test_round_trip_gives_identical_outputs(tmp_path: Path, config: ModelConfig) -> None:
    model = make_model(config)
    folder = save_checkpoint(model, make_meta(config), root=tmp_path, name="run")
    loaded = load_checkpoint(folder)
    images = torch.rand(5, 28, 28)
    assert loaded.config == config
    assert not loaded.model.training
    assert loaded.class_names == CLASS_NAMES[: config.num_classes]
    assert torch.equal(loaded.model(images), model(images))


def test_meta_round_trip_keeps_extra_keys_and_fills_bookkeeping(tmp_path: Path) -> None:
    config = ModelConfig(cell="gru", hidden_size=8)
    meta = make_meta(config, history=[{"epoch": 1, "loss": 0.5}], test_metrics={"accuracy": 0.9})
    original = json.loads(json.dumps(meta))
    folder = save_checkpoint(make_model(config), meta, root=tmp_path, name="my run")
    assert meta == original  # the caller's dict is not modified
    stored = read_meta(folder)
    assert stored["history"] == [{"epoch": 1, "loss": 0.5}]
    assert stored["format"] == FORMAT and stored["format_version"] == 1
    assert stored["name"] == "my run"
    assert stored["created"].endswith("+00:00")
    assert stored["versions"]["rnnviz"] == "0.1.0"
    assert stored["versions"]["torch"] == torch.__version__
    assert load_checkpoint(folder).meta == stored
    [info] = list_checkpoints(tmp_path)
    assert (info.name, info.dataset, info.cell, info.test_accuracy) == (
        "my run",
        "mnist",
        "gru",
        0.9,
    )


def test_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_write(tensors: dict[str, torch.Tensor], filename: str) -> None:
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", half_write)
    with pytest.raises(OSError, match="disk full"):
        save_small(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert list_checkpoints(tmp_path) == []


def test_listing_skips_hidden_and_invalid_folders(tmp_path: Path) -> None:
    good = save_small(tmp_path, "good")
    hidden = tmp_path / ".good.tmp"
    hidden.mkdir()
    for file in good.iterdir():
        (hidden / file.name).write_bytes(file.read_bytes())
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "meta.json").write_text("{not json")
    (tmp_path / "loose-file").write_text("x")
    infos = list_checkpoints(tmp_path, tmp_path / "missing-root")
    assert [info.name for info in infos] == ["good"]


def test_listing_is_newest_first_across_roots(tmp_path: Path) -> None:
    save_small(tmp_path / "a", "old", created="2024-01-01T00:00:00+00:00")
    save_small(tmp_path / "b", "new", created="2025-01-01T00:00:00+00:00")
    save_small(tmp_path / "a", "mid", created="2024-06-01T00:00:00+00:00")
    names = [info.name for info in list_checkpoints(tmp_path / "a", tmp_path / "b")]
    assert names == ["new", "mid", "old"]


def test_name_collision_appends_a_number(tmp_path: Path) -> None:
    paths = [save_small(tmp_path, "run") for _ in range(3)]
    assert [p.name for p in paths] == ["run", "run-2", "run-3"]


def test_save_refuses_a_model_that_does_not_match_meta(tmp_path: Path) -> None:
    config = ModelConfig(cell="gru", hidden_size=8)
    wrong = ModelConfig(cell="gru", hidden_size=16)
    with pytest.raises(CheckpointError, match=r"\[24, 8\]"):
        save_checkpoint(make_model(wrong), make_meta(config), root=tmp_path, name="run")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_bad_folder_names(tmp_path: Path) -> None:
    for name in ["../escape", ".hidden", "", "a/b", "x" * 81]:
        with pytest.raises(CheckpointError, match="not a valid checkpoint name"):
            save_small(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_hostile_pickle_is_refused_without_running(tmp_path: Path) -> None:
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Hostile(proof)))
    assert proof.exists()  # the payload really would run if anything unpickled it

    marker = tmp_path / "marker"
    folder = save_small(tmp_path / "root")
    (folder / "model.safetensors").write_bytes(pickle.dumps(_Hostile(marker)))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: not a valid safetensors"):
        load_checkpoint(folder)
    torch.save(_Hostile(marker), folder / "model.safetensors")  # torch's zip-of-pickle format
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        load_checkpoint(folder)
    assert not marker.exists()


def test_hostile_pickle_in_a_zip_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    folder = save_small(tmp_path / "src")
    meta = (folder / "meta.json").read_bytes()
    data = zip_of({"meta.json": meta, "model.safetensors": pickle.dumps(_Hostile(marker))})
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        import_zip(data, root=tmp_path / "dest")
    assert not marker.exists()
    assert not (tmp_path / "dest").exists()


@pytest.mark.parametrize("keep", [4, 20, -10])
def test_truncated_weights_are_refused(tmp_path: Path, keep: int) -> None:
    folder = save_small(tmp_path)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:keep])
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        load_checkpoint(folder)


def test_wrong_hidden_size_names_tensor_and_shapes(tmp_path: Path) -> None:
    config = ModelConfig(cell="lstm", hidden_size=64, num_layers=2)
    folder = save_checkpoint(make_model(config), make_meta(config), root=tmp_path, name="run")
    rewrite_meta(folder, model={"hidden_size": 128})
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder)
    message = str(info.value)
    assert "'rnn.weight_ih_l0' has shape [256, 28], the model needs [512, 28]" in message
    assert "more)" in message  # only the first few differences are listed


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"model": {"cell": "transformer"}}, "transformer"),
        ({"model": {"hidden_size": "8"}}, "hidden_size='8'"),
        ({"model": {"depth": 3}}, "depth"),
        ({"format_version": 2}, "newer rnnviz"),
        ({"format_version": 0}, "format_version=0"),
        ({"format": "other"}, "format='other'"),
        ({"class_names": ["a", "b"]}, "2 class_names"),
        ({"dataset": 7}, "dataset=7"),
    ],
)
def test_bad_meta_is_refused_naming_the_value(
    tmp_path: Path, changes: dict[str, Any], pattern: str
) -> None:
    folder = save_small(tmp_path)
    rewrite_meta(folder, **changes)
    for reader in (read_meta, load_checkpoint):
        with pytest.raises(CheckpointError, match=pattern) as info:
            reader(folder)
        assert "meta.json" in str(info.value)
    assert list_checkpoints(tmp_path) == []


def test_export_import_round_trip(tmp_path: Path) -> None:
    config = ModelConfig(cell="lstm", hidden_size=8, bidirectional=True)
    model = make_model(config)
    folder = save_checkpoint(model, make_meta(config), root=tmp_path / "a", name="LSTM run")
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


def test_rename_updates_folder_and_meta(tmp_path: Path) -> None:
    folder = save_small(tmp_path, "old")
    save_small(tmp_path, "taken")
    new = rename_checkpoint(folder, "new name")
    assert new == tmp_path / "new name" and not folder.exists()
    assert read_meta(new)["name"] == "new name"
    assert load_checkpoint(new).config.hidden_size == 8
    with pytest.raises(CheckpointError, match="already exists"):
        rename_checkpoint(new, "taken")
    for bad in ["../up", ".hidden", "", "a" * 81, "slash/name"]:
        with pytest.raises(CheckpointError, match="not a valid checkpoint name"):
            rename_checkpoint(new, bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new name", "taken"]


def test_delete_removes_checkpoints_only(tmp_path: Path) -> None:
    folder = save_small(tmp_path, "run")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("keep me")
    other = tmp_path / "other"
    other.mkdir()
    (other / "meta.json").write_text(json.dumps({"format": "something-else"}))
    for target in (plain, other, tmp_path / "missing"):
        with pytest.raises(CheckpointError, match="not"):
            delete_checkpoint(target)
    (folder / "sub").mkdir()
    with pytest.raises(CheckpointError, match="'sub'"):
        delete_checkpoint(folder)
    (folder / "sub").rmdir()
    delete_checkpoint(folder)
    assert not folder.exists()
    assert (plain / "notes.txt").read_text() == "keep me" and (other / "meta.json").exists()


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
