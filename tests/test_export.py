"""`rnnviz export`: the exported model.py gives rnnviz's logits, the exported train.py trains."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
import torch

from rnnviz.cli import main
from rnnviz.models.network import ModelConfig
from rnnviz.storage.checkpoints import load_checkpoint, save_checkpoint
from rnnviz.storage.export import export_checkpoint

from .conftest import real_data_dir
from .saved import make_model, make_record

SHAPES = [
    ModelConfig(cell="lstm", hidden_size=12),
    ModelConfig(cell="gru", hidden_size=8, num_layers=2),
    ModelConfig(cell="rnn_relu", hidden_size=8, num_layers=2, bidirectional=True),
    ModelConfig(cell="rnn_tanh", hidden_size=6, bidirectional=True),
    ModelConfig(cell="cnn_lstm", hidden_size=8),
    ModelConfig(cell="cnn", hidden_size=32),
    ModelConfig(cell="irnn", hidden_size=8, order="pixels"),
    ModelConfig(cell="gru", hidden_size=6, order="permuted"),
    ModelConfig(cell="cnn_lstm", hidden_size=8, order="columns"),
    ModelConfig(cell="cnn", hidden_size=32, order="permuted"),
    ModelConfig(cell="lstm", hidden_size=6, order="pixels14"),
    ModelConfig(cell="rnn_tanh", hidden_size=6, order="permuted14"),
]


def exported_model(folder: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"exported_{folder.name}", folder / "model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("config", SHAPES, ids=lambda c: f"{c.cell}-{c.num_layers}-{c.order}")
def test_the_exported_model_gives_rnnviz_logits(config: ModelConfig, tmp_path: Path) -> None:
    saved = save_checkpoint(make_model(config, seed=3), make_record(config), root=tmp_path,
                            name="run")  # fmt: skip
    folder = export_checkpoint(saved, tmp_path / f"export-{config.cell}")
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "model.py", "model.safetensors", "train.py"]  # fmt: skip
    ours = load_checkpoint(saved).model
    theirs = exported_model(folder).load(str(folder / "model.safetensors"))
    assert "rnnviz" not in (folder / "model.py").read_text().replace("rnnviz run", "")
    images = torch.randint(
        0, 256, (5, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        expected, got = ours(images), theirs(images)
    assert got.shape == (5, config.num_classes)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_the_exported_train_script_trains_a_short_epoch(tmp_path: Path) -> None:
    data = real_data_dir()
    config = ModelConfig(cell="gru", hidden_size=16)
    record = make_record(config, dataset="mnist")
    run = replace(record.config, train=replace(record.config.train, lr=0.01, batch_size=1024))
    saved = save_checkpoint(make_model(config), replace(record, config=run), root=tmp_path,
                            name="run")  # fmt: skip
    folder = export_checkpoint(saved, tmp_path / "export")
    done = subprocess.run([sys.executable, "train.py", "--epochs", "1", "--data-dir", data],
                          cwd=folder, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("epoch 1/1")
    result = json.loads(lines[-1])
    assert result["dataset"] == "mnist" and result["epochs"] == 1
    assert 0.3 < result["test_accuracy"] <= 1.0  # it learned: chance is 0.1


def test_the_cli_exports_and_refuses_a_folder_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ModelConfig(cell="lstm", hidden_size=8)
    saved = save_checkpoint(make_model(config), make_record(config), root=tmp_path, name="run")
    assert main(["export", str(saved), "--out", str(tmp_path / "code")]) == 0
    assert "model.py" in capsys.readouterr().out
    assert main(["export", str(saved), "--out", str(tmp_path / "code")]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nothing"), "--out", str(tmp_path / "other")]) == 2
    assert not (tmp_path / "other").exists()


def test_the_code_zip_holds_one_folder_with_the_four_files(tmp_path: Path) -> None:
    import io
    import zipfile

    from rnnviz.storage.export import code_zip

    config = ModelConfig(cell="gru", hidden_size=8)
    saved = save_checkpoint(make_model(config), make_record(config), root=tmp_path, name="g")
    with zipfile.ZipFile(io.BytesIO(code_zip(saved))) as zf:
        names = sorted(zf.namelist())
        assert names == ["g/README.md", "g/model.py", "g/model.safetensors", "g/train.py"]
        assert zf.read("g/model.safetensors") == (saved / "model.safetensors").read_bytes()
