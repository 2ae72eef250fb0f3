"""Checkpoints: round trips, atomic writes, and files that must be refused without side effects."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch

import rnnviz
from rnnviz.analysis.metrics import compute_metrics
from rnnviz.data.sources import FILES
from rnnviz.models.network import ModelConfig
from rnnviz.storage.checkpoints import (
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    read_meta,
    read_record,
    save_checkpoint,
)
from rnnviz.storage.folders import best_checkpoint, delete_checkpoint, rename_checkpoint
from rnnviz.storage.meta import FORMAT, FORMAT_VERSION
from rnnviz.training.history import History

from .conftest import ROOT
from .saved import CLASS_NAMES, Hostile, make_model, make_record, rewrite_meta, save_small

V1_FIXTURE = ROOT / "tests" / "fixtures" / "v1-lstm-digits"
SHIPPED = ROOT / "checkpoints"


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
    folder = save_checkpoint(model, make_record(config), root=tmp_path, name="run")
    loaded = load_checkpoint(folder)
    images = torch.rand(5, 28, 28)
    assert loaded.config == config
    assert not loaded.model.training
    assert loaded.class_names == CLASS_NAMES[: config.num_classes]
    assert torch.equal(loaded.model(images), model(images))


def test_the_record_round_trips_and_the_bookkeeping_is_filled_in(tmp_path: Path) -> None:
    config = ModelConfig(cell="gru", hidden_size=8)
    history = History({"step": [1, 2], "loss": [0.9, 0.5], "epoch": [1], "val_acc": [0.7]})
    metrics = compute_metrics([0, 1, 1, 2], [0, 1, 2, 2], CLASS_NAMES)
    record = make_record(config, history=history.to_dict(), test_metrics=metrics, seconds=2.5)
    folder = save_checkpoint(make_model(config), record, root=tmp_path, name="my run")
    stored = read_meta(folder)
    assert stored["format"] == FORMAT and stored["format_version"] == FORMAT_VERSION == 2
    assert stored["name"] == "my run" and "checkpoint" not in stored  # a folder can move
    assert stored["created"].endswith("+00:00")
    assert stored["versions"]["rnnviz"] == rnnviz.__version__
    assert stored["versions"]["torch"] == torch.__version__
    assert stored["config"]["model"] == config.to_dict() and stored["seconds"] == 2.5
    assert "seconds_trained" not in stored and "dataset" not in stored  # said once, in config
    loaded = load_checkpoint(folder)
    assert loaded.meta == stored
    assert loaded.record == record.with_checkpoint(str(folder), "my run")
    assert read_record(folder).history["loss"] == [0.9, 0.5]
    [info] = list_checkpoints(tmp_path)
    assert (info.name, info.dataset, info.cell, info.test_accuracy) == ("my run", "mnist", "gru",
                                                                        0.75)  # fmt: skip


def test_a_format_1_checkpoint_loads_with_its_record(tmp_path: Path) -> None:
    meta = json.loads((V1_FIXTURE / "meta.json").read_text())
    assert meta["format_version"] == 1
    loaded = load_checkpoint(V1_FIXTURE)
    record = loaded.record
    assert loaded.meta["format_version"] == 2 and "seconds_trained" not in loaded.meta
    assert record.seconds == meta["seconds_trained"] and record.dataset == meta["dataset"]
    assert "order" not in meta["model"]  # written before reading orders: it reads rows
    assert record.config.model.to_dict() == meta["model"] | {"order": "rows", "forget_bias": 0.0}
    assert record.config.train.epochs == 20
    assert record.test_accuracy == meta["test_metrics"]["accuracy"] == 0.9220055710306406
    assert record.history["loss"] == meta["history"]["loss"] and record.parameters == 3114
    assert record.checkpoint == str(V1_FIXTURE) and record.title == meta["title"]
    # A rename writes today's format, losing nothing.
    shutil.copytree(V1_FIXTURE, tmp_path / "old")
    renamed = rename_checkpoint(tmp_path / "old", "renamed")
    assert json.loads((renamed / "meta.json").read_text())["format_version"] == 2
    again = read_record(renamed)
    assert again.with_checkpoint(None, record.name) == record.with_checkpoint(None)
    assert again.name == "renamed"


def test_every_shipped_checkpoint_still_loads() -> None:
    infos = list_checkpoints(SHIPPED)
    assert sorted(i.name for i in infos) == [
        "gru-draw", "gru-mnist", "lstm-digits", "lstm-fashion", "lstm-mnist", "rnn-mnist",
    ]  # fmt: skip
    for info in infos:
        loaded = load_checkpoint(info.path)
        assert loaded.record.test_accuracy is not None and loaded.record.test_accuracy > 0.8
        assert loaded.record.history["epoch"] and loaded.record.seconds > 0


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


def test_listing_names_each_folder_once_however_it_is_reached(tmp_path: Path) -> None:
    save_small(tmp_path / "a", "one")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "linked").symlink_to(tmp_path / "a" / "one", target_is_directory=True)
    (tmp_path / "c").symlink_to(tmp_path / "a", target_is_directory=True)
    roots = [tmp_path / "a", tmp_path / "b", tmp_path / "c", tmp_path / "a"]
    assert [info.name for info in list_checkpoints(*roots)] == ["one"]
    assert [info.name for info in list_checkpoints(tmp_path / "b")] == ["linked"]  # its own name


def test_listing_reads_a_folder_again_only_when_it_changed(tmp_path: Path, monkeypatch) -> None:
    import rnnviz.storage.checkpoints as module

    read: list[str] = []
    real = module._read_meta_and_record

    def counted(folder: Path) -> Any:
        read.append(folder.name)
        return real(folder)

    monkeypatch.setattr(module, "_read_meta_and_record", counted)
    save_small(tmp_path, "a")
    save_small(tmp_path, "b")
    for _ in range(3):  # three page runs: each folder parsed once
        assert sorted(i.name for i in list_checkpoints(tmp_path)) == ["a", "b"]
    assert sorted(read) == ["a", "b"]
    renamed = rename_checkpoint(tmp_path / "a", "c")  # a new folder and a new meta.json
    assert sorted(i.name for i in list_checkpoints(tmp_path)) == ["b", "c"]
    assert list_checkpoints(tmp_path)[0].record.checkpoint in (str(renamed), str(tmp_path / "b"))
    (tmp_path / "b" / "meta.json").write_text("{not json")  # broken since the last listing
    assert [i.name for i in list_checkpoints(tmp_path)] == ["c"]
    assert sorted(read) == ["a", "a", "b", "b", "c"]  # the rename read "a" once itself


def test_name_collision_appends_a_number(tmp_path: Path) -> None:
    paths = [save_small(tmp_path, "run") for _ in range(3)]
    assert [p.name for p in paths] == ["run", "run-2", "run-3"]


def test_save_refuses_a_model_that_does_not_match_meta(tmp_path: Path) -> None:
    config = ModelConfig(cell="gru", hidden_size=8)
    wrong = ModelConfig(cell="gru", hidden_size=16)
    with pytest.raises(CheckpointError, match=r"\[24, 8\]"):
        save_checkpoint(make_model(wrong), make_record(config), root=tmp_path, name="run")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_bad_folder_names(tmp_path: Path) -> None:
    for name in ["../escape", ".hidden", "", "a/b", "x" * 81]:
        with pytest.raises(CheckpointError, match="not a valid checkpoint name"):
            save_small(tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_hostile_pickle_is_refused_without_running(tmp_path: Path) -> None:
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(Hostile(proof)))
    assert proof.exists()  # the payload really would run if anything unpickled it

    marker = tmp_path / "marker"
    folder = save_small(tmp_path / "root")
    (folder / "model.safetensors").write_bytes(pickle.dumps(Hostile(marker)))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: not a valid safetensors"):
        load_checkpoint(folder)
    torch.save(Hostile(marker), folder / "model.safetensors")  # torch's zip-of-pickle format
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        load_checkpoint(folder)
    assert not marker.exists()


@pytest.mark.parametrize("keep", [4, 20, -10])
def test_truncated_weights_are_refused(tmp_path: Path, keep: int) -> None:
    folder = save_small(tmp_path)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:keep])
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        load_checkpoint(folder)


def test_wrong_hidden_size_names_tensor_and_shapes(tmp_path: Path) -> None:
    config = ModelConfig(cell="lstm", hidden_size=64, num_layers=2)
    folder = save_checkpoint(make_model(config), make_record(config), root=tmp_path, name="run")
    rewrite_meta(folder, config={"model": {"hidden_size": 128}})
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(folder)
    message = str(info.value)
    assert "'rnn.weight_ih_l0' has shape [256, 28], the model needs [512, 28]" in message
    assert "more)" in message  # only the first few differences are listed


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"config": {"model": {"cell": "transformer"}}}, "transformer"),
        ({"config": {"model": {"hidden_size": "8"}}}, "hidden_size='8'"),
        ({"config": {"model": {"depth": 3}}}, "depth"),
        ({"config": {"train": {"epochs": 0}}}, "epochs=0"),
        ({"config": {"data": {"dataset": 7}}}, "dataset=7"),
        ({"status": "exploded"}, "status='exploded'"),
        ({"format_version": 3}, "newer rnnviz"),
        ({"format_version": 0}, "format_version=0"),
        ({"format": "other"}, "format='other'"),
        ({"class_names": ["a", "b"]}, "2 class_names"),
        ({"name": ["x" * 14_000_000]}, r"name=\['x+\.\.\.x+'\] must be a string"),
        ({"class_names": [7] * 1_000_000}, r"class_names=\[7, 7, .*\.\.\.\] must be a list"),
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
        assert "meta.json" in str(info.value) and len(str(info.value)) < 1000
    assert list_checkpoints(tmp_path) == []


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


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_weights_that_are_not_finite_are_refused(tmp_path: Path, bad: float) -> None:
    folder = save_small(tmp_path)
    weights = folder / "model.safetensors"
    tensors = safetensors.torch.load_file(str(weights))
    tensors["head.bias"][3] = bad
    safetensors.torch.save_file(tensors, str(weights))
    with pytest.raises(CheckpointError, match=r"'head\.bias' holds NaN or infinite values"):
        load_checkpoint(folder)


def test_weights_sent_back_by_a_worker_are_validated_before_anything_is_written(
    tmp_path: Path,
) -> None:
    from rnnviz.storage.checkpoints import save_weights, weights_of

    config = ModelConfig(cell="gru", hidden_size=8)
    record, model = make_record(config), make_model(config)
    good = weights_of(model)
    other = weights_of(make_model(ModelConfig(cell="lstm", hidden_size=8)))
    poisoned = {k: v.clone() for k, v in model.state_dict().items()}
    next(iter(poisoned.values())).view(-1)[0] = float("nan")
    refusals = {
        b"not a safetensors file": "not a valid safetensors file",
        other: "the job's weights",
        safetensors.torch.save(poisoned): "NaN",
    }
    for weights, message in refusals.items():
        with pytest.raises(CheckpointError, match=message):
            save_weights(weights, record, root=tmp_path, name="w")
    assert list(tmp_path.iterdir()) == []
    folder = save_weights(good, record, root=tmp_path, name="w")
    loaded = load_checkpoint(folder)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value)


def fake_files(root: Path, folder: str) -> None:
    """Empty IDX files where `dataset_available` looks: enough to count as present."""
    (root / folder / "raw").mkdir(parents=True)
    for name in (n for pair in FILES.values() for n in pair):
        (root / folder / "raw" / f"{name}.gz").touch()


@pytest.mark.parametrize(
    ("present", "best"),
    [
        ([], "lstm-digits"),  # nothing downloaded: the offline digits' model
        (["MNIST"], "gru-draw"),  # the best of rnn 94.3 %, lstm 98.8 %, gru 98.2 %, draw 99.1 %
        (["FashionMNIST"], "lstm-fashion"),  # any downloaded dataset beats the offline digits
        (["MNIST", "FashionMNIST"], "gru-draw"),  # the default dataset first
    ],
)
def test_the_first_model_selected_is_the_best_for_the_data_here(
    tmp_path: Path, present: list[str], best: str
) -> None:
    for folder in present:
        fake_files(tmp_path, folder)
    infos = list_checkpoints(SHIPPED)
    assert infos[0].name == "lstm-digits"  # the newest: the first listed, not always the best
    chosen = best_checkpoint(infos, data_dir=str(tmp_path))
    assert chosen is not None and chosen.name == best


def test_without_any_dataset_here_the_first_checkpoint_is_chosen(tmp_path: Path) -> None:
    mnist_only = [i for i in list_checkpoints(SHIPPED) if i.dataset == "mnist"]
    assert best_checkpoint(mnist_only, data_dir=str(tmp_path)) == mnist_only[0]
    assert best_checkpoint([], data_dir=str(tmp_path)) is None


def test_meta_json_keeps_each_list_of_numbers_on_one_line() -> None:
    from rnnviz.storage.meta import meta_bytes

    meta = {"history": {"loss": [0.5, 0.25, 1e-09, -2.0], "epoch": [1, 2]}, "name": "run",
            "names": ["0", "1, 2"], "nested": [[1, 2], [3]], "flags": [True, None]}  # fmt: skip
    text = meta_bytes(meta).decode()
    assert json.loads(text) == meta  # the same data
    assert '"loss": [0.5, 0.25, 1e-09, -2.0]' in text and '"flags": [true, null]' in text
    assert '"names": [\n' in text  # strings stay one per line, as they were
    long = {"history": {"loss": [i / 7 for i in range(5000)]}}
    assert meta_bytes(long).count(b"\n") == 4  # not one line per number
    assert len(meta_bytes(long)) < 0.8 * len(json.dumps(long, indent=2))
